/* String formatting at compile time: str(), '%' formatting, str.format and
 * f-strings. Module names are often built this way ("h%d" % i), so the
 * text must be right, not approximate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/py_interp.h"

/* Python's repr of a float: the shortest text that reads back, with ".0" for integers. */
static void float_text(double f, char *buf, size_t cap)
{
    if (isnan(f)) {
        snprintf(buf, cap, "nan");
        return;
    }
    if (isinf(f)) {
        snprintf(buf, cap, f < 0 ? "-inf" : "inf");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, f);
        if (strtod(buf, NULL) == f)
            break;
    }
    if (!strpbrk(buf, ".en"))
        strncat(buf, ".0", cap - strlen(buf) - 1);
}

/* A value as text, as str(v) would print it. */
bool py_text_of(py_interp *I, const py_expr *at, const pv *v, char *buf, size_t cap)
{
    switch (v->k) {
    case PV_STR: snprintf(buf, cap, "%s", v->u.s.s); return true;
    case PV_INT: snprintf(buf, cap, "%lld", (long long)v->u.i); return true;
    case PV_BOOL: snprintf(buf, cap, "%s", v->u.b ? "True" : "False"); return true;
    case PV_NONE: snprintf(buf, cap, "None"); return true;
    case PV_FLOAT: float_text(v->u.f, buf, cap); return true;
    default:
        snprintf(buf, cap, "%s", pv_describe(I, v));
        (void)at;
        return true;
    }
}

/* One conversion: a printf spec (flags, width, precision) and a letter. */
static bool convert(py_interp *I, const py_expr *at, const char *flags, char conv, const pv *v, char *out, size_t cap)
{
    char spec[48];
    if (conv == 's' || conv == 'r') {
        char text[512];
        py_text_of(I, at, v, text, sizeof text);
        snprintf(spec, sizeof spec, "%%%ss", flags);
        snprintf(out, cap, spec, text);
        return true;
    }
    if (!pv_is_number(v)) {
        py_error(I, at, SF_ERR_INVALID_ARG, "format %%%c needs a number, got %s", conv, pv_describe(I, v));
        return false;
    }
    if (conv == 'd' || conv == 'i' || conv == 'x' || conv == 'X' || conv == 'o') {
        snprintf(spec, sizeof spec, "%%%sll%c", flags, conv == 'i' ? 'd' : conv);
        snprintf(out, cap, spec, (long long)pv_as_double(v));
        return true;
    }
    if (strchr("fFeEgG", conv)) {
        snprintf(spec, sizeof spec, "%%%s%c", flags, conv);
        snprintf(out, cap, spec, pv_as_double(v));
        return true;
    }
    py_error(I, at, SF_ERR_UNSUPPORTED, "format conversion '%c' is not supported", conv);
    return false;
}

static bool append(py_interp *I, const py_expr *at, char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t nc = (*len + n + 1) * 2;
        if (nc > (1u << 24)) {
            py_error(I, at, SF_ERR_UNSUPPORTED, "formatted string too long");
            return false;
        }
        char *grown = sf_arena_alloc(I->arena, nc);
        if (!grown) {
            py_error(I, at, SF_ERR_NOMEM, "out of memory");
            return false;
        }
        if (*len)
            memcpy(grown, *buf, *len);
        *buf = grown;
        *cap = nc;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return true;
}

static bool flags_ok(const char *f)
{
    for (; *f; f++)
        if (!strchr("-+ #0123456789.", *f))
            return false;
    return true;
}

