/* Ahead-of-time CUDA code: `sheaf compile --target sm_80,sm_90` on any
 * machine (NVRTC needs no GPU). CUBIN per architecture named, and PTX for
 * the newest, which the driver of a later GPU compiles when no CUBIN fits. */
#include <stdlib.h>
#include <string.h>

#include "runtime/cuda_runtime.h"
#include "runtime/nvrtc_cache.h"

void sf_cuda_code_free(sf_pkg_cuda *c)
{
    free((void *)c->source);
    for (int i = 0; i < c->nimages; i++)
        free((void *)c->images[i].data);
    memset(c, 0, sizeof *c);
}

/* "sm_80,sm_90" -> {80, 90}; false with err set on anything else */
static bool parse_targets(const char *targets, int *arch, int *n, sf_error *err)
{
    *n = 0;
    const char *p = targets;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char *end;
        long a = len > 3 && !strncmp(p, "sm_", 3) ? strtol(p + 3, &end, 10) : 0;
        if (a < 50 || a > 999 || end != p + len) {
            sf_fail(err, SF_ERR_INVALID_ARG, "--target: '%.*s' is not an architecture like sm_80 or sm_90", (int)len,
                    p);
            return false;
        }
        for (int i = 0; i < *n; i++)
            if (arch[i] == a) {
                sf_fail(err, SF_ERR_INVALID_ARG, "--target: sm_%ld named twice", a);
                return false;
            }
        if (*n == SF_PKG_MAX_IMAGES - 1) {
            sf_fail(err, SF_ERR_INVALID_ARG, "--target: at most %d architectures", SF_PKG_MAX_IMAGES - 1);
            return false;
        }
        arch[(*n)++] = (int)a;
        p += len + (comma ? 1 : 0);
        if (comma && !*p) {
            sf_fail(err, SF_ERR_INVALID_ARG, "--target: a comma at the end");
            return false;
        }
    }
    if (*n == 0)
        sf_fail(err, SF_ERR_INVALID_ARG, "--target: no architecture named (e.g. sm_80,sm_90)");
    return *n > 0;
}

static sf_status add_image(sf_pkg_cuda *out, const char *src, int arch, bool ptx, bool use_cache, int *hits,
                           sf_error *err)
{
    unsigned char *bytes;
    size_t len;
    char *log;
    bool hit;
    sf_status st = sf_nvrtc_compile_cached(src, arch, !ptx, use_cache, &bytes, &len, &log, &hit, err);
    free(log); /* warnings are a test failure (tests/test_cuda.c), not the user's problem */
    if (st == SF_OK)
        out->images[out->nimages++] = (sf_pkg_image){arch, ptx, bytes, len};
    *hits += hit;
    return st;
}

sf_status sf_cuda_build(const sf_plan *plan, const char *targets, bool use_cache, sf_pkg_cuda *out, int *cache_hits,
                        sf_error *err)
{
    memset(out, 0, sizeof *out);
    int arch[SF_PKG_MAX_IMAGES], n, newest = 0, hits = 0;
    if (cache_hits)
        *cache_hits = 0;
    if (!parse_targets(targets, arch, &n, err))
        return SF_ERR_INVALID_ARG;
    sf_cuda_source src;
    sf_status st = sf_cuda_emit_plan(plan, &src, err);
    if (st != SF_OK)
        return st;
    for (int i = 0; st == SF_OK && i < n; i++) {
        st = add_image(out, src.text, arch[i], false, use_cache, &hits, err);
        newest = arch[i] > newest ? arch[i] : newest;
    }
    if (st == SF_OK)
        st = add_image(out, src.text, newest, true, use_cache, &hits, err);
    if (cache_hits)
        *cache_hits = hits;
    out->source = src.text;
    out->source_len = src.len;
    out->nvrtc_version = sf_nvrtc_version();
    src.text = NULL;
    sf_cuda_source_free(&src);
    if (st != SF_OK)
        sf_cuda_code_free(out);
    return st;
}

static void *copy_bytes(const void *p, size_t n)
{
    void *q = malloc(n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

sf_status sf_cuda_code_copy(const sf_pkg_cuda *from, sf_pkg_cuda *to, sf_error *err)
{
    memset(to, 0, sizeof *to);
    to->nvrtc_version = from->nvrtc_version;
    to->source_len = from->source_len;
    bool ok = (to->source = copy_bytes(from->source, from->source_len)) != NULL;
    for (int i = 0; ok && i < from->nimages; i++) {
        to->images[i] = from->images[i];
        ok = (to->images[i].data = copy_bytes(from->images[i].data, from->images[i].len)) != NULL;
        to->nimages = ok ? i + 1 : i;
    }
    if (ok)
        return SF_OK;
    sf_cuda_code_free(to);
    return sf_fail(err, SF_ERR_NOMEM, "out of memory copying CUDA code");
}
