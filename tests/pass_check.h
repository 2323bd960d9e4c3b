/* Shared by the pass tests (test_passes.c, test_fusion.c). */
#ifndef SF_TEST_PASS_CHECK_H
#define SF_TEST_PASS_CHECK_H

#include <stddef.h>

/* Runs the passes on the IR with these hfuse limits (0: the defaults); the
 * printed result must be want, and the interpreter's outputs at batch 3
 * the same before and after. */
void sf_check_passes(const char *passes, const char *ir, const char *want, int min_branches, size_t max_bytes);

#endif
