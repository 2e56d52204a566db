/*
 * file_io.h - whole-file reads, atomic writes and the checksum (internal).
 */
#ifndef AH_FILE_IO_H
#define AH_FILE_IO_H

#include "internal.h"

/* FNV-1a, 64 bits: detects truncation and bit flips; not cryptographic. */
uint64_t ah__fnv1a64(const unsigned char *p, size_t n);

/* Write buf to a temporary file beside path, sync it and rename it into
 * place, so that a reader never sees half a file. */
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

/* Read a regular file whole into *out (malloc'ed, at least 1 byte). */
int ah__read_whole(const char *path, unsigned char **out, size_t *len,
                   ah_diag *diag);

#endif
