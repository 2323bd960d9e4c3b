/* The compiled package: a header, a section table, and 64-byte aligned
 * sections (meta, IR text, weights, kernel plan, CPU object code, CUDA
 * source, CUBIN and PTX images), each with its length
 * and CRC-32; the header and table have a CRC of their own and padding must
 * be zero, so no byte of the file goes unchecked. Integers are little-endian. */
#include "runtime/package.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ir/fileio.h"

#ifdef SF_FUZZ_NO_CRC
#define FUZZING 1
#else
#define FUZZING 0
#endif

static const unsigned char MAGIC[8] = {'S', 'H', 'E', 'A', 'F', 'P', 'K', 0};
enum { HEADER = 32, ENTRY = 32, ALIGN = 64, MAX_SECTIONS = 16 };
enum { SEC_META = 1, SEC_IR = 2, SEC_WEIGHTS = 3, SEC_CPU_OBJECT = 4, SEC_CUDA_SOURCE = 5, SEC_CUDA_IMAGE = 6,
       SEC_PLAN = 7 };
/* where each kind stands in a file: the plan (added in version 3) comes after the weights */
static const int RANK[] = {[SEC_META] = 1, [SEC_IR] = 2,          [SEC_WEIGHTS] = 3,   [SEC_PLAN] = 4,
                           [SEC_CPU_OBJECT] = 5, [SEC_CUDA_SOURCE] = 6, [SEC_CUDA_IMAGE] = 7};
enum { IMAGE_CUBIN = 1, IMAGE_PTX = 2 }; /* a CUDA image's format, in its table entry */

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

uint32_t sf_pkg_crc32(const void *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    const unsigned char *b = p;
    while (n) { /* zlib takes uInt lengths */
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, b, k);
        b += k, n -= k;
    }
    return (uint32_t)c;
}

/* ---- writing ---- */

typedef struct buf {
    unsigned char *p;
    size_t len, cap;
    bool failed;
} buf;

static void *grow(buf *b, size_t n)
{
    if (b->failed || n > SIZE_MAX - b->len) {
        b->failed = true;
        return NULL;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap = cap > SIZE_MAX / 2 ? b->len + n : cap * 2;
        unsigned char *q = realloc(b->p, cap);
        if (!q) {
            b->failed = true;
            return NULL;
        }
        b->p = q, b->cap = cap;
    }
    void *at = b->p + b->len;
    memset(at, 0, n);
    b->len += n;
    return at;
}

static void add(buf *b, const void *data, size_t n)
{
    void *at = grow(b, n);
    if (at && n)
        memcpy(at, data, n);
}

static void pad(buf *b) { grow(b, (ALIGN - b->len % ALIGN) % ALIGN); }

/* weights: u32 count; per tensor u32 name length, name, u32 rank, i64 dims,
 * u64 data offset within the section (64-aligned); then the data */
static void put_weights(buf *out, const sf_graph *g, const sf_tensor_set *w)
{
    size_t start = out->len, np = g->params.len;
    unsigned char n4[8];
    put32(n4, (uint32_t)np);
    add(out, n4, 4);
    size_t *at = calloc(np + 1, sizeof *at);
    const sf_tensor **ts = calloc(np + 1, sizeof *ts);
    for (size_t i = 0; ts && i < np; i++)
        if (!(ts[i] = sf_tensors_get(w, ((const sf_value *)g->params.items[i])->def->name)))
            out->failed = true; /* sf_model checked them all: cannot happen */
    if (!at || !ts || out->failed) {
        free(at);
        free(ts);
        out->failed = true;
        return;
    }
    for (size_t i = 0; i < np; i++) {
        const char *name = ((const sf_value *)g->params.items[i])->def->name;
        const sf_tensor *t = ts[i];
        put32(n4, (uint32_t)strlen(name));
        add(out, n4, 4);
        add(out, name, strlen(name));
        put32(n4, (uint32_t)t->rank);
        add(out, n4, 4);
        for (int d = 0; d < t->rank; d++) {
            put64(n4, (uint64_t)t->dim[d]);
            add(out, n4, 8);
        }
        at[i] = out->len;
        add(out, n4, 8); /* the offset, filled in below */
    }
    for (size_t i = 0; i < np && !out->failed; i++) {
        const sf_tensor *t = ts[i];
        pad(out);
        if (!out->failed)
            put64(out->p + at[i], out->len - start);
        add(out, t->data, sf_tensor_numel(t) * sizeof(float));
    }
    free(at);
    free(ts);
}

