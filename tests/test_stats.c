/*
 * test_stats.c - the scan statistics against values computed here in long
 * double, their edge cases, and a grid that must never give NaN or inf.
 */
#include "acthist.h"
#include "check.h"
#include "internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Reference n KL(n_a/n || a) in long double, straight from the definition. */
static long double bj_ref(long double a, long double na, long double n)
{
    long double q = na / n, s = na * logl(q / a);
    if (na < n)
        s += (n - na) * logl((1.0L - q) / (1.0L - a));
    return s;
}

static int close_rel(double got, long double want, double tol)
{
    long double d = fabsl((long double)got - want);
    return d <= tol * fabsl(want) || d <= tol;
}

static void test_names(void)
{
    static const char *names[] = {"bj", "hc", "ks"};
    for (int s = 0; s < 3; s++) {
        CHECK(strcmp(ah_stat_name(s), names[s]) == 0, "name of %d", s);
        CHECK(ah_stat_parse(names[s]) == s, "parse %s", names[s]);
    }
    CHECK(ah_stat_parse("BJ") == -1, "parse is exact");
    CHECK(ah_stat_parse("") == -1, "parse empty");
    CHECK(ah_stat_parse(NULL) == -1, "parse NULL");
    CHECK(ah_stat_name(7) != NULL, "unknown name is not NULL");
    /* the table: every row's name parses back to it, and the names end
     * ("unknown") just past the last statistic */
    for (int s = 0; s < AH__STAT_COUNT; s++)
        CHECK(ah_stat_parse(ah_stat_name(s)) == s &&
                  strcmp(ah_stat_name(s), "unknown") != 0,
              "row %d: name '%s'", s, ah_stat_name(s));
    CHECK(strcmp(ah_stat_name(AH__STAT_COUNT), "unknown") == 0 &&
              strcmp(ah_stat_name(-1), "unknown") == 0,
          "names past the table");
}

static void test_known_values(void)
{
    static const struct {
        double a, na, n;
    } cases[] = {
        {0.1, 5, 10},   {0.5, 9, 10},   {0.05, 3, 20},   {0.3, 31, 100},
        {0.49, 1, 1},   {1e-4, 2, 1000}, {0.2, 2.5, 7.25}, {0.01, 1, 50},
        {0.4, 999999, 1000000}, {1.0 / 4097, 3, 4096},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        long double a = cases[k].a, na = cases[k].na, n = cases[k].n;
        double bj = ah_stat_score(AH_STAT_BJ, cases[k].a, cases[k].na,
                                  cases[k].n);
        double hc = ah_stat_score(AH_STAT_HC, cases[k].a, cases[k].na,
                                  cases[k].n);
        double ks = ah_stat_score(AH_STAT_KS, cases[k].a, cases[k].na,
                                  cases[k].n);
        long double hc_ref = (na - n * a) / sqrtl(n * a * (1 - a));
        long double ks_ref = (na - n * a) / sqrtl(n);
        CHECK(close_rel(bj, bj_ref(a, na, n), 1e-12), "bj case %zu: %.17g vs %.17Lg",
              k, bj, bj_ref(a, na, n));
        CHECK(close_rel(hc, hc_ref, 1e-13), "hc case %zu: %.17g vs %.17Lg", k,
              hc, hc_ref);
        CHECK(close_rel(ks, ks_ref, 1e-13), "ks case %zu: %.17g vs %.17Lg", k,
              ks, ks_ref);
    }
    /* Hand values: 10 KL(0.5 || 0.1) = 5 ln 5 + 5 ln(5/9). */
    CHECK(close_rel(ah_stat_score(AH_STAT_BJ, 0.1, 5, 10),
                    5 * logl(5.0L) + 5 * logl(5.0L / 9), 1e-13),
          "bj hand value");
    CHECK(close_rel(ah_stat_score(AH_STAT_HC, 0.1, 5, 10), 4 / sqrtl(0.9L),
                    1e-14), "hc hand value");
    CHECK(close_rel(ah_stat_score(AH_STAT_KS, 0.1, 5, 10), 4 / sqrtl(10.0L),
                    1e-14), "ks hand value");
}

