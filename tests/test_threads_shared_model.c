/*
 * test_threads_shared_model.c - one loaded model shared by several threads,
 * as an inference server shares it.
 *
 * Each model (histogram conditional, empirical, KDE) is fitted, saved to
 * memory and loaded back; a single thread then computes the reference:
 * for every tail, p-values (double and float input), fused scores, the
 * individual scan of every row with its subset, the batched individual
 * scan, a group scan and an AUC of the scores, plus the model's info,
 * labels, one node's cells and its saved bytes.  THREADS threads then do all of it at once on the same
 * models, each in its own order and with 1 or 2 threads of its own inside
 * the calls, and every result must be the reference's bits.  Meanwhile
 * each thread also counts its slice of the background against one shared
 * shard plan, as acthist fit --threads does.  Under
 * ThreadSanitizer (make test-tsan) this is the check that the query calls
 * the header lists as shareable really are: no race on the model.
 */
#include "acthist.h"
#include "check.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

enum { D = 40, NB = 400, NQ = 64, NMODELS = 3, NTAILS = 4, THREADS = 4,
       REPEAT = 2 };

static const int methods[NMODELS] = {AH_METHOD_HIST, AH_METHOD_EMPIRICAL,
                                     AH_METHOD_KDE};

/* Everything one (model, tail) item computes. */
typedef struct item_result {
    double p[NQ * 2 * D * 2];       /* ah_pvalues                        */
    double pf[NQ * 2 * D * 2];      /* ah_pvalues_f32                    */
    size_t unseen, unseen_f;
    ah_scan_result score[NQ];       /* ah_score                          */
    ah_scan_result score_f[NQ];     /* ah_score_f32                      */
    ah_scan_result ind[NQ];         /* ah_scan_individual, row by row    */
    size_t ind_nodes[NQ][2 * D];
    ah_scan_result rows[NQ];        /* ah_scan_individual_rows           */
    ah_group_result group;          /* ah_scan_group                     */
    double auc;                     /* ah_auc: rows 0, 3, .. against the rest */
    unsigned char in_flags[NQ], node_flags[2 * D];
    int status; /* the first failure, or AH_OK */
} item_result;

/* Per model: what does not depend on the tail. */
typedef struct model_result {
    ah_model_info info;
    size_t nodes, nlabels;
    int64_t labels[8];
    int tail;
    ah_cell cells[1024];
    size_t ncells;
    unsigned char *bytes;
    size_t nbytes;
    int status;
} model_result;

static ah_model *models[NMODELS];
static double q[NQ * D];
static float qf[NQ * D];
static int64_t qlab[NQ];

static int compute_item(const ah_model *m, int tail, int inner,
                        item_result *r)
{
    ah_diag d;
    size_t w = ah_pvalue_width(m, tail);
    int stat = tail == AH_TAIL_TWO ? AH_STAT_HC : AH_STAT_BJ;
    double pmax[2 * D];
    int st;
    memset(r, 0, sizeof *r);
    r->unseen = r->unseen_f = 0;
    if ((st = ah_pvalues(m, q, NQ, D, D, qlab, tail, r->p, &r->unseen, inner,
                         &d)) != AH_OK ||
        (st = ah_pvalues_f32(m, qf, NQ, D, D, qlab, tail, r->pf, &r->unseen_f,
                             inner, &d)) != AH_OK ||
        (st = ah_score(m, q, NQ, D, D, qlab, tail, stat, 0.5, r->score, NULL,
                       inner, &d)) != AH_OK ||
        (st = ah_score_f32(m, qf, NQ, D, D, qlab, tail, stat, 0.5, r->score_f,
                           NULL, inner, &d)) != AH_OK)
        return r->status = st;
    for (size_t i = 0; i < NQ; i++) {
        for (size_t j = 0; j < w; j++)
            pmax[j] = r->p[(i * w + j) * 2 + 1];
        if ((st = ah_scan_individual(pmax, w, stat, 0.5, &r->ind[i],
                                     r->ind_nodes[i], &d)) != AH_OK)
            return r->status = st;
    }
    if ((st = ah_scan_individual_rows(r->p + 1, NQ, w, 2 * w, 2, stat, 0.5,
                                      r->rows, inner, &d)) != AH_OK)
        return r->status = st;
    ah_group_options go;
    ah_group_options_default(&go);
    go.stat = stat;
    go.restarts = 3;
    go.seed = 17;
    go.threads = inner;
    go.fractional = tail == AH_TAIL_LOWER;
    if ((st = ah_scan_group(r->p, NQ, w, &go, &r->group, r->in_flags,
                            r->node_flags, &d)) != AH_OK)
        return r->status = st;
    double a[NQ], c[NQ];
    size_t na = 0, nc = 0;
    for (size_t i = 0; i < NQ; i++) {
        if (i % 3 == 0)
            a[na++] = r->score[i].score;
        else
            c[nc++] = r->score[i].score;
    }
    return r->status = ah_auc(c, nc, a, na, &r->auc, &d);
}

