/*
 * svg.c - ROC curves and node histograms as standalone SVG 1.1 text.
 *
 * Output sizes are bounded by the picture, not by the data where that is
 * cheap: ROC staircases lose the points inside straight runs, new
 * activations are bucketed into pixel columns, and nodes with hundreds of
 * exact values are grouped into display bins.  Histogram bins are one path
 * per contiguous run, so thousands of bins draw without seams between them.
 * Coordinates are written with two decimals (1/100 px).
 */
#include "svg.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FONT "DejaVu Sans, Helvetica, Arial, sans-serif"
#define CHAR_PX 7.0 /* estimated advance of a 13 px character */

/* Okabe & Ito (2008), "Color Universal Design": distinguishable under the
 * common colour-vision deficiencies.  Yellow is last: weak on white. */
static const char *const palette[] = {"#0072B2", "#E69F00", "#009E73",
                                      "#D55E00", "#CC79A7", "#56B4E9",
                                      "#000000", "#F0E442"};
#define NPALETTE (sizeof palette / sizeof palette[0])

/* Length of the valid UTF-8 sequence at s that XML 1.0 allows, or 0. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return (c >= 0x20 || c == '\t' || c == '\n') ? 1 : 0;
#define CONT(i) ((s[i] & 0xC0) == 0x80)
    if (c >= 0xC2 && c <= 0xDF)
        return CONT(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!CONT(1) || !CONT(2) || (c == 0xE0 && s[1] < 0xA0) ||
            (c == 0xED && s[1] >= 0xA0) /* surrogates */ ||
            (c == 0xEF && s[1] == 0xBF && s[2] >= 0xBE) /* U+FFFE/F */)
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!CONT(1) || !CONT(2) || !CONT(3) || (c == 0xF0 && s[1] < 0x90) ||
            (c == 0xF4 && s[1] >= 0x90))
            return 0;
        return 4;
    }
#undef CONT
    return 0;
}

/* Append s escaped for XML text and attributes, at most max_cp characters
 * (longer strings end in "..."); invalid bytes become '?'. */
static void esc(cli_buf *b, const char *s, size_t max_cp)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    for (size_t cp = 0; *p; cp++) {
        if (cp == max_cp) {
            cli_buf_printf(b, "...");
            return;
        }
        size_t k = utf8_len(p);
        switch (k ? *p : '?') {
        case '&': cli_buf_printf(b, "&amp;"); break;
        case '<': cli_buf_printf(b, "&lt;"); break;
        case '>': cli_buf_printf(b, "&gt;"); break;
        case '"': cli_buf_printf(b, "&quot;"); break;
        case '\'': cli_buf_printf(b, "&apos;"); break;
        default:
            if (k)
                cli_buf_printf(b, "%.*s", (int)k, (const char *)p);
            else
                cli_buf_printf(b, "?");
        }
        p += k ? k : 1;
    }
}

/* Characters that esc() would show, for width estimates. */
static size_t text_cp(const char *s, size_t max_cp)
{
    size_t cp = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;
         cp++) {
        size_t k = utf8_len(p);
        p += k ? k : 1;
    }
    return cp > max_cp ? max_cp + 3 : cp;
}

static void header(cli_buf *b, int w, int h, const char *title)
{
    cli_buf_printf(b,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
                   "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                   "font-family=\"" FONT "\" font-size=\"13\">\n<title>",
                   w, h, w, h);
    esc(b, title ? title : "acthist plot", 200);
    cli_buf_printf(b, "</title>\n<rect width=\"%d\" height=\"%d\" "
                      "fill=\"white\"/>\n", w, h);
    if (title && *title) {
        cli_buf_printf(b, "<text x=\"%.1f\" y=\"30\" text-anchor=\"middle\" "
                          "font-size=\"16\" font-weight=\"bold\">", w / 2.0);
        esc(b, title, (size_t)(w / 9));
        cli_buf_printf(b, "</text>\n");
    }
}

/* A line in the style of its enclosing group. */
static void line(cli_buf *b, double x1, double y1, double x2, double y2)
{
    cli_buf_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
                      "y2=\"%.2f\"/>\n", x1, y1, x2, y2);
}

/* Text at (x, y) with an anchor ("start", "middle", "end"). */
static void text(cli_buf *b, double x, double y, const char *anchor,
                 const char *s)
{
    cli_buf_printf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"%s\">", x, y,
                   anchor);
    esc(b, s, 80);
    cli_buf_printf(b, "</text>\n");
}

