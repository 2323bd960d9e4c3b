/* Shapes and data movement with no op of their own, built from slices,
 * concats, reshapes and broadcasts: expand, expand_as, broadcast_to,
 * repeat, tile, flip, fliplr/flipud, roll, unflatten, F.pad and the conv
 * padding modes. Each is exact: a copy moves values, it never computes
 * with them (x * 1 keeps NaN, inf and -0.0). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "frontend/py_torch.h"

/* a dim count past which a move made of one slice per element is refused */
enum { MAX_PARTS = 4096 };

sf_value *py_concat(py_interp *I, const py_expr *at, sf_value *const *xs, int n, int d)
{
    for (int i = 0; i < n; i++)
        if (!xs[i])
            return NULL;
    if (n == 1)
        return xs[0];
    sf_node *node = py_begin(I, at, SF_OP_CONCAT, n, xs);
    if (node)
        sf_node_set_int(node, SF_ATTR_DIM, d);
    return py_emit(I, at, node);
}

/* x broadcast to dims (x's dims right-aligned against them): times a 1 of
 * that shape, or for a mask, or-ed with a false one */
sf_value *py_broadcast_to(py_interp *I, const py_expr *at, sf_value *x, const int64_t *dims, int rank)
{
    if (!x)
        return NULL;
    bool same = x->type.rank == rank;
    for (int i = 0; same && i < rank; i++)
        same = x->type.dim[i] == dims[i];
    if (same)
        return x;
    bool mask = x->type.dtype == SF_BOOL;
    int64_t fd[SF_MAX_RANK]; /* the fill is 1 wide where x already has the size: no batch in it, so it folds */
    for (int i = 0; i < rank; i++) {
        int xi = i - (rank - x->type.rank);
        fd[i] = xi >= 0 && x->type.dim[xi] == dims[i] ? 1 : dims[i];
    }
    sf_value *fill = py_full(I, at, fd, rank, mask ? 0 : 1, NULL, x->type.dtype);
    return fill ? py_op2(I, at, mask ? SF_OP_MAXIMUM : SF_OP_MUL, x, fill) : NULL;
}

/* sizes of expand: -1 keeps a dim (SF_DIM_B is -1 too, so it gets its own mark) */
#define KEEP INT64_MIN

/* the sizes of expand (sizes) or repeat (counts): f(2, 3) or f((2, 3)); x.size(0) of the batch is B */
static bool sizes_of(py_interp *I, const py_expr *at, int argc, pv **argv, const char *what, bool sizes, int64_t *out,
                     int *n)
{
    pv *seq = argc == 1 && (argv[0]->k == PV_LIST || argv[0]->k == PV_TUPLE) ? argv[0] : NULL;
    *n = seq ? (int)seq->u.list->n : argc;
    if (*n > SF_MAX_RANK)
        return py_error(I, at, SF_ERR_SHAPE, "%s: more than %d sizes", what, SF_MAX_RANK) != NULL;
    for (int i = 0; i < *n; i++) {
        pv *v = seq ? seq->u.list->items[i] : argv[i];
        if (v->k == PV_BATCH && !sizes)
            return py_error(I, at, SF_ERR_UNSUPPORTED, "%s: the batch size as a count is not supported", what) != NULL;
        if (v->k == PV_BATCH)
            out[i] = SF_DIM_B;
        else if (!py_as_int(I, at, v, what, &out[i]))
            return false;
        else if (sizes && out[i] == -1)
            out[i] = KEEP;
    }
    return true;
}

/* the sizes as a method's arguments or one keyword */
static bool method_sizes(py_interp *I, const py_expr *at, int argc, pv **argv, int kwc, const char **kwn, pv **kwv,
                         const char *what, const char *kw, bool sizes, int64_t *out, int *n)
{
    if (kwc == 1 && argc == 0 && strcmp(kwn[0], kw) == 0)
        return sizes_of(I, at, 1, kwv, what, sizes, out, n);
    if (kwc)
        return py_error(I, at, SF_ERR_INVALID_ARG, "%s: unexpected keyword argument '%s'", what, kwn[0]) != NULL;
    if (argc == 0)
        return py_error(I, at, SF_ERR_INVALID_ARG, "%s needs the sizes", what) != NULL;
    return sizes_of(I, at, argc, argv, what, sizes, out, n);
}

