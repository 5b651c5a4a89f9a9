/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole-file reads with a size bound, and safe, atomic file writes. */
#ifndef LAZYBOOT_FILE_UTIL_H
#define LAZYBOOT_FILE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "util/lzb_error.h"

/*
 * Read all of PATH into a malloc'd buffer (*data, *len).  Files longer than
 * MAX bytes are refused with an error naming the file.  An empty file gives
 * *data non-NULL and *len 0.  Returns 0 or -1 with err filled.
 */
int lzb_read_file(const char *path, size_t max, uint8_t **data, size_t *len,
		  struct lzb_err *err);

/* The same, and *ST the fstat of the file that was read (not of a name). */
int lzb_read_file_stat(const char *path, size_t max, uint8_t **data,
		       size_t *len, struct stat *st, struct lzb_err *err);

/*
 * The one way lazyboot writes a file.  lzb_out_open creates a new file
 * under a random name in PATH's directory (".lzb-<16 hex>.tmp", with
 * O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC: nothing that was there before,
 * file or symlink, is ever opened) and gives it MODE with fchmod (the umask
 * does not apply).  Write through ->fd (lzb_out_write, or pwrite/ftruncate);
 * lzb_out_commit renames it over PATH, so a reader sees the old file or the
 * new one whole, never a part; with DURABLE it fsyncs the file first and
 * the directory after.  lzb_out_abort (and any failed lzb_out_*) closes
 * and unlinks the temporary file.  A symlink at PATH is replaced, not
 * followed.
 */
struct lzb_out_file {
	int fd;
	char path[4096];
	char tmp[4096 + 32];
};

int lzb_out_open(struct lzb_out_file *f, const char *path, unsigned int mode,
		 struct lzb_err *err);
int lzb_out_write(struct lzb_out_file *f, const void *data, size_t len,
		  struct lzb_err *err);
int lzb_out_commit(struct lzb_out_file *f, bool durable, struct lzb_err *err);
void lzb_out_abort(struct lzb_out_file *f);

/* A whole file through lzb_out_*, durable (fsync of file and directory). */
int lzb_write_file(const char *path, const void *data, size_t len,
		   unsigned int mode, struct lzb_err *err);

/*
 * The same without fsync, for many files at once (image objects, unpacked
 * dumps); follow with one lzb_syncfs() before anything that points at them.
 */
int lzb_write_file_nosync(const char *path, const void *data, size_t len,
			  unsigned int mode, struct lzb_err *err);
int lzb_syncfs(const char *dir, struct lzb_err *err);

/*
 * A log to append to: PATH opened O_WRONLY | O_APPEND | O_CREAT |
 * O_NOFOLLOW (a symlink planted at PATH is refused, not followed), created
 * with mode 0600.  The fd (not close-on-exec: for a child's stdout), or -1
 * with errno.
 */
int lzb_open_append(const char *path);

/*
 * PATH as an empty directory of mode 0700: created, or (when it is already
 * a directory, not a symlink) emptied of the files in it.
 */
int lzb_fresh_dir(const char *path, struct lzb_err *err);

/* mkdir -p for one or two levels; an existing directory is fine. */
int lzb_mkdir(const char *path, struct lzb_err *err);

/* Join DIR and NAME into OUT (size OUTLEN); -1 if it does not fit. */
int lzb_path(char *out, size_t outlen, const char *dir, const char *name);

#endif
