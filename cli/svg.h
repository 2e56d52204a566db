/*
 * svg.h - the two plots of the CLI as standalone SVG 1.1 text: ROC curves
 * (eval --plot) and one node's background histogram against new activations
 * (plot-node).
 *
 * The functions are pure: they append to a cli_buf and do no file I/O, so
 * that a caller decides where the text goes (cli_write_text for atomic
 * output).  Every string from the caller (titles, names, labels) is escaped
 * for XML; bytes that are not valid UTF-8 and control characters become '?',
 * so the output is well-formed whatever a file name holds.  Non-finite
 * values (NaN, infinities) in the data are skipped, never drawn.
 */
#ifndef AH_CLI_SVG_H
#define AH_CLI_SVG_H

#include "cli.h"

#include <stddef.h>

/*
 * ROC curves in a square plot: axes 0..1 with ticks and gridlines every
 * 0.2, the chance diagonal dashed, one colour per curve from the Okabe-Ito
 * palette (colour-blind friendly; after 8 curves the colours repeat with a
 * dash pattern), and a legend "name (AUC 0.873)".
 *
 * Curve k has npoints[k] points (fpr[k][i], tpr[k][i]) in drawing order;
 * values are clamped to [0, 1].  names may be NULL or hold NULLs ("set k"
 * is used); auc may be NULL (no AUC in the legend) or hold NaN ("AUC n/a").
 * title may be NULL.  Points on one horizontal or vertical run are merged,
 * so the text stays small for long ROC staircases.
 */
void svg_roc(cli_buf *b, const char *title, size_t ncurves,
             const char *const *names, const double *const *fpr,
             const double *const *tpr, const size_t *npoints,
             const double *auc);

/*
 * A node's histogram from its cells (ah_model_node_cells order: bins
 * [lo, hi) with counts, atoms lo == hi with counts) and new activations.
 *
 * Bars are background counts per cell (not densities: atoms have no
 * width); atoms are drawn as narrow bars in their own colour with their
 * count written above them when there are at most 20.  When atoms are more
 * than 3 times taller than the tallest bin, the y axis follows the bins and
 * the taller atoms are drawn clipped, with a break mark and their count.
 * When a node has only atoms and more than 200 of them (empirical and KDE
 * models report every distinct value as an atom), they are grouped into
 * display bins of a nice width and the y axis says so.
 *
 * marks (nmarks values, may be NULL when 0) are drawn as a rug under the
 * bars, plus full-height lines when there are at most 50.  The x axis
 * covers the cells and the marks; a zero-width range is widened around its
 * value.  xlabel may be NULL ("activation"); title may be NULL.
 */
void svg_node_histogram(cli_buf *b, const char *title, const ah_cell *cells,
                        size_t ncells, const double *marks, size_t nmarks,
                        const char *xlabel);
/*
 * The same, with at most `bars` display bars (plot-node --bins; 0 is
 * svg_node_histogram): bins are regrouped, ceil(bins / bars) consecutive
 * ones a bar with their counts summed, and the legend says so; a node with
 * only exact values, more of them than `bars`, is grouped into about `bars`
 * display bins of a nice width.  Atoms beside bins stay as they are.
 */
void svg_node_histogram_bars(cli_buf *b, const char *title,
                             const ah_cell *cells, size_t ncells,
                             const double *marks, size_t nmarks,
                             const char *xlabel, size_t bars);

#endif
