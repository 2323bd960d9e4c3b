/* torch.einsum, written out of the IR's own ops: each operand's labels
 * that nothing else uses summed first, then the operands contracted left
 * to right, two at a time, by a product (matmul over the batch labels,
 * with the contracted labels as its inner dim) or, where one side has no
 * labels of its own, by a broadcast multiply and a sum; last the labels
 * are put in the output's order. The products then fuse like any other:
 * `ebi,eio->ebo` over an ensemble is one batched product.
 *
 * Labels are letters; "..." stands for the same dims in every operand,
 * right-aligned and broadcast; without "->" the output is the ellipsis
 * and then the letters used once, in ASCII order, as PyTorch. A label
 * repeated within one operand (a diagonal) is refused. */
#include <string.h>

#include "frontend/py_torch.h"

#define FAIL(...) (py_error(I, at, SF_ERR_UNSUPPORTED, __VA_ARGS__), (sf_value *)NULL)

enum { ELLIPSIS = 128, MAX_OPERANDS = 16 }; /* the ellipsis's dims are labels 128, 129, ... */

typedef struct term {
    sf_value *v;
    unsigned char label[SF_MAX_RANK]; /* of each dim of v */
    int rank;
} term;

static int find(const term *t, unsigned char c)
{
    for (int i = 0; i < t->rank; i++)
        if (t->label[i] == c)
            return i;
    return -1;
}

/* one operand's subscripts (s[0..n)) against its tensor's rank; *ell its ellipsis dims, -1 without */
static bool parse_term(py_interp *I, const py_expr *at, const char *s, size_t n, int rank, unsigned char *out,
                       int *count, int *ell)
{
    int letters = 0;
    *ell = -1;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '.')
            letters++;
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (*ell >= 0 || i + 2 >= n + 0 || s[i + 1] != '.' || s[i + 2] != '.' || rank < letters)
                return FAIL("einsum: '%.*s' has a stray '.' or more letters than its operand's %d dims", (int)n, s,
                            rank) != NULL;
            *ell = rank - letters;
            for (int k = 0; k < *ell; k++)
                out[(*count)++] = 0; /* numbered once every operand's count is known */
            i += 2;
        } else if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')) {
            if (*count >= SF_MAX_RANK)
                return FAIL("einsum: '%.*s' has more than %d subscripts", (int)n, s, SF_MAX_RANK) != NULL;
            out[(*count)++] = (unsigned char)s[i];
        } else {
            return FAIL("einsum: '%c' is not a subscript (letters and '...')", s[i]) != NULL;
        }
    }
    if (*count != rank)
        return FAIL("einsum: '%.*s' has %d subscripts for an operand of %d dims", (int)n, s, *count, rank) != NULL;
    return true;
}

/* the ellipsis's dims (the 0 labels) numbered right-aligned: the last is ELLIPSIS + most - 1 */
static void number_ellipsis(unsigned char *labels, int count, int ell, int most)
{
    for (int i = 0, k = 0; i < count; i++)
        if (!labels[i])
            labels[i] = (unsigned char)(ELLIPSIS + most - ell + k++);
}

/* the output's subscripts: letters, and "..." for the ellipsis's `most` dims */
static bool parse_output(py_interp *I, const py_expr *at, const char *s, int most, unsigned char *out, int *n)
{
    bool ell = false;
    *n = 0;
    for (; *s; s++) {
        if (*n + (s[0] == '.' ? most : 1) > SF_MAX_RANK)
            return FAIL("einsum: more than %d output subscripts", SF_MAX_RANK) != NULL;
        if (s[0] == '.' && s[1] == '.' && s[2] == '.' && !ell) {
            for (int k = 0; k < most; k++)
                out[(*n)++] = (unsigned char)(ELLIPSIS + k);
            ell = true;
            s += 2;
        } else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) {
            out[(*n)++] = (unsigned char)*s;
        } else {
            return FAIL("einsum: '%c' is not an output subscript (letters and '...')", *s) != NULL;
        }
    }
    return true;
}

static sf_value *permute_to(py_interp *I, const py_expr *at, term *t, const unsigned char *order, int n)
{
    int want[SF_MAX_RANK];
    for (int i = 0; i < n; i++)
        want[i] = find(t, order[i]);
    sf_value *v = py_permute(I, at, t->v, want);
    if (v)
        t->v = v, memcpy(t->label, order, (size_t)n);
    return v;
}