static const char *dim_str(int64_t d, char *buf, size_t n)
{
    if (d == SF_DIM_B)
        return "B";
    snprintf(buf, n, "%lld", (long long)d);
    return buf;
}

static sf_value *expand_to(py_interp *I, const py_expr *at, sf_value *x, const int64_t *size, int n, const char *what)
{
    int r = x->type.rank;
    int64_t dims[SF_MAX_RANK];
    char hb[24], wb[24];
    if (n < r)
        return py_error(I, at, SF_ERR_SHAPE, "%s: %d sizes for a tensor of rank %d", what, n, r), NULL;
    for (int i = 0; i < n; i++) {
        int j = i - (n - r);
        int64_t have = j >= 0 ? x->type.dim[j] : 1, want = size[i];
        if (want == KEEP && j < 0)
            return py_error(I, at, SF_ERR_SHAPE, "%s: -1 at the new leading dim %d", what, i), NULL;
        if (want == KEEP)
            want = have;
        if (want == SF_DIM_B && i != 0)
            return py_error(I, at, SF_ERR_SHAPE, "%s: the batch can only be dim 0", what), NULL;
        if (want != SF_DIM_B && (want < 0 || want > SF_DIM_MAX))
            return py_error(I, at, SF_ERR_SHAPE, "%s: invalid size %lld at dim %d", what, (long long)want, i), NULL;
        if (have != 1 && have != want)
            return py_error(I, at, SF_ERR_SHAPE, "%s: size %s at dim %d does not match the existing size %s (only "
                            "size-1 dims expand)", what, dim_str(want, wb, sizeof wb), i, dim_str(have, hb, sizeof hb)),
                   NULL;
        dims[i] = want;
    }
    return py_broadcast_to(I, at, x, dims, n);
}

TFN(t_expand)
{
    if (!self)
        return py_error(I, at, SF_ERR_INVALID_ARG, "expand() is a tensor method");
    sf_value *x = py_tv(I, at, self, "expand");
    int64_t size[SF_MAX_RANK];
    int n;
    if (!x || !method_sizes(I, at, argc, argv, kwc, kwn, kwv, "expand", "size", true, size, &n))
        return NULL;
    return py_view_of(I, self, expand_to(I, at, x, size, n, "expand"));
}

TFN(t_expand_as)
{
    BIND("expand_as()", 2, "input", "other");
    sf_value *x = py_tv(I, at, a[0], "expand_as"), *o = x ? py_tv(I, at, a[1], "expand_as") : NULL;
    return o ? py_view_of(I, a[0], expand_to(I, at, x, o->type.dim, o->type.rank, "expand_as")) : NULL;
}

TFN(t_broadcast_to)
{
    BIND("broadcast_to()", 2, "input", "size");
    sf_value *x = py_tv(I, at, a[0], "broadcast_to");
    int64_t size[SF_MAX_RANK];
    int n;
    if (!x || !sizes_of(I, at, 1, &a[1], "broadcast_to", true, size, &n))
        return NULL;
    return py_view_of(I, a[0], expand_to(I, at, x, size, n, "broadcast_to"));
}

/* x repeated count times along d, a concat of copies */
static sf_value *copies(py_interp *I, const py_expr *at, sf_value *x, int d, int64_t count, const char *what)
{
    if (count == 1)
        return x;
    if (x->type.dim[d] == SF_DIM_B)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "%s along the batch dim is not supported", what), NULL;
    if (count < 1 || count > MAX_PARTS)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "%s: a count of %lld (1 to %d are supported)", what,
                        (long long)count, MAX_PARTS),
               NULL;
    sf_value **xs = sf_arena_alloc(I->arena, sizeof *xs * (size_t)count);
    if (!xs)
        return py_error(I, at, SF_ERR_NOMEM, "out of memory"), NULL;
    for (int64_t i = 0; i < count; i++)
        xs[i] = x;
    return py_concat(I, at, xs, (int)count, d);
}

