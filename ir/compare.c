/* Comparing a backend's outputs with the oracle's (sheaf run --check,
 * sf_options.check, sheaf bench): one tolerance and one way to report the
 * worst element, so that every check says the same thing. */
#include <math.h>
#include <stdio.h>

#include "ir/tensor.h"

/* how far beyond the tolerance one element is (<= 1 agrees); NaN or an
 * infinity on one side only is infinitely far */
static double excess(float got, float want, double scale)
{
    if (isnan(got) || isnan(want))
        return isnan(got) && isnan(want) ? 0 : INFINITY;
    if (isinf(got) || isinf(want))
        return got == want ? 0 : INFINITY;
    double tol = SF_CHECK_ATOL * scale + SF_CHECK_RTOL * fabs((double)want);
    return fabs((double)got - (double)want) / tol;
}

bool sf_compare_values(const float *got, const float *want, size_t n, sf_mismatch *worst)
{
    double scale = 1;
    for (size_t k = 0; k < n; k++)
        if (isfinite(want[k]) && fabs((double)want[k]) > scale)
            scale = fabs((double)want[k]);
    sf_mismatch w = {0};
    for (size_t k = 0; k < n; k++) {
        double x = excess(got[k], want[k], scale), d = fabs((double)got[k] - (double)want[k]);
        if (x > w.excess || (k == 0 && n))
            w.index = k, w.got = got[k], w.want = want[k], w.excess = x;
        if (!(d <= w.max_abs)) /* NaN: infinitely far */
            w.max_abs = d == d ? d : INFINITY;
    }
    if (worst)
        *worst = w;
    return w.excess <= 1;
}

sf_status sf_compare_outputs(const sf_graph *g, int64_t batch, const char *who, const char *oracle,
                             const float *const *got, const float *const *want, sf_error *err)
{
    for (size_t i = 0; i < g->outputs.len; i++) {
        const sf_value *v = g->outputs.items[i];
        size_t n;
        sf_mismatch w;
        if (!sf_type_numel(&v->type, batch, &n) || sf_compare_values(got[i], want[i], n, &w))
            continue;
        char where[160], name[32];
        sf_mismatch_describe(&w, v, batch, where, sizeof where);
        sf_output_name(g, i, name, sizeof name);
        return sf_fail(err, SF_ERR_RUNTIME,
                       "check: output '%s' %s at batch %lld: %s %.9g, %s %.9g (%.3g times the tolerance: rtol %g, "
                       "atol %g x the output's largest |value|)",
                       name, where, (long long)batch, who, w.got, oracle, w.want, w.excess, SF_CHECK_RTOL,
                       SF_CHECK_ATOL);
    }
    return SF_OK;
}

void sf_mismatch_describe(const sf_mismatch *w, const sf_value *v, int64_t batch, char *buf, size_t cap)
{
    /* the element's coordinates in the value's shape at this batch */
    int64_t idx[SF_MAX_RANK];
    size_t rest = w->index;
    for (int d = v->type.rank - 1; d >= 0; d--) {
        int64_t n = v->type.dim[d] == SF_DIM_B ? batch : v->type.dim[d];
        idx[d] = n ? (int64_t)(rest % (size_t)n) : 0;
        rest = n ? rest / (size_t)n : 0;
    }
    int at = snprintf(buf, cap, "element %zu [", w->index);
    for (int d = 0; d < v->type.rank && at > 0 && (size_t)at < cap; d++)
        at += snprintf(buf + at, cap - (size_t)at, "%s%lld", d ? ", " : "", (long long)idx[d]);
    if (at > 0 && (size_t)at < cap)
        snprintf(buf + at, cap - (size_t)at, "]");
}