static void vtext(cli_buf *b, double x, double y, const char *s)
{
    cli_buf_printf(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" "
                      "transform=\"rotate(-90 %.2f %.2f)\">", x, y, x, y);
    esc(b, s, 80);
    cli_buf_printf(b, "</text>\n");
}

/* 1, 2 or 5 times a power of ten, near range/target. */
static double nice_step(double range, int target)
{
    double raw = range / target;
    if (!(raw > 0) || !isfinite(raw))
        return 1;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

/* A tick label for v on a scale of step whose largest magnitude is maxabs:
 * as many decimals as the step needs, exponents for very large or small. */
static void tick_label(char *out, size_t n, double v, double step,
                       double maxabs)
{
    if (fabs(v) < step * 1e-6) {
        snprintf(out, n, "0");
        return;
    }
    if (maxabs >= 1e6 || maxabs < 1e-3) {
        int prec = (int)floor(log10(maxabs)) - (int)floor(log10(step)) + 1;
        prec = prec < 1 ? 1 : prec > 15 ? 15 : prec;
        snprintf(out, n, "%.*g", prec, v);
        return;
    }
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(out, n, "%.*f", dec > 15 ? 15 : dec, v);
}

/* ------------------------------------------------------------------------ */
/* ROC curves                                                               */
/* ------------------------------------------------------------------------ */

#define R_ML 72 /* margins and the square plot side */
#define R_MT 52
#define R_P 440
#define R_W (R_ML + R_P + 28)
#define R_H (R_MT + R_P + 64)

/* After the 8 colours, curves repeat them with these dash patterns. */
static const char *const roc_dashes[] = {NULL, "8 4", "2 3", "8 3 2 3"};

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

/* One curve as a polyline.  A point is written only once the next one
 * shows it is not inside a horizontal or vertical run, so a staircase of
 * n points costs as many points as it has corners. */
static void roc_curve(cli_buf *b, const double *fpr, const double *tpr,
                      size_t n, const char *colour, const char *dash)
{
    cli_buf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" "
                      "stroke-width=\"2\" stroke-linejoin=\"round\"%s%s%s "
                      "points=\"", colour, dash ? " stroke-dasharray=\"" : "",
                   dash ? dash : "", dash ? "\"" : "");
    double px = 0, py = 0, qx = 0, qy = 0; /* last written, pending */
    int have_p = 0, have_q = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(fpr[i]) || !isfinite(tpr[i]))
            continue;
        double x = round(100 * (R_ML + clamp01(fpr[i]) * R_P)) / 100;
        double y = round(100 * (R_MT + (1 - clamp01(tpr[i])) * R_P)) / 100;
        if (!have_p) {
            cli_buf_printf(b, "%.2f,%.2f", x, y);
            px = x, py = y, have_p = 1;
            continue;
        }
        if (have_q && x == qx && y == qy)
            continue;
        if (have_q && !((px == qx && qx == x) || (py == qy && qy == y))) {
            cli_buf_printf(b, " %.2f,%.2f", qx, qy);
            px = qx, py = qy;
        }
        if (!have_q && x == px && y == py)
            continue;
        qx = x, qy = y, have_q = 1;
    }
    if (have_q)
        cli_buf_printf(b, " %.2f,%.2f", qx, qy);
    cli_buf_printf(b, "\"/>\n");
}

/* The legend text of curve k: its name (or "set k+1") and its AUC. */
static void roc_entry(char *name, size_t nn, char *suffix, size_t ns,
                      size_t k, const char *const *names, const double *auc)
{
    snprintf(name, nn, "set %zu", k + 1);
    if (names && names[k])
        snprintf(name, nn, "%s", names[k]);
    if (auc && isfinite(auc[k]))
        snprintf(suffix, ns, " (AUC %.3f)", auc[k]);
    else
        snprintf(suffix, ns, "%s", auc ? " (AUC n/a)" : "");
}

/* Legend, bottom right: the region a useful ROC curve stays away from.
 * Names are cut at 48 characters, never the AUC. */
