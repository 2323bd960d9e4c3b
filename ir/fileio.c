#include "ir/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

sf_status sf_read_file(const char *path, char **buf, size_t *len, sf_error *err)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sf_fail(err, SF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat stt;
    if (fstat(fileno(f), &stt) != 0 || !S_ISREG(stt.st_mode)) {
        fclose(f);
        return sf_fail(err, SF_ERR_IO, "%s: not a regular file", path);
    }
    size_t size = (size_t)stt.st_size;
    char *data = malloc(size + 1);
    if (!data) {
        fclose(f);
        return sf_fail(err, SF_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, size);
    }
    size_t got = fread(data, 1, size, f);
    bool bad = ferror(f) || got != size;
    fclose(f);
    if (bad) {
        free(data);
        return sf_fail(err, SF_ERR_IO, "%s: read failed", path);
    }
    data[size] = '\0';
    *buf = data;
    *len = size;
    return SF_OK;
}

/* an existing special file: written in place where that is harmless */
static sf_status open_in_place(sf_outfile *o, const char *path, const struct stat *st, sf_error *err)
{
    if (S_ISDIR(st->st_mode))
        return sf_fail(err, SF_ERR_IO, "%s: is a directory", path);
    if (!S_ISCHR(st->st_mode) && !S_ISFIFO(st->st_mode))
        return sf_fail(err, SF_ERR_IO, "%s: not a regular file, a character device or a FIFO: refusing to write it",
                       path);
    /* a FIFO without a reader: ENXIO at once instead of blocking forever */
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return sf_fail(err, SF_ERR_IO, "%s: cannot open for writing: %s", path,
                       errno == ENXIO ? "a FIFO with no reader" : strerror(errno));
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 || !(o->f = fdopen(fd, "wb"))) {
        close(fd);
        return sf_fail(err, SF_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
    }
    o->path = path;
    o->in_place = true;
    return SF_OK;
}

bool sf_same_file(const char *a, const char *b)
{
    struct stat x, y;
    return a && b && stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

sf_status sf_outfile_open(sf_outfile *o, const char *path, sf_error *err)
{
    memset(o, 0, sizeof *o);
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return open_in_place(o, path, &st, err);
    size_t n = strlen(path);
    o->tmp = malloc(n + 16);
    if (!o->tmp)
        return sf_fail(err, SF_ERR_NOMEM, "out of memory");
    memcpy(o->tmp, path, n);
    memcpy(o->tmp + n, ".tmp.XXXXXX", 12);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        sf_status st = sf_fail(err, SF_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        return st;
    }
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        close(fd);
        unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
        return sf_fail(err, SF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    o->path = path;
    return SF_OK;
}

sf_status sf_outfile_commit(sf_outfile *o, sf_error *err)
{
    bool ok = fflush(o->f) == 0 && !ferror(o->f);
    ok = fclose(o->f) == 0 && ok;
    o->f = NULL;
    if (o->in_place)
        return ok ? SF_OK : sf_fail(err, SF_ERR_IO, "%s: write failed: %s", o->path, strerror(errno));
    /* mkstemp makes 0600; give the file the usual permissions */
    mode_t mask = umask(0);
    umask(mask);
    ok = ok && chmod(o->tmp, 0666 & ~mask) == 0;
    ok = ok && rename(o->tmp, o->path) == 0;
    sf_status st = SF_OK;
    if (!ok) {
        st = sf_fail(err, SF_ERR_IO, "%s: write failed: %s", o->path, strerror(errno));
        unlink(o->tmp);
    }
    free(o->tmp);
    o->tmp = NULL;
    return st;
}

void sf_outfile_abort(sf_outfile *o)
{
    if (o->f)
        fclose(o->f);
    if (o->tmp) {
        unlink(o->tmp);
        free(o->tmp);
    }
    memset(o, 0, sizeof *o);
}
