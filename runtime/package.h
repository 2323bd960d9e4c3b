/* Internal to the runtime: the compiled package's byte format
 * (docs/package.md). The reader checks every byte before anything uses it. */
#ifndef SF_PACKAGE_H
#define SF_PACKAGE_H

#include "codegen/plan.h"
#include "runtime/cpu.h"
#include "runtime/cuda_code.h"
#include "runtime/model.h"

/* 2: optional CUDA sections (source, CUBIN/PTX images) after the CPU object;
 * 3: the kernel plan after the weights */
#define SF_PKG_VERSION 3
typedef struct sf_pkg_view {
    const char *meta, *ir;  /* text, not NUL-terminated */
    size_t meta_len, ir_len;
    const unsigned char *weights, *plan, *object;
    size_t weights_len, plan_len, object_len; /* plan_len 0: none (version 2); object_len 0: no native code */
    sf_pkg_cuda cuda;               /* source_len 0 and no images: no CUDA code */
} sf_pkg_view;

/* zlib's CRC-32 over any length (the package's and the NVRTC cache's checksum) */
uint32_t sf_pkg_crc32(const void *p, size_t n);

/* Writes a package for a graph, its weights, its kernel plan (over g as
 * its printed IR parses), object code built for `target` under kernel
 * convention `abi` (object may be NULL: IR, weights and plan only), and
 * CUDA code (cuda may be NULL). Atomic: no partial file on failure. */
sf_status sf_pkg_write(const char *path, const sf_graph *g, const sf_tensor_set *w, const sf_plan *plan,
                       const void *object, size_t object_size, const sf_cpu_target *target, int abi,
                       const sf_pkg_cuda *cuda, sf_error *err);
/* Checks and splits the bytes of a package; views point into buf. */
sf_status sf_pkg_parse(const unsigned char *buf, size_t size, const char *what, sf_pkg_view *v, sf_error *err);
/* A value of the meta section ("triple", "cpu", "features"...), copied into
 * out; false when absent or too long. */
bool sf_pkg_meta(const sf_pkg_view *v, const char *key, char *out, size_t cap);
/* The weights section as tensors. */
sf_status sf_pkg_weights(const sf_pkg_view *v, const char *what, sf_tensor_set *w, sf_error *err);

#endif