static void roc_legend(cli_buf *b, size_t ncurves, const char *const *names,
                       const double *auc)
{
    char name[256], suffix[32];
    size_t maxcp = 0;
    for (size_t k = 0; k < ncurves; k++) {
        roc_entry(name, sizeof name, suffix, sizeof suffix, k, names, auc);
        size_t cp = text_cp(name, 48) + strlen(suffix);
        maxcp = cp > maxcp ? cp : maxcp;
    }
    double bw = 48 + CHAR_PX * (double)maxcp, bh = 20.0 * (double)ncurves + 8;
    if (bw > R_P - 16)
        bw = R_P - 16;
    double bx = R_ML + R_P - 8 - bw, by = R_MT + R_P - 8 - bh;
    if (by < R_MT + 8)
        by = R_MT + 8;
    cli_buf_printf(b, "<g>\n<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                      "height=\"%.2f\" fill=\"white\" fill-opacity=\"0.9\" "
                      "stroke=\"#999999\"/>\n", bx, by, bw, bh);
    for (size_t k = 0; k < ncurves; k++) {
        double y = by + 18 + 20.0 * (double)k;
        const char *dash = roc_dashes[(k / NPALETTE) % 4];
        cli_buf_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
                          "y2=\"%.2f\" stroke=\"%s\" stroke-width=\"3\""
                          "%s%s%s/>\n",
                       bx + 8, y - 4.5, bx + 36, y - 4.5,
                       palette[k % NPALETTE],
                       dash ? " stroke-dasharray=\"" : "", dash ? dash : "",
                       dash ? "\"" : "");
        roc_entry(name, sizeof name, suffix, sizeof suffix, k, names, auc);
        cli_buf_printf(b, "<text x=\"%.2f\" y=\"%.2f\">", bx + 42, y);
        esc(b, name, 48);
        esc(b, suffix, 48);
        cli_buf_printf(b, "</text>\n");
    }
    cli_buf_printf(b, "</g>\n");
}

void svg_roc(cli_buf *b, const char *title, size_t ncurves,
             const char *const *names, const double *const *fpr,
             const double *const *tpr, const size_t *npoints,
             const double *auc)
{
    header(b, R_W, R_H, title);
    /* Grid, ticks and tick labels every 0.2. */
    cli_buf_printf(b, "<g stroke=\"#e0e0e0\" stroke-width=\"1\">\n");
    for (int i = 1; i < 5; i++) {
        double t = R_P * i / 5.0;
        line(b, R_ML + t, R_MT, R_ML + t, R_MT + R_P);
        line(b, R_ML, R_MT + t, R_ML + R_P, R_MT + t);
    }
    cli_buf_printf(b, "</g>\n<g stroke=\"black\" stroke-width=\"1\">\n");
    for (int i = 0; i <= 5; i++) {
        double t = R_P * i / 5.0;
        line(b, R_ML + t, R_MT + R_P, R_ML + t, R_MT + R_P + 5);
        line(b, R_ML - 5, R_MT + R_P - t, R_ML, R_MT + R_P - t);
    }
    cli_buf_printf(b, "</g>\n<g font-size=\"12\">\n");
    static const char *const lab[] = {"0", "0.2", "0.4", "0.6", "0.8", "1"};
    for (int i = 0; i <= 5; i++) {
        double t = R_P * i / 5.0;
        text(b, R_ML + t, R_MT + R_P + 20, "middle", lab[i]);
        text(b, R_ML - 9, R_MT + R_P - t + 4, "end", lab[i]);
    }
    cli_buf_printf(b, "</g>\n");
    text(b, R_ML + R_P / 2.0, R_MT + R_P + 44, "middle", "false positive rate");
    vtext(b, R_ML - 44, R_MT + R_P / 2.0, "true positive rate");
    cli_buf_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                      "stroke=\"#888888\" stroke-width=\"1.2\" "
                      "stroke-dasharray=\"6 4\"/>\n",
                   R_ML, R_MT + R_P, R_ML + R_P, R_MT);

    /* The frame goes under the curves: curves along an axis stay visible. */
    cli_buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                      "fill=\"none\" stroke=\"black\"/>\n",
                   R_ML, R_MT, R_P, R_P);
    for (size_t k = 0; k < ncurves; k++)
        if (fpr && tpr && npoints && fpr[k] && tpr[k])
            roc_curve(b, fpr[k], tpr[k], npoints[k], palette[k % NPALETTE],
                      roc_dashes[(k / NPALETTE) % 4]);

    if (ncurves)
        roc_legend(b, ncurves, names, auc);
    cli_buf_printf(b, "</svg>\n");
}

/* ------------------------------------------------------------------------ */
/* Node histogram                                                           */
/* ------------------------------------------------------------------------ */