/* repeat(sizes) and tile(dims): new leading dims of size 1, then copies
 * along each dim; tile also takes fewer counts than dims (leading 1s) */
static sf_value *repeat(py_interp *I, const py_expr *at, sf_value *x, const int64_t *count, int n, bool tile)
{
    const char *what = tile ? "tile" : "repeat";
    int r = x->type.rank, m = n > r ? n : r;
    if (n < r && !tile)
        return py_error(I, at, SF_ERR_SHAPE, "repeat: %d counts for a tensor of rank %d", n, r), NULL;
    int64_t c[SF_MAX_RANK];
    for (int i = 0; i < m; i++)
        c[i] = i < m - n ? 1 : count[i - (m - n)];
    if (m > r && r > 0 && x->type.dim[0] == SF_DIM_B)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "%s: new leading dims would move the batch dim from dim 0", what),
               NULL;
    for (int i = r; x && i < m; i++)
        x = py_unsqueeze_dim(I, at, x, 0);
    for (int d = 0; x && d < m; d++)
        x = copies(I, at, x, d, c[d], what);
    return x;
}

TFN(t_repeat)
{
    if (!self)
        return py_error(I, at, SF_ERR_INVALID_ARG, "repeat() is a tensor method");
    sf_value *x = py_tv(I, at, self, "repeat");
    int64_t count[SF_MAX_RANK];
    int n;
    if (!x || !method_sizes(I, at, argc, argv, kwc, kwn, kwv, "repeat", "repeats", false, count, &n))
        return NULL;
    return pv_tensor(I, repeat(I, at, x, count, n, false));
}

TFN(t_tile)
{
    BIND("tile()", 2, "input", "dims");
    sf_value *x = py_tv(I, at, a[0], "tile");
    int64_t count[SF_MAX_RANK];
    int n;
    if (!x || !sizes_of(I, at, 1, &a[1], "tile", false, count, &n))
        return NULL;
    return pv_tensor(I, repeat(I, at, x, count, n, true));
}

/* a dim of x that a move may take: not the batch */
static bool movable_dim(py_interp *I, const py_expr *at, const sf_value *x, int64_t raw, const char *what, int *d)
{
    if (!py_norm_dim(I, at, raw, x->type.rank, d))
        return false;
    if (x->type.dim[*d] == SF_DIM_B)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "%s along the batch dim is not supported", what) != NULL;
    return true;
}

/* x's elements [from, to) along d in reverse order: one slice each */
static sf_value *reversed(py_interp *I, const py_expr *at, sf_value *x, int d, int64_t from, int64_t to)
{
    int64_t n = to - from;
    if (n > MAX_PARTS)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "reversing %lld elements of a dim (%d at most)", (long long)n,
                        MAX_PARTS),
               NULL;
    sf_value **xs = sf_arena_alloc(I->arena, sizeof *xs * (size_t)n);
    if (!xs)
        return py_error(I, at, SF_ERR_NOMEM, "out of memory"), NULL;
    for (int64_t i = 0; i < n; i++)
        xs[i] = py_slice_dim(I, at, x, d, to - 1 - i, to - i, 1);
    return py_concat(I, at, xs, (int)n, d);
}

static pv *flip_dims(py_interp *I, const py_expr *at, pv *t, const int64_t *dims, int n, const char *what)
{
    sf_value *x = py_tv(I, at, t, what);
    bool seen[SF_MAX_RANK] = {0};
    for (int i = 0; x && i < n; i++) {
        int d;
        if (!movable_dim(I, at, x, dims[i], what, &d))
            return NULL;
        if (seen[d])
            return py_error(I, at, SF_ERR_INVALID_ARG, "%s: dim %d appears more than once", what, d);
        seen[d] = true;
        if (x->type.dim[d] > 1)
            x = reversed(I, at, x, d, 0, x->type.dim[d]);
    }
    return x ? pv_tensor(I, x) : NULL;
}

