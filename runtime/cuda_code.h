/* Internal to the runtime: CUDA code as a package holds it and a model
 * carries it (the source, CUBIN and PTX images). */
#ifndef SF_CUDA_CODE_H
#define SF_CUDA_CODE_H

#include <stdbool.h>
#include <stddef.h>

#define SF_PKG_MAX_IMAGES 8

/* CUDA code for one architecture: CUBIN for sm_<arch>, or PTX for compute_<arch> */
typedef struct sf_pkg_image {
    int arch;
    bool ptx;
    const unsigned char *data;
    size_t len;
} sf_pkg_image;

/* what a package holds for the CUDA backend: the CUDA C it was compiled
 * from (to compile again for a GPU no image fits) and the images */
typedef struct sf_pkg_cuda {
    const char *source;
    size_t source_len;
    sf_pkg_image images[SF_PKG_MAX_IMAGES];
    int nimages;
    int nvrtc_version;
} sf_pkg_cuda;

/* "sm_80,sm_90,compute_90": the images' targets, in order */
void sf_cuda_targets_text(const sf_pkg_cuda *c, char *out, size_t cap);

#endif
