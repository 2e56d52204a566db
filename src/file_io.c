/*
 * file_io.c - whole-file reads, output files written atomically (or in
 * place for devices and pipes) and the checksum, shared by the model file,
 * the shard files, the .npy writer and the CLI's text outputs (internal).
 */
/* O_TMPFILE, AT_EMPTY_PATH and the GNU strerror_r. */
#define _GNU_SOURCE
#include "bytes.h"
#include "file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint64_t ah__fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Thread-safe strerror (the GNU strerror_r, which _GNU_SOURCE selects). */
static const char *errtext(int err, char *buf, size_t len)
{
    return strerror_r(err, buf, len);
}

/* Copy s into dst of size cap; 0 when it does not fit. */
static int copy_path(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap)
        return 0;
    memcpy(dst, s, n + 1);
    return 1;
}

/* The directory part of path into dir ("." when it has none). */
static void dir_of(char *dir, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(dir, ".");
        return;
    }
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    memcpy(dir, path, n);
    dir[n] = 0;
}

/* Give o->tmp a fresh name beside o->target: target.tmp.<pid>.<hex>. */
static void temp_name(ah__out *o, unsigned attempt)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
                 (uint64_t)(uintptr_t)o ^ attempt;
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld.%06llx", o->target,
             (long)getpid(), (unsigned long long)(x >> 40));
}

static void out_release(ah__out *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    o->tmp[0] = 0;
}

static int out_fail(ah__out *o, int status, const char *what, int err,
                    ah_diag *diag)
{
    char eb[128];
    int st = ah__fail(diag, status, -1, -1, "%s: %s: %s", o->path, what,
                      errtext(err, eb, sizeof eb));
    ah__out_abort(o);
    return st;
}

/* Create the temporary: unnamed where the file system allows it, else a
 * fresh name created exclusively (mode 0666 & ~umask either way: open()
 * applies the umask, which a thread cannot read safely). */
static int create_temp(ah__out *o, ah_diag *diag)
{
    char dir[sizeof o->target];
    dir_of(dir, o->target);
    o->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    int err = errno;
    if (o->fd >= 0)
        return AH_OK;
    if (err != EOPNOTSUPP && err != EISDIR && err != EINVAL)
        return out_fail(o, AH_ERR_IO, "cannot write", err, diag);
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        temp_name(o, attempt);
        o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (o->fd >= 0)
            return AH_OK;
        if (errno != EEXIST)
            break;
    }
    err = errno;
    o->tmp[0] = 0; /* nothing was created under that name */
    return out_fail(o, AH_ERR_IO, "cannot write", err, diag);
}

int ah__out_open(ah__out *o, const char *path, ah_diag *diag)
{
    o->fd = -1;
    o->in_place = 0;
    o->path[0] = o->target[0] = o->tmp[0] = 0;
    if (!path || !*path)
        return ah__fail(diag, AH_ERR_ARG, -1, -1, "an empty output path");
    if (!copy_path(o->path, sizeof o->path, path))
        return ah__fail(diag, AH_ERR_IO, -1, -1, "%.64s...: cannot write: %s",
                        path, strerror(ENAMETOOLONG));
    struct stat sb;
    int exists = stat(path, &sb) == 0;
    if (exists && (S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode))) {
        o->in_place = 1;
        o->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (o->fd < 0)
            return out_fail(o, AH_ERR_IO, "cannot write", errno, diag);
        return AH_OK;
    }
    if (exists && !S_ISREG(sb.st_mode)) {
        const char *kind = S_ISDIR(sb.st_mode)   ? "a directory"
                           : S_ISBLK(sb.st_mode) ? "a block device"
                                                 : "not a regular file";
        return ah__fail(diag, AH_ERR_IO, -1, -1,
                        "%s: is %s; outputs go to regular files, "
                        "character devices or pipes",
                        path, kind);
    }
    /* A symbolic link to a file: replace the file, keep the link.  The
     * buffers are in *o: writing needs no memory, so that a command
     * writing several files cannot run out between them. */
    struct stat lb;
    if (exists && lstat(path, &lb) == 0 && S_ISLNK(lb.st_mode)) {
        if (!realpath(path, o->target))
            return out_fail(o, AH_ERR_IO, "cannot write", errno, diag);
    } else {
        memcpy(o->target, o->path, sizeof o->path);
    }
    if (strlen(o->target) + 40 >= sizeof o->tmp)
        return out_fail(o, AH_ERR_IO, "cannot write", ENAMETOOLONG, diag);
    int st = create_temp(o, diag);
    if (st != AH_OK)
        return st;
    /* Replacing a file keeps its permissions (and, for root, its owner):
     * re-fitting over a 0600 model must not make it world-readable. */
    if (exists) {
        if (fchmod(o->fd, sb.st_mode & 07777) != 0)
            return out_fail(o, AH_ERR_IO, "cannot set permissions", errno,
                            diag);
        if (geteuid() == 0 && (sb.st_uid != 0 || sb.st_gid != 0) &&
            fchown(o->fd, sb.st_uid, sb.st_gid) != 0)
            return out_fail(o, AH_ERR_IO, "cannot set the owner", errno,
                            diag);
    }
    return AH_OK;
}

