/*
 * fit_mpi.c - acthist-mpi-fit: one histogram fit of background files by
 * several MPI processes, the same bytes as `acthist fit` with equal-width
 * bins (docs/SHARDS.md).
 *
 *   mpirun -n P acthist-mpi-fit [fit options] -o MODEL BG.npy [MORE.npy ...]
 *                               [--labels L.npy ...]
 *
 * Process r reads rows [r N / P, (r+1) N / P) of the files' concatenation,
 * twice: once for its plan, once for its counts.  Plans and counts are
 * merged up a binary tree (log2 P rounds, each process holding at most two
 * shards), rank 0 broadcasts the merged plan and finishes the model.  Only
 * the library's shard files travel; no row leaves its process.  Every
 * step ends with an agreement on failure, so that one process's error
 * stops all of them instead of leaving the others waiting.
 */
#include "cli.h"

#include <fcntl.h>
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: mpirun -n P acthist-mpi-fit [--bins N|auto]\n"
    "                   [--binning width|quantile|tails] [--tail T]\n"
    "                   [--atom-share S] [--chunk-rows R]\n"
    "                   -o MODEL BACKGROUND.npy [MORE.npy ...] [--labels L.npy ...]\n"
    "\n"
    "Fit a histogram model with P processes, each reading 1/P of the rows.\n"
    "With equal-width bins (the default) MODEL is the same bytes as\n"
    "'acthist fit' of the same files writes.\n";

typedef struct bytes {
    unsigned char *p;
    size_t n;
} bytes;

/* MPI counts are ints: large messages go in pieces. */
#define PIECE (1 << 30)

static void send_bytes(const bytes *b, int to)
{
    unsigned long long n = b->n;
    MPI_Send(&n, 1, MPI_UNSIGNED_LONG_LONG, to, 0, MPI_COMM_WORLD);
    for (size_t off = 0; off < b->n; off += PIECE) {
        size_t k = b->n - off < PIECE ? b->n - off : PIECE;
        MPI_Send(b->p + off, (int)k, MPI_BYTE, to, 1, MPI_COMM_WORLD);
    }
}

