/*
 * cmd_plot_node.c - acthist plot-node: one node's background histogram,
 * optionally against new activations of that node, as SVG.
 *
 * The cells come from ah_model_node_cells (asked once for the count, then
 * filled); the input file is read whole, since only one of its columns is
 * kept and plots are for inspection, not for data larger than memory.
 * --bins only changes the drawing (svg_node_histogram_bars), not the model.
 */
#include "cli.h"
#include "svg.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cmd_plot_node_usage[] =
    "usage: acthist plot-node MODEL --node J [--label L] [--input X.npy\n"
    "                         [--input-labels XL.npy]] [--bins N] [-o OUT.svg]\n"
    "\n"
    "Draw the background histogram of node J (0-based) as SVG: bins as bars\n"
    "of their counts, exact values (atoms) as narrow bars with their counts,\n"
    "and with --input the node's new activations (column J of X.npy) as a\n"
    "rug and lines.  The SVG goes to standard output unless -o is given.\n";

#define DISPLAY_BARS_MAX 500 /* about one bar per pixel pair of the plot */

/* Is label one of the model's conditional sets? */
static int has_label(const ah_model *m, int64_t label)
{
    size_t n = 0;
    const int64_t *v = ah_model_labels(m, &n);
    for (size_t i = 0; i < n; i++)
        if (v[i] == label)
            return 1;
    return 0;
}

/* The cells of node `node` of label set `set`: asks for the count, then
 * fills; a second AH_ERR_ARG cannot happen with an unchanged model, but
 * is reported rather than looped on.  CLI_OK, or the exit code after the
 * message. */
