/* The on-disk NVRTC cache (nvrtc_cache.h). One file per entry, named by
 * a hash of its key; a file that does not hold exactly the key asked for
 * is a miss. Entries are written whole (a temporary file, renamed), so a
 * reader sees an old entry or a new one, never half of one. Byte order
 * is the host's: a cache stays on its machine. */
#include "runtime/nvrtc_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ir/fileio.h"
#include "runtime/package.h"

#define MAGIC "SFNVRTC1"
#define HEADER 40
#define MAX_ENTRY ((size_t)1 << 30) /* bigger files are not ours */

static uint64_t get64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

const unsigned char *sf_nvrtc_cache_match(const unsigned char *bytes, size_t len, const char *options,
                                          int nvrtc_version, const char *src, size_t *image_len)
{
    size_t olen = strlen(options), slen = strlen(src);
    if (len < HEADER || memcmp(bytes, MAGIC, 8) != 0 || get32(bytes + 8) != (uint32_t)nvrtc_version)
        return NULL;
    uint64_t o = get64(bytes + 16), s = get64(bytes + 24), im = get64(bytes + 32);
    /* each size checked against what is left, so no sum can overflow */
    size_t rest = len - HEADER;
    if (o != olen || o > rest || s != slen || s > rest - o || im != rest - o - s || im == 0)
        return NULL;
    const unsigned char *body = bytes + HEADER;
    if (memcmp(body, options, olen) != 0 || memcmp(body + olen, src, slen) != 0 ||
        sf_pkg_crc32(body, rest) != get32(bytes + 12))
        return NULL;
    *image_len = (size_t)im;
    return body + olen + slen;
}

unsigned char *sf_nvrtc_cache_entry(const char *options, int nvrtc_version, const char *src,
                                    const unsigned char *image, size_t image_len, size_t *len)
{
    size_t olen = strlen(options), slen = strlen(src), total;
    if (sf_add_overflow(HEADER + olen, slen, &total) || sf_add_overflow(total, image_len, &total))
        return NULL;
    unsigned char *e = malloc(total);
    if (!e)
        return NULL;
    uint32_t version = (uint32_t)nvrtc_version;
    uint64_t sizes[3] = {olen, slen, image_len};
    memcpy(e, MAGIC, 8);
    memcpy(e + 8, &version, 4);
    memcpy(e + 16, sizes, sizeof sizes);
    memcpy(e + HEADER, options, olen);
    memcpy(e + HEADER + olen, src, slen);
    memcpy(e + HEADER + olen + slen, image, image_len);
    uint32_t c = sf_pkg_crc32(e + HEADER, total - HEADER);
    memcpy(e + 12, &c, 4);
    *len = total;
    return e;
}

bool sf_nvrtc_cache_dir(char *out, size_t cap, const char **why)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/') /* the XDG spec: a relative value is ignored */
        n = snprintf(out, cap, "%s/sheaf", xdg);
    else if (home && home[0] == '/')
        n = snprintf(out, cap, "%s/.cache/sheaf", home);
    else {
        *why = "neither XDG_CACHE_HOME nor HOME is an absolute path";
        return false;
    }
    if (n < 0 || (size_t)n >= cap) {
        *why = "the cache directory's path is too long";
        return false;
    }
    return true;
}

/* mkdir -p, 0700: compiled code is the user's own */
static bool make_dirs(char *path)
{
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        bool ok = mkdir(path, 0700) == 0 || errno == EEXIST;
        *p = c;
        if (!ok)
            return false;
        if (c == '\0')
            return true;
    }
}

/* FNV-1a over the key's parts: only names the file, the match decides */
static uint64_t key_hash(const char *options, int version, const char *src)
{
    uint64_t h = 1469598103934665603ull;
    const char *parts[2] = {options, src};
    for (int k = 0; k < 2; k++)
        for (const unsigned char *p = (const unsigned char *)parts[k]; *p; p++)
            h = (h ^ *p) * 1099511628211ull;
    return (h ^ (uint64_t)version) * 1099511628211ull;
}

static bool entry_path(const char *options, int version, const char *src, bool cubin, char *out, size_t cap)
{
    const char *why;
    char dir[1024];
    if (!sf_nvrtc_cache_dir(dir, sizeof dir, &why) || !make_dirs(dir))
        return false;
    int n = snprintf(out, cap, "%s/%016llx.%s", dir, (unsigned long long)key_hash(options, version, src),
                     cubin ? "cubin" : "ptx");
    return n > 0 && (size_t)n < cap;
}

static bool lookup(const char *path, const char *options, int version, const char *src, unsigned char **out,
                   size_t *out_len)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > MAX_ENTRY)
        return false;
    char *bytes;
    size_t len, image_len;
    sf_error e;
    if (sf_read_file(path, &bytes, &len, &e) != SF_OK)
        return false;
    const unsigned char *image =
        sf_nvrtc_cache_match((const unsigned char *)bytes, len, options, version, src, &image_len);
    if (image && (*out = malloc(image_len))) {
        memcpy(*out, image, image_len);
        *out_len = image_len;
    }
    free(bytes);
    return image && *out;
}

static void store(const char *path, const char *options, int version, const char *src, const unsigned char *image,
                  size_t image_len)
{
    size_t len;
    unsigned char *entry = sf_nvrtc_cache_entry(options, version, src, image, image_len, &len);
    sf_outfile o;
    sf_error e;
    if (entry && sf_outfile_open(&o, path, &e) == SF_OK) {
        if (fwrite(entry, 1, len, o.f) == len)
            (void)sf_outfile_commit(&o, &e); /* a full disk costs the next run a compile, nothing more */
        else
            sf_outfile_abort(&o);
    }
    free(entry);
}

sf_status sf_nvrtc_compile_cached(const char *src, int arch, bool cubin, bool use_cache, unsigned char **out,
                                  size_t *out_len, char **log, bool *hit, sf_error *err)
{
    char options[256], path[1200];
    int version = sf_nvrtc_version();
    *hit = false;
    sf_nvrtc_options(arch, cubin, options, sizeof options);
    bool cached = use_cache && version > 0 && entry_path(options, version, src, cubin, path, sizeof path);
    if (cached && lookup(path, options, version, src, out, out_len)) {
        *hit = true;
        *log = calloc(1, 1);
        if (*log)
            return SF_OK;
        free(*out);
        *out = NULL;
        return sf_fail(err, SF_ERR_NOMEM, "cuda backend: out of memory");
    }
    sf_status st = sf_nvrtc_compile(src, arch, cubin, out, out_len, log, err);
    if (st == SF_OK && cached && *log && !**log) /* code that drew warnings is compiled again, to show them again */
        store(path, options, version, src, *out, *out_len);
    return st;
}