/* Length 0 means that the sender failed. */
static int recv_bytes(bytes *b, int from)
{
    unsigned long long n = 0;
    MPI_Recv(&n, 1, MPI_UNSIGNED_LONG_LONG, from, 0, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
    b->n = (size_t)n;
    b->p = malloc(n ? n : 1);
    for (size_t off = 0; off < n; off += PIECE) {
        size_t k = n - off < PIECE ? n - off : PIECE;
        /* receive even without memory, so that the sender is not stuck */
        static unsigned char sink[PIECE < 65536 ? PIECE : 65536];
        if (b->p)
            MPI_Recv(b->p + off, (int)k, MPI_BYTE, from, 1, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        else
            for (size_t o = 0; o < k; o += sizeof sink)
                MPI_Recv(sink, (int)(k - o < sizeof sink ? k - o : sizeof sink),
                         MPI_BYTE, from, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    return b->p != NULL && n > 0;
}

static int shard_to_bytes(const ah_shard *s, bytes *b, int rank)
{
    ah_diag d;
    b->n = 0;
    b->p = NULL;
    if (ah_shard_save_memory(s, NULL, &b->n, &d) != AH_OK ||
        !(b->p = malloc(b->n))) {
        fprintf(stderr, "acthist-mpi-fit: process %d: out of memory\n", rank);
        b->n = 0;
        return 0;
    }
    ah_shard_save_memory(s, b->p, &b->n, &d);
    return 1;
}

/* True on every process when it is true on all of them. */
static int all_ok(int ok)
{
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
}

/*
 * Merge every process's shard into rank 0's, up a binary tree: in round
 * `step`, rank r with r mod 2 step == step sends to r - step.  *s is freed
 * on the senders; on rank 0 it is the merge of all.  Returns whether rank
 * 0 holds a good result (meaningful on rank 0 only).
 */
static int tree_merge(ah_shard **s, int ok, int rank, int size)
{
    for (int step = 1; step < size; step *= 2) {
        if (rank % (2 * step) == step) {
            bytes b = {0};
            if (ok)
                ok = shard_to_bytes(*s, &b, rank);
            send_bytes(&b, rank - step);
            free(b.p);
            ah_shard_free(*s);
            *s = NULL;
            return 0;
        }
        if (rank % (2 * step) == 0 && rank + step < size) {
            bytes b;
            int got = recv_bytes(&b, rank + step);
            ah_shard *other = NULL;
            ah_diag d;
            if (ok && got &&
                (ah_shard_load_memory(&other, b.p, b.n, "a merged shard",
                                      &d) != AH_OK ||
                 ah_shard_merge(*s, other, &d) != AH_OK)) {
                fprintf(stderr, "acthist-mpi-fit: process %d: %s\n", rank,
                        d.message);
                ok = 0;
            }
            ok = ok && got;
            ah_shard_free(other);
            free(b.p);
        }
    }
    return ok;
}

/* Rank 0's plan to every process; returns it loaded, or NULL everywhere
 * when rank 0 has none. */
static ah_shard *broadcast_plan(const ah_shard *plan, int rank)
{
    bytes b = {0};
    if (rank == 0 && plan)
        shard_to_bytes(plan, &b, rank);
    unsigned long long n = b.n;
    MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
    if (n == 0)
        return NULL;
    if (rank != 0) {
        b.n = (size_t)n;
        b.p = malloc(b.n);
    }
    int have = b.p != NULL;
    if (!all_ok(have)) {
        free(b.p);
        return NULL;
    }
    for (size_t off = 0; off < b.n; off += PIECE) {
        size_t k = b.n - off < PIECE ? b.n - off : PIECE;
        MPI_Bcast(b.p + off, (int)k, MPI_BYTE, 0, MPI_COMM_WORLD);
    }
    ah_shard *s = NULL;
    ah_diag d;
    if (ah_shard_load_memory(&s, b.p, b.n, "the merged plan", &d) != AH_OK)
        fprintf(stderr, "acthist-mpi-fit: process %d: %s\n", rank, d.message);
    free(b.p);
    return s;
}

/* Steps every process does alike (parsing, opening the files) would print
 * the same error P times: processes other than 0 keep quiet during them.
 * Returns the saved standard error, or -1. */
static int quiet_begin(int rank)
{
    if (rank == 0)
        return -1;
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    if (saved >= 0 && null >= 0)
        dup2(null, 2);
    if (null >= 0)
        close(null);
    return saved;
}

static void quiet_end(int saved)
{
    if (saved < 0)
        return;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

/* This process's share of the rows of bg: its plan, merged up the tree
 * and broadcast, then its counts against the plan, merged up the tree;
 * rank 0 finishes the model and saves it to out.  Every step ends with
 * an agreement on failure.  Returns an exit code. */
static int fit_all(cli_background *bg, const ah_fit_options *o,
                   const char *out, int rank, int size, double t0)
{
    ah_shard *part = NULL, *plan = NULL;
    ah_model *m = NULL;
    ah_diag d;
    int ok = 1, rc = CLI_FAIL;
    cli_background_share(bg, (size_t)rank, (size_t)size);
    ah_row_source src = cli_background_source(bg);
    if (ah_shard_plan(&part, &src, o, &d) != AH_OK) {
        cli_error("process %d: %s", rank, d.message);
        ok = 0;
    }
    if (!all_ok(ok))
        goto fail;
    int merged = tree_merge(&part, 1, rank, size);
    plan = broadcast_plan(rank == 0 && merged ? part : NULL, rank);
    ah_shard_free(part);
    part = NULL;
    if (!all_ok(plan != NULL))
        goto fail;
    src.rewind(src.ctx, &d);
    if (ah_shard_count(&part, plan, &src, &d) != AH_OK) {
        cli_error("process %d: %s", rank, d.message);
        ok = 0;
    }
    if (!all_ok(ok))
        goto fail;
    ok = tree_merge(&part, 1, rank, size);
    if (rank == 0 && ok) {
        if (ah_shard_finish(&m, part, &d) != AH_OK ||
            ah_model_save(m, out, &d) != AH_OK) {
            cli_error("%s", d.message);
            ok = 0;
        }
    }
    if (!all_ok(rank == 0 ? ok : 1))
        goto fail;
    if (rank == 0) {
        ah_model_info info;
        ah_model_get_info(m, &info);
        fprintf(stderr,
                "acthist-mpi-fit: fitted hist model with %d processes: %zu "
                "rows x %zu nodes, %zu labels, %zu bytes in %.2f s\n",
                size, info.rows, info.nodes, info.labels, info.file_bytes,
                MPI_Wtime() - t0);
    }
    rc = CLI_OK;
fail:
    ah_model_free(m);
    ah_shard_free(part);
    ah_shard_free(plan);
    return rc;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    static const cli_command self = {"acthist-mpi-fit", NULL,
                                     "fit with MPI processes", usage};
    const char *bins = "3072", *binning = "width", *tail = "default",
               *out = NULL, *share = NULL, *chunk = NULL;
    cli_list labels = {0}, files = {0};
    cli_opt opts[] = {
        {"--bins", CLI_STRING, &bins, "N|auto", CLI_HELP_BINS},
        {"--binning", CLI_STRING, &binning, "B", CLI_HELP_BINNING},
        {"--tail", CLI_STRING, &tail, "T", CLI_HELP_FIT_TAIL},
        {"-o", CLI_STRING, &out, NULL, NULL},
        {"--output", CLI_STRING, &out, "MODEL",
         "the model file, written atomically by rank 0"},
        {"--labels", CLI_MULTI, &labels, "L.npy", CLI_HELP_FIT_LABELS},
        {"--atom-share", CLI_STRING, &share, "S", CLI_HELP_ATOM_SHARE},
        {"--chunk-rows", CLI_STRING, &chunk, "R", CLI_HELP_FIT_CHUNK_ROWS},
    };
    /* every process parses the same arguments; rank 0 speaks for them */
    int quiet = quiet_begin(rank);
    int rc = cli_parse(argc, argv, opts, CLI_NOPTS(opts), &files, &self);
    ah_fit_options o;
    if (rc < 0 && cli_fit_options(&o, NULL, bins, binning, tail, share, chunk))
        rc = CLI_USAGE;
    if (rc < 0 && (!out || files.n == 0)) {
        cli_error(!out ? "missing -o MODEL" : "no background file given");
        cli_usage(stderr, &self, opts, CLI_NOPTS(opts));
        rc = CLI_USAGE;
    }
    if (rc >= 0) {
        quiet_end(quiet);
        cli_list_free(&labels);
        cli_list_free(&files);
        MPI_Finalize();
        return rc;
    }
    double t0 = MPI_Wtime();
    cli_background bg;
    int ok = cli_background_open(&bg, files.v, files.n, labels.v,
                                 labels.n) == CLI_OK;
    quiet_end(quiet);
    rc = CLI_FAIL;
    if (!all_ok(ok))
        goto done;
    rc = fit_all(&bg, &o, out, rank, size, t0);
done:
    cli_background_close(&bg);
    cli_list_free(&labels);
    cli_list_free(&files);
    MPI_Finalize();
    return rc;
}