void sf_cuda_targets_text(const sf_pkg_cuda *c, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    for (int i = 0; i < c->nimages && at < cap; i++) {
        int n = snprintf(out + at, cap - at, "%s%s_%d", i ? "," : "", c->images[i].ptx ? "compute" : "sm",
                         c->images[i].arch);
        at += n > 0 ? (size_t)n : cap;
    }
}

/* the meta section: what the package was built for */
static int meta_text(char *meta, size_t cap, const void *object, const sf_cpu_target *target, int abi,
                     const sf_pkg_cuda *cuda)
{
    int n = snprintf(meta, cap, "sheaf=%s\nbackend=%s\nabi=%d\ntriple=%s\ncpu=%s\nfeatures=%s\n", SF_VERSION_STRING,
                     object ? "cpu" : "none", abi, target->triple, target->cpu, target->features);
    if (cuda && n > 0 && (size_t)n < cap) {
        char targets[128];
        sf_cuda_targets_text(cuda, targets, sizeof targets);
        n += snprintf(meta + n, cap - (size_t)n, "nvrtc=%d\ncuda_targets=%s\n", cuda->nvrtc_version, targets);
    }
    return n > 0 && (size_t)n < cap ? n : 0;
}

sf_status sf_pkg_write(const char *path, const sf_graph *g, const sf_tensor_set *w, const sf_plan *plan,
                       const void *object, size_t object_size, const sf_cpu_target *target, int abi,
                       const sf_pkg_cuda *cuda, sf_error *err)
{
    unsigned char *plan_bytes = NULL;
    size_t plan_len = 0;
    sf_status pst = sf_plan_encode(plan, &plan_bytes, &plan_len, err);
    if (pst != SF_OK)
        return pst;
    char *ir = sf_print_string(g);
    char meta[sizeof target->features + 1024];
    int mlen = meta_text(meta, sizeof meta, object, target, abi, cuda);
    enum { MAX = 6 + SF_PKG_MAX_IMAGES };
    int kind[MAX], nsec = 0;
    uint32_t arch[MAX] = {0}, format[MAX] = {0};
    const void *data[MAX];
    size_t dlen[MAX];
#define SECTION(k, p, n) (kind[nsec] = (k), data[nsec] = (p), dlen[nsec] = (n), nsec++)
    SECTION(SEC_META, meta, (size_t)mlen);
    SECTION(SEC_IR, ir ? ir : "", ir ? strlen(ir) : 0);
    SECTION(SEC_WEIGHTS, NULL, 0); /* written by put_weights */
    SECTION(SEC_PLAN, plan_bytes, plan_len);
    if (object)
        SECTION(SEC_CPU_OBJECT, object, object_size);
    if (cuda) {
        SECTION(SEC_CUDA_SOURCE, cuda->source, cuda->source_len);
        for (int i = 0; i < cuda->nimages && i < SF_PKG_MAX_IMAGES; i++) {
            arch[nsec] = (uint32_t)cuda->images[i].arch;
            format[nsec] = cuda->images[i].ptx ? IMAGE_PTX : IMAGE_CUBIN;
            SECTION(SEC_CUDA_IMAGE, cuda->images[i].data, cuda->images[i].len);
        }
    }
#undef SECTION
    buf b = {0};
    grow(&b, HEADER + (size_t)nsec * ENTRY);
    pad(&b);
    size_t off[MAX], len[MAX];
    for (int s = 0; s < nsec; s++) {
        off[s] = b.len;
        if (kind[s] == SEC_WEIGHTS)
            put_weights(&b, g, w);
        else
            add(&b, data[s], dlen[s]);
        len[s] = b.len - off[s];
        pad(&b);
    }
    free(plan_bytes);
    if (!ir || b.failed) {
        free(ir);
        free(b.p);
        return sf_fail(err, SF_ERR_NOMEM, "%s: out of memory writing the package", path);
    }
    free(ir);
    memcpy(b.p, MAGIC, 8);
    put32(b.p + 8, SF_PKG_VERSION);
    put32(b.p + 12, (uint32_t)nsec);
    put64(b.p + 16, b.len);
    for (int s = 0; s < nsec; s++) {
        unsigned char *e = b.p + HEADER + (size_t)s * ENTRY;
        put32(e, (uint32_t)kind[s]);
        put32(e + 4, arch[s]);
        put64(e + 8, off[s]);
        put64(e + 16, len[s]);
        put32(e + 24, sf_pkg_crc32(b.p + off[s], len[s]));
        put32(e + 28, format[s]);
    }
    put32(b.p + 24, sf_pkg_crc32(b.p, HEADER + (size_t)nsec * ENTRY)); /* with this field still zero */
    sf_outfile of;
    sf_status st = sf_outfile_open(&of, path, err);
    if (st == SF_OK && fwrite(b.p, 1, b.len, of.f) != b.len) {
        sf_outfile_abort(&of);
        st = sf_fail(err, SF_ERR_IO, "%s: write failed", path);
    } else if (st == SF_OK) {
        st = sf_outfile_commit(&of, err);
    }
    free(b.p);
    return st;
}

