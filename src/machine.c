/*
 * machine.c - how much memory this process may use: the machine's, or
 * less when its cgroup (a container, a systemd slice) sets a limit.
 * Loaders refuse files that would need more (model_io.c, shard.c), since
 * past it the process is killed, not told.  Linux paths; elsewhere the
 * files are absent and only the machine's memory counts.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The number in file path ("max" and anything unreadable: SIZE_MAX). */
static size_t read_limit(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[64] = "";
    if (!f)
        return SIZE_MAX;
    int ok = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    char *end;
    unsigned long long v = ok ? strtoull(buf, &end, 10) : 0;
    if (!ok || end == buf || (*end != '\n' && *end != '\0') ||
        v >= (unsigned long long)SIZE_MAX)
        return SIZE_MAX;
    return (size_t)v;
}

/* The smallest limit in file `name` of dir and its ancestors down to
 * base (dir = base + path, path starting with '/'). */
static size_t walk_up(const char *base, const char *path, const char *name)
{
    char dir[4096];
    size_t lim = SIZE_MAX;
    if (snprintf(dir, sizeof dir, "%s%s", base, path) >= (int)sizeof dir)
        return SIZE_MAX;
    size_t keep = strlen(base);
    for (;;) {
        char file[4200];
        size_t n = strlen(dir);
        while (n > keep && dir[n - 1] == '/')
            dir[--n] = '\0';
        snprintf(file, sizeof file, "%s/%s", dir, name);
        size_t v = read_limit(file);
        lim = v < lim ? v : lim;
        char *slash = strrchr(dir, '/');
        if (n <= keep || !slash || (size_t)(slash - dir) < keep)
            break;
        *slash = '\0';
    }
    return lim;
}

size_t ah__cgroup_memory_limit(const char *cgroup_file, const char *root)
{
    FILE *f = fopen(cgroup_file, "r");
    char line[4096];
    size_t lim = SIZE_MAX;
    if (!f)
        return SIZE_MAX;
    /* lines "id:controllers:path"; v2 is "0::path", v1 names "memory" */
    while (fgets(line, sizeof line, f)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || c2[1] != '/')
            continue;
        char *path = c2 + 1;
        path[strcspn(path, "\n")] = '\0';
        *c1 = '\0'; /* line is the id, ctl the controllers */
        *c2 = '\0';
        const char *ctl = c1 + 1;
        char base[4096];
        size_t v = SIZE_MAX;
        if (*ctl == '\0' && !strcmp(line, "0")) {
            v = walk_up(root, path, "memory.max");
        } else {
            /* "memory" among the comma-separated controllers */
            for (const char *p = ctl; *p;) {
                size_t len = strcspn(p, ",");
                if (len == 6 && !strncmp(p, "memory", 6)) {
                    snprintf(base, sizeof base, "%s/memory", root);
                    v = walk_up(base, path, "memory.limit_in_bytes");
                    break;
                }
                p += len + (p[len] == ',');
            }
        }
        lim = v < lim ? v : lim;
    }
    fclose(f);
    return lim;
}

/* Below this, any process that runs at all has the memory. */
#define ALWAYS_ALLOWED ((size_t)16 << 20)

int ah__memory_allows(size_t need, size_t *have)
{
    *have = need <= ALWAYS_ALLOWED ? SIZE_MAX : ah__machine_bytes();
    return need <= *have;
}

size_t ah__machine_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    size_t b, cg = ah__cgroup_memory_limit("/proc/self/cgroup",
                                           "/sys/fs/cgroup");
    if (pages <= 0 || page <= 0 || !ah__mul_ok((size_t)pages, (size_t)page, &b))
        b = SIZE_MAX;
    return cg < b ? cg : b;
}
