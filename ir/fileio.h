/* Whole-file reads and all-or-nothing writes: an output file appears only
 * complete, never partial (written to a temporary name, then renamed). */
#ifndef SF_FILEIO_H
#define SF_FILEIO_H

#include <stdio.h>

#include "base.h"

/* Reads a regular file into a malloc'd buffer (NUL-terminated for text). */
sf_status sf_read_file(const char *path, char **buf, size_t *len, sf_error *err);

typedef struct sf_outfile {
    FILE *f;
    char *tmp;        /* the temporary path */
    const char *path; /* the final path */
} sf_outfile;

sf_status sf_outfile_open(sf_outfile *o, const char *path, sf_error *err);
/* Flushes, syncs and renames into place; on any failure the file is removed. */
sf_status sf_outfile_commit(sf_outfile *o, sf_error *err);
/* Removes the temporary file; nothing appears at the final path. */
void sf_outfile_abort(sf_outfile *o);

#endif
