#define _GNU_SOURCE /* mkdtemp, nftw */
#include "testutil.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

sf_tensor_set *tset(int n, const tensor_lit *lits)
{
    sf_tensor_set *s = sf_tensors_new();
    assert_non_null(s);
    for (int i = 0; i < n; i++) {
        sf_error e = {0};
        if (!sf_tensors_add(s, lits[i].name, lits[i].rank, lits[i].dim, lits[i].data, &e))
            fail_msg("tset: %s", e.msg);
    }
    return s;
}

sf_tensor_set *run_ir(const char *ir, int64_t batch, sf_tensor_set *inputs, sf_tensor_set *weights)
{
    sf_error e = {0};
    sf_graph *g = sf_parse(ir, strlen(ir), "test.sfir", &e);
    if (!g)
        fail_msg("parse: %s", e.msg);
    sf_tensor_set *empty = sf_tensors_new(), *out = sf_tensors_new();
    sf_status st = sf_interp_run(g, batch, inputs ? inputs : empty, weights ? weights : empty, out, &e);
    if (st != SF_OK)
        fail_msg("interp: %s", e.msg);
    sf_graph_free(g);
    sf_tensors_free(empty);
    return out;
}

const char *parse_error(const char *ir)
{
    static sf_error e;
    memset(&e, 0, sizeof e);
    sf_graph *g = sf_parse(ir, strlen(ir), "bad.sfir", &e);
    if (g) {
        sf_graph_free(g);
        fail_msg("expected a parse error for:\n%s", ir);
    }
    assert_int_not_equal(e.code, SF_OK);
    assert_true(strlen(e.msg) > 0);
    assert_null(strchr(e.msg, '\n'));
    return e.msg;
}

void assert_close(const float *got, const float *want, size_t n, double rtol, double atol)
{
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - (double)want[i]);
        if (!(diff <= atol + rtol * fabs((double)want[i])))
            fail_msg("element %zu: got %.9g, want %.9g (diff %.3g)", i, got[i], want[i], diff);
    }
}

void expect_tensor(const sf_tensor_set *outs, const char *name, int rank, const int64_t *dims, const float *want,
                   double tol)
{
    const sf_tensor *t = sf_tensors_get(outs, name);
    if (!t)
        fail_msg("no output '%s'", name);
    assert_int_equal(t->rank, rank);
    for (int i = 0; i < rank; i++)
        assert_int_equal(t->dim[i], dims[i]);
    assert_close(t->data, want, sf_tensor_numel(t), tol, tol);
}

void assert_contains(const char *haystack, const char *needle)
{
    if (!haystack || !strstr(haystack, needle))
        fail_msg("expected to find\n  \"%s\"\nin\n  \"%s\"", needle, haystack ? haystack : "(null)");
}

static char *slurp(FILE *f)
{
    static char bufs[2][1 << 16];
    static int which;
    char *buf = bufs[which++ & 1];
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, sizeof bufs[0] - 1, f);
    buf[n] = '\0';
    return buf;
}

int run_cli(const char *const *args, const char **out, const char **err)
{
    int argc = 0;
    while (args[argc])
        argc++;
    FILE *o = tmpfile(), *e = tmpfile();
    assert_non_null(o);
    assert_non_null(e);
    int rc = sf_tool_main(argc, (char **)args, o, e);
    const char *os = slurp(o), *es = slurp(e);
    if (out)
        *out = os;
    if (err)
        *err = es;
    fclose(o);
    fclose(e);
    return rc;
}

static char tmp_dir[256];
static pid_t tmp_owner;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* the test's files go with it: a directory of its own (mkdtemp, never one an
 * earlier process with the same pid left behind, whose NVRTC cache a test
 * would find full), removed at exit */
static void remove_tmp_dir(void)
{
    if (tmp_dir[0] && getpid() == tmp_owner) /* not from a forked child */
        nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tmp_path(const char *name)
{
    static char paths[32][512];
    static int next;
    if (!tmp_dir[0]) {
        snprintf(tmp_dir, sizeof tmp_dir, "%s/sheaf-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(tmp_dir))
            fail_msg("mkdtemp %s failed", tmp_dir);
        tmp_owner = getpid();
        atexit(remove_tmp_dir);
    }
    const char *dir = tmp_dir;
    char *p = paths[next++ & 31];
    snprintf(p, 512, "%s/%s", dir, name);
    unlink(p);
    return p;
}

bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}
