/*
 * test_machine.c - the memory this process may use (src/machine.c): the
 * cgroup limit read from a fake /proc/self/cgroup and /sys/fs/cgroup
 * written in a temporary directory, for cgroup v2, v1, both, limits on
 * ancestors only, paths that are not mounted (a container's view), and
 * files that say nothing usable.
 */
#include "check.h"
#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256];

/* Write text to root/rel, making its directories. */
static void put(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* The limit for a cgroup file holding `lines`, under root/sys. */
static size_t limit_for(const char *lines)
{
    char cg[512], sys[512];
    put("cgroup", lines);
    snprintf(cg, sizeof cg, "%s/cgroup", root);
    snprintf(sys, sizeof sys, "%s/sys", root);
    return ah__cgroup_memory_limit(cg, sys);
}

static void clean(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
}

int main(void)
{
    check_init();
    snprintf(root, sizeof root, "%s/ah_machine.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root)) {
        perror(root);
        return 2;
    }
    size_t v;

    /* v2: the smallest of the group and its ancestors; "max" is none */
    put("sys/a/b/memory.max", "max\n");
    put("sys/a/memory.max", "1234567\n");
    put("sys/memory.max", "99999999\n");
    v = limit_for("0::/a/b\n");
    CHECK(v == 1234567, "v2 ancestors: %zu", v);
    put("sys/a/b/memory.max", "1000\n");
    v = limit_for("0::/a/b\n");
    CHECK(v == 1000, "v2 own limit: %zu", v);

    /* a container sees its own group at the root: a path that is not
     * there is walked up to what is */
    v = limit_for("0::/docker/0123abc\n");
    CHECK(v == 99999999, "v2 unmounted path: %zu", v);

    /* v1: the memory controller, alone or among others */
    put("sys/memory/x/y/memory.limit_in_bytes", "9223372036854771712\n");
    put("sys/memory/x/memory.limit_in_bytes", "5000000\n");
    v = limit_for("5:cpu,cpuacct:/\n4:memory:/x/y\n1:name=systemd:/\n");
    CHECK(v == 5000000, "v1: %zu", v);
    put("sys/memory/z/memory.limit_in_bytes", "777\n");
    v = limit_for("7:cpu,memory:/z\n");
    CHECK(v == 777, "v1 among controllers: %zu", v);

    /* both (a hybrid host): the smaller */
    v = limit_for("4:memory:/x/y\n0::/a/b\n");
    CHECK(v == 1000, "hybrid: %zu", v);

    /* nothing usable: no memory controller, no file, words, garbage */
    v = limit_for("5:cpu,cpuacct:/\n1:name=systemd:/\n");
    CHECK(v == SIZE_MAX, "no memory controller: %zu", v);
    put("sys/memory.max", "max\n");
    v = limit_for("0::/nowhere\n");
    CHECK(v == SIZE_MAX, "no limit anywhere: %zu", v);
    put("sys/w/memory.max", "lots\n");
    put("sys/memory/w/memory.limit_in_bytes", "12abc\n");
    v = limit_for("0::/w\n4:memory:/w\n");
    CHECK(v == SIZE_MAX, "unreadable values: %zu", v);
    v = limit_for("not a cgroup line\n::\n0:\n");
    CHECK(v == SIZE_MAX, "malformed lines: %zu", v);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/absent", root);
    CHECK(ah__cgroup_memory_limit(missing, root) == SIZE_MAX,
          "no cgroup file");

    /* this process: some memory, no more than the machine's */
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    v = ah__machine_bytes();
    CHECK(v > 0 && (pages <= 0 || page <= 0 ||
                    (double)v <= (double)pages * (double)page),
          "machine bytes %zu", v);
    size_t have = 0;
    CHECK(ah__memory_allows(1000, &have) && have == SIZE_MAX,
          "a small need is allowed without reading the limits");
    CHECK(!ah__memory_allows(SIZE_MAX - 1, &have) && have == v,
          "an impossible need is refused against %zu bytes", have);

    clean();
    return check_done("test_machine");
}