/* sum t over its labels that keep does not hold */
static bool sum_unkept(py_interp *I, const py_expr *at, term *t, const char *keep)
{
    int64_t dims[SF_MAX_RANK];
    int nd = 0, r = 0;
    unsigned char left[SF_MAX_RANK];
    for (int i = 0; i < t->rank; i++) {
        if (keep[t->label[i]])
            left[r++] = t->label[i];
        else if (t->v->type.dim[i] == SF_DIM_B)
            return FAIL("einsum: summing over the batch dim is not supported") != NULL;
        else
            dims[nd++] = i;
    }
    if (!nd)
        return true;
    if (!(t->v = py_reduce(I, at, SF_OP_SUM, t->v, dims, nd, false)))
        return false;
    memcpy(t->label, left, (size_t)r);
    t->rank = r;
    return true;
}

/* the dims of t in label order `order` (n of them): sizes */
static void sizes_of(const term *t, const unsigned char *order, int n, int64_t *out)
{
    for (int i = 0; i < n; i++)
        out[i] = t->v->type.dim[find(t, order[i])];
}

static int64_t product(const int64_t *d, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= d[i];
    return p;
}

/* a times b where one side has no labels of its own: both laid out as batch, a's, b's, contracted (1 where
 * absent), multiplied, the contracted summed */
static bool by_multiply(py_interp *I, const py_expr *at, term *a, term *b, const unsigned char *order, int n, int nc)
{
    term *side[2] = {a, b};
    sf_value *v[2];
    for (int s = 0; s < 2; s++) {
        unsigned char own[SF_MAX_RANK];
        int m = 0;
        int64_t shape[SF_MAX_RANK];
        for (int i = 0; i < n; i++)
            if (find(side[s], order[i]) >= 0)
                own[m++] = order[i];
        if (!permute_to(I, at, side[s], own, m))
            return false;
        for (int i = 0, j = 0; i < n; i++)
            shape[i] = find(side[s], order[i]) >= 0 ? side[s]->v->type.dim[j++] : 1;
        v[s] = py_reshaped(I, at, side[s]->v, shape, n);
        if (!v[s])
            return false;
    }
    sf_value *p = py_op2(I, at, SF_OP_MUL, v[0], v[1]);
    int64_t dims[SF_MAX_RANK];
    for (int i = 0; i < nc; i++)
        dims[i] = n - nc + i;
    a->v = nc && p ? py_reduce(I, at, SF_OP_SUM, p, dims, nc, false) : p;
    memcpy(a->label, order, (size_t)(n - nc));
    a->rank = n - nc;
    return a->v != NULL;
}

/* a times b by matmul: a as [batch, a's, K], b as [batch, 1.., K, N] */
static bool by_matmul(py_interp *I, const py_expr *at, term *a, term *b, const unsigned char *bt, int nb,
                      const unsigned char *ao, int na, const unsigned char *bo, int nbo, const unsigned char *ct, int nc)
{
    unsigned char ord[SF_MAX_RANK];
    int64_t ks[SF_MAX_RANK], ns[SF_MAX_RANK], sa[SF_MAX_RANK], sb[SF_MAX_RANK];
    memcpy(ord, bt, (size_t)nb), memcpy(ord + nb, ao, (size_t)na), memcpy(ord + nb + na, ct, (size_t)nc);
    if (!permute_to(I, at, a, ord, nb + na + nc))
        return false;
    memcpy(ord + nb, ct, (size_t)nc), memcpy(ord + nb + nc, bo, (size_t)nbo);
    if (!permute_to(I, at, b, ord, nb + nc + nbo))
        return false;
    sizes_of(a, ct, nc, ks), sizes_of(b, bo, nbo, ns);
    memcpy(sa, a->v->type.dim, sizeof *sa * (size_t)(nb + na)); /* batch, then a's own */
    sa[nb + na] = product(ks, nc);
    sizes_of(b, bt, nb, sb);
    for (int i = 0; i < na - 1; i++)
        sb[nb + i] = 1;
    sb[nb + na - 1] = product(ks, nc), sb[nb + na] = nbo == 1 ? ns[0] : product(ns, nbo);
    sf_value *x = py_reshaped(I, at, a->v, sa, nb + na + 1), *y = x ? py_reshaped(I, at, b->v, sb, nb + na + 1) : NULL;
    sf_value *r = y ? py_op2(I, at, SF_OP_MATMUL, x, y) : NULL;
    if (!r)
        return false;
    int64_t out[SF_MAX_RANK];
    memcpy(out, r->type.dim, sizeof *out * (size_t)(nb + na));
    memcpy(out + nb + na, ns, sizeof *ns * (size_t)nbo);
    a->v = nbo == 1 ? r : py_reshaped(I, at, r, out, nb + na + nbo);
    memcpy(a->label, bt, (size_t)nb), memcpy(a->label + nb, ao, (size_t)na), memcpy(a->label + nb + na, bo, (size_t)nbo);
    a->rank = nb + na + nbo;
    return a->v != NULL;
}

