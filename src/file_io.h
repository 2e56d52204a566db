/*
 * file_io.h - whole-file reads, atomic writes and the checksum (internal).
 */
#ifndef AH_FILE_IO_H
#define AH_FILE_IO_H

#include "internal.h"

#include <limits.h>

/* FNV-1a, 64 bits: detects truncation and bit flips; not cryptographic. */
uint64_t ah__fnv1a64(const unsigned char *p, size_t n);

/*
 * An output file.  A path that names a regular file, or nothing yet, is
 * written to a temporary in the same directory (an unnamed O_TMPFILE where
 * the file system has it, so a process killed mid-write leaves nothing
 * behind) and renamed into place on commit: a reader sees the old file or
 * the whole new one.  The new file keeps the mode of the file it replaces,
 * or gets 0666 & ~umask.  A path that names a character device or a FIFO
 * (/dev/null, /dev/stdout, a pipe) is written in place: renaming over it
 * would replace a device node with a regular file.  Directories, block
 * devices and sockets are refused.
 */
typedef struct ah__out {
    char path[PATH_MAX];     /* as given, for messages                  */
    char target[PATH_MAX];   /* what commit renames onto (symlinks
                                resolved)                              */
    char tmp[PATH_MAX + 48]; /* a named temporary, "" while unnamed     */
    int fd;                  /* -1 once closed                          */
    int in_place;            /* a device or FIFO: no temporary, no rename */
} ah__out;

int ah__out_open(ah__out *o, const char *path, ah_diag *diag);
/* Write all len bytes; on failure the output is abandoned (ah__out_abort
 * is still called, and is then a no-op). */
int ah__out_write(ah__out *o, const void *buf, size_t len, ah_diag *diag);
/* Sync, close and rename into place; the ah__out is released either way. */
int ah__out_commit(ah__out *o, ah_diag *diag);
/* Close and remove the temporary; the file being replaced stays as it was. */
void ah__out_abort(ah__out *o);

/* Open path for reading into *fd, refusing anything but a regular file
 * without blocking on it (open() of a FIFO would wait for a writer
 * forever); *size receives the file's size. */
int ah__open_regular(const char *path, int *fd, uint64_t *size,
                     ah_diag *diag);

/* Write buf to path as above, in one go. */
int ah__write_atomic(const char *path, const unsigned char *buf, size_t len,
                     ah_diag *diag);

/* Serialise obj with save (buf NULL: *len receives the size) and write
 * the bytes atomically to path. */
typedef int (*ah__save_fn)(const void *obj, void *buf, size_t *len,
                           ah_diag *diag);
int ah__save_file(const void *obj, ah__save_fn save, const char *path,
                  ah_diag *diag);

/* The checks every acthist file starts with, before its own fields: the
 * magic, at least header + 8 bytes, the version (major, at most minor, at
 * bytes 8 and 10), the total size at size_off against len, and the
 * checksum in the last 8 bytes.  what ("model", "shard") and name word
 * the messages. */
typedef struct ah__file_kind {
    const char *what;
    const unsigned char *magic; /* 8 bytes */
    size_t header;
    unsigned major, minor;
    size_t size_off;
    size_t zero_off, zero_len;  /* the header's reserved bytes */
} ah__file_kind;
int ah__check_file(const ah__file_kind *k, const unsigned char *p, size_t len,
                   const char *name, ah_diag *diag);

/* The header fields that the model and the shard files share, at the
 * same offsets (docs/FORMAT.md): method (16), tail (20), binning (24),
 * bins requested (28) and atom share (32), each checked against its
 * documented range and stored into *o (its other fields the defaults);
 * and the reserved bytes, which must be zero.  Call after
 * ah__check_file.  AH_ERR_FORMAT with a message naming the file, the
 * field and its value. */
int ah__check_header_fields(const ah__file_kind *k, const unsigned char *p,
                            const char *name, ah_fit_options *o,
                            ah_diag *diag);

/* The start of a header that the model and shard files share: the magic
 * (8 bytes), the version (major at byte 8, minor at 10) and the fields
 * ah__check_header_fields reads (method, tail, binning, bins requested,
 * atom share); the other bytes are left as they are. */
void ah__put_header_fields(unsigned char *p, const unsigned char *magic,
                           unsigned major, unsigned minor,
                           const ah_fit_options *o);

/* Load a file by reading it whole and handing the bytes to load (an
 * ah_..._load_memory of the object out points to); the bytes are freed
 * after.  The caller has checked its arguments and cleared *out. */
typedef int (*ah__load_fn)(void *out, const unsigned char *buf, size_t len,
                           const char *name, ah_diag *diag);
int ah__load_file(void *out, ah__load_fn load, const char *path,
                  ah_diag *diag);

/* Read a regular file whole into *out (malloc'ed, at least 1 byte). */
int ah__read_whole(const char *path, unsigned char **out, size_t *len,
                   ah_diag *diag);

#endif
