/* Random models for the differential tests (tests/randmodel.c). */
#ifndef SF_RANDMODEL_H
#define SF_RANDMODEL_H

#include <stdint.h>

/* The IR text of a random model (malloc'd); the same seed gives the same model. */
char *sf_test_random_model(uint64_t seed);

#endif