/* a := a b over their labels, keeping those keep holds */
static bool contract(py_interp *I, const py_expr *at, term *a, term *b, const char *keep)
{
    char ka[256], kb[256]; /* each side first sums what neither keep nor the other side has */
    memcpy(ka, keep, sizeof ka), memcpy(kb, keep, sizeof kb);
    for (int i = 0; i < b->rank; i++)
        ka[b->label[i]] = 1;
    for (int i = 0; i < a->rank; i++)
        kb[a->label[i]] = 1;
    if (!sum_unkept(I, at, a, ka) || !sum_unkept(I, at, b, kb))
        return false;
    unsigned char bt[SF_MAX_RANK], ao[SF_MAX_RANK], bo[SF_MAX_RANK], ct[SF_MAX_RANK];
    int nb = 0, na = 0, nbo = 0, nc = 0;
    for (int i = 0; i < a->rank; i++) {
        unsigned char c = a->label[i];
        int j = find(b, c);
        if (j < 0)
            ao[na++] = c;
        else if (keep[c])
            bt[nb++] = c;
        else if (a->v->type.dim[i] != b->v->type.dim[j])
            return FAIL("einsum: the contracted subscript sizes differ (%lld and %lld)", (long long)a->v->type.dim[i],
                        (long long)b->v->type.dim[j]) != NULL;
        else if (a->v->type.dim[i] == SF_DIM_B)
            return FAIL("einsum: summing over the batch dim is not supported") != NULL;
        else
            ct[nc++] = a->label[i];
    }
    for (int j = 0; j < b->rank; j++)
        if (find(a, b->label[j]) < 0)
            bo[nbo++] = b->label[j];
    bool batch_in[2] = {false, false}; /* the batch among b's own labels would merge into N: swap the sides */
    for (int i = 0; i < na; i++)
        batch_in[0] |= a->v->type.dim[find(a, ao[i])] == SF_DIM_B;
    for (int j = 0; j < nbo; j++)
        batch_in[1] |= b->v->type.dim[find(b, bo[j])] == SF_DIM_B;
    if (na && nbo && nc) {
        if (batch_in[1] && nbo > 1 && !batch_in[0]) {
            term t = *a;
            *a = *b, *b = t;
            return contract(I, at, a, b, keep);
        }
        return by_matmul(I, at, a, b, bt, nb, ao, na, bo, nbo, ct, nc);
    }
    unsigned char order[SF_MAX_RANK];
    int n = 0;
    memcpy(order, bt, (size_t)nb), n += nb;
    memcpy(order + n, ao, (size_t)na), n += na;
    memcpy(order + n, bo, (size_t)nbo), n += nbo;
    memcpy(order + n, ct, (size_t)nc), n += nc;
    if (n > SF_MAX_RANK)
        return FAIL("einsum: more than %d subscripts in one product", SF_MAX_RANK) != NULL;
    return by_multiply(I, at, a, b, order, n, nc);
}

