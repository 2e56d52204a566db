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

/* Read a regular file whole into *out (malloc'ed, at least 1 byte). */
int ah__read_whole(const char *path, unsigned char **out, size_t *len,
                   ah_diag *diag);

#endif