TFN(t_flip)
{
    BIND("flip()", 2, "input", "dims");
    int64_t dims[SF_MAX_RANK];
    int n;
    if (!py_as_ints(I, at, a[1], "dims", dims, SF_MAX_RANK, &n))
        return NULL;
    return flip_dims(I, at, a[0], dims, n, "flip");
}

TFN(t_fliplr) { BIND("fliplr()", 1, "input"); return flip_dims(I, at, a[0], (const int64_t[]){1}, 1, "fliplr"); }
TFN(t_flipud) { BIND("flipud()", 1, "input"); return flip_dims(I, at, a[0], (const int64_t[]){0}, 1, "flipud"); }

/* roll: the last s elements along d come first */
TFN(t_roll)
{
    BIND("roll()", 2, "input", "shifts", "dims");
    sf_value *x = py_tv(I, at, a[0], "roll");
    int64_t shifts[SF_MAX_RANK], dims[SF_MAX_RANK];
    int ns, nd;
    if (!x || !py_as_ints(I, at, a[1], "shifts", shifts, SF_MAX_RANK, &ns))
        return NULL;
    if (!a[2] || a[2]->k == PV_NONE)
        return py_error(I, at, SF_ERR_UNSUPPORTED,
                        "roll without dims rolls the flattened tensor, batch included: give dims");
    if (!py_as_ints(I, at, a[2], "dims", dims, SF_MAX_RANK, &nd))
        return NULL;
    if (ns != nd)
        return py_error(I, at, SF_ERR_INVALID_ARG, "roll: %d shifts but %d dims", ns, nd);
    for (int i = 0; x && i < ns; i++) {
        int d;
        if (!movable_dim(I, at, x, dims[i], "roll", &d))
            return NULL;
        int64_t n = x->type.dim[d], s = n ? ((shifts[i] % n) + n) % n : 0;
        if (s == 0)
            continue;
        sf_value *parts[2] = {py_slice_dim(I, at, x, d, n - s, n, 1), py_slice_dim(I, at, x, d, 0, n - s, 1)};
        x = py_concat(I, at, parts, 2, d);
    }
    return x ? pv_tensor(I, x) : NULL;
}

/* unflatten(dim, sizes): dim split into sizes (one may be -1), a reshape */
TFN(t_unflatten)
{
    BIND("unflatten()", 3, "input", "dim", "sizes");
    sf_value *x = py_tv(I, at, a[0], "unflatten");
    int64_t raw, sizes[SF_MAX_RANK], shape[SF_MAX_RANK];
    int d, n;
    if (!x || !py_as_int(I, at, a[1], "dim", &raw) || !movable_dim(I, at, x, raw, "unflatten", &d) ||
        !py_as_ints(I, at, a[2], "sizes", sizes, SF_MAX_RANK, &n))
        return NULL;
    int r = x->type.rank;
    if (n < 1 || r - 1 + n > SF_MAX_RANK)
        return py_error(I, at, SF_ERR_SHAPE, "unflatten: %d sizes for rank %d", n, r);
    int64_t known = 1, infer = -1;
    for (int i = 0; i < n; i++) {
        if (sizes[i] == -1 && infer < 0)
            infer = i;
        else if (sizes[i] < 1)
            return py_error(I, at, SF_ERR_SHAPE, "unflatten: invalid size %lld", (long long)sizes[i]);
        else
            known *= sizes[i];
    }
    int64_t have = x->type.dim[d];
    if (infer >= 0 && have % known == 0)
        sizes[infer] = have / known, known = have;
    if (known != have)
        return py_error(I, at, SF_ERR_SHAPE, "unflatten: sizes do not multiply to dim %d's size %lld", d,
                        (long long)have);
    int k = 0;
    for (int i = 0; i < r; i++)
        if (i == d)
            for (int j = 0; j < n; j++)
                shape[k++] = sizes[j];
        else
            shape[k++] = x->type.dim[i];
    return py_view_of(I, a[0], py_reshaped(I, at, x, shape, k));
}

