/*
 * main.c - the acthist command table and dispatcher.
 *
 * Each subcommand lives in its own cmd_<name>.c with its usage text and
 * the table of its options; `acthist help CMD` runs `acthist CMD --help`.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int cmd_fit(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_pvalues(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_scan_group(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_plot_node(int argc, char **argv);
int cmd_demo(int argc, char **argv);

extern const char cmd_fit_usage[], cmd_merge_usage[], cmd_info_usage[], cmd_pvalues_usage[],
    cmd_score_usage[], cmd_calibrate_usage[], cmd_scan_group_usage[], cmd_eval_usage[],
    cmd_compare_usage[], cmd_plot_node_usage[], cmd_demo_usage[];

const cli_command cli_commands[] = {
    {"fit", cmd_fit, "fit a model to background activations", cmd_fit_usage},
    {"merge", cmd_merge, "merge the shards of a fit in shards",
     cmd_merge_usage},
    {"info", cmd_info, "describe a model (or a shard)", cmd_info_usage},
    {"pvalues", cmd_pvalues, "p-value ranges of new activations",
     cmd_pvalues_usage},
    {"score", cmd_score, "individual scan of each input", cmd_score_usage},
    {"calibrate", cmd_calibrate,
     "keep the threshold of a false-positive rate in a model",
     cmd_calibrate_usage},
    {"scan-group", cmd_scan_group, "group scan of a batch of inputs",
     cmd_scan_group_usage},
    {"eval", cmd_eval, "detection power: clean versus anomalous sets",
     cmd_eval_usage},
    {"compare", cmd_compare, "methods, tails and labels side by side",
     cmd_compare_usage},
    {"plot-node", cmd_plot_node, "draw one node's histogram as SVG",
     cmd_plot_node_usage},
    {"demo", cmd_demo, "the comparison on the bundled real activations",
     cmd_demo_usage},
};
const size_t cli_command_count = sizeof cli_commands / sizeof cli_commands[0];

static void overview(FILE *f)
{
    fprintf(f, "usage: acthist COMMAND [OPTIONS] ...\n\n"
               "Compact histograms of neural-network activations, empirical "
               "p-values and\nsubset scanning.  Commands:\n\n");
    for (size_t i = 0; i < cli_command_count; i++)
        fprintf(f, "  %-11s %s\n", cli_commands[i].name,
                cli_commands[i].summary);
    fprintf(f, "\n'acthist help COMMAND' or 'acthist COMMAND --help' "
               "describes one command.\n");
}

const cli_command *cli_find(const char *name)
{
    for (size_t i = 0; i < cli_command_count; i++)
        if (strcmp(cli_commands[i].name, name) == 0)
            return &cli_commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        overview(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        overview(stdout);
        return CLI_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("acthist %s\n", AH_VERSION_STRING);
        return CLI_OK;
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            overview(stdout);
            return CLI_OK;
        }
        const cli_command *c = cli_find(argv[2]);
        if (!c) {
            cli_error("no such command '%s'", argv[2]);
            return CLI_USAGE;
        }
        /* the command prints its own help, options and all, so that
         * "help CMD" and "CMD --help" cannot differ */
        char help[] = "--help";
        char *args[] = {argv[2], help, NULL};
        return c->run(2, args);
    }
    const cli_command *c = cli_find(name);
    if (!c) {
        cli_error("no such command '%s'", name);
        overview(stderr);
        return CLI_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
