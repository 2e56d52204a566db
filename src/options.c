/*
 * options.c - defaults, the names of methods, tails, binnings, and the
 * ranges of the numeric options.
 *
 * The ranges are one table, checked by every call that takes an option
 * and, through ah_option_check, by the command line and the Python
 * binding before they do anything: one place to change a range, and the
 * same refusal in the same words wherever a value comes from.
 */
#include "backend.h"
#include "internal.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ah_fit_options_default(ah_fit_options *opts)
{
    opts->method = AH_METHOD_HIST;
    opts->tail = AH_TAIL_DEFAULT;
    opts->bins = 3072;
    opts->binning = AH_BINNING_WIDTH;
    opts->atom_share = 1.0 / 32.0;
    opts->chunk_rows = 1024;
    opts->basis = AH_BASIS_DEFAULT;
    opts->basis_components = 256;
    opts->fit_memory_mb = 0;
}

void ah_query_options_init(ah_query_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->alpha_max = 0.5;
    o->tail = -1;
    o->stat = AH_STAT_BJ;
    o->threads = 0;
}

/* The size of the first version of ah_query_options, through backend
 * (first reserved, always 0, which is AH_BACKEND_CPU): the smallest a
 * caller may pass.  It stays when fields are added. */
#define QUERY_OPTIONS_V1 (offsetof(ah_query_options, backend) + sizeof(int))

int ah__query_options_read(const ah_query_options *o, ah_query_options *out,
                           ah_diag *diag)
{
    ah_query_options_init(out);
    if (!o)
        return AH_OK;
    if (o->size < QUERY_OPTIONS_V1)
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "query options of %zu bytes, below the %zu of the "
                        "first version: set them with ah_query_options_init",
                        o->size, (size_t)QUERY_OPTIONS_V1);
    /* a newer caller's fields that this library does not know */
    const unsigned char *p = (const unsigned char *)o;
    for (size_t i = sizeof *out; i < o->size; i++)
        if (p[i] != 0)
            return ah__fail(diag, AH_ERR_ARG, -1, -1,
                            "query options: byte %zu of %zu is set, in a "
                            "field this library (version %s) does not know",
                            i, o->size, AH_VERSION_STRING);
    int st = ah__backend_check(o->backend, diag);
    if (st != AH_OK)
        return st;
    /* an older caller's prefix over the defaults */
    memcpy(out, o, o->size < sizeof *out ? o->size : sizeof *out);
    out->size = sizeof *out;
    return AH_OK;
}

static const char *const method_names[] = {"hist", "empirical", "kde"};
static const char *const tail_names[] = {"upper", "lower", "two", "both"};
/* One name per enum ah_binning (the rule itself: keep_edges in hist_fit.c). */
static const char *const binning_names[] = {
    [AH_BINNING_WIDTH] = "width",
    [AH_BINNING_QUANTILE] = "quantile",
    [AH_BINNING_TAILS] = "tails",
};
_Static_assert(sizeof binning_names / sizeof binning_names[0] ==
                   AH__BINNING_COUNT,
               "one name per binning rule");

/* The count against the enum: a case per enumerator and no default, so
 * -Wswitch sends a new rule here, to the assertion that wants
 * AH__BINNING_COUNT one past the last one (and binning_names a name). */
__attribute__((unused)) static void binning_enum_guard(enum ah_binning b)
{
    switch (b) {
    case AH_BINNING_WIDTH:
    case AH_BINNING_QUANTILE:
    case AH_BINNING_TAILS:
        break;
    }
}
_Static_assert(AH_BINNING_TAILS + 1 == AH__BINNING_COUNT,
               "AH__BINNING_COUNT is one past the last enum ah_binning");

static int parse(const char *s, const char *const *names, int n)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

const char *ah_method_name(int m)
{
    return m >= 0 && m < 3 ? method_names[m] : "unknown";
}
const char *ah_tail_name(int t)
{
    if (t == AH_TAIL_DEFAULT)
        return "default";
    return t >= 0 && t < 4 ? tail_names[t] : "unknown";
}
const char *ah_binning_name(int b)
{
    return b >= 0 && b < AH__BINNING_COUNT ? binning_names[b] : "unknown";
}
int ah_method_parse(const char *s) { return parse(s, method_names, 3); }
int ah_tail_parse(const char *s)
{
    if (s && strcmp(s, "default") == 0)
        return AH_TAIL_DEFAULT;
    return parse(s, tail_names, 4);
}