#define H_ML 84
#define H_MT 62
#define H_PW 690
#define H_PH 300
#define H_W (H_ML + H_PW + 26)
#define ATOM_LABELS_MAX 20
#define MARK_LINES_MAX 50
#define GROUP_ATOMS_OVER 200
#define GROUP_ATOMS_BARS 60

#define C_BIN_FILL "#56B4E9"
#define C_BIN_LINE "#0072B2"
#define C_ATOM "#009E73"
#define C_ATOM_TEXT "#00664A"
#define C_MARK "#D55E00"

/* x of v on an axis from lo to hi (lo < hi, both finite), on the plot:
 * each end is halved before the subtraction, so that an axis over the
 * whole double range (-DBL_MAX to DBL_MAX) does not overflow to infinity,
 * and a value outside the axis (by rounding) stays at its end. */
static double xpos(double v, double lo, double hi)
{
    double span = hi / 2 - lo / 2, t = (v / 2 - lo / 2) / span;
    if (!(span > 0) || !(t == t))
        t = 0.5;
    return H_ML + (t < 0 ? 0 : t > 1 ? 1 : t) * H_PW;
}

static int is_atom(const ah_cell *c) { return c->atom || c->lo == c->hi; }
static int cell_ok(const ah_cell *c)
{
    return isfinite(c->lo) && isfinite(c->hi) && c->lo <= c->hi;
}

/* Many exact values (empirical and KDE models) as about `bars` display
 * bins of a nice width; NULL when the values span no width or memory is
 * short. */
static ah_cell *group_atoms(const ah_cell *cells, size_t n, size_t *nout,
                            double *width, int bars)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (cell_ok(&cells[i])) {
            lo = fmin(lo, cells[i].lo);
            hi = fmax(hi, cells[i].lo);
        }
    /* A width far below the values' magnitude would not survive lo / w. */
    if (!(hi - lo > 1e-9 * fmax(fabs(lo), fabs(hi))) || !isfinite(hi - lo))
        return NULL;
    double w = nice_step(hi - lo, bars);
    double start = floor(lo / w) * w, span = floor((hi - start) / w);
    if (!(span >= 0 && span < 1000))
        return NULL;
    size_t nb = (size_t)span + 1;
    ah_cell *g = calloc(nb, sizeof *g);
    if (!g)
        return NULL;
    for (size_t i = 0; i < nb; i++)
        g[i] = (ah_cell){start + (double)i * w, start + (double)(i + 1) * w,
                         0, 0};
    for (size_t i = 0; i < n; i++) {
        if (!cell_ok(&cells[i]))
            continue;
        double q = floor((cells[i].lo - start) / w); /* may round to -1 */
        size_t k = q < 0 ? 0 : q >= (double)nb ? nb - 1 : (size_t)q;
        g[k].count += cells[i].count;
    }
    *nout = nb;
    *width = w;
    return g;
}

/* The bins as at most `bars` display bars, each ceil(nbins / bars)
 * consecutive bins with their counts summed (fewer at the end and where the
 * bins leave a gap); atoms and bad cells are kept as they are.  *nbars and
 * *barmax receive the number of bars and the largest count.  NULL when no
 * regrouping is needed or memory is short. */
static ah_cell *regroup_bins(const ah_cell *cells, size_t n, size_t nbins,
                             size_t bars, size_t *nout, size_t *nbars,
                             uint64_t *barmax)
{
    if (bars == 0 || nbins <= bars)
        return NULL;
    size_t per = (nbins + bars - 1) / bars;
    ah_cell *g = malloc(n * sizeof *g);
    if (!g)
        return NULL;
    size_t k = 0, open = 0, in = 0; /* g[open] holds `in` bins */
    *nbars = 0;
    *barmax = 0;
    for (size_t i = 0; i < n; i++) {
        const ah_cell *c = &cells[i];
        if (!cell_ok(c) || is_atom(c)) {
            g[k++] = *c;
            continue;
        }
        if (in && in < per && g[open].hi == c->lo) {
            g[open].hi = c->hi;
            g[open].count += c->count;
            in++;
        } else {
            open = k++;
            g[open] = *c;
            in = 1;
            (*nbars)++;
        }
        *barmax = g[open].count > *barmax ? g[open].count : *barmax;
    }
    *nout = k;
    return g;
}

typedef struct legend_item {
    int kind; /* 0 bin swatch, 1 atom bar, 2 dashed line, 3 rug tick */
    char text[96];
    double x, y;
} legend_item;

