/* NVRTC's output kept on disk (docs/cuda-backend.md): a model compiled
 * once is not compiled again, by `sheaf compile --target` or at run time.
 * An entry is keyed by what decides NVRTC's output, the source, the
 * options and NVRTC's version, and holds all three, so that a lookup
 * compares them whole instead of trusting a hash. */
#ifndef SF_NVRTC_CACHE_H
#define SF_NVRTC_CACHE_H

#include "codegen/cuda.h"
#include "runtime/nvrtc.h"

/* The cache directory: $XDG_CACHE_HOME/sheaf, else $HOME/.cache/sheaf;
 * false (with why) when neither is set to an absolute path. */
bool sf_nvrtc_cache_dir(char *out, size_t cap, const char **why);

/* sf_nvrtc_compile through the cache: an entry for (src, arch, cubin,
 * NVRTC's version) is returned without compiling; otherwise NVRTC runs
 * and a clean result (an empty log) is stored. With use_cache false
 * nothing is read or written. *hit says which happened. The cache never
 * makes a compile fail: a directory that cannot be made, an entry that
 * cannot be written, and a damaged entry (taken as a miss, then
 * replaced) are passed over. */
sf_status sf_nvrtc_compile_cached(const char *src, int arch, bool cubin, bool use_cache, unsigned char **out,
                                  size_t *out_len, char **log, bool *hit, sf_error *err);

/* An entry's bytes, checked against what the lookup wants: the image
 * (pointing into bytes) when the header, sizes, options, source and
 * checksum all agree, else NULL. The parser of cache files (fuzzed). */
const unsigned char *sf_nvrtc_cache_match(const unsigned char *bytes, size_t len, const char *options,
                                          int nvrtc_version, const char *src, size_t *image_len);
/* An entry's bytes for (options, version, src, image); malloc'd. */
unsigned char *sf_nvrtc_cache_entry(const char *options, int nvrtc_version, const char *src,
                                    const unsigned char *image, size_t image_len, size_t *len);

#endif
