/* The op cases (op_cases.c). */
#ifndef SF_TEST_OP_CASES_H
#define SF_TEST_OP_CASES_H

#include <stddef.h>

#include "ir/tensor.h"

typedef struct op_case {
    const char *name, *ir;
} op_case;

extern const op_case sf_op_cases[];
extern const size_t sf_op_case_count;
/* the case's parameters: values away from 0 and 1 (variances too), the same for every k */
sf_tensor_set *sf_op_case_weights(const sf_graph *g, int k);

#endif
