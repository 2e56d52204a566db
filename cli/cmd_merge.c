/*
 * cmd_merge.c - acthist merge: the shards of a fit in shards, merged.
 *
 * Plans merge into the plan every shard then counts against; counts merge
 * into the model (or, with --counts, into counts again, for merging in a
 * tree).  Inputs are loaded one at a time, so memory is two shards'.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

const char cmd_merge_usage[] =
    "usage: acthist merge -o OUT [--counts] SHARD [SHARD ...]\n"
    "\n"
    "Merge the outputs of 'acthist fit --plan-only' (plans) into one plan,\n"
    "or those of 'acthist fit --plan PLAN' (counts) into the model: with\n"
    "equal-width bins (the default) the same bytes as one fit of all the\n"
    "shards' rows.  Every input must come from the same options and the\n"
    "counts from the same plan; counts must cover each of the plan's rows\n"
    "once (a shard missing or counted twice is an error).\n"
    "\n"
    "  acthist fit --plan-only -o a.plan a.npy     # on each machine\n"
    "  acthist merge -o all.plan a.plan b.plan     # anywhere\n"
    "  acthist fit --plan all.plan -o a.counts a.npy   # on each machine\n"
    "  acthist merge -o model.ahm a.counts b.counts\n";

static const char *kind_name(int kind)
{
    return kind == AH_SHARD_PLAN ? "a plan" : "counts";
}

/* Whether a file is given twice (its rows would count twice); says so. */
static int given_twice(const cli_list *pos)
{
    for (size_t i = 0; i < pos->n; i++) {
        struct stat a, b;
        if (stat(pos->v[i], &a) != 0)
            continue; /* loading says why */
        for (size_t k = 0; k < i; k++)
            if (stat(pos->v[k], &b) == 0 && a.st_dev == b.st_dev &&
                a.st_ino == b.st_ino) {
                cli_error("merge: %s is given twice (as %s): its rows would "
                          "count twice", pos->v[i], pos->v[k]);
                return 1;
            }
    }
    return 0;
}

/* Load the shards and merge them into *acc (the caller frees it, also on
 * failure).  CLI_OK, or the exit code after the message. */
static int merge_all(const cli_list *pos, int keep_counts, ah_shard **acc)
{
    ah_diag d;
    ah_shard_info first;
    for (size_t i = 0; i < pos->n; i++) {
        ah_shard *s = NULL;
        if (ah_shard_load(&s, pos->v[i], &d) != AH_OK) {
            return cli_diag(NULL, &d);
        }
        ah_shard_info si;
        ah_shard_get_info(s, &si);
        if (i == 0) {
            *acc = s;
            first = si;
            if (keep_counts && si.kind != AH_SHARD_COUNTS) {
                cli_error("merge: --counts merges counts, and %s is a plan",
                          pos->v[0]);
                return CLI_USAGE;
            }
            continue;
        }
        if (si.kind != first.kind) {
            cli_error("%s: %s, but %s is %s (merge plans with plans, counts "
                      "with counts)", pos->v[i], kind_name(si.kind), pos->v[0],
                      kind_name(first.kind));
            ah_shard_free(s);
            return CLI_USAGE;
        }
        int st = ah_shard_merge(*acc, s, &d);
        ah_shard_free(s);
        if (st != AH_OK) {
            return cli_diag(pos->v[i], &d);
        }
    }
    return CLI_OK;
}

int cmd_merge(int argc, char **argv)
{
    const cli_command *self = cli_find("merge");
    const char *out = NULL;
    int keep_counts = 0;
    cli_list pos = {0};
    cli_opt opts[] = {
        {"-o", CLI_STRING, &out, NULL, NULL},
        {"--output", CLI_STRING, &out, "OUT",
         "the merged plan, counts or model, written atomically"},
        {"--counts", CLI_FLAG, &keep_counts, NULL,
         "merge counts into counts rather than a model (to merge in a "
         "tree: the last merge writes the model)"},
    };
    int rc = cli_parse(argc, argv, opts, CLI_NOPTS(opts), &pos, self);
    if (rc >= 0)
        goto done0;
    rc = CLI_USAGE;
    if (!out || pos.n == 0) {
        cli_error(!out ? "merge: missing -o OUT" : "merge: no shard given");
        cli_usage(stderr, self, opts, CLI_NOPTS(opts));
        goto done0;
    }
    if (given_twice(&pos))
        goto done0;
    if ((rc = cli_output_not_input("merge", out, pos.v, pos.n)) != CLI_OK)
        goto done0;
    rc = CLI_FAIL;
    double t0 = cli_now();
    ah_diag d;
    ah_shard *acc = NULL;
    if ((rc = merge_all(&pos, keep_counts, &acc)) != CLI_OK)
        goto done;
    rc = CLI_FAIL;
    ah_shard_info si;
    ah_shard_get_info(acc, &si);
    if (si.kind == AH_SHARD_PLAN || keep_counts) {
        if (ah_shard_save(acc, out, &d) != AH_OK) {
            rc = cli_diag(NULL, &d);
            goto done;
        }
        fprintf(stderr, "acthist: merged %zu %s: %zu rows x %zu nodes, %zu "
                "labels, in %.2f s\n", pos.n,
                si.kind == AH_SHARD_PLAN ? "plans" : "counts", si.rows,
                si.nodes, si.labels, cli_now() - t0);
        rc = CLI_OK;
        goto done;
    }
    ah_model *m = NULL;
    if (ah_shard_finish(&m, acc, &d) != AH_OK) {
        rc = cli_diag(NULL, &d);
        goto done;
    }
    char done_what[64];
    snprintf(done_what, sizeof done_what, "merged %zu counts into a", pos.n);
    rc = cli_save_model(m, out, done_what, t0);
done:
    ah_shard_free(acc);
done0:
    cli_list_free(&pos);
    return rc;
}
