/*
 * options.c - defaults and the names of methods, tails, binnings.
 */
#include "internal.h"

#include <string.h>

void ah_fit_options_default(ah_fit_options *opts)
{
    opts->method = AH_METHOD_HIST;
    opts->tail = AH_TAIL_DEFAULT;
    opts->bins = 3072;
    opts->binning = AH_BINNING_WIDTH;
    opts->atom_share = 1.0 / 32.0;
    opts->chunk_rows = 1024;
}

static const char *const method_names[] = {"hist", "empirical", "kde"};
static const char *const tail_names[] = {"upper", "lower", "two", "both"};
static const char *const binning_names[] = {"width", "quantile", "tails"};

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
    return b >= 0 && b < 3 ? binning_names[b] : "unknown";
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
int ah_binning_parse(const char *s) { return parse(s, binning_names, 3); }