int ah__tail_resolve(int tail, int has_labels)
{
    if (tail != AH_TAIL_DEFAULT)
        return tail;
    /* docs/RESULTS.md, "Default tail": with labels, two-tailed has the best
     * mean and the best worst case; without, the lower tail. */
    return has_labels ? AH_TAIL_TWO : AH_TAIL_LOWER;
}
int ah_binning_parse(const char *s)
{
    return parse(s, binning_names, AH__BINNING_COUNT);
}

static const char *const basis_names[] = {"none", "pca"};
const char *ah_basis_name(int b)
{
    if (b == AH_BASIS_DEFAULT)
        return "default";
    return b >= 0 && b < 2 ? basis_names[b] : "unknown";
}
int ah_basis_parse(const char *s)
{
    if (s && strcmp(s, "default") == 0)
        return AH_BASIS_DEFAULT;
    return parse(s, basis_names, 2);
}

int ah__basis_resolve(int basis, int has_labels, size_t cols)
{
    (void)has_labels;
    (void)cols;
    if (basis != AH_BASIS_DEFAULT)
        return basis;
    /* docs/RESULTS.md ("Against the detectors users pick instead"):
     * ahead of the peers on average, not on most tasks, at 2-4x the model
     * and unreachable by fits in shards: opt-in. */
    return AH_BASIS_NONE;
}

static const struct option_range {
    const char *name;
    double lo, hi;
    int lo_open; /* lo itself is out of range                        */
    int integer; /* integral values only                             */
    const char *before, *after; /* around "lo..hi" in messages     */
} option_ranges[] = {
    [AH_OPTION_BINS] = {"bins", 1, 65536, 0, 1, "'auto' or ", ""},
    [AH_OPTION_ATOM_SHARE] = {"atom_share", 0, 1, 1, 0, "in ", ""},
    [AH_OPTION_CHUNK_ROWS] = {"chunk_rows", 1, 1 << 30, 0, 1, "in ", ""},
    [AH_OPTION_ALPHA_MAX] = {"alpha_max", 1e-12, 1, 0, 0, "in ", ""},
    [AH_OPTION_THREADS] = {"threads", 0, 256, 0, 1, "in ",
                           " (0: all cores)"},
    [AH_OPTION_RESTARTS] = {"restarts", 1, 1000000, 0, 1, "in ", ""},
    [AH_OPTION_MAX_ITER] = {"max_iter", 1, 1000000, 0, 1, "in ", ""},
    [AH_OPTION_BASIS_COMPONENTS] = {"basis_components", 1,
                                    AH_BASIS_MAX_NODES, 0, 1, "in ", ""},
    [AH_OPTION_FIT_MEMORY_MB] = {"fit_memory_mb", 0, 1 << 30, 0, 1, "in ",
                                 " (0: half of this process's memory)"},
};
enum { OPTIONS = sizeof option_ranges / sizeof option_ranges[0] };

/* v in as few digits as read back to it: "0.1", not 0.10000000000000001,
 * and an integer in all its digits ("1000000", not 1e+06). */
static void shortest(char *buf, size_t size, double v)
{
    if (v == floor(v) && fabs(v) < 0x1p63)
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%g", v);
    if (strtod(buf, NULL) != v && !isnan(v))
        snprintf(buf, size, "%.17g", v);
}

int ah_option_check(int option, double value, ah_diag *diag)
{
    ah__diag_clear(diag);
    if (option < 0 || option >= OPTIONS)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "unknown option %d",
                        option);
    const struct option_range *r = &option_ranges[option];
    int in = (r->lo_open ? value > r->lo : value >= r->lo) &&
             value <= r->hi && (!r->integer || value == floor(value));
    if (in)
        return AH_OK;
    char v[32], lo[32], hi[32];
    shortest(v, sizeof v, value);
    shortest(lo, sizeof lo, r->lo);
    shortest(hi, sizeof hi, r->hi);
    if (r->integer)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "%s must be %s%s..%s%s, "
                        "not %s", r->name, r->before, lo, hi, r->after, v);
    return ah__fail(diag, AH_ERR_ARG, -1, -1, "%s must be %s%c%s, %s]%s, "
                    "not %s", r->name, r->before, r->lo_open ? '(' : '[',
                    lo, hi, r->after, v);
}
