/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a dump depends on in the node's filesystem: every file a captured
 * task maps or holds open, with its size, mtime and BLAKE2b-256 content
 * hash.  `lazyboot capture` writes the list into the dump directory
 * (LZB_FILEDEPS_NAME); the CRIU plugin checks it before `criu restore`
 * touches anything, and refuses naming the first file that differs.
 *
 * One line per file (docs/appset.md has the format):
 *   KIND SIZE MTIME_SEC.NSEC HASH PATH
 * KIND is "map", "open" or "map+open"; PATH is %-escaped (bytes <= ' ',
 * '%' and >= 0x7f as %XX).  '#' lines are comments.
 *
 * Shared by liblazyboot and the plugin; depends on libsodium only.
 */
#ifndef LAZYBOOT_FILEDEPS_H
#define LAZYBOOT_FILEDEPS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LZB_FILEDEPS_NAME "lazyboot-filedeps.txt"
#define LZB_FILEDEPS_HEADER "# lazyboot-filedeps 1"
#define LZB_HASH_BYTES 32

struct lzb_filedep {
	char kind[12];
	uint64_t size;
	int64_t mtime_sec;
	long mtime_nsec;
	unsigned char hash[LZB_HASH_BYTES];
	char path[4096];
};

/* BLAKE2b-256 of a file's content.  0 or -errno. */
int lzb_file_hash(const char *path, unsigned char hash[LZB_HASH_BYTES]);

/* Stat and hash PATH into D (kind copied).  0 or -errno. */
int lzb_filedep_make(const char *path, const char *kind,
		     struct lzb_filedep *d);
int lzb_filedep_write(FILE *f, const struct lzb_filedep *d);
/* One line (no newline needed).  0, 1 for a comment/blank, -EINVAL. */
int lzb_filedep_parse(const char *line, struct lzb_filedep *d);

/*
 * Does the node's copy of D->path still match?  0 when it does; 1 when it
 * differs or is missing, with MSG naming the file and what differs.  A file
 * whose size and mtime are unchanged is taken as unchanged without hashing.
 */
int lzb_filedep_check(const struct lzb_filedep *d, char *msg, size_t len);

#endif
