/* Whole-file reads and all-or-nothing writes: an output file appears only
 * complete, never partial (written to a temporary name, then renamed).
 * Only a regular file (or a new name) is replaced that way: a character
 * device (/dev/null, a terminal) or a FIFO with a reader is written in
 * place, anything else that is not a regular file (a directory, a block
 * device, a socket, a FIFO nobody reads) is refused. */
#ifndef SF_FILEIO_H
#define SF_FILEIO_H

#include <stdio.h>

#include "ir/base.h"

/* Reads a regular file into a malloc'd buffer (NUL-terminated for text). */
sf_status sf_read_file(const char *path, char **buf, size_t *len, sf_error *err);

typedef struct sf_outfile {
    FILE *f;
    char *tmp;        /* the temporary path */
    const char *path; /* the final path */
    bool in_place;    /* a device or FIFO: written directly, nothing renamed */
} sf_outfile;

sf_status sf_outfile_open(sf_outfile *o, const char *path, sf_error *err);
/* Flushes, syncs and renames into place; on any failure the file is removed. */
sf_status sf_outfile_commit(sf_outfile *o, sf_error *err);
/* Removes the temporary file; nothing appears at the final path. */
void sf_outfile_abort(sf_outfile *o);

/* Whether a and b both exist and are the same file (device and inode:
 * hard links and symbolic links to it count). */
bool sf_same_file(const char *a, const char *b);

#endif