/* ---- reading ---- */

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Meta, IR and weights come first, in that order; then (version 3 on) at
 * most one plan, at most one CPU object, at most one CUDA source, and CUDA
 * images (an architecture and a format each), in that order. Other
 * sections carry no arch or format. */
static bool section_fits(uint32_t s, uint32_t kind, uint32_t last, uint32_t version, uint32_t arch,
                         uint32_t format)
{
    if (s < 3)
        return kind == s + 1 && !arch && !format;
    if (kind < SEC_CPU_OBJECT || kind > SEC_PLAN || (kind == SEC_PLAN && version < 3))
        return false;
    if (kind == SEC_CUDA_IMAGE)
        return RANK[last] <= RANK[kind] && arch >= 50 && arch <= 999 && (format == IMAGE_CUBIN || format == IMAGE_PTX);
    return RANK[last] < RANK[kind] && !arch && !format;
}

sf_status sf_pkg_parse(const unsigned char *buf, size_t size, const char *what, sf_pkg_view *v, sf_error *err)
{
    memset(v, 0, sizeof *v);
    if (size < HEADER || memcmp(buf, MAGIC, 8) != 0)
        return sf_fail(err, SF_ERR_FORMAT, "%s: not a sheaf package (bad magic)", what);
    uint32_t version = get32(buf + 8), nsec = get32(buf + 12);
    if (version > SF_PKG_VERSION)
        return sf_fail(err, SF_ERR_FORMAT, "%s: package format version %u is newer than this sheaf reads (%d)", what,
                       version, SF_PKG_VERSION);
    if (version == 0)
        return sf_fail(err, SF_ERR_FORMAT, "%s: package format version 0 is not valid", what);
    if (get64(buf + 16) != size)
        return sf_fail(err, SF_ERR_FORMAT, "%s: truncated or extended: the header says %llu bytes, the file has %zu",
                       what, (unsigned long long)get64(buf + 16), size);
    if (nsec < 3 || nsec > MAX_SECTIONS || HEADER + (size_t)nsec * ENTRY > size)
        return sf_fail(err, SF_ERR_FORMAT, "%s: bad section count %u", what, nsec);
    size_t table_end = HEADER + (size_t)nsec * ENTRY;
    unsigned char head[HEADER + MAX_SECTIONS * ENTRY];
    memcpy(head, buf, table_end);
    put32(head + 24, 0);
    if ((sf_pkg_crc32(head, table_end) != get32(buf + 24) && !FUZZING) || !all_zero(buf + 28, 4))
        return sf_fail(err, SF_ERR_FORMAT, "%s: header checksum mismatch (corrupted)", what);
    size_t expect = table_end + (ALIGN - table_end % ALIGN) % ALIGN; /* sections follow each other in order */
    if (expect > size || !all_zero(buf + table_end, expect - table_end))
        return sf_fail(err, SF_ERR_FORMAT, "%s: non-zero padding after the section table", what);
    static const char *const names[] = {"", "meta", "ir", "weights", "cpu object", "cuda source", "cuda image", "plan"};
    uint32_t last = 0;
    for (uint32_t s = 0; s < nsec; s++) {
        const unsigned char *e = buf + HEADER + (size_t)s * ENTRY;
        uint32_t kind = get32(e), arch = get32(e + 4), format = get32(e + 28);
        uint64_t off = get64(e + 8), len = get64(e + 16);
        if (!section_fits(s, kind, last, version, arch, format))
            return sf_fail(err, SF_ERR_FORMAT, "%s: section %u has unknown kind %u or is out of place", what, s, kind);
        last = kind;
        if (off != expect || off > size || len > size - off)
            return sf_fail(err, SF_ERR_FORMAT, "%s: %s section lies outside the file or out of order", what,
                           names[kind]);
        if (sf_pkg_crc32(buf + off, len) != get32(e + 24) && !FUZZING)
            return sf_fail(err, SF_ERR_FORMAT, "%s: %s section checksum mismatch (corrupted)", what, names[kind]);
        size_t end = off + len, next = end + (ALIGN - end % ALIGN) % ALIGN;
        if (next > size)
            next = size;
        if (!all_zero(buf + end, next - end))
            return sf_fail(err, SF_ERR_FORMAT, "%s: non-zero padding after the %s section", what, names[kind]);
        expect = next;
        switch (kind) {
        case SEC_META: v->meta = (const char *)buf + off, v->meta_len = len; break;
        case SEC_IR: v->ir = (const char *)buf + off, v->ir_len = len; break;
        case SEC_WEIGHTS: v->weights = buf + off, v->weights_len = len; break;
        case SEC_PLAN: v->plan = buf + off, v->plan_len = len; break;
        case SEC_CPU_OBJECT: v->object = buf + off, v->object_len = len; break;
        case SEC_CUDA_SOURCE: v->cuda.source = (const char *)buf + off, v->cuda.source_len = len; break;
        default:
            if (v->cuda.nimages == SF_PKG_MAX_IMAGES)
                return sf_fail(err, SF_ERR_FORMAT, "%s: more than %d CUDA images", what, SF_PKG_MAX_IMAGES);
            v->cuda.images[v->cuda.nimages++] =
                (sf_pkg_image){(int)arch, format == IMAGE_PTX, buf + off, (size_t)len};
            break;
        }
    }
    if (expect != size)
        return sf_fail(err, SF_ERR_FORMAT, "%s: %zu bytes after the last section", what, size - expect);
    return SF_OK;
}