/* ---- padding ---- */

bool py_pad_mode_of(py_interp *I, const py_expr *at, pv *v, bool conv, py_pad_mode *out)
{
    static const char *const names[2][4] = {{"constant", "reflect", "replicate", "circular"},
                                            {"zeros", "reflect", "replicate", "circular"}};
    *out = PY_PAD_CONSTANT;
    if (!v || v->k == PV_NONE)
        return true;
    for (int m = 0; v->k == PV_STR && m < 4; m++)
        if (strcmp(v->u.s.s, names[conv][m]) == 0) {
            *out = (py_pad_mode)m;
            return true;
        }
    return py_error(I, at, SF_ERR_UNSUPPORTED, "%s %s: sheaf has '%s', 'reflect', 'replicate' and 'circular'",
                    conv ? "padding_mode" : "pad mode", pv_describe(I, v), names[conv][0]) != NULL;
}

/* x with before/after elements added along d (negative: removed, for constant) */
static sf_value *pad_dim(py_interp *I, const py_expr *at, sf_value *x, int d, int64_t before, int64_t after,
                         py_pad_mode mode, double value)
{
    int64_t n = x->type.dim[d];
    if (mode == PY_PAD_CONSTANT && (before < 0 || after < 0)) {
        int64_t from = before < 0 ? -before : 0, to = after < 0 ? n + after : n;
        if (from >= to)
            return py_error(I, at, SF_ERR_SHAPE, "pad: negative padding leaves nothing of dim %d", d), NULL;
        x = py_slice_dim(I, at, x, d, from, to, 1);
        return x ? pad_dim(I, at, x, d, before > 0 ? before : 0, after > 0 ? after : 0, mode, value) : NULL;
    }
    if (before < 0 || after < 0)
        return py_error(I, at, SF_ERR_SHAPE, "pad: negative padding is for mode 'constant' only"), NULL;
    int64_t most = mode == PY_PAD_REFLECT ? n - 1 : mode == PY_PAD_CIRCULAR ? n : INT64_MAX;
    if (before > most || after > most)
        return py_error(I, at, SF_ERR_SHAPE, "pad: padding %lld is too large for dim %d of size %lld in this mode",
                        (long long)(before > after ? before : after), d, (long long)n),
               NULL;
    sf_value *parts[3] = {NULL, x, NULL};
    int64_t side[2] = {before, after};
    for (int s = 0; s < 2; s++) {
        if (!side[s])
            continue;
        int64_t k = side[s], dims[SF_MAX_RANK];
        memcpy(dims, x->type.dim, sizeof dims);
        dims[d] = k;
        sf_value **p = &parts[s ? 2 : 0];
        switch (mode) {
        case PY_PAD_CONSTANT: *p = py_full(I, at, dims, x->type.rank, value, NULL, x->type.dtype); break;
        case PY_PAD_REFLECT: *p = s ? reversed(I, at, x, d, n - 1 - k, n - 1) : reversed(I, at, x, d, 1, k + 1); break;
        case PY_PAD_REPLICATE:
            *p = py_broadcast_to(I, at, py_slice_dim(I, at, x, d, s ? n - 1 : 0, s ? n : 1, 1), dims, x->type.rank);
            break;
        case PY_PAD_CIRCULAR: *p = s ? py_slice_dim(I, at, x, d, 0, k, 1) : py_slice_dim(I, at, x, d, n - k, n, 1); break;
        }
        if (!*p)
            return NULL;
    }
    sf_value *xs[3];
    int m = 0;
    for (int i = 0; i < 3; i++)
        if (parts[i])
            xs[m++] = parts[i];
    return py_concat(I, at, xs, m, d);
}

