/*
 * progress.c - progress of long fits and scores on standard error: rows
 * done, rate and time left, redrawn at most twice a second, and only when
 * standard error is a terminal (pipes, logs and CI stay quiet).
 */
#include "cli.h"

#include <stdio.h>
#include <unistd.h>

void cli_progress_start(cli_progress *p, const char *what, size_t total)
{
    p->on = isatty(STDERR_FILENO);
    p->what = what;
    p->total = total;
    p->pass = 1;
    p->shown = 0;
    p->t0 = cli_now();
    p->last = p->t0 - 1; /* the first chunk shows at once */
}

void cli_progress_pass(cli_progress *p)
{
    p->pass++;
    p->t0 = cli_now();
}

void cli_progress_update(cli_progress *p, size_t done)
{
    if (!p || !p->on || p->total == 0)
        return;
    double now = cli_now();
    if (now - p->last < 0.5)
        return;
    p->last = now;
    double rate = (double)done / (now - p->t0 > 1e-9 ? now - p->t0 : 1e-9);
    double left = rate > 0 ? (double)(p->total - done) / rate : 0;
    char pass[32] = "";
    if (p->pass > 1)
        snprintf(pass, sizeof pass, " (pass %u)", p->pass);
    fprintf(stderr, "\racthist: %s%s: %zu of %zu rows, %.3g rows/s, %.0f s "
            "left   ", p->what, pass, done, p->total, rate, left);
    p->shown = 1;
}

void cli_progress_end(cli_progress *p)
{
    if (p && p->on && p->shown)
        fputs("\r\033[K", stderr); /* clear the line for what follows */
    if (p)
        p->shown = 0;
}
