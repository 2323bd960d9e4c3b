/* The optimizers of sf_trainer, as torch.optim computes them (its
 * "foreach" form, in float32): SGD with momentum, dampening, Nesterov and
 * weight decay; Adam (L2 weight decay added to the gradient); AdamW
 * (decoupled weight decay). Specs are parsed here and nowhere else: the
 * C API and `sheaf train` hand over the same strings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/optim.h"

static const struct {
    const char *name;
    sf_hyper h;
} kinds[] = {
    {"sgd", {SF_OPTIM_SGD, 1e-3, 0, 0, 0, 0.9, 0.999, 1e-8, false}},
    {"adam", {SF_OPTIM_ADAM, 1e-3, 0, 0, 0, 0.9, 0.999, 1e-8, false}},
    {"adamw", {SF_OPTIM_ADAMW, 1e-3, 0, 0, 1e-2, 0.9, 0.999, 1e-8, false}},
};

/* the keys of each kind: which field, and which kinds take it */
typedef struct key {
    const char *name;
    size_t at; /* offsetof in sf_hyper; nesterov is the one bool */
    bool sgd, adam;
} key;
static const key keys[] = {
    {"lr", offsetof(sf_hyper, lr), true, true},
    {"momentum", offsetof(sf_hyper, momentum), true, false},
    {"dampening", offsetof(sf_hyper, dampening), true, false},
    {"nesterov", offsetof(sf_hyper, nesterov), true, false},
    {"weight_decay", offsetof(sf_hyper, weight_decay), true, true},
    {"beta1", offsetof(sf_hyper, beta1), false, true},
    {"beta2", offsetof(sf_hyper, beta2), false, true},
    {"eps", offsetof(sf_hyper, eps), false, true},
};

/* PyTorch's own checks (torch.optim raises on the same values) */
static sf_status check(const char *label, const char *what, const sf_hyper *h, sf_error *err)
{
    if (!(h->lr >= 0) || !(h->weight_decay >= 0) || !(h->momentum >= 0) || !isfinite(h->lr))
        return sf_fail(err, SF_ERR_INVALID_ARG, "%s '%s': lr, momentum and weight_decay must be finite and "
                                                "at least 0", label, what);
    if (h->nesterov && (h->momentum <= 0 || h->dampening != 0))
        return sf_fail(err, SF_ERR_INVALID_ARG, "%s '%s': nesterov needs a momentum and zero dampening", label, what);
    if (!(h->beta1 >= 0 && h->beta1 < 1) || !(h->beta2 >= 0 && h->beta2 < 1) || !(h->eps >= 0))
        return sf_fail(err, SF_ERR_INVALID_ARG, "%s '%s': beta1 and beta2 must be in [0, 1), eps at least 0",
                       label, what);
    return SF_OK;
}

/* "k=v,k=v" over h (what: the whole spec, for messages) */
static sf_status values(const char *label, const char *what, const char *list, sf_hyper *h, sf_error *err)
{
    char buf[512];
    if (strlen(list) >= sizeof buf)
        return sf_fail(err, SF_ERR_INVALID_ARG, "%s '%s': longer than %zu characters", label, what,
                       sizeof buf - 1);
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            return sf_fail(err, SF_ERR_INVALID_ARG, "%s '%s': '%s': expected key=value", label, what, kv);
        *eq = 0;
        const key *k = NULL;
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
            if (!strcmp(keys[i].name, kv) && (h->kind == SF_OPTIM_SGD ? keys[i].sgd : keys[i].adam))
                k = &keys[i];
        if (!k)
            return sf_fail(err, SF_ERR_INVALID_ARG, "%s '%s': '%s' is not a setting of %s (%s)", label, what, kv,
                           kinds[h->kind].name,
                           h->kind == SF_OPTIM_SGD ? "lr, momentum, dampening, nesterov, weight_decay"
                                                   : "lr, beta1, beta2, eps, weight_decay");
        char *end;
        double v = strtod(eq + 1, &end);
        if (end == eq + 1 || *end)
            return sf_fail(err, SF_ERR_INVALID_ARG, "%s '%s': %s=%s: expected a number", label, what, kv,
                           eq + 1);
        if (k->at == offsetof(sf_hyper, nesterov)) {
            if (v != 0 && v != 1)
                return sf_fail(err, SF_ERR_INVALID_ARG, "%s '%s': nesterov=%s: expected 0 or 1", label, what,
                               eq + 1);
            h->nesterov = v == 1;
        } else {
            *(double *)((char *)h + k->at) = v;
        }
    }
    return check(label, what, h, err);
}

