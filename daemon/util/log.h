/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The log lines of lazyboot and lazybootd, with their priority.
 *
 * Under systemd, whose journal reads a service's stdout and stderr and
 * names that stream in $JOURNAL_STREAM ("DEV:INODE"), every line written
 * to a stream that is still that one starts with its priority the way
 * sd-daemon(3) defines it: "<3>" an error, "<4>" a warning, "<6>" news;
 * the journal takes the prefix off and files the line under it
 * (journalctl -p warning shows what went wrong).  On a terminal or a
 * file nothing is added.  Lines less important than the level set
 * (lzb_log_set_level, default info) are dropped.
 */
#ifndef LAZYBOOT_LOG_H
#define LAZYBOOT_LOG_H

#include <stdbool.h>

/* syslog's numbers, as the journal's prefixes use them. */
enum lzb_log_level {
	LZB_LOG_ERR = 3,
	LZB_LOG_WARNING = 4,
	LZB_LOG_INFO = 6,
};

/* One line, LEVEL's prefix before it under the journal, on stderr. */
void lzb_log(enum lzb_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Drop lines less important than LEVEL from now on. */
void lzb_log_set_level(enum lzb_log_level level);

/* Would a line of LEVEL be written? */
bool lzb_log_enabled(enum lzb_log_level level);

/*
 * "error", "warning", "info" to the level; returns -1 for anything else.
 * lzb_log_level_names lists the names for messages.
 */
int lzb_log_parse_level(const char *name, enum lzb_log_level *level);
extern const char lzb_log_level_names[];

/*
 * The prefix a line of LEVEL written to FD takes: "<N>" when FD is the
 * stream $JOURNAL_STREAM names (same device and inode), else "".
 */
const char *lzb_log_prefix(int fd, enum lzb_log_level level);

#endif
