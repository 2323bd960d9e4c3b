#include "frontend/safetensors.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/fileio.h"

static const struct {
    const char *name;
    size_t size;
} st_dtypes[SF_ST_DTYPE_COUNT] = {
    [SF_ST_BOOL] = {"BOOL", 1}, [SF_ST_U8] = {"U8", 1},   [SF_ST_I8] = {"I8", 1},
    [SF_ST_F8_E5M2] = {"F8_E5M2", 1}, [SF_ST_F8_E4M3] = {"F8_E4M3", 1},
    [SF_ST_I16] = {"I16", 2},   [SF_ST_U16] = {"U16", 2}, [SF_ST_F16] = {"F16", 2},
    [SF_ST_BF16] = {"BF16", 2}, [SF_ST_I32] = {"I32", 4}, [SF_ST_U32] = {"U32", 4},
    [SF_ST_F32] = {"F32", 4},   [SF_ST_F64] = {"F64", 8}, [SF_ST_I64] = {"I64", 8},
    [SF_ST_U64] = {"U64", 8},
};

const char *sf_st_dtype_name(sf_st_dtype d) { return st_dtypes[d].name; }
size_t sf_st_dtype_size(sf_st_dtype d) { return st_dtypes[d].size; }

void sf_st_close(sf_st_file *f)
{
    if (!f)
        return;
    free(f->owned);
    sf_arena_free(&f->arena);
    free(f);
}

/* A JSON integer that fits in [0, limit]. */
static bool json_size(const json_t *j, uint64_t limit, uint64_t *out)
{
    if (!json_is_integer(j) || json_integer_value(j) < 0 || (uint64_t)json_integer_value(j) > limit)
        return false;
    *out = (uint64_t)json_integer_value(j);
    return true;
}

static sf_status parse_entry(sf_st_file *f, const char *what, const char *key, json_t *v, size_t data_size,
                             sf_st_tensor *t, sf_error *err)
{
    if (!json_is_object(v))
        return sf_fail(err, SF_ERR_FORMAT, "%s: key '%s': entry is not an object", what, key);
    const char *field;
    json_t *fv;
    json_object_foreach(v, field, fv)
    {
        if (strcmp(field, "dtype") && strcmp(field, "shape") && strcmp(field, "data_offsets"))
            return sf_fail(err, SF_ERR_FORMAT, "%s: key '%s': unknown field '%s'", what, key, field);
    }
    json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape"),
           *jo = json_object_get(v, "data_offsets");
    if (!json_is_string(jd) || !json_is_array(js) || !json_is_array(jo))
        return sf_fail(err, SF_ERR_FORMAT, "%s: key '%s': needs dtype (string), shape and data_offsets (arrays)",
                       what, key);
    t->name = sf_arena_strdup(&f->arena, key);
    if (!t->name)
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    int dt = -1;
    for (int i = 0; i < SF_ST_DTYPE_COUNT; i++)
        if (strcmp(json_string_value(jd), st_dtypes[i].name) == 0)
            dt = i;
    if (dt < 0)
        return sf_fail(err, SF_ERR_FORMAT, "%s: key '%s': unknown dtype '%.40s'", what, key, json_string_value(jd));
    t->dtype = (sf_st_dtype)dt;
    if (json_array_size(js) > SF_ST_MAX_RANK)
        return sf_fail(err, SF_ERR_UNSUPPORTED, "%s: key '%s': rank %zu is above %d", what, key, json_array_size(js),
                       SF_ST_MAX_RANK);
    t->rank = (int)json_array_size(js);
    size_t numel = 1, bytes;
    for (int i = 0; i < t->rank; i++) {
        uint64_t d;
        if (!json_size(json_array_get(js, (size_t)i), INT64_MAX, &d))
            return sf_fail(err, SF_ERR_FORMAT, "%s: key '%s': shape entry %d is not a non-negative integer", what, key,
                           i);
        t->shape[i] = (int64_t)d;
        if (d > SIZE_MAX || sf_mul_overflow(numel, (size_t)d, &numel))
            return sf_fail(err, SF_ERR_FORMAT, "%s: key '%s': shape overflows", what, key);
    }
    if (sf_mul_overflow(numel, st_dtypes[dt].size, &bytes))
        return sf_fail(err, SF_ERR_FORMAT, "%s: key '%s': byte size of the shape overflows", what, key);
    uint64_t b, e;
    if (json_array_size(jo) != 2 || !json_size(json_array_get(jo, 0), SIZE_MAX, &b) ||
        !json_size(json_array_get(jo, 1), SIZE_MAX, &e))
        return sf_fail(err, SF_ERR_FORMAT, "%s: key '%s': data_offsets must be two non-negative integers", what, key);
    if (b > e)
        return sf_fail(err, SF_ERR_FORMAT, "%s: key '%s': data_offsets [%llu, %llu] are reversed", what, key,
                       (unsigned long long)b, (unsigned long long)e);
    if (e > data_size)
        return sf_fail(err, SF_ERR_FORMAT, "%s: key '%s': data_offsets end %llu is past the end of the data (%zu bytes)",
                       what, key, (unsigned long long)e, data_size);
    if (e - b != bytes)
        return sf_fail(err, SF_ERR_FORMAT,
                       "%s: key '%s': shape of %s needs %zu bytes but data_offsets [%llu, %llu] hold %llu", what, key,
                       st_dtypes[dt].name, bytes, (unsigned long long)b, (unsigned long long)e,
                       (unsigned long long)(e - b));
    t->begin = (size_t)b;
    t->end = (size_t)e;
    return SF_OK;
}

