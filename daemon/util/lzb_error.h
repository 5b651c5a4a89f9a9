/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One-line error reports for code that reads files other people made.
 * Every failure fills a struct lzb_err with "FILE: what is wrong"; callers
 * print it as is.  The message is always NUL-terminated and never longer
 * than the buffer.
 */
#ifndef LAZYBOOT_LZB_ERROR_H
#define LAZYBOOT_LZB_ERROR_H

#include <stddef.h>

struct lzb_err {
	char msg[512];
};

/* printf-style; returns -1 so `return lzb_errf(err, ...)` reads well. */
int lzb_errf(struct lzb_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