static int compute_model(const ah_model *m, model_result *r)
{
    ah_diag d;
    memset(r, 0, sizeof *r);
    int st = ah_model_get_info(m, &r->info);
    const int64_t *labels = ah_model_labels(m, &r->nlabels);
    for (size_t i = 0; i < r->nlabels && i < 8; i++)
        r->labels[i] = labels[i];
    r->nodes = ah_model_nodes(m);
    r->tail = ah_model_tail(m);
    if (st == AH_OK)
        st = ah_model_node_cells(m, AH_POOLED, 3, r->cells,
                                 sizeof r->cells / sizeof r->cells[0],
                                 &r->ncells, &d);
    if (st == AH_OK)
        st = ah_model_save_memory(m, NULL, &r->nbytes, &d);
    if (st == AH_OK && !(r->bytes = malloc(r->nbytes)))
        st = AH_ERR_NOMEM;
    if (st == AH_OK)
        st = ah_model_save_memory(m, r->bytes, &r->nbytes, &d);
    return r->status = st;
}

/* Field by field: an ah_cell has padding after its int. */
static int same_cells(const model_result *a, const model_result *b)
{
    if (a->ncells != b->ncells)
        return 0;
    for (size_t i = 0; i < a->ncells; i++) {
        const ah_cell *x = &a->cells[i], *y = &b->cells[i];
        if (memcmp(&x->lo, &y->lo, sizeof x->lo) ||
            memcmp(&x->hi, &y->hi, sizeof x->hi) || x->count != y->count ||
            x->atom != y->atom)
            return 0;
    }
    return 1;
}

/* The background as a row source over rows [first, end). */
typedef struct mem_rows {
    const double *x;
    const int64_t *lab;
    size_t first, end, pos;
} mem_rows;

static int mem_read(void *ctx, double *rows, size_t ld, int64_t *labels,
                    size_t max_rows, size_t *got, ah_diag *diag)
{
    mem_rows *s = ctx;
    (void)diag;
    size_t k = s->end - s->pos < max_rows ? s->end - s->pos : max_rows;
    for (size_t i = 0; i < k; i++) {
        memcpy(rows + i * ld, s->x + (s->pos + i) * D, D * sizeof *rows);
        labels[i] = s->lab[s->pos + i];
    }
    s->pos += k;
    *got = k;
    return AH_OK;
}

static int mem_rewind(void *ctx, ah_diag *diag)
{
    mem_rows *s = ctx;
    (void)diag;
    s->pos = s->first;
    return AH_OK;
}

static const double *bg;
static const int64_t *bg_lab;
static ah_shard *plan; /* shared by every thread */

/* Count slice t of THREADS against the shared plan; its bytes in *out. */
static int count_slice(int t, unsigned char **out, size_t *len)
{
    mem_rows mr = {bg, bg_lab, NB * (size_t)t / THREADS,
                   NB * (size_t)(t + 1) / THREADS, 0};
    mr.pos = mr.first;
    ah_row_source src = {&mr, D, 1, mem_read, mem_rewind};
    ah_shard *c = NULL;
    ah_diag d;
    *out = NULL;
    int st = ah_shard_count(&c, plan, &src, &d);
    if (st == AH_OK)
        st = ah_shard_save_memory(c, NULL, len, &d);
    if (st == AH_OK && !(*out = malloc(*len)))
        st = AH_ERR_NOMEM;
    if (st == AH_OK)
        st = ah_shard_save_memory(c, *out, len, &d);
    ah_shard_free(c);
    return st;
}

static unsigned char *count_ref[THREADS];
static size_t count_len[THREADS];

static item_result ref[NMODELS][NTAILS];
static model_result mref[NMODELS];

typedef struct worker {
    int index;
    size_t items, differ, failed;
    char first[160];
} worker;

static void note(worker *wk, const char *what, int mi, int tail)
{
    if (wk->differ++ == 0)
        snprintf(wk->first, sizeof wk->first, "%s differs (model %d, tail %d)",
                 what, mi, tail);
}