int ah__out_write(ah__out *o, const void *buf, size_t len, ah_diag *diag)
{
    if (o->fd < 0)
        return ah__fail(diag, AH_ERR_IO, -1, -1, "%s: not written: an "
                        "earlier write failed", o->path);
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t w = write(o->fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return out_fail(o, AH_ERR_IO, "write failed",
                            w < 0 ? errno : ENOSPC, diag);
        p += w;
        len -= (size_t)w;
    }
    return AH_OK;
}

/* Give the unnamed temporary a name beside the target (o->tmp). */
static int link_temp(ah__out *o)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", o->fd);
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        temp_name(o, attempt);
        int rc = linkat(AT_FDCWD, proc, AT_FDCWD, o->tmp, AT_SYMLINK_FOLLOW);
        if (rc != 0 && errno == ENOENT) /* no /proc: needs privilege */
            rc = linkat(o->fd, "", AT_FDCWD, o->tmp, AT_EMPTY_PATH);
        if (rc == 0)
            return 0;
        if (errno != EEXIST)
            break;
    }
    int err = errno;
    o->tmp[0] = 0;
    errno = err;
    return -1;
}

int ah__out_commit(ah__out *o, ah_diag *diag)
{
    if (o->fd < 0)
        return ah__fail(diag, AH_ERR_IO, -1, -1, "%s: not written: an "
                        "earlier write failed", o->path);
    if (o->in_place) {
        /* A device or pipe: nothing to sync (fsync fails on /dev/null). */
        int rc = close(o->fd);
        o->fd = -1;
        if (rc != 0)
            return out_fail(o, AH_ERR_IO, "write failed", errno, diag);
        out_release(o);
        return AH_OK;
    }
    if (fsync(o->fd) != 0)
        return out_fail(o, AH_ERR_IO, "cannot sync", errno, diag);
    if (!o->tmp[0] && link_temp(o) != 0)
        return out_fail(o, AH_ERR_IO, "cannot write", errno, diag);
    int rc = close(o->fd);
    o->fd = -1;
    if (rc != 0)
        return out_fail(o, AH_ERR_IO, "write failed", errno, diag);
    if (rename(o->tmp, o->target) != 0)
        return out_fail(o, AH_ERR_IO, "cannot rename into place", errno,
                        diag);
    out_release(o); /* renamed: nothing left to remove */
    return AH_OK;
}

void ah__out_abort(ah__out *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    if (o->tmp[0])
        unlink(o->tmp);
    out_release(o);
}

int ah__write_atomic(const char *path, const unsigned char *buf, size_t len,
                     ah_diag *diag)
{
    ah__out o;
    int st = ah__out_open(&o, path, diag);
    if (st == AH_OK)
        st = ah__out_write(&o, buf, len, diag);
    if (st == AH_OK)
        st = ah__out_commit(&o, diag);
    return st;
}

int ah_file_write(const char *path, const void *buf, size_t len,
                  ah_diag *diag)
{
    ah__diag_clear(diag);
    if (!path || (!buf && len))
        return ah__fail(diag, AH_ERR_ARG, -1, -1,
                        "ah_file_write: NULL argument");
    return ah__write_atomic(path, buf, len, diag);
}