static sf_status parse_metadata(sf_st_file *f, const char *what, json_t *v, sf_error *err)
{
    if (!json_is_object(v))
        return sf_fail(err, SF_ERR_FORMAT, "%s: __metadata__ is not an object", what);
    size_t n = json_object_size(v), i = 0;
    f->meta_keys = sf_arena_alloc(&f->arena, sizeof(char *) * (n + 1));
    f->meta_vals = sf_arena_alloc(&f->arena, sizeof(char *) * (n + 1));
    if (!f->meta_keys || !f->meta_vals)
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    const char *k;
    json_t *mv;
    json_object_foreach(v, k, mv)
    {
        if (!json_is_string(mv))
            return sf_fail(err, SF_ERR_FORMAT, "%s: __metadata__ entry '%s' is not a string", what, k);
        f->meta_keys[i] = sf_arena_strdup(&f->arena, k);
        f->meta_vals[i] = sf_arena_strdup(&f->arena, json_string_value(mv));
        if (!f->meta_keys[i] || !f->meta_vals[i])
            return sf_fail(err, SF_ERR_NOMEM, "out of memory");
        i++;
    }
    f->meta_count = i;
    return SF_OK;
}

static int by_offset(const void *a, const void *b)
{
    const sf_st_tensor *x = *(sf_st_tensor *const *)a, *y = *(sf_st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Sorted by offset, the tensors must cover [0, data_size) with no gap or overlap. */
static sf_status check_tiling(sf_st_file *f, const char *what, size_t data_size, sf_error *err)
{
    sf_st_tensor **order = malloc(sizeof *order * (f->count + 1));
    if (!order)
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < f->count; i++)
        order[i] = &f->tensors[i];
    qsort(order, f->count, sizeof *order, by_offset);
    size_t at = 0;
    sf_status st = SF_OK;
    const char *prev = NULL;
    for (size_t i = 0; st == SF_OK && i < f->count; i++) {
        const sf_st_tensor *t = order[i];
        if (t->begin < at)
            st = sf_fail(err, SF_ERR_FORMAT, "%s: key '%s' at data bytes [%zu, %zu) overlaps '%s' ending at %zu", what,
                         t->name, t->begin, t->end, prev, at);
        else if (t->begin > at)
            st = sf_fail(err, SF_ERR_FORMAT, "%s: gap in the data at bytes [%zu, %zu) before key '%s'", what, at,
                         t->begin, t->name);
        at = t->end;
        prev = t->name;
    }
    if (st == SF_OK && at != data_size)
        st = sf_fail(err, SF_ERR_FORMAT, "%s: %zu bytes of data after the last tensor (data is %zu bytes)", what,
                     data_size - at, data_size);
    free(order);
    return st;
}

static sf_status parse_header(sf_st_file *f, const unsigned char *buf, size_t size, const char *what, sf_error *err)
{
    if (size < 8)
        return sf_fail(err, SF_ERR_FORMAT, "%s: file is %zu bytes; safetensors starts with an 8-byte header length",
                       what, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | buf[i];
    if (hlen > SF_ST_MAX_HEADER)
        return sf_fail(err, SF_ERR_FORMAT, "%s: header length %llu (byte 0) is above the limit of %u", what,
                       (unsigned long long)hlen, SF_ST_MAX_HEADER);
    if (hlen > size - 8)
        return sf_fail(err, SF_ERR_FORMAT, "%s: header length %llu (byte 0) runs past the end of the file (%zu bytes)",
                       what, (unsigned long long)hlen, size);
    if (hlen == 0 || buf[8] != '{')
        return sf_fail(err, SF_ERR_FORMAT, "%s: header at byte 8 does not start with '{'", what);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return sf_fail(err, SF_ERR_FORMAT, "%s: header is not valid JSON at byte %lld: %s", what,
                       (long long)(8 + jerr.position), jerr.text);
    sf_status st = SF_OK;
    size_t data_size = size - 8 - (size_t)hlen;
    if (!json_is_object(root)) {
        st = sf_fail(err, SF_ERR_FORMAT, "%s: header is not a JSON object", what);
        goto done;
    }
    size_t n = json_object_size(root);
    f->tensors = sf_arena_alloc(&f->arena, sizeof *f->tensors * (n + 1));
    if (!f->tensors) {
        st = sf_fail(err, SF_ERR_NOMEM, "out of memory");
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "__metadata__") == 0) {
            st = parse_metadata(f, what, v, err);
        } else {
            sf_st_tensor *t = &f->tensors[f->count];
            st = parse_entry(f, what, key, v, data_size, t, err);
            if (st == SF_OK) {
                t->data = buf + 8 + hlen + t->begin;
                f->count++;
            }
        }
        if (st != SF_OK)
            goto done;
    }
    st = check_tiling(f, what, data_size, err);
done:
    json_decref(root);
    return st;
}