static void *work(void *arg)
{
    worker *wk = arg;
    item_result *r = malloc(sizeof *r);
    model_result mr;
    if (!r) {
        wk->failed++;
        return NULL;
    }
    /* each thread its own order over the items and its own inner threads */
    for (int rep = 0; rep < REPEAT; rep++) {
        unsigned char *counts = NULL;
        size_t len = 0;
        if (count_slice(wk->index, &counts, &len) != AH_OK)
            wk->failed++;
        else if (len != count_len[wk->index] ||
                 memcmp(counts, count_ref[wk->index], len))
            note(wk, "ah_shard_count", -1, -1);
        free(counts);
        for (int k = 0; k < NMODELS * NTAILS; k++) {
            int item = (k + wk->index * 5 + rep * 7) % (NMODELS * NTAILS);
            int mi = item / NTAILS, tail = item % NTAILS;
            int inner = 1 + (wk->index + rep + k) % 2;
            const item_result *e = &ref[mi][tail];
            if (compute_item(models[mi], tail, inner, r) != AH_OK) {
                wk->failed++;
                continue;
            }
            wk->items++;
            size_t w = ah_pvalue_width(models[mi], tail);
            size_t np = NQ * w * 2 * sizeof(double);
            if (memcmp(r->p, e->p, np) || r->unseen != e->unseen)
                note(wk, "ah_pvalues", mi, tail);
            if (memcmp(r->pf, e->pf, np) || r->unseen_f != e->unseen_f)
                note(wk, "ah_pvalues_f32", mi, tail);
            if (memcmp(r->score, e->score, sizeof r->score))
                note(wk, "ah_score", mi, tail);
            if (memcmp(r->score_f, e->score_f, sizeof r->score_f))
                note(wk, "ah_score_f32", mi, tail);
            if (memcmp(r->ind, e->ind, sizeof r->ind) ||
                memcmp(r->ind_nodes, e->ind_nodes, sizeof r->ind_nodes))
                note(wk, "ah_scan_individual", mi, tail);
            if (memcmp(r->rows, e->rows, sizeof r->rows))
                note(wk, "ah_scan_individual_rows", mi, tail);
            if (memcmp(&r->auc, &e->auc, sizeof r->auc))
                note(wk, "ah_auc", mi, tail);
            if (memcmp(&r->group, &e->group, sizeof r->group) ||
                memcmp(r->in_flags, e->in_flags, NQ) ||
                memcmp(r->node_flags, e->node_flags, w))
                note(wk, "ah_scan_group", mi, tail);
            if (tail == wk->index % NTAILS) {
                const model_result *me = &mref[mi];
                if (compute_model(models[mi], &mr) != AH_OK) {
                    wk->failed++;
                } else {
                    if (memcmp(&mr.info, &me->info, sizeof mr.info))
                        note(wk, "ah_model_get_info", mi, tail);
                    if (mr.nodes != me->nodes || mr.tail != me->tail ||
                        mr.nlabels != me->nlabels ||
                        memcmp(mr.labels, me->labels, sizeof mr.labels))
                        note(wk, "ah_model_labels, _nodes or _tail", mi, tail);
                    if (!same_cells(&mr, me))
                        note(wk, "ah_model_node_cells", mi, tail);
                    if (mr.nbytes != me->nbytes ||
                        memcmp(mr.bytes, me->bytes, mr.nbytes))
                        note(wk, "ah_model_save_memory", mi, tail);
                }
                free(mr.bytes);
            }
        }
    }
    free(r);
    return NULL;
}

