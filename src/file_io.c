/*
 * file_io.c - whole-file reads, atomic writes and the checksum, shared by
 * the model file and the shard files (internal).
 */
#include "bytes.h"
#include "file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int ah__write_atomic(const char *path, const unsigned char *buf, size_t len,
                     ah_diag *diag)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return ah__fail(diag, AH_ERR_NOMEM, -1, -1, "out of memory");
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    int st = AH_OK;
    if (fd < 0) {
        st = ah__fail(diag, AH_ERR_IO, -1, -1, "%s: cannot create: %s", path,
                      strerror(errno));
        goto out;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            st = ah__fail(diag, AH_ERR_IO, -1, -1, "%s: write failed: %s",
                          path, strerror(errno));
            break;
        }
        off += (size_t)w;
    }
    if (st == AH_OK && (fchmod(fd, 0644) != 0 || fsync(fd) != 0))
        st = ah__fail(diag, AH_ERR_IO, -1, -1, "%s: cannot sync: %s", path,
                      strerror(errno));
    if (close(fd) != 0 && st == AH_OK)
        st = ah__fail(diag, AH_ERR_IO, -1, -1, "%s: close failed: %s", path,
                      strerror(errno));
    if (st == AH_OK && rename(tmp, path) != 0)
        st = ah__fail(diag, AH_ERR_IO, -1, -1, "%s: cannot rename into place: %s",
                      path, strerror(errno));
    if (st != AH_OK)
        unlink(tmp);
out:
    free(tmp);
    return st;
}

int ah__read_whole(const char *path, unsigned char **out, size_t *len_out,
                   ah_diag *diag)
{
    *out = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return ah__fail(diag, AH_ERR_IO, -1, -1, "%s: cannot open: %s", path,
                        strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return ah__fail(diag, AH_ERR_IO, -1, -1, "%s: not a regular file",
                        path);
    }
    size_t len = (size_t)sb.st_size;
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
    if (binning > AH_BINNING_TAILS)
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
