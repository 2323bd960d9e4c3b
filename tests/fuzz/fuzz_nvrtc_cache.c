/* libFuzzer: the NVRTC cache's entry parser. Cache files are outside
 * bytes: anything may sit in ~/.cache/sheaf. The key is short so that
 * mutations of the seed (an entry for it) reach the checksum and the
 * image. */
#include <string.h>

#include "runtime/nvrtc_cache.h"
#include "runtime/nvrtc.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    size_t len;
    const unsigned char *image = sf_nvrtc_cache_match(data, size, "o", 12090, "s", &len);
    if (image && (image < data || image + len != data + size))
        __builtin_trap(); /* the image must be the entry's tail */
    return 0;
}