/* One histogram plot as it is laid out: what is drawn, the axes' ranges
 * and where the legend goes.  plot_cells, plot_ranges and plot_legend fill
 * it in that order; the draw_ functions only read it. */
typedef struct hist_plot {
    const ah_cell *cells; /* the cells drawn: the model's, or grouped */
    size_t ncells;
    const double *marks;
    size_t nmarks, nmark_ok;      /* finite marks */
    size_t nbins, natoms, nexact; /* nexact: exact values before grouping */
    size_t nmodel;                /* model bins regrouped as nbins bars */
    uint64_t binmax, atommax;
    double gwidth;    /* width of the display bins of grouped exact values */
    ah_cell *grouped; /* owned; NULL when the cells are the model's */
    int thin;         /* bins too narrow for outlines */
    int clip;         /* atoms far above the bins are cut */
    double lo, hi, half;      /* x axis; half of its span */
    double ytop, ystep;       /* y axis */
    double base, axis_y;      /* y of the zero line and of the x axis */
    legend_item items[3];
    int nitems;
} hist_plot;

static double px(const hist_plot *p, double v) { return xpos(v, p->lo, p->hi); }
static double py(const hist_plot *p, double c)
{
    return p->base - fmin(c, p->ytop) / p->ytop * H_PH;
}

/* What there is to draw: bins and atoms, and the grouping of either when
 * there are more than `bars` (or too many exact values to draw each). */
static void plot_cells(hist_plot *p, size_t bars)
{
    for (size_t i = 0; i < p->ncells; i++) {
        const ah_cell *c = &p->cells[i];
        if (!cell_ok(c))
            continue;
        if (is_atom(c)) {
            p->natoms++;
            p->atommax = c->count > p->atommax ? c->count : p->atommax;
        } else {
            p->nbins++;
            p->binmax = c->count > p->binmax ? c->count : p->binmax;
        }
    }
    p->nexact = p->natoms;
    if (bars && p->nbins > bars) {
        size_t ng = 0, nb = 0;
        p->grouped = regroup_bins(p->cells, p->ncells, p->nbins, bars, &ng,
                                  &nb, &p->binmax);
        if (p->grouped) {
            p->cells = p->grouped;
            p->ncells = ng;
            p->nmodel = p->nbins;
            p->nbins = nb;
        }
    }
    if (p->nbins == 0 && p->natoms > (bars ? bars : GROUP_ATOMS_OVER)) {
        size_t ng = 0;
        p->grouped = group_atoms(p->cells, p->ncells, &ng, &p->gwidth,
                                 bars ? (int)bars : GROUP_ATOMS_BARS);
        if (p->grouped) {
            p->cells = p->grouped;
            p->ncells = p->nbins = ng;
            p->natoms = p->atommax = p->binmax = 0;
            for (size_t i = 0; i < ng; i++)
                p->binmax = p->cells[i].count > p->binmax ? p->cells[i].count
                                                          : p->binmax;
        }
    }
    /* Outlines of bins under 2 px wide would paint the bars dark: such bins
     * are filled with the darker colour instead. */
    p->thin = p->nbins > H_PW / 2;
}

/* The x range (cells and marks, widened when it has no width) and the y
 * range (counts; atoms far above the bins do not flatten them). */
static void plot_ranges(hist_plot *p)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < p->ncells; i++)
        if (cell_ok(&p->cells[i])) {
            lo = fmin(lo, p->cells[i].lo);
            hi = fmax(hi, p->cells[i].hi);
        }
    for (size_t i = 0; i < p->nmarks; i++)
        if (isfinite(p->marks[i])) {
            p->nmark_ok++;
            lo = fmin(lo, p->marks[i]);
            hi = fmax(hi, p->marks[i]);
        }
    if (lo > hi)
        lo = 0, hi = 1;
    /* Half the span, which stays finite over the whole double range (the
     * span itself would be infinite from -DBL_MAX to DBL_MAX); the widened
     * or padded ends are kept within +-DBL_MAX. */
    double half = hi / 2 - lo / 2;
    if (half <= 0.5e-9 * fmax(fabs(lo), fabs(hi))) {
        double c = lo / 2 + hi / 2, d = c == 0 ? 1 : fabs(c) * 0.1;
        lo = fmax(c - d, -DBL_MAX), hi = fmin(c + d, DBL_MAX);
    } else {
        double pad = 0.06 * half;
        lo = fmax(lo - pad, -DBL_MAX), hi = fmin(hi + pad, DBL_MAX);
    }
    p->lo = lo, p->hi = hi;
    p->half = hi / 2 - lo / 2;

    p->clip = p->nbins > 0 && p->binmax > 0 && p->atommax > 3 * p->binmax;
    double ydata = (double)(p->clip || p->binmax > p->atommax ? p->binmax
                                                              : p->atommax);
    if (ydata <= 0)
        ydata = 1;
    p->ystep = nice_step(ydata * 1.1, 5);
    if (p->ystep < 1)
        p->ystep = 1;
    p->ytop = ceil(ydata * 1.1 / p->ystep) * p->ystep;
}