sf_value *py_einsum(py_interp *I, const py_expr *at, const char *eq, sf_value *const *ops, int nops)
{
    if (nops < 1 || nops > MAX_OPERANDS)
        return FAIL("einsum: %d operands (1 to %d)", nops, MAX_OPERANDS);
    char text[512];
    size_t len = 0;
    for (const char *p = eq; *p; p++)
        if (*p != ' ' && len + 1 < sizeof text)
            text[len++] = *p;
    text[len] = '\0';
    const char *arrow = strstr(text, "->");
    int lists = 1;
    for (const char *p = text; *p && (!arrow || p < arrow); p++)
        lists += *p == ',';
    if (lists != nops)
        return FAIL("einsum: '%s' has %d subscript lists for %d operands", eq, lists, nops);
    term t[MAX_OPERANDS];
    int ells[MAX_OPERANDS], most = 0, uses[256] = {0};
    const char *s = text;
    for (int k = 0; k < nops; k++) {
        const char *end = k + 1 < nops ? strchr(s, ',') : arrow ? arrow : text + len;
        t[k].v = ops[k];
        if (!parse_term(I, at, s, (size_t)(end - s), ops[k]->type.rank, t[k].label, &t[k].rank, &ells[k]))
            return NULL;
        most = ells[k] > most ? ells[k] : most;
        s = end + 1;
    }
    for (int k = 0; k < nops; k++)
        number_ellipsis(t[k].label, t[k].rank, ells[k], most);
    for (int k = 0; k < nops; k++)
        for (int i = 0; i < t[k].rank; i++) {
            for (int j = 0; j < i; j++)
                if (t[k].label[j] == t[k].label[i])
                    return FAIL("einsum: subscript '%c' twice in one operand (a diagonal) is not supported",
                                t[k].label[i] < ELLIPSIS ? t[k].label[i] : '.');
            uses[t[k].label[i]]++;
        }
    unsigned char out[SF_MAX_RANK];
    int nout = 0;
    if (arrow) {
        if (!parse_output(I, at, arrow + 2, most, out, &nout))
            return NULL;
        for (int i = 0; i < nout; i++) {
            if (!uses[out[i]])
                return FAIL("einsum: output subscript '%c' is in no operand", out[i] < ELLIPSIS ? out[i] : '.');
            for (int j = 0; j < i; j++)
                if (out[j] == out[i])
                    return FAIL("einsum: output subscript '%c' appears twice", out[i]);
        }
    } else {
        for (int c = ELLIPSIS; c < ELLIPSIS + most; c++)
            out[nout++] = (unsigned char)c;
        for (int c = 'A'; c <= 'z'; c++)
            if (uses[c] == 1 && nout < SF_MAX_RANK)
                out[nout++] = (unsigned char)c;
    }
    /* left to right; each step keeps the labels of the output and of the operands still to come */
    for (int k = 0; k < nops; k++) {
        char keep[256] = {0};
        for (int i = 0; i < nout; i++)
            keep[out[i]] = 1;
        for (int j = k + 1; j < nops; j++)
            for (int i = 0; i < t[j].rank; i++)
                keep[t[j].label[i]] = 1;
        if (k == 0 ? !sum_unkept(I, at, &t[0], keep) : !contract(I, at, &t[0], &t[k], keep))
            return NULL;
    }
    return permute_to(I, at, &t[0], out, nout);
}

/* torch.einsum(equation, *operands) or einsum(equation, [operands]) */
static pv *t_einsum(py_interp *I, const py_expr *at, pv *self, int argc, pv **argv, int kwc, const char **kwn,
                    pv **kwv)
{
    (void)self, (void)kwn, (void)kwv;
    if (argc < 2 || kwc || argv[0]->k != PV_STR)
        return py_error(I, at, SF_ERR_INVALID_ARG, "einsum(equation, *operands)");
    pv **items = argv + 1;
    int n = argc - 1;
    if (n == 1 && (argv[1]->k == PV_LIST || argv[1]->k == PV_TUPLE))
        items = argv[1]->u.list->items, n = (int)argv[1]->u.list->n;
    sf_value *ops[MAX_OPERANDS];
    if (n > MAX_OPERANDS)
        return py_error(I, at, SF_ERR_UNSUPPORTED, "einsum: %d operands (1 to %d)", n, MAX_OPERANDS);
    for (int k = 0; k < n; k++)
        if (!(ops[k] = py_as_number(I, at, py_tv(I, at, items[k], "einsum"))))
            return NULL;
    return pv_tensor(I, py_einsum(I, at, argv[0]->u.s.s, ops, n));
}

static const py_fn_row fns[] = {
    {{"einsum", t_einsum}, PY_IN_TORCH},
};

pv *py_einsum_fn(py_interp *I, int where, const char *name, pv *self)
{
    return py_fn_lookup(I, fns, sizeof fns / sizeof fns[0], where, name, self);
}