static void test_edges(void)
{
    /* q = 1: the second term is 0, the score is n ln(1/a). */
    CHECK(close_rel(ah_stat_score(AH_STAT_BJ, 0.05, 20, 20),
                    20 * logl(20.0L), 1e-13), "bj at q = 1");
    CHECK(close_rel(ah_stat_score(AH_STAT_BJ, 0.5, 1, 1), logl(2.0L), 1e-15),
          "bj single node at 0.5");
    /* Tiny a. */
    CHECK(close_rel(ah_stat_score(AH_STAT_BJ, 1e-300, 1, 1),
                    300 * logl(10.0L), 1e-13), "bj a = 1e-300");
    {
        long double a = 1e-12L, na = 3, n = 1000, q = na / n;
        long double want = na * logl(q / a) +
                           (n - na) * (log1pl(-q) - log1pl(-a));
        CHECK(close_rel(ah_stat_score(AH_STAT_BJ, 1e-12, 3, 1000), want,
                        1e-12), "bj a = 1e-12");
    }
    {
        double s = ah_stat_score(AH_STAT_BJ, 4.9e-324, 1, 1);
        CHECK(isfinite(s) && s > 700, "bj at the smallest denormal: %g", s);
        s = ah_stat_score(AH_STAT_HC, 4.9e-324, 1, 1);
        CHECK(isfinite(s) && s > 1e100, "hc at the smallest denormal: %g", s);
    }
    /* n_a <= n a gives 0. */
    for (int st = 0; st < AH__STAT_COUNT; st++) {
        CHECK(ah_stat_score(st, 0.5, 5, 10) == 0.0, "n_a == n a, stat %d", st);
        CHECK(ah_stat_score(st, 0.5, 4, 10) == 0.0, "n_a < n a, stat %d", st);
        CHECK(ah_stat_score(st, 0.1, 0, 10) == 0.0, "n_a = 0, stat %d", st);
        CHECK(ah_stat_score(st, 0.1, 0, 0) == 0.0, "n = 0, stat %d", st);
        CHECK(ah_stat_score(st, 1.0, 3, 3) == 0.0, "a = 1, stat %d", st);
        CHECK(ah_stat_score(st, 1.5, 3, 3) == 0.0, "a > 1, stat %d", st);
        CHECK(ah_stat_score(st, 0.0, 3, 3) == 0.0, "a = 0, stat %d", st);
        CHECK(ah_stat_score(st, -0.2, 3, 3) == 0.0, "a < 0, stat %d", st);
        CHECK(ah_stat_score(st, NAN, 3, 3) == 0.0, "a NaN, stat %d", st);
        CHECK(ah_stat_score(st, 0.1, NAN, 3) == 0.0, "n_a NaN, stat %d", st);
        CHECK(ah_stat_score(st, 0.1, 3, NAN) == 0.0, "n NaN, stat %d", st);
        /* n_a > n is capped at n. */
        CHECK(ah_stat_score(st, 0.1, 5, 3) == ah_stat_score(st, 0.1, 3, 3),
              "n_a > n, stat %d", st);
    }
    CHECK(ah_stat_score(9, 0.1, 5, 10) == 0.0, "unknown statistic");
}

static void test_grid(void)
{
    static const double ns[] = {1, 2, 3, 10, 4096, 1e6, 1e15};
    double as[64];
    int na_count = 0, bad = 0, nonmono = 0;
    for (int k = 0; k < 20; k++)
        as[na_count++] = ldexp(1.0, -50 * k - 1) * 1.0000001;
    as[na_count++] = 4.9e-324;
    as[na_count++] = DBL_MIN;
    as[na_count++] = 0.5;
    as[na_count++] = nextafter(0.5, 0);
    as[na_count++] = nextafter(1.0, 0);
    as[na_count++] = 1.0 - 1e-12;
    for (int k = 1; k < 20; k++)
        as[na_count++] = k / 20.0;
    for (int st = 0; st < AH__STAT_COUNT; st++)
        for (size_t in = 0; in < sizeof ns / sizeof ns[0]; in++)
            for (int ia = 0; ia < na_count; ia++) {
                double prev = 0.0;
                for (int f = 0; f <= 64; f++) {
                    double n = ns[in], na = n * f / 64.0;
                    double s = ah_stat_score(st, as[ia], na, n);
                    if (!isfinite(s) || s < 0)
                        bad++;
                    /* For fixed a and n each statistic rises with n_a. */
                    if (s < prev)
                        nonmono++;
                    prev = s;
                }
            }
    CHECK(bad == 0, "%d non-finite or negative scores on the grid", bad);
    CHECK(nonmono == 0, "%d decreases in n_a on the grid", nonmono);
}

int main(void)
{
    check_init();
    test_names();
    test_known_values();
    test_edges();
    test_grid();
    return check_done("stats");
}