bool sf_pkg_meta(const sf_pkg_view *v, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    const char *p = v->meta, *end = v->meta + v->meta_len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if ((size_t)(le - p) > klen && !memcmp(p, key, klen) && p[klen] == '=') {
            size_t n = (size_t)(le - p) - klen - 1;
            if (n >= cap)
                return false;
            memcpy(out, p + klen + 1, n);
            out[n] = '\0';
            return true;
        }
        p = le + 1;
    }
    return false;
}

sf_status sf_pkg_weights(const sf_pkg_view *v, const char *what, sf_tensor_set *w, sf_error *err)
{
    const unsigned char *p = v->weights, *end = v->weights + v->weights_len;
#define NEED(n) if ((size_t)(end - p) < (size_t)(n)) return sf_fail(err, SF_ERR_FORMAT, "%s: weights section truncated", what)
    NEED(4);
    uint32_t count = get32(p);
    p += 4;
    for (uint32_t i = 0; i < count; i++) {
        NEED(4);
        uint32_t nlen = get32(p);
        p += 4;
        NEED((size_t)nlen + 4);
        char name[1024];
        if (nlen == 0 || nlen >= sizeof name || memchr(p, 0, nlen))
            return sf_fail(err, SF_ERR_FORMAT, "%s: weight %u has a bad name", what, i);
        memcpy(name, p, nlen);
        name[nlen] = '\0';
        p += nlen;
        uint32_t rank = get32(p);
        p += 4;
        if (rank > SF_MAX_RANK)
            return sf_fail(err, SF_ERR_FORMAT, "%s: weight '%s' has rank %u", what, name, rank);
        NEED((size_t)rank * 8 + 8);
        int64_t dims[SF_MAX_RANK];
        size_t numel = 1, bytes;
        for (uint32_t d = 0; d < rank; d++, p += 8) {
            uint64_t x = get64(p);
            if (x == 0 || x > INT64_MAX || sf_mul_overflow(numel, (size_t)x, &numel))
                return sf_fail(err, SF_ERR_FORMAT, "%s: weight '%s' has a bad shape", what, name);
            dims[d] = (int64_t)x;
        }
        uint64_t at = get64(p);
        p += 8;
        if (sf_mul_overflow(numel, sizeof(float), &bytes) || at % ALIGN || at > v->weights_len ||
            bytes > v->weights_len - at)
            return sf_fail(err, SF_ERR_FORMAT, "%s: weight '%s' lies outside the weights section", what, name);
        if (!sf_tensors_add(w, name, (int)rank, dims, (const float *)(v->weights + at), err))
            return err ? err->code : SF_ERR_NOMEM;
    }
#undef NEED
    return SF_OK;
}