/* Vertical layout (plot, rug band, x axis, labels) and the legend's
 * entries in rows under it.  Returns the height of the picture. */
static int plot_legend(hist_plot *p)
{
    p->base = H_MT + H_PH;
    p->axis_y = p->base + (p->nmark_ok ? 22 : 0);
    legend_item *items = p->items;
    int n = 0;
    if (p->nbins && !p->grouped)
        items[n++] = (legend_item){0, "background: count per bin", 0, 0};
    if (p->grouped && p->nmodel) {
        items[n] = (legend_item){0, "", 0, 0};
        snprintf(items[n++].text, sizeof items[0].text,
                 "background: %zu bins shown as %zu bars, count per bar",
                 p->nmodel, p->nbins);
    } else if (p->grouped) {
        items[n] = (legend_item){0, "", 0, 0};
        char w[40];
        tick_label(w, sizeof w, p->gwidth, p->gwidth, p->gwidth);
        snprintf(items[n++].text, sizeof items[0].text,
                 "background: %zu exact values, count per width %s",
                 p->nexact, w);
    }
    if (p->natoms) {
        items[n] = (legend_item){1, "", 0, 0};
        snprintf(items[n++].text, sizeof items[0].text,
                 "exact values (atoms): count%s",
                 p->clip ? ", written above the cut ones" : "");
    }
    if (p->nmark_ok) {
        items[n] =
            (legend_item){p->nmark_ok <= MARK_LINES_MAX ? 2 : 3, "", 0, 0};
        snprintf(items[n++].text, sizeof items[0].text,
                 "new activations (n = %zu)", p->nmark_ok);
    }
    p->nitems = n;
    double lx = H_ML, ly = p->axis_y + 66;
    for (int i = 0; i < n; i++) {
        double wd = 34 + CHAR_PX * (double)strlen(items[i].text) + 24;
        if (lx > H_ML && lx + wd > H_W - 10)
            lx = H_ML, ly += 22;
        items[i].x = lx, items[i].y = ly;
        lx += wd;
    }
    return (int)ceil(ly + 14);
}

/* Bins: one filled step path per contiguous run of cells. */
static void draw_bins(cli_buf *b, const hist_plot *p)
{
    if (!p->nbins)
        return;
    cli_buf_printf(b, "<path fill=\"%s\" stroke=\"%s\" "
                      "stroke-width=\"0.8\" d=\"",
                   p->thin ? C_BIN_LINE : C_BIN_FILL,
                   p->thin ? "none" : C_BIN_LINE);
    int open = 0;
    double prev_hi = 0;
    for (size_t i = 0; i < p->ncells; i++) {
        const ah_cell *c = &p->cells[i];
        if (!cell_ok(c) || is_atom(c))
            continue;
        if (open && fabs(px(p, c->lo) - px(p, prev_hi)) > 0.01) {
            cli_buf_printf(b, "V%.2fZ", p->base);
            open = 0;
        }
        if (!open)
            cli_buf_printf(b, "M%.2f %.2f", px(p, c->lo), p->base);
        cli_buf_printf(b, "V%.2fH%.2f", py(p, (double)c->count),
                       px(p, c->hi));
        open = 1;
        prev_hi = c->hi;
    }
    if (open)
        cli_buf_printf(b, "V%.2fZ", p->base);
    cli_buf_printf(b, "\"/>\n");
}

/* Atoms: narrow bars, cut ones with a white break.  Returns how many are
 * cut. */
