/*
 * alloc_fail.c - allocation-failure injection for a test copy of the CLI
 * (build/acthist-allocfail), the way SQLite tests out-of-memory paths.
 *
 * The copy is linked with -Wl,--wrap=malloc,--wrap=calloc,... so that every
 * allocation the library and the CLI make goes through the wrappers below;
 * allocations inside libc (stdio buffers, pthread stacks) are not counted.
 * With ACTHIST_FAIL_ALLOC=n in the environment the n-th allocation (counted
 * from 1, over all threads) fails, once, or with ACTHIST_FAIL_ALLOC_ALL=1
 * also every allocation after it (the cleanup after a failure must not
 * need memory either); every other call goes through to the real
 * allocator (__real_malloc, which is the sanitizer's malloc in an ASan
 * build, so leaks are still found).  When the n-th allocation fails, a line
 * "alloc_fail: allocation n failed" goes to standard error, so that
 * tests/cli/test_alloc_fail.sh knows the n-th allocation was reached.
 *
 * The counter lives here, in the test program, not in the library: the
 * library keeps no global state.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
int __real_posix_memalign(void **p, size_t align, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);
char *__real_strdup(const char *s);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
int __wrap_posix_memalign(void **p, size_t align, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size);
char *__wrap_strdup(const char *s);

/* -1: not read yet; 0: off; n > 0: fail allocation n (and later ones
 * when fail_all). */
static atomic_long fail_at = -1;
static atomic_int fail_all;
static atomic_long calls;

static long armed(void)
{
    long n = atomic_load(&fail_at);
    if (n < 0) {
        const char *s = getenv("ACTHIST_FAIL_ALLOC");
        const char *all = getenv("ACTHIST_FAIL_ALLOC_ALL");
        n = s ? strtol(s, NULL, 10) : 0;
        if (n < 0)
            n = 0;
        atomic_store(&fail_all, all && strcmp(all, "1") == 0);
        atomic_store(&fail_at, n);
    }
    return n;
}

/* Whether this call is to fail (counting it either way). */
static int should_fail(void)
{
    long n = armed();
    long k = atomic_fetch_add(&calls, 1) + 1;
    if (n == 0 || k < n)
        return 0;
    if (k > n) {
        if (!atomic_load(&fail_all))
            return 0;
        errno = ENOMEM;
        return 1;
    }
    /* async-signal-safe and allocation-free: the report must not allocate */
    char msg[64] = "alloc_fail: allocation ";
    size_t len = strlen(msg);
    char digits[24];
    int nd = 0;
    do {
        digits[nd++] = (char)('0' + k % 10);
        k /= 10;
    } while (k);
    while (nd)
        msg[len++] = digits[--nd];
    memcpy(msg + len, " failed\n", 8);
    len += 8;
    ssize_t w = write(2, msg, len);
    (void)w;
    errno = ENOMEM;
    return 1;
}

void *__wrap_malloc(size_t size)
{
    return should_fail() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return should_fail() ? NULL : __real_realloc(p, size);
}

int __wrap_posix_memalign(void **p, size_t align, size_t size)
{
    return should_fail() ? ENOMEM : __real_posix_memalign(p, align, size);
}

void *__wrap_aligned_alloc(size_t align, size_t size)
{
    return should_fail() ? NULL : __real_aligned_alloc(align, size);
}

char *__wrap_strdup(const char *s)
{
    return should_fail() ? NULL : __real_strdup(s);
}
