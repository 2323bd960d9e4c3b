#include "ir/ir.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    size_t size;
    bool runs;
} dtypes[] = {
    [SF_F32] = {"f32", 4, true},
    [SF_F16] = {"f16", 2, false},
    [SF_BF16] = {"bf16", 2, false},
    [SF_BOOL] = {"bool", 4, true}, /* f32 0 or 1: see ir.h */
};

const char *sf_dtype_name(sf_dtype t) { return dtypes[t].name; }
size_t sf_dtype_size(sf_dtype t) { return dtypes[t].size; }
bool sf_dtype_runs(sf_dtype t) { return dtypes[t].runs; }

bool sf_dtype_parse(const char *s, size_t n, sf_dtype *out)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++) {
        if (strlen(dtypes[i].name) == n && memcmp(dtypes[i].name, s, n) == 0) {
            *out = (sf_dtype)i;
            return true;
        }
    }
    return false;
}

bool sf_type_equal(const sf_type *a, const sf_type *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dim[i] != b->dim[i])
            return false;
    return true;
}

const char *sf_dims_str(const int64_t *dims, int n, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
#define PUT(...)                                                    \
    do {                                                            \
        int k = snprintf(buf + at, at < cap ? cap - at : 0, __VA_ARGS__); \
        if (k > 0)                                                  \
            at += (size_t)k;                                        \
    } while (0)
    PUT("[");
    for (int i = 0; i < n; i++) {
        if (dims[i] == SF_DIM_B)
            PUT("%sB", i ? "," : "");
        else
            PUT("%s%lld", i ? "," : "", (long long)dims[i]);
    }
    PUT("]");
#undef PUT
    return buf;
}

const char *sf_type_str(const sf_type *t, char *buf, size_t cap)
{
    char dims[256];
    snprintf(buf, cap, "%s%s", sf_dtype_name(t->dtype), sf_dims_str(t->dim, t->rank, dims, sizeof dims));
    return buf;
}

bool sf_type_numel(const sf_type *t, int64_t batch, size_t *out)
{
    size_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        int64_t d = t->dim[i] == SF_DIM_B ? batch : t->dim[i];
        if (d < 0 || sf_mul_overflow(n, (size_t)d, &n))
            return false;
    }
    *out = n;
    return true;
}

bool sf_type_has_batch(const sf_type *t)
{
    for (int i = 0; i < t->rank; i++)
        if (t->dim[i] == SF_DIM_B)
            return true;
    return false;
}

bool sf_type_joins_last2(const sf_type *from, const sf_type *to)
{
    int r = from->rank;
    if (r < 2 || to->rank != r - 1 || from->dim[r - 1] == SF_DIM_B || from->dim[r - 2] == SF_DIM_B ||
        to->dim[r - 2] != from->dim[r - 2] * from->dim[r - 1])
        return false;
    for (int i = 0; i < r - 2; i++)
        if (to->dim[i] != from->dim[i])
            return false;
    return true;
}