/* fmt % args */
pv *py_format_percent(py_interp *I, const py_expr *at, const pv *fmt, pv *args)
{
    pv **items = args->k == PV_TUPLE ? args->u.list->items : &args;
    int64_t n = args->k == PV_TUPLE ? args->u.list->n : 1, next = 0;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    const char *s = fmt->u.s.s, *end = s + fmt->u.s.n;
    while (s < end) {
        const char *pct = memchr(s, '%', (size_t)(end - s));
        if (!pct)
            pct = end;
        if (!append(I, at, &buf, &len, &cap, s, (size_t)(pct - s)))
            return NULL;
        if (pct == end)
            break;
        if (pct + 1 < end && pct[1] == '%') {
            if (!append(I, at, &buf, &len, &cap, "%", 1))
                return NULL;
            s = pct + 2;
            continue;
        }
        const char *p = pct + 1;
        char flags[32];
        size_t fl = 0;
        while (p < end && strchr("-+ #0123456789.", *p) && fl + 1 < sizeof flags)
            flags[fl++] = *p++;
        flags[fl] = '\0';
        if (p >= end)
            return py_error(I, at, SF_ERR_INVALID_ARG, "incomplete format");
        if (next >= n)
            return py_error(I, at, SF_ERR_INVALID_ARG, "not enough arguments for format string");
        char out[600];
        if (!convert(I, at, flags, *p, items[next++], out, sizeof out) ||
            !append(I, at, &buf, &len, &cap, out, strlen(out)))
            return NULL;
        s = p + 1;
    }
    if (next < n)
        return py_error(I, at, SF_ERR_INVALID_ARG, "not all arguments converted during string formatting");
    return pv_str(I, buf ? buf : "", len);
}

/* {spec} of str.format and f-strings: "", "d", ".2f", "03d", ">5"... */
bool py_format_spec(py_interp *I, const py_expr *at, const pv *v, const char *spec, char *out, size_t cap)
{
    size_t n = strlen(spec);
    if (n == 0)
        return py_text_of(I, at, v, out, cap);
    char conv = spec[n - 1], flags[32];
    if (!strchr("dfFeEgGxXos", conv)) {
        py_error(I, at, SF_ERR_UNSUPPORTED, "format spec '%s' is not supported", spec);
        return false;
    }
    if (n - 1 >= sizeof flags || (snprintf(flags, sizeof flags, "%.*s", (int)(n - 1), spec), !flags_ok(flags))) {
        py_error(I, at, SF_ERR_UNSUPPORTED, "format spec '%s' is not supported", spec);
        return false;
    }
    return convert(I, at, flags, conv, v, out, cap);
}

/* fmt.format(args, kw=...): {} {0} {name} with an optional :spec */
pv *py_format_method(py_interp *I, const py_expr *at, const pv *fmt, int argc, pv **argv, int kwc, const char **kwn,
                     pv **kwv)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    const char *s = fmt->u.s.s, *end = s + fmt->u.s.n;
    int auto_index = 0;
    while (s < end) {
        if ((*s == '{' || *s == '}') && s + 1 < end && s[1] == *s) {
            if (!append(I, at, &buf, &len, &cap, s, 1))
                return NULL;
            s += 2;
            continue;
        }
        if (*s != '{') {
            if (!append(I, at, &buf, &len, &cap, s++, 1))
                return NULL;
            continue;
        }
        const char *close = memchr(s, '}', (size_t)(end - s));
        if (!close)
            return py_error(I, at, SF_ERR_INVALID_ARG, "unmatched '{' in format string");
        char field[128], spec[32] = "";
        size_t fl = (size_t)(close - s - 1);
        if (fl >= sizeof field)
            return py_error(I, at, SF_ERR_UNSUPPORTED, "format field too long");
        memcpy(field, s + 1, fl);
        field[fl] = '\0';
        char *colon = strchr(field, ':');
        if (colon) {
            snprintf(spec, sizeof spec, "%s", colon + 1);
            *colon = '\0';
        }
        const pv *v = NULL;
        if (!field[0]) {
            v = auto_index < argc ? argv[auto_index++] : NULL;
        } else if (field[0] >= '0' && field[0] <= '9') {
            int k = atoi(field);
            v = k < argc ? argv[k] : NULL;
        } else {
            for (int k = 0; k < kwc; k++)
                if (strcmp(kwn[k], field) == 0)
                    v = kwv[k];
        }
        if (!v)
            return py_error(I, at, SF_ERR_INVALID_ARG, "format field '{%s}' has no argument", field);
        char out[600];
        if (!py_format_spec(I, at, v, spec, out, sizeof out) || !append(I, at, &buf, &len, &cap, out, strlen(out)))
            return NULL;
        s = close + 1;
    }
    return pv_str(I, buf ? buf : "", len);
}
