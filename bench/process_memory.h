/*
 * process_memory.h - the process's memory, for the bench programs:
 * the peak resident set (getrusage) and the resident set now
 * (/proc/self/statm), as bench_acthist.c and scale_real.c report them.
 */
#ifndef AH_BENCH_PROCESS_MEMORY_H
#define AH_BENCH_PROCESS_MEMORY_H

#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

/* The peak resident set so far, in KiB. */
static inline long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* The resident set now, in bytes, or -1. */
static inline long long rss_now(void)
{
    long long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    int got = fscanf(f, "%lld %lld", &size, &resident);
    fclose(f);
    return got == 2 ? resident * sysconf(_SC_PAGESIZE) : -1;
}

#endif
