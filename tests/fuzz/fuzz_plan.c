/* libFuzzer: the plan section's reader and the plan checker
 * (codegen/plan_store.c, codegen/plan_verify.c) on one fixed graph with a
 * chain, results written in place, fixed values and views. An input is a
 * list of edits to that graph's own plan bytes (3 bytes each: a 16-bit
 * position, a byte to XOR there), so that mutations start from a plan
 * that passes and reach every check; an input beginning with 'R' is raw
 * plan bytes instead. */
#include <stdlib.h>
#include <string.h>

#include "codegen/plan.h"
#include "ir/fileio.h"

static sf_graph *graph;
static unsigned char *plan;
static size_t plan_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    sf_error e = {0};
    sf_plan p;
    char *text;
    size_t n;
    if (sf_read_file(SF_FIXTURES "/plan.sfir", &text, &n, &e) != SF_OK)
        abort();
    graph = sf_parse(text, n, "plan.sfir", &e);
    free(text);
    if (!graph || sf_plan_build(graph, &p, &e) != SF_OK || sf_plan_encode(&p, &plan, &plan_len, &e) != SF_OK)
        abort(); /* the fixed model itself: cannot fail */
    sf_plan_free(&p);
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    unsigned char *bytes;
    size_t len;
    if (size && data[0] == 'R') {
        len = size - 1;
        bytes = malloc(len + 1);
        memcpy(bytes, data + 1, len);
    } else {
        len = plan_len;
        bytes = malloc(len);
        memcpy(bytes, plan, len);
        for (size_t i = 0; i + 3 <= size; i += 3)
            bytes[((size_t)data[i] | (size_t)data[i + 1] << 8) % len] ^= data[i + 2];
    }
    sf_plan p;
    sf_error e = {0};
    if (sf_plan_decode(graph, bytes, len, &p, &e) == SF_OK)
        sf_plan_free(&p);
    free(bytes);
    return 0;
}