int ah__open_regular(const char *path, int *fd_out, uint64_t *size,
                     ah_diag *diag)
{
    char eb[128];
    *fd_out = -1;
    /* O_NONBLOCK: open() of a FIFO with no writer returns at once. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return ah__fail(diag, AH_ERR_IO, -1, -1, "%s: cannot open: %s", path,
                        errtext(errno, eb, sizeof eb));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return ah__fail(diag, AH_ERR_IO, -1, -1, "%s: cannot stat: %s", path,
                        errtext(e, eb, sizeof eb));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return ah__fail(diag, AH_ERR_IO, -1, -1,
                        "%s: not a regular file (%s)", path,
                        S_ISDIR(sb.st_mode)    ? "a directory"
                        : S_ISFIFO(sb.st_mode) ? "a FIFO or pipe"
                        : S_ISCHR(sb.st_mode)  ? "a character device"
                        : S_ISBLK(sb.st_mode)  ? "a block device"
                                               : "a socket");
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    *fd_out = fd;
    *size = (uint64_t)sb.st_size;
    return AH_OK;
}

int ah__read_whole(const char *path, unsigned char **out, size_t *len_out,
                   ah_diag *diag)
{
    *out = NULL;
    uint64_t size;
    int fd;
    int st = ah__open_regular(path, &fd, &size, diag);
    if (st != AH_OK)
        return st;
    if (size > SIZE_MAX - 1) {
        close(fd);
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                        "%s: too large to read (%llu bytes)", path,
                        (unsigned long long)size);
    }
    size_t len = (size_t)size;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) {
        close(fd);
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                        "%s: out of memory for %zu bytes", path, len);
    }
    size_t off = 0;
    while (off < len) {
        ssize_t r = read(fd, buf + off, len - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    close(fd);
    if (off != len) {
        free(buf);
        return ah__fail(diag, AH_ERR_IO, -1, -1, "%s: read failed", path);
    }
    *out = buf;
    *len_out = len;
    return AH_OK;
}

int ah__load_file(void *out, ah__load_fn load, const char *path,
                  ah_diag *diag)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    int st = ah__read_whole(path, &buf, &len, diag);
    if (st == AH_OK)
        st = load(out, buf, len, path, diag);
    free(buf);
    return st;
}

int ah__save_file(const void *obj, ah__save_fn save, const char *path,
                  ah_diag *diag)
{
    size_t len = 0;
    int st = save(obj, NULL, &len, diag);
    if (st != AH_OK)
        return st;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1,
                        "%s: out of memory for %zu bytes", path, len);
    st = save(obj, buf, &len, diag);
    if (st == AH_OK)
        st = ah__write_atomic(path, buf, len, diag);
    free(buf);
    return st;
}

int ah__check_file(const ah__file_kind *k, const unsigned char *p, size_t len,
                   const char *name, ah_diag *diag)
{
    if (len < 8 || memcmp(p, k->magic, 8) != 0)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: not an acthist %s (bad magic)", name, k->what);
    if (len < k->header + 8)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: truncated %s (%zu bytes)", name, k->what, len);
    unsigned major = p[8] | p[9] << 8, minor = p[10] | p[11] << 8;
    if (major != k->major || minor > k->minor)
        return ah__fail(diag, AH_ERR_VERSION, -1, -1,
                        "%s: %s format version %u.%u, this build reads "
                        "%u.0 to %u.%u", name, k->what, major, minor,
                        k->major, k->major, k->minor);
    uint64_t total = ah__get_u64(p + k->size_off);
    if (total != len)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: truncated or extended %s: header says %llu "
                        "bytes, file has %zu", name, k->what,
                        (unsigned long long)total, len);
    if (ah__get_u64(p + len - 8) != ah__fnv1a64(p, len - 8))
        return ah__fail(diag, AH_ERR_CHECKSUM, -1, -1,
                        "%s: checksum mismatch: the %s is corrupted", name,
                        k->what);
    return AH_OK;
}

void ah__put_header_fields(unsigned char *p, const unsigned char *magic,
                           unsigned major, unsigned minor,
                           const ah_fit_options *o)
{
    memcpy(p, magic, 8);
    p[8] = (unsigned char)major;
    p[10] = (unsigned char)minor;
    ah__put_u32(p + 16, (uint32_t)o->method);
    ah__put_u32(p + 20, (uint32_t)o->tail);
    ah__put_u32(p + 24, (uint32_t)o->binning);
    ah__put_u32(p + 28, (uint32_t)o->bins);
    ah__put_f64(p + 32, o->atom_share);
}

int ah__check_header_fields(const ah__file_kind *k, const unsigned char *p,
                            const char *name, ah_fit_options *o,
                            ah_diag *diag)
{
    uint32_t method = ah__get_u32(p + 16), tail = ah__get_u32(p + 20),
             binning = ah__get_u32(p + 24), bins = ah__get_u32(p + 28);
    double share = ah__get_f64(p + 32);
    if (method > AH_METHOD_KDE)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: unknown method %u in the %s header", name,
                        method, k->what);
    if (tail > AH_TAIL_BOTH)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: unknown tail %u in the %s header", name, tail,
                        k->what);
    if (binning >= AH__BINNING_COUNT)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: unknown binning %u in the %s header", name,
                        binning, k->what);
    if (bins > 65536)
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: bins requested %u in the %s header, not 0 "
                        "(auto) or 1 to 65536", name, bins, k->what);
    if (!(share > 0 && share <= 1))
        return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                        "%s: atom share %g in the %s header, not in (0, 1]",
                        name, share, k->what);
    for (size_t i = 0; i < k->zero_len; i++)
        if (p[k->zero_off + i] != 0)
            return ah__fail(diag, AH_ERR_FORMAT, -1, -1,
                            "%s: %s header bytes %zu to %zu are not zero "
                            "(byte %zu is %u)", name, k->what, k->zero_off,
                            k->zero_off + k->zero_len - 1, k->zero_off + i,
                            p[k->zero_off + i]);
    ah_fit_options_default(o);
    o->method = (int)method;
    o->tail = (int)tail;
    o->binning = (int)binning;
    o->bins = (int)bins;
    o->atom_share = share;
    return AH_OK;
}
