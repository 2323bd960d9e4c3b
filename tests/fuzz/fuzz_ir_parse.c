/* libFuzzer: the IR text parser. Whatever parses must verify, print, and
 * parse back to the same text. */
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    sf_error e = {0};
    sf_graph *g = sf_parse((const char *)data, size, "fuzz.sfir", &e);
    if (!g)
        return 0;
    if (sf_verify(g, &e) != SF_OK)
        abort();
    char *once = sf_print_string(g);
    sf_graph *again = once ? sf_parse(once, strlen(once), "printed", &e) : NULL;
    if (!again)
        abort();
    char *twice = sf_print_string(again);
    if (!twice || strcmp(once, twice) != 0)
        abort();
    free(once);
    free(twice);
    sf_graph_free(again);
    sf_graph_free(g);
    return 0;
}