static size_t draw_atoms(cli_buf *b, const hist_plot *p)
{
    double aw = p->natoms > GROUP_ATOMS_OVER ? 1.5 : 4;
    size_t ncut = 0;
    if (!p->natoms)
        return 0;
    cli_buf_printf(b, "<g fill=\"" C_ATOM "\">\n");
    for (size_t i = 0; i < p->ncells; i++) {
        const ah_cell *c = &p->cells[i];
        if (!cell_ok(c) || !is_atom(c))
            continue;
        double x = px(p, c->lo), y = py(p, (double)c->count);
        cli_buf_printf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                          "height=\"%.2f\"/>\n",
                       x - aw / 2, y, aw, p->base - y);
        if ((double)c->count > p->ytop) {
            ncut++;
            cli_buf_printf(b, "<path d=\"M%.2f %.2fl%.2f -4v3l%.2f 4z\" "
                              "fill=\"white\"/>\n",
                           x - aw, py(p, p->ytop) + 12, 2 * aw, -2 * aw);
        }
    }
    cli_buf_printf(b, "</g>\n");
    return ncut;
}

/* New activations: a rug under the zero line, one tick per pixel column
 * (darker where more fall), and full-height lines when they are few. */
static void draw_marks(cli_buf *b, const hist_plot *p)
{
    if (!p->nmark_ok)
        return;
    unsigned cols[H_PW + 1] = {0};
    unsigned cmax = 0;
    for (size_t i = 0; i < p->nmarks; i++) {
        if (!isfinite(p->marks[i]))
            continue;
        long k = lround(px(p, p->marks[i]) - H_ML);
        k = k < 0 ? 0 : k > H_PW ? H_PW : k;
        cols[k]++;
        cmax = cols[k] > cmax ? cols[k] : cmax;
    }
    cli_buf_printf(b, "<g stroke=\"" C_MARK "\" stroke-width=\"1.5\">\n");
    for (int k = 0; k <= H_PW; k++)
        if (cols[k])
            cli_buf_printf(b, "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" "
                              "y2=\"%.2f\" stroke-opacity=\"%.2f\"/>\n",
                           H_ML + k, p->base + 4, H_ML + k, p->base + 18,
                           0.3 + 0.7 * sqrt((double)cols[k] / cmax));
    if (p->nmark_ok <= MARK_LINES_MAX)
        for (size_t i = 0; i < p->nmarks; i++)
            if (isfinite(p->marks[i]))
                cli_buf_printf(b, "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" "
                                  "y2=\"%.2f\" stroke-width=\"1.2\" "
                                  "stroke-dasharray=\"5 3\" "
                                  "stroke-opacity=\"0.8\"/>\n",
                               px(p, p->marks[i]), H_MT, px(p, p->marks[i]),
                               p->base);
    cli_buf_printf(b, "</g>\n");
}

/* Atom counts last, with a white halo, so that lines do not hide them:
 * every atom's when they are few, else the cut ones' when those are. */
static void draw_atom_counts(cli_buf *b, const hist_plot *p, size_t ncut)
{
    if (!p->natoms ||
        !(p->natoms <= ATOM_LABELS_MAX || (ncut && ncut <= ATOM_LABELS_MAX)))
        return;
    char lab[64];
    cli_buf_printf(b, "<g font-size=\"11\" fill=\"" C_ATOM_TEXT "\">\n");
    for (size_t i = 0; i < p->ncells; i++) {
        const ah_cell *c = &p->cells[i];
        if (!cell_ok(c) || !is_atom(c) ||
            (p->natoms > ATOM_LABELS_MAX && (double)c->count <= p->ytop))
            continue;
        snprintf(lab, sizeof lab, "%llu", (unsigned long long)c->count);
        double x = px(p, c->lo), y = py(p, (double)c->count) - 4;
        cli_buf_printf(b, "<text x=\"%.2f\" y=\"%.2f\" "
                          "text-anchor=\"middle\" stroke=\"white\" "
                          "stroke-width=\"3\" stroke-linejoin=\"round\">"
                          "%s</text>\n", x, y, lab);
        text(b, x, y, "middle", lab);
    }
    cli_buf_printf(b, "</g>\n");
}

