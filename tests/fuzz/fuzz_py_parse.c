/* libFuzzer: the Python lexer and parser, and the evaluator behind them:
 * any bytes as a model file, compiled with a fixed --model/--input. */
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "frontend/py_ast.h"

static bool contains(const unsigned char *data, size_t size, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(data + i, word, n) == 0)
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    sf_arena arena;
    sf_error e = {0};
    sf_arena_init(&arena);
    py_parse_file((const char *)data, size, "fuzz.py", &arena, &e);
    sf_arena_free(&arena);
    /* the whole frontend, when the file defines Net */
    if (size < 4096 && contains(data, size, "class Net")) {
        const char *inputs[1] = {"x=f32[B,4]"};
        sf_py_options o = {"Net()", inputs, 1, NULL, 0, 0, NULL};
        sf_py_model *m = sf_py_compile("fuzz.py", (const char *)data, size, &o, &e);
        sf_py_model_free(m);
    }
    return 0;
}
