/* The `sheaf` command as a function, so that tests drive it in-process. */
#ifndef SF_CLI_H
#define SF_CLI_H

#include <stdio.h>

/* Returns the exit status: 0 success, 1 failure (one line on errf), 2 usage. */
int sf_tool_main(int argc, char **argv, FILE *out, FILE *errf);

#endif