/* pad[2i], pad[2i+1]: before and after along dim rank-1-i, as F.pad */
sf_value *py_pad(py_interp *I, const py_expr *at, sf_value *x, const int64_t *pad, int npad, py_pad_mode mode,
                 double value)
{
    if (npad % 2 || npad / 2 > x->type.rank)
        return py_error(I, at, SF_ERR_INVALID_ARG, "pad: %d values for a tensor of rank %d (two per dim, from the last)",
                        npad, x->type.rank),
               NULL;
    for (int i = 0; x && i < npad / 2; i++) {
        int d;
        if (!pad[2 * i] && !pad[2 * i + 1])
            continue;
        if (!movable_dim(I, at, x, x->type.rank - 1 - i, "pad", &d))
            return NULL;
        x = pad_dim(I, at, x, d, pad[2 * i], pad[2 * i + 1], mode, value);
    }
    return x;
}

TFN(t_pad)
{
    BIND("pad()", 2, "input", "pad", "mode", "value");
    sf_value *x = py_tv(I, at, a[0], "pad");
    int64_t pad[2 * SF_MAX_RANK];
    int n;
    py_pad_mode mode;
    if (!x || !py_as_ints(I, at, a[1], "pad", pad, 2 * SF_MAX_RANK, &n) || !py_pad_mode_of(I, at, a[2], false, &mode))
        return NULL;
    if (a[3] && a[3]->k != PV_NONE && !pv_is_number(a[3]))
        return py_error(I, at, SF_ERR_INVALID_ARG, "pad: value must be a number");
    double value = a[3] && a[3]->k != PV_NONE ? pv_as_double(a[3]) : 0.0;
    if (mode != PY_PAD_CONSTANT && value != 0.0)
        return py_error(I, at, SF_ERR_INVALID_ARG, "pad: value is for mode 'constant' only");
    return pv_tensor(I, py_pad(I, at, x, pad, n, mode, value));
}

/* each element of dim d repeated s times in place, as repeat_interleave: [.., n, s, ..] broadcast, merged */
sf_value *py_repeat_each(py_interp *I, const py_expr *at, sf_value *x, int d, int64_t s)
{
    if (!x || s == 1)
        return x;
    if (x->type.dim[d] == SF_DIM_B)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "repeating along the batch dim is not supported"), NULL;
    if (x->type.rank + 1 > SF_MAX_RANK)
        return py_error(I, at, SF_ERR_SHAPE, "rank above %d", SF_MAX_RANK), NULL;
    int64_t wide[SF_MAX_RANK], merged[SF_MAX_RANK];
    sf_value *u = py_unsqueeze_dim(I, at, x, d + 1);
    if (!u)
        return NULL;
    memcpy(wide, u->type.dim, sizeof *wide * (size_t)u->type.rank);
    wide[d + 1] = s;
    memcpy(merged, x->type.dim, sizeof *merged * (size_t)x->type.rank);
    merged[d] *= s;
    return py_reshaped(I, at, py_broadcast_to(I, at, u, wide, u->type.rank), merged, x->type.rank);
}

/* x.repeat_interleave(repeats, dim): an int count along one dim */
TFN(t_repeat_interleave)
{
    BIND("repeat_interleave()", 2, "input", "repeats", "dim", "output_size");
    sf_value *x = py_tv(I, at, a[0], "repeat_interleave");
    int64_t r, raw;
    int d;
    if (!x || !py_as_int(I, at, a[1], "repeats (an int: tensors of counts are not supported)", &r))
        return NULL;
    if (!a[2] || a[2]->k == PV_NONE)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "repeat_interleave without dim flattens the input: give dim");
    if (!py_as_int(I, at, a[2], "dim", &raw) || !py_norm_dim(I, at, raw, x->type.rank, &d))
        return NULL;
    if (r < 1 || r > 4096)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "repeat_interleave(%lld): 1 to 4096 repeats", (long long)r);
    return pv_tensor(I, py_repeat_each(I, at, x, d, r));
}