sf_status sf_optim_parse(const char *spec, sf_hyper *h, sf_error *err)
{
    if (!spec)
        spec = "sgd";
    size_t n = strcspn(spec, ":");
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (strlen(kinds[i].name) == n && !strncmp(kinds[i].name, spec, n)) {
            *h = kinds[i].h;
            return spec[n] ? values("optimizer", spec, spec + n + 1, h, err) : SF_OK;
        }
    return sf_fail(err, SF_ERR_INVALID_ARG, "optimizer '%s': unknown (expected sgd, adam or adamw, then "
                                            "optionally :key=value,...)", spec);
}

sf_status sf_optim_group(const char *group, const sf_hyper *base, char *pattern, size_t cap, sf_hyper *h,
                         sf_error *err)
{
    const char *colon = group ? strrchr(group, ':') : NULL;
    if (!colon || colon == group || (size_t)(colon - group) >= cap)
        return sf_fail(err, SF_ERR_INVALID_ARG, "group '%s': expected pattern:key=value,... (e.g. "
                                                "'layer_list.3.*:lr=1e-2')", group ? group : "(null)");
    memcpy(pattern, group, (size_t)(colon - group));
    pattern[colon - group] = 0;
    *h = *base;
    return values("group", group, colon + 1, h, err);
}

int sf_optim_nstate(const sf_hyper *h)
{
    return h->kind == SF_OPTIM_SGD ? (h->momentum != 0) : 2;
}

const char *sf_optim_state_name(const sf_hyper *h, int i)
{
    return h->kind == SF_OPTIM_SGD ? "momentum_buffer" : i == 0 ? "exp_avg" : "exp_avg_sq";
}

static void sgd(const sf_hyper *h, long long step, float *p, const float *g, float *buf, size_t n)
{
    float lr = (float)h->lr, wd = (float)h->weight_decay, mu = (float)h->momentum, damp = 1.0f - (float)h->dampening;
    for (size_t i = 0; i < n; i++) {
        float d = wd != 0 ? g[i] + wd * p[i] : g[i];
        if (buf) { /* the first step's buffer is the gradient itself, undamped */
            buf[i] = step == 1 ? d : mu * buf[i] + damp * d;
            d = h->nesterov ? d + mu * buf[i] : buf[i];
        }
        p[i] -= lr * d;
    }
}

static void adam(const sf_hyper *h, long long step, float *p, const float *g, float *m, float *v, size_t n)
{
    double b1 = h->beta1, b2 = h->beta2;
    float step_size = (float)(h->lr / (1.0 - pow(b1, (double)step)));
    float bc2 = (float)sqrt(1.0 - pow(b2, (double)step));
    float wd = (float)h->weight_decay, eps = (float)h->eps, lrwd = (float)(h->lr * h->weight_decay);
    bool decoupled = h->kind == SF_OPTIM_ADAMW;
    for (size_t i = 0; i < n; i++) {
        float d = g[i];
        if (decoupled)
            p[i] -= lrwd * p[i];
        else if (wd != 0)
            d += wd * p[i];
        m[i] += (1.0f - (float)b1) * (d - m[i]); /* torch's lerp */
        v[i] = (float)b2 * v[i] + (1.0f - (float)b2) * d * d;
        p[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2 + eps);
    }
}

void sf_optim_update(const sf_hyper *h, long long step, float *p, const float *g, float *const *s, size_t n)
{
    if (h->kind == SF_OPTIM_SGD)
        sgd(h, step, p, g, sf_optim_nstate(h) ? s[0] : NULL, n);
    else
        adam(h, step, p, g, s[0], s[1], n);
}
