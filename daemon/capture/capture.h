/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers of `lazyboot capture` kept apart from the command so tests can
 * call them: the process tree of a root task, what `criu dump` options that
 * tree needs, its file dependencies, and the explanation of a CRIU log.
 */
#ifndef LAZYBOOT_CAPTURE_H
#define LAZYBOOT_CAPTURE_H

#include <stdio.h>
#include <sys/types.h>

#include "util/lzb_error.h"

/*
 * How many processes a walk of a live tree (lzb_tree_pids) collects.  It is
 * not the task limit of an image (util/task_limit.h): the kill path walks
 * criu and whatever the restored tasks forked since, and must find them all.
 */
#define LZB_TREE_MAX 4096

/* ROOT and all its descendants (threads' children too).  Count or -errno. */
int lzb_tree_pids(pid_t root, pid_t *pids, int max);

/* The innermost-namespace pid of host pid PID (NSpid), or -errno. */
int lzb_ns_pid(pid_t pid);

enum {
	LZB_NEEDS_TCP_ESTABLISHED = 1 << 0,	/* --tcp-established */
	LZB_NEEDS_FILE_LOCKS = 1 << 1,		/* --file-locks */
};

/*
 * Which dump options the tree needs: an established TCP connection owned
 * by a task (its socket inode in /proc/net/tcp{,6} in state 01), a file
 * lock held by a task (/proc/locks).  Each reason found is printed to WHY
 * (may be NULL).
 */
unsigned lzb_tree_needs(const pid_t *pids, int n, FILE *why);

/*
 * Write the file dependencies of the tree (filedeps.h) to PATH: every
 * regular file in /proc/PID/maps and /proc/PID/fd outside /proc, /sys and
 * /dev.  Number of files, or -errno with ERR.
 */
int lzb_write_filedeps(const pid_t *pids, int n, const char *path, struct lzb_err *err);

/* Name a pid for messages: a callback gives "service NAME" or NULL. */
typedef const char *(*lzb_pid_namer)(pid_t pid, void *arg);

/*
 * Print CRIU's errors from LOG to OUT, each with the task being dumped
 * (pid, comm, and NAMER's name) and a hint for the known refusals.
 * Returns the number of errors printed.
 */
int lzb_criu_explain(const char *log, FILE *out, lzb_pid_namer namer,
		     void *arg);

#endif