sf_value *py_upsample_nearest(py_interp *I, const py_expr *at, sf_value *x, pv *size, pv *scale, const char *what)
{
    int sp = x->type.rank - 2;
    int64_t f[3], n = 0;
    if (sp < 1 || sp > 3)
        return py_error(I, at, SF_ERR_SHAPE, "%s: input of rank %d: it needs [N, C, L] to [N, C, D, H, W]", what,
                        x->type.rank), NULL;
    bool by_size = size && size->k != PV_NONE;
    if (by_size == (scale && scale->k != PV_NONE))
        return py_error(I, at, SF_ERR_INVALID_ARG, "%s: give exactly one of size and scale_factor", what), NULL;
    for (int k = 0; k < sp; k++) {
        pv *v = by_size ? size : scale;
        pv *item = v->k == PV_LIST || v->k == PV_TUPLE ? (k < v->u.list->n ? v->u.list->items[k] : NULL) : v;
        double want = item && pv_is_number(item) ? pv_as_double(item) : -1;
        double ratio = by_size ? want / (double)x->type.dim[2 + k] : want;
        if (!item || ratio < 1 || ratio != (double)(int64_t)ratio || ratio > 4096)
            return py_error(I, at, SF_ERR_UNSUPPORTED, "%s: nearest upsampling by a whole factor (1 to 4096) is "
                                                       "supported, not %g along dim %d", what, ratio, 2 + k), NULL;
        f[n++] = (int64_t)ratio;
    }
    for (int k = 0; k < sp && x; k++)
        x = py_repeat_each(I, at, x, 2 + k, f[k]);
    return x;
}

/* F.interpolate(x, size, scale_factor, mode='nearest'): whole factors only */
TFN(t_interpolate)
{
    (void)self;
    BIND("interpolate()", 1, "input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor",
         "antialias");
    sf_value *x = py_tv(I, at, a[0], "interpolate");
    if (!x)
        return NULL;
    if (a[3] && !(a[3]->k == PV_STR && !strcmp(a[3]->u.s.s, "nearest")))
        return py_error(I, at, SF_ERR_UNSUPPORTED, "interpolate(mode=%s): only 'nearest' is supported",
                        a[3]->k == PV_STR ? a[3]->u.s.s : pv_describe(I, a[3]));
    return pv_tensor(I, py_upsample_nearest(I, at, x, a[1], a[2], "interpolate"));
}

static const py_fn_row fns[] = {
    {{"repeat_interleave", t_repeat_interleave}, PY_IN_TORCH | PY_IN_METHOD},
    {{"interpolate", t_interpolate}, PY_IN_F},
    {{"expand", t_expand}, PY_IN_METHOD},
    {{"expand_as", t_expand_as}, PY_IN_METHOD},
    {{"broadcast_to", t_broadcast_to}, PY_IN_TORCH | PY_IN_METHOD},
    {{"repeat", t_repeat}, PY_IN_METHOD},
    {{"tile", t_tile}, PY_IN_TORCH | PY_IN_METHOD},
    {{"flip", t_flip}, PY_IN_TORCH | PY_IN_METHOD},
    {{"fliplr", t_fliplr}, PY_IN_TORCH | PY_IN_METHOD},
    {{"flipud", t_flipud}, PY_IN_TORCH | PY_IN_METHOD},
    {{"roll", t_roll}, PY_IN_TORCH | PY_IN_METHOD},
    {{"unflatten", t_unflatten}, PY_IN_TORCH | PY_IN_METHOD},
    {{"pad", t_pad}, PY_IN_F},
};

pv *py_shape_fn(py_interp *I, int where, const char *name, pv *self)
{
    return py_fn_lookup(I, fns, sizeof fns / sizeof fns[0], where, name, self);
}
