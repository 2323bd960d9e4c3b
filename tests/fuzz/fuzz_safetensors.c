/* libFuzzer: the safetensors reader, then conversion of what it accepts. */
#include "frontend/safetensors.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    sf_error e = {0};
    sf_st_file *f = sf_st_parse(data, size, "fuzz", &e);
    if (!f)
        return 0;
    sf_tensor_set *s = sf_tensors_new();
    if (s)
        sf_st_to_tensors(f, "fuzz", s, &e);
    sf_tensors_free(s);
    sf_st_close(f);
    return 0;
}