/* Axes, ticks and their labels, and the axis titles. */
static void draw_axes(cli_buf *b, const hist_plot *p, const char *xlabel)
{
    char lab[64];
    double ytop = p->ytop, ystep = p->ystep;
    cli_buf_printf(b, "<g stroke=\"black\">\n"
                      "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.2f\"/>\n"
                      "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\"/>\n",
                   H_ML, H_MT, H_ML, p->axis_y, H_ML, p->axis_y, H_ML + H_PW,
                   p->axis_y);
    if (p->nmark_ok)
        cli_buf_printf(b, "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" "
                          "stroke=\"#666666\"/>\n",
                       H_ML, p->base, H_ML + H_PW, p->base);
    for (double v = 0; v <= ytop + ystep * 1e-9; v += ystep)
        line(b, H_ML - 5, py(p, v), H_ML, py(p, v));
    /* about 8 ticks over the span: 4 over half of it */
    double xstep = nice_step(p->half, 4),
           maxabs = fmax(fabs(p->lo), fabs(p->hi));
    double k0 = ceil(p->lo / xstep), k1 = floor(p->hi / xstep);
    for (double k = k0; k <= k1 && k - k0 < 100; k++)
        line(b, px(p, k * xstep), p->axis_y, px(p, k * xstep), p->axis_y + 5);
    cli_buf_printf(b, "</g>\n<g font-size=\"12\">\n");
    for (double v = 0; v <= ytop + ystep * 1e-9; v += ystep) {
        snprintf(lab, sizeof lab, "%.0f", v);
        text(b, H_ML - 8, py(p, v) + 4, "end", lab);
    }
    for (double k = k0; k <= k1 && k - k0 < 100; k++) {
        tick_label(lab, sizeof lab, k * xstep, xstep, maxabs);
        text(b, px(p, k * xstep), p->axis_y + 20, "middle", lab);
    }
    cli_buf_printf(b, "</g>\n");
    text(b, H_ML + H_PW / 2.0, p->axis_y + 42, "middle",
         xlabel ? xlabel : "activation");
    vtext(b, H_ML - 56, H_MT + H_PH / 2.0,
          p->grouped  ? "background count per display bin"
          : p->nbins  ? "background count per bin"
                      : "background count");
}

/* Legend rows under the x axis label. */
static void draw_legend(cli_buf *b, const hist_plot *p)
{
    for (int i = 0; i < p->nitems; i++) {
        const legend_item *it = &p->items[i];
        double x = it->x, y = it->y;
        if (it->kind == 0)
            cli_buf_printf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"26\" "
                              "height=\"12\" fill=\"%s\" "
                              "stroke=\"" C_BIN_LINE "\"/>\n",
                           x, y - 10, p->thin ? C_BIN_LINE : C_BIN_FILL);
        else if (it->kind == 1)
            cli_buf_printf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"4\" "
                              "height=\"14\" fill=\"" C_ATOM "\"/>\n",
                           x + 11, y - 11);
        else
            cli_buf_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
                              "y2=\"%.2f\" stroke=\"" C_MARK "\" "
                              "stroke-width=\"1.5\"%s/>\n",
                           x + 13, y - 12, x + 13, y + 3,
                           it->kind == 2 ? " stroke-dasharray=\"5 3\"" : "");
        text(b, x + 34, y, "start", it->text);
    }
}

void svg_node_histogram_bars(cli_buf *b, const char *title,
                             const ah_cell *cells, size_t ncells,
                             const double *marks, size_t nmarks,
                             const char *xlabel, size_t bars)
{
    hist_plot p;
    memset(&p, 0, sizeof p);
    p.cells = cells;
    p.ncells = ncells;
    p.marks = marks;
    p.nmarks = nmarks;
    plot_cells(&p, bars);
    plot_ranges(&p);
    header(b, H_W, plot_legend(&p), title);
    /* Horizontal grid and y ticks. */
    cli_buf_printf(b, "<g stroke=\"#e5e5e5\">\n");
    for (double v = p.ystep; v <= p.ytop + p.ystep * 1e-9; v += p.ystep)
        line(b, H_ML, py(&p, v), H_ML + H_PW, py(&p, v));
    cli_buf_printf(b, "</g>\n");
    draw_bins(b, &p);
    size_t ncut = draw_atoms(b, &p);
    draw_marks(b, &p);
    draw_atom_counts(b, &p, ncut);
    draw_axes(b, &p, xlabel);
    draw_legend(b, &p);
    cli_buf_printf(b, "</svg>\n");
    free(p.grouped);
}

void svg_node_histogram(cli_buf *b, const char *title, const ah_cell *cells,
                        size_t ncells, const double *marks, size_t nmarks,
                        const char *xlabel)
{
    svg_node_histogram_bars(b, title, cells, ncells, marks, nmarks, xlabel, 0);
}