int main(void)
{
    check_init();
    uint64_t rng = check_seed;
    double *x = malloc(sizeof(double) * NB * D);
    int64_t *lab = malloc(sizeof(int64_t) * NB);
    if (!x || !lab)
        return 2;
    for (size_t i = 0; i < NB; i++) {
        lab[i] = (int64_t)(i % 3);
        for (size_t j = 0; j < D; j++) {
            double u = check_rand_unit(&rng);
            x[i * D + j] = u < 0.3 ? 0.0 /* an atom at 0, as ReLU gives */
                                   : -log(1e-12 + check_rand_unit(&rng)) *
                                         (1.0 + (double)(j % 5));
        }
    }
    bg = x;
    bg_lab = lab;
    for (size_t i = 0; i < NQ; i++) {
        qlab[i] = (int64_t)(i % 4); /* label 3 was never seen */
        for (size_t j = 0; j < D; j++) {
            double v = check_rand_unit(&rng) < 0.3
                           ? 0.0
                           : -log(1e-12 + check_rand_unit(&rng)) *
                                 (1.0 + (double)(j % 5)) *
                                 (i % 3 == 0 ? 2.5 : 1.0);
            qf[i * D + j] = (float)v;
            q[i * D + j] = (double)qf[i * D + j];
        }
    }
    /* fit, then load from the saved bytes: the model a server holds */
    for (int mi = 0; mi < NMODELS; mi++) {
        ah_fit_options o;
        ah_fit_options_default(&o);
        o.method = methods[mi];
        o.bins = 64;
        ah_model *fitted = NULL;
        ah_diag d;
        size_t len = 0;
        unsigned char *buf = NULL;
        int st = ah_model_fit(&fitted, x, NB, D, D, lab, &o, &d);
        if (st == AH_OK)
            st = ah_model_save_memory(fitted, NULL, &len, &d);
        if (st == AH_OK && !(buf = malloc(len)))
            st = AH_ERR_NOMEM;
        if (st == AH_OK)
            st = ah_model_save_memory(fitted, buf, &len, &d);
        if (st == AH_OK)
            st = ah_model_load_memory(&models[mi], buf, len, "<memory>", &d);
        CHECK(st == AH_OK, "model %d: %s", mi, d.message);
        ah_model_free(fitted);
        free(buf);
        if (st != AH_OK)
            return check_done("test_threads_shared_model");
    }
    /* the plan of the whole background, and each slice's counts */
    {
        mem_rows mr = {x, lab, 0, NB, 0};
        ah_row_source src = {&mr, D, 1, mem_read, mem_rewind};
        ah_fit_options o;
        ah_fit_options_default(&o);
        o.bins = 64;
        ah_diag d;
        int st = ah_shard_plan(&plan, &src, &o, &d);
        CHECK(st == AH_OK, "plan: %s", d.message);
        for (int t = 0; st == AH_OK && t < THREADS; t++) {
            st = count_slice(t, &count_ref[t], &count_len[t]);
            CHECK(st == AH_OK, "counting slice %d: status %d", t, st);
        }
        if (st != AH_OK)
            return check_done("test_threads_shared_model");
    }
    /* the single-threaded reference */
    for (int mi = 0; mi < NMODELS; mi++) {
        CHECK(compute_model(models[mi], &mref[mi]) == AH_OK,
              "model %d: info, cells or bytes failed", mi);
        for (int tail = 0; tail < NTAILS; tail++) {
            int st = compute_item(models[mi], tail, 1, &ref[mi][tail]);
            CHECK(st == AH_OK, "model %d tail %d: status %d", mi, tail, st);
            CHECK(ref[mi][tail].unseen == NQ / 4,
                  "model %d tail %d: %zu unseen labels, expected %d", mi,
                  tail, ref[mi][tail].unseen, NQ / 4);
        }
        /* the reference is not trivial: some row scores above 0 */
        CHECK(ref[mi][AH_TAIL_UPPER].score[0].score > 0 &&
                  ref[mi][AH_TAIL_UPPER].group.score > 0,
              "model %d: scores %g, group %g", mi,
              ref[mi][AH_TAIL_UPPER].score[0].score,
              ref[mi][AH_TAIL_UPPER].group.score);
    }
    pthread_t t[THREADS];
    worker wk[THREADS];
    int started[THREADS];
    for (int i = 0; i < THREADS; i++) {
        memset(&wk[i], 0, sizeof wk[i]);
        wk[i].index = i;
        started[i] = pthread_create(&t[i], NULL, work, &wk[i]) == 0;
        CHECK(started[i], "thread %d not started", i);
    }
    for (int i = 0; i < THREADS; i++) {
        if (!started[i])
            continue;
        pthread_join(t[i], NULL);
        CHECK(wk[i].failed == 0, "thread %d: %zu calls failed", i,
              wk[i].failed);
        CHECK(wk[i].items == REPEAT * NMODELS * NTAILS,
              "thread %d: %zu items", i, wk[i].items);
        CHECK(wk[i].differ == 0, "thread %d: %zu results differ, first: %s",
              i, wk[i].differ, wk[i].first);
    }
    for (int mi = 0; mi < NMODELS; mi++) {
        ah_model_free(models[mi]);
        free(mref[mi].bytes);
    }
    for (int i = 0; i < THREADS; i++)
        free(count_ref[i]);
    ah_shard_free(plan);
    free(x);
    free(lab);
    return check_done("test_threads_shared_model");
}
