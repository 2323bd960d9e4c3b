/* The text form: every fixture parses, prints back to its own text (less
 * comments), and print(parse(print(g))) == print(g). */
#include "testutil.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "ir/fileio.h"

/* The fixture without its comment lines and the blank line after them. */
static char *strip_comments(const char *text)
{
    char *out = malloc(strlen(text) + 1), *o = out;
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p + 1) : strlen(p);
        if (p[0] != '#') {
            memcpy(o, p, len);
            o += len;
        }
        p += len;
    }
    *o = '\0';
    return out;
}

static char *print_of(const char *text, size_t len, const char *name)
{
    sf_error e = {0};
    sf_graph *g = sf_parse(text, len, name, &e);
    if (!g)
        fail_msg("%s", e.msg);
    char *s = sf_print_string(g);
    assert_non_null(s);
    sf_graph_free(g);
    return s;
}

static void test_fixtures_round_trip(void **state)
{
    (void)state;
    DIR *d = opendir(SF_FIXTURES);
    assert_non_null(d);
    int count = 0;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        size_t n = strlen(ent->d_name);
        if (n < 6 || strcmp(ent->d_name + n - 5, ".sfir") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", SF_FIXTURES, ent->d_name);
        char *text;
        size_t len;
        sf_error e = {0};
        assert_int_equal(sf_read_file(path, &text, &len, &e), SF_OK);
        char *once = print_of(text, len, path);
        char *twice = print_of(once, strlen(once), "printed");
        if (strcmp(once, twice) != 0)
            fail_msg("%s: print(parse(print(g))) differs:\n%s\n---\n%s", path, once, twice);
        char *canonical = strip_comments(text);
        if (strcmp(once, canonical) != 0)
            fail_msg("%s: printed form differs from the fixture:\n%s\n---\n%s", path, once, canonical);
        free(canonical), free(once), free(twice), free(text);
        count++;
    }
    closedir(d);
    assert_true(count >= 10);
}

/* Inputs the fuzzer once broke on: each must fail cleanly or round-trip. */
static void test_fuzz_regressions(void **state)
{
    (void)state;
    DIR *d = opendir(SF_REGRESSIONS);
    assert_non_null(d);
    struct dirent *ent;
    int count = 0;
    while ((ent = readdir(d))) {
        if (ent->d_name[0] == '.')
            continue;
        char path[1024], *text;
        size_t len;
        sf_error e = {0};
        snprintf(path, sizeof path, "%s/%s", SF_REGRESSIONS, ent->d_name);
        assert_int_equal(sf_read_file(path, &text, &len, &e), SF_OK);
        sf_graph *g = sf_parse(text, len, path, &e);
        if (g) {
            char *once = sf_print_string(g), *twice = print_of(once, strlen(once), "printed");
            assert_string_equal(once, twice);
            free(once), free(twice);
            sf_graph_free(g);
        } else {
            assert_null(strchr(e.msg, '\n'));
        }
        free(text);
        count++;
    }
    closedir(d);
    assert_true(count >= 1);
}

static void test_numbering_is_canonical(void **state)
{
    (void)state;
    /* any local names in, numbered names out, in definition order */
    const char *in = "func @f(%x: f32[B,2]) {\n  %hidden = relu %x : f32[B,2]\n"
                     "  %7 = tanh %hidden : f32[B,2]\n  return %7, %hidden\n}\n";
    char *out = print_of(in, strlen(in), "t");
    assert_string_equal(out, "func @f(%x: f32[B,2]) {\n  %0 = relu %x : f32[B,2]\n"
                             "  %1 = tanh %0 : f32[B,2]\n  return %1, %0\n}\n");
    free(out);
}

static void test_source_locations_kept(void **state)
{
    (void)state;
    const char *in = "func @f(%x: f32[B,2]) {\n  %0 = relu %x : f32[B,2]\n\n    %1 = tanh %0 : f32[B,2]\n  return %1\n}\n";
    sf_error e = {0};
    sf_graph *g = sf_parse(in, strlen(in), "where.sfir", &e);
    assert_non_null(g);
    const sf_node *n = g->nodes.items[2];
    assert_string_equal(n->loc, "where.sfir:4:5");
    sf_graph_free(g);
}

static void test_dot(void **state)
{
    (void)state;
    char path[1024], *text, *dot = NULL;
    size_t len, dlen;
    sf_error e = {0};
    snprintf(path, sizeof path, "%s/parallel_fcn3.sfir", SF_FIXTURES);
    assert_int_equal(sf_read_file(path, &text, &len, &e), SF_OK);
    sf_graph *g = sf_parse(text, len, path, &e);
    assert_non_null(g);
    FILE *f = open_memstream(&dot, &dlen);
    sf_print_dot(g, f);
    fclose(f);
    assert_contains(dot, "digraph \"ParallelFCN\" {");
    assert_contains(dot, "label=\"concat\\nf32[B,3]\"");
    assert_contains(dot, "label=\"@models.2.fc2.bias\\nf32[1]\"");
    /* 10 ops with 3+3+3 + 1+3+3 + 1+3+3 ... edges: count the arrows */
    int edges = 0;
    for (const char *p = dot; (p = strstr(p, " -> ")); p++)
        edges++;
    /* slices 3x1, linears 6x3, concat 3, return 1 */
    assert_int_equal(edges, 3 + 18 + 3 + 1);
    free(dot), free(text);
    sf_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_round_trip),
        cmocka_unit_test(test_fuzz_regressions),
        cmocka_unit_test(test_numbering_is_canonical),
        cmocka_unit_test(test_source_locations_kept),
        cmocka_unit_test(test_dot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
