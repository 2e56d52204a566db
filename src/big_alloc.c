/*
 * big_alloc.c - large scratch arrays backed by huge pages where the kernel
 * offers them.
 *
 * A group scan of 1000 x 4096 p-values fills about 100 MB of fresh arrays
 * per call, and faulting them in 4 KB pages cost a sixth of the call.  For
 * blocks of at least BIG bytes we align to 2 MB and ask for transparent
 * huge pages (Linux: madvise MADV_HUGEPAGE, which is a hint: a kernel that
 * declines leaves ordinary pages).  The memory is released with free().
 */
#include "internal.h"

#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define BIG ((size_t)4 << 20)
#define HUGE_PAGE ((size_t)2 << 20)

void *ah__big_alloc(size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= BIG) {
        void *p = NULL;
        size_t len = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        if (posix_memalign(&p, HUGE_PAGE, len) != 0)
            return NULL;
        (void)madvise(p, len, MADV_HUGEPAGE); /* only a hint */
        return p;
    }
#endif
    return malloc(bytes);
}
