/* libFuzzer: the package reader (header, section table, meta, IR, weights),
 * loading for the interpreter so that no object code reaches the linker.
 * The fuzz build skips the checksums (SF_FUZZ_NO_CRC) so that mutations get
 * past them into the sections' parsers. */
#include "runtime/model.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    sf_options o = {.backend = "interp"};
    sf_error e = {0};
    sf_model_free(sf_load_bytes(data, size, "fuzz", &o, &e));
    return 0;
}
