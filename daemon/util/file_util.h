/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole-file reads with a size bound, and atomic whole-file writes. */
#ifndef LAZYBOOT_FILE_UTIL_H
#define LAZYBOOT_FILE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "util/lzb_error.h"

/*
 * Read all of PATH into a malloc'd buffer (*data, *len).  Files longer than
 * MAX bytes are refused with an error naming the file.  An empty file gives
 * *data non-NULL and *len 0.  Returns 0 or -1 with err filled.
 */
int lzb_read_file(const char *path, size_t max, uint8_t **data, size_t *len,
		  struct lzb_err *err);

/*
 * Write LEN bytes to PATH through PATH.tmp.<pid> + fsync + rename, so a
 * reader sees either the old or the new file, never a partial one.
 * MODE is the new file's permission bits.
 */
int lzb_write_file(const char *path, const void *data, size_t len,
		   unsigned int mode, struct lzb_err *err);

/*
 * The same without fsync, for many files at once (image objects, unpacked
 * dumps); follow with one lzb_syncfs() before anything that points at them.
 */
int lzb_write_file_nosync(const char *path, const void *data, size_t len,
			  unsigned int mode, struct lzb_err *err);
int lzb_syncfs(const char *dir, struct lzb_err *err);

/* mkdir -p for one or two levels; an existing directory is fine. */
int lzb_mkdir(const char *path, struct lzb_err *err);

/* Join DIR and NAME into OUT (size OUTLEN); -1 if it does not fit. */
int lzb_path(char *out, size_t outlen, const char *dir, const char *name);

#endif