static int node_cells(const ah_model *m, const char *model_path, int64_t set,
                      size_t node, ah_cell **cells, size_t *ncells)
{
    ah_diag d;
    *ncells = 0;
    int st = ah_model_node_cells(m, set, node, NULL, 0, ncells, &d);
    if (st != AH_OK && st != AH_ERR_ARG)
        return cli_diag(model_path, &d);
    if (!*ncells)
        return CLI_OK;
    *cells = malloc(*ncells * sizeof **cells);
    if (!*cells) {
        cli_error("out of memory for %zu cells", *ncells);
        return CLI_FAIL;
    }
    if (ah_model_node_cells(m, set, node, *cells, *ncells, ncells, &d) !=
        AH_OK) {
        cli_diag(model_path, &d);
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* Column `node` of input (rows x D), as *marks; with input_labels and a
 * label, only the rows of that label.  *rows gets the input's rows.
 * Nonzero after the message. */
static int node_marks(const char *model_path, const char *input,
                      const char *input_labels, size_t D, size_t node,
                      const long *label, double **marks, size_t *nmarks,
                      size_t *rows)
{
    double *x = NULL;
    int64_t *xlabels = NULL;
    size_t cols = 0;
    int rc = 1;
    if (cli_read_matrix(input, &x, rows, &cols) != 0)
        return 1;
    if (cols != D) {
        cli_error("%s: %zu nodes per row, but the model %s has %zu%s",
                  input, cols, model_path, D,
                  node >= cols ? " (no column for --node)" : "");
        goto done;
    }
    if (input_labels &&
        cli_read_labels(input_labels, *rows, input, &xlabels) != 0)
        goto done;
    *marks = malloc((*rows ? *rows : 1) * sizeof **marks);
    if (!*marks) {
        cli_error("out of memory for %zu rows", *rows);
        goto done;
    }
    /* With labels and --label, only that label's inputs. */
    for (size_t i = 0; i < *rows; i++)
        if (!xlabels || !label || xlabels[i] == (int64_t)*label)
            (*marks)[(*nmarks)++] = x[i * cols + node];
    if (xlabels && label && *nmarks == 0)
        cli_error("plot-node: no input of %s has label %ld (by %s); "
                  "drawing the background only", input, *label,
                  input_labels);
    rc = 0;
done:
    free(x);
    free(xlabels);
    return rc;
}

/* The plot's title: the model, node and label, and the input drawn. */
static void node_title(char *title, size_t cap, const char *model_path,
                       long node, const long *label, const char *input,
                       int by_label, size_t nmarks, size_t rows)
{
    if (label)
        snprintf(title, cap, "%s: node %ld, label %ld", model_path, node,
                 *label);
    else
        snprintf(title, cap, "%s: node %ld", model_path, node);
    if (input) {
        size_t k = strlen(title);
        if (by_label && label)
            snprintf(title + k, cap - k,
                     " vs the %zu of %zu inputs of %s labelled %ld", nmarks,
                     rows, input, *label);
        else
            snprintf(title + k, cap - k, " vs %s", input);
    }
}

int cmd_plot_node(int argc, char **argv)
{
    const cli_command *self = cli_find("plot-node");
    const char *out = NULL, *node_s = NULL, *label_s = NULL, *input = NULL,
               *input_labels = NULL, *bins_s = NULL;
    cli_list pos = {0};
    cli_opt opts[] = {
        {"-o", CLI_STRING, &out, NULL, NULL},
        {"--output", CLI_STRING, &out, "OUT.svg",
         "output file, written atomically (default: standard output)"},
        {"--node", CLI_STRING, &node_s, "J", "the node, 0 <= J < D"},
        {"--label", CLI_STRING, &label_s, "L",
         "the conditional background of label L (default: pooled)"},
        {"--input", CLI_STRING, &input, "X.npy",
         "new activations, one row per input with the model's D nodes"},
        {"--input-labels", CLI_STRING, &input_labels, "XL.npy",
         "one label per row of --input: with --label L only the inputs "
         "labelled L are drawn (all without --label)"},
        {"--bins", CLI_STRING, &bins_s, "N",
         "display at most N bars (1..500), each a run of the model's bins "
         "with their counts summed; a node of only exact values "
         "(empirical, KDE) is grouped into about N; the model is "
         "unchanged"},
    };
    int rc = cli_parse(argc, argv, opts, CLI_NOPTS(opts), &pos, self);
    if (rc >= 0)
        goto done0;
    rc = CLI_USAGE;
    if (pos.n != 1 || !node_s) {
        cli_error("plot-node: give one MODEL and --node J");
        cli_usage(stderr, self, opts, CLI_NOPTS(opts));
        goto done0;
    }
    if (input_labels && !input) {
        cli_error("plot-node: --input-labels needs --input (one label per "
                  "row of it)");
        goto done0;
    }
    long node = 0, label = 0, bars = 0;
    if (cli_parse_int("--node", node_s, 0, LONG_MAX, &node))
        goto done0;
    if (label_s && cli_parse_int("--label", label_s, LONG_MIN + 1, LONG_MAX,
                                 &label))
        goto done0;
    if (bins_s && cli_parse_int("--bins", bins_s, 1, DISPLAY_BARS_MAX, &bars))
        goto done0;

    rc = CLI_FAIL;
    const char *model_path = pos.v[0];
    ah_model *m = NULL;
    ah_cell *cells = NULL;
    double *marks = NULL;
    cli_buf svg = {0};
    if (cli_load_model(model_path, &m) != 0)
        goto done;
    size_t D = ah_model_nodes(m);
    if ((unsigned long)node >= D) {
        cli_error("%s: node %ld is out of range (the model has %zu nodes, "
                  "0..%zu)", model_path, node, D, D - 1);
        goto done;
    }
    if (label_s && !has_label(m, label)) {
        size_t nl = 0;
        ah_model_labels(m, &nl);
        if (nl == 0)
            cli_error("%s: no label %ld: the model was fitted without labels",
                      model_path, label);
        else
            cli_error("%s: the model has no label %ld (it has %zu labels; "
                      "see acthist info)", model_path, label, nl);
        goto done;
    }
    int64_t set = label_s ? (int64_t)label : AH_POOLED;

    size_t ncells = 0;
    if ((rc = node_cells(m, model_path, set, (size_t)node, &cells,
                         &ncells)) != CLI_OK)
        goto done;
    rc = CLI_FAIL;
    size_t nmarks = 0, rows = 0;
    if (input && node_marks(model_path, input, input_labels, D, (size_t)node,
                            label_s ? &label : NULL, &marks, &nmarks, &rows))
        goto done;
    char title[512], xlabel[128];
    node_title(title, sizeof title, model_path, node, label_s ? &label : NULL,
               input, input_labels != NULL, nmarks, rows);
    snprintf(xlabel, sizeof xlabel, "activation of node %ld", node);
    svg_node_histogram_bars(&svg, title, cells, ncells, marks, nmarks, xlabel,
                            (size_t)bars);
    rc = cli_write_text(out, svg.s, svg.n) == 0 ? CLI_OK : CLI_FAIL;
done:
    cli_buf_free(&svg);
    ah_model_free(m);
    free(cells);
    free(marks);
done0:
    cli_list_free(&pos);
    return rc;
}