sf_st_file *sf_st_parse(const unsigned char *buf, size_t size, const char *what, sf_error *err)
{
    sf_st_file *f = calloc(1, sizeof *f);
    if (!f) {
        sf_fail(err, SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    sf_arena_init(&f->arena);
    if (parse_header(f, buf, size, what ? what : "<safetensors>", err) != SF_OK) {
        sf_st_close(f);
        return NULL;
    }
    return f;
}

sf_st_file *sf_st_open(const char *path, sf_error *err)
{
    char *buf;
    size_t len;
    if (sf_read_file(path, &buf, &len, err) != SF_OK)
        return NULL;
    sf_st_file *f = sf_st_parse((const unsigned char *)buf, len, path, err);
    if (!f) {
        free(buf);
        return NULL;
    }
    f->owned = (unsigned char *)buf;
    return f;
}

/* ---- conversion to f32 ---- */

static float half_to_float(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    double v;
    if (exp == 0)
        v = ldexp(man, -24);
    else if (exp == 31)
        v = man ? NAN : INFINITY;
    else
        v = ldexp(man + 1024, exp - 25);
    return (float)(sign ? -v : v);
}

static float bf16_to_float(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static bool little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* an integer element (signed where the dtype is), as a double; *exact false past f32's 2^24 */
static double integer_of(sf_st_dtype d, uint64_t bits, bool *exact)
{
    int64_t v;
    switch (d) {
    case SF_ST_I8: v = (int8_t)bits; break;
    case SF_ST_I16: v = (int16_t)bits; break;
    case SF_ST_I32: v = (int32_t)bits; break;
    case SF_ST_I64: v = (int64_t)bits; break;
    case SF_ST_U64:
        if (bits > (1u << 24)) {
            *exact = false;
            return 0;
        }
        v = (int64_t)bits;
        break;
    default: v = (int64_t)bits; break; /* BOOL, U8, U16, U32: zero-extended */
    }
    if (v > (1 << 24) || v < -(1 << 24))
        *exact = false;
    return (double)v;
}

static bool is_integer(sf_st_dtype d)
{
    return d == SF_ST_BOOL || d == SF_ST_U8 || d == SF_ST_I8 || d == SF_ST_I16 || d == SF_ST_U16 ||
           d == SF_ST_I32 || d == SF_ST_U32 || d == SF_ST_I64 || d == SF_ST_U64;
}

sf_status sf_st_to_tensors(const sf_st_file *f, const char *what, sf_tensor_set *set, sf_error *err)
{
    for (size_t i = 0; i < f->count; i++) {
        const sf_st_tensor *t = &f->tensors[i];
        bool floating = t->dtype == SF_ST_F32 || t->dtype == SF_ST_F64 || t->dtype == SF_ST_F16 || t->dtype == SF_ST_BF16;
        if (!floating && (strcmp(t->name, "num_batches_tracked") == 0 || ends_with(t->name, ".num_batches_tracked")))
            continue;
        if (!floating && !is_integer(t->dtype)) /* the 8-bit floats */
            return sf_fail(err, SF_ERR_UNSUPPORTED, "%s: key '%s': dtype %s is not supported", what, t->name,
                           st_dtypes[t->dtype].name);
        if (t->rank > SF_MAX_RANK)
            return sf_fail(err, SF_ERR_UNSUPPORTED, "%s: key '%s': rank %d is above %d", what, t->name, t->rank,
                           SF_MAX_RANK);
        sf_tensor *dst = sf_tensors_add(set, t->name, t->rank, t->shape, NULL, err);
        if (!dst) {
            sf_error_prefix(err, "%s", what);
            return err ? err->code : SF_ERR_NOMEM;
        }
        size_t n = sf_tensor_numel(dst), es = st_dtypes[t->dtype].size;
        if (t->dtype == SF_ST_F32 && little_endian()) {
            memcpy(dst->data, t->data, n * sizeof(float));
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            const unsigned char *p = t->data + k * es; /* little-endian, maybe unaligned */
            uint64_t bits = 0;
            for (size_t b = 0; b < es; b++)
                bits |= (uint64_t)p[b] << (8 * b);
            if (!floating) { /* index buffers (torch.arange, masks) become f32 integers */
                bool exact = true;
                dst->data[k] = (float)integer_of(t->dtype, bits, &exact);
                if (!exact)
                    return sf_fail(err, SF_ERR_UNSUPPORTED,
                                   "%s: key '%s': element %zu of this %s tensor is beyond 2^24, where sheaf's f32 "
                                   "values stop being exact integers", what, t->name, k, st_dtypes[t->dtype].name);
            } else if (t->dtype == SF_ST_F32) {
                uint32_t u = (uint32_t)bits;
                memcpy(&dst->data[k], &u, sizeof u);
            } else if (t->dtype == SF_ST_F64) {
                double d;
                memcpy(&d, &bits, sizeof d);
                dst->data[k] = (float)d;
            } else if (t->dtype == SF_ST_F16) {
                dst->data[k] = half_to_float((uint16_t)bits);
            } else {
                dst->data[k] = bf16_to_float((uint16_t)bits);
            }
        }
    }
    return SF_OK;
}

sf_status sf_st_load(const char *path, sf_tensor_set *set, sf_error *err)
{
    sf_st_file *f = sf_st_open(path, err);
    if (!f)
        return err ? err->code : SF_ERR_FORMAT;
    sf_status st = sf_st_to_tensors(f, path, set, err);
    sf_st_close(f);
    return st;
}

/* ---- writing ---- */

static char *header_json(const sf_tensor_set *set, size_t *data_size, sf_error *err)
{
    json_t *root = json_object();
    size_t at = 0;
    bool ok = root != NULL;
    for (size_t i = 0; ok && i < set->tensors.len; i++) {
        const sf_tensor *t = set->tensors.items[i];
        json_t *shape = json_array(), *offs = json_array(), *entry = json_object();
        ok = shape && offs && entry;
        for (int d = 0; ok && d < t->rank; d++)
            ok = json_array_append_new(shape, json_integer(t->dim[d])) == 0;
        size_t bytes = sf_tensor_numel(t) * sizeof(float);
        ok = ok && json_array_append_new(offs, json_integer((json_int_t)at)) == 0 &&
             json_array_append_new(offs, json_integer((json_int_t)(at + bytes))) == 0;
        ok = ok && json_object_set_new(entry, "dtype", json_string("F32")) == 0 &&
             json_object_set(entry, "shape", shape) == 0 && json_object_set(entry, "data_offsets", offs) == 0 &&
             json_object_set(root, set->names.items[i], entry) == 0;
        json_decref(shape), json_decref(offs), json_decref(entry);
        at += bytes;
    }
    char *text = ok ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!text)
        sf_fail(err, SF_ERR_NOMEM, "out of memory writing a safetensors header");
    *data_size = at;
    return text;
}

sf_status sf_st_save(const char *path, const sf_tensor_set *set, sf_error *err)
{
    size_t data_size;
    char *header = header_json(set, &data_size, err);
    if (!header)
        return SF_ERR_NOMEM;
    /* pad the header with spaces so that the data starts 8-byte aligned */
    size_t hlen = strlen(header), padded = (hlen + 7) & ~(size_t)7;
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    sf_outfile o;
    sf_status st = sf_outfile_open(&o, path, err);
    if (st != SF_OK) {
        free(header);
        return st;
    }
    bool ok = fwrite(len8, 1, 8, o.f) == 8 && fwrite(header, 1, hlen, o.f) == hlen;
    for (size_t i = hlen; ok && i < padded; i++)
        ok = fputc(' ', o.f) != EOF;
    for (size_t i = 0; ok && i < set->tensors.len; i++) {
        const sf_tensor *t = set->tensors.items[i];
        size_t n = sf_tensor_numel(t);
        if (little_endian()) {
            ok = fwrite(t->data, sizeof(float), n, o.f) == n;
            continue;
        }
        for (size_t k = 0; ok && k < n; k++) {
            uint32_t u;
            memcpy(&u, &t->data[k], sizeof u);
            unsigned char le[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
                                   (unsigned char)(u >> 24)};
            ok = fwrite(le, 1, 4, o.f) == 4;
        }
    }
    free(header);
    if (!ok) {
        sf_outfile_abort(&o);
        return sf_fail(err, SF_ERR_IO, "%s: write failed", path);
    }
    return sf_outfile_commit(&o, err);
}
