/* Inside the runtime: the optimizers of sf_trainer (optim.c), their specs
 * ("adam:lr=3e-4,weight_decay=0", groups "pattern:lr=1e-2") and the update
 * of one parameter, each as PyTorch's torch.optim computes it. */
#ifndef SF_OPTIM_H
#define SF_OPTIM_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/base.h"

typedef enum sf_optim_kind { SF_OPTIM_SGD, SF_OPTIM_ADAM, SF_OPTIM_ADAMW } sf_optim_kind;

typedef struct sf_hyper {
    sf_optim_kind kind;
    double lr, momentum, dampening, weight_decay, beta1, beta2, eps;
    bool nesterov;
} sf_hyper;

/* "sgd", "adam", "adamw", then ":k=v,...": the kind with PyTorch's defaults, then the values. */
sf_status sf_optim_parse(const char *spec, sf_hyper *h, sf_error *err);
/* A group, "pattern:k=v,...": the pattern (cap bytes) and base with the values over it. */
sf_status sf_optim_group(const char *group, const sf_hyper *base, char *pattern, size_t cap, sf_hyper *h,
                         sf_error *err);
/* The state buffers a kind keeps per parameter (0, 1 or 2) and their names. */
int sf_optim_nstate(const sf_hyper *h);
const char *sf_optim_state_name(const sf_hyper *h, int i);
/* One step (`step` counts from 1) of n elements: p updated from its
 * gradient g, s[0], s[1] the state (zeros before the first step). */
void sf_optim_update(const sf_hyper *h, long long step, float *p, const float *g, float *const *s, size_t n);

#endif
