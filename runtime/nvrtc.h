/* NVRTC, loaded with dlopen on first use: compiles the generated CUDA C for
 * any architecture it knows, with no GPU (docs/cuda-backend.md). */
#ifndef SF_NVRTC_H
#define SF_NVRTC_H

#include "ir/base.h"

/* Whether NVRTC could be loaded; when not, why (a static string) in *why. */
bool sf_nvrtc_available(const char **why);
/* NVRTC's version as major * 1000 + minor * 10, 0 when unavailable. */
int sf_nvrtc_version(void);
/* Compiles src for arch (e.g. 90 for sm_90): CUBIN when cubin is true, else
 * PTX for compute_<arch>. *out is malloc'd; *log (malloc'd, may be empty)
 * holds NVRTC's messages, warnings included, on success and failure. */
sf_status sf_nvrtc_compile(const char *src, int arch, bool cubin, unsigned char **out, size_t *out_len, char **log,
                           sf_error *err);

/* The options sf_nvrtc_compile passes for (arch, cubin), space-separated:
 * what the on-disk cache keys on. */
void sf_nvrtc_options(int arch, bool cubin, char *out, size_t cap);

#endif
