/* `sheaf train`: epochs of optimizer steps over a safetensors data file,
 * with progress, validation and the trained state_dict written at the end. */
#ifndef SF_TRAIN_CLI_H
#define SF_TRAIN_CLI_H

#include <stdio.h>

#include "sheaf.h"

typedef struct sf_train_cli_opts {
    const char *data;   /* safetensors: each forward input and "target", rows on dim 0 */
    const char *val;    /* the same for validation after each epoch (NULL: none) */
    long long epochs;   /* 0: 1 */
    long long batch;    /* 0: 64 */
    const char *output; /* the trained state_dict (NULL: not written) */
    FILE *out, *errf;   /* the summary; the progress */
} sf_train_cli_opts;

/* m: compiled with backward and a loss. */
int sf_train_cli(sf_model *m, const sf_train_options *to, const sf_train_cli_opts *o, sf_error *err);

#endif
