/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Running `criu restore --lazy-pages` for a pager (lazyboot restore,
 * lazyboot profile), and ending what it restored when the pager cannot
 * finish: the restored tasks must never run on with pages missing.
 */
#ifndef LAZYBOOT_CRIU_RESTORE_PROC_H
#define LAZYBOOT_CRIU_RESTORE_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include "util/lzb_error.h"

struct lzb_criu_restore {
	const char *criu;		/* binary; NULL: "criu" */
	const char *images_dir;
	const char *workdir;		/* lazy socket, logs, restore.pid */
	const char *plugin_dir;		/* --libdir; NULL: CRIU's default */
	const char *pager_socket;	/* LAZYBOOT_PAGER_SOCKET, or NULL */
	char *const *extra;		/* more `criu restore` arguments */
	size_t nr_extra;
};

/*
 * Fork and exec ARGV with stdout and stderr appended to LOG (if not
 * NULL).  The child's pid, or -1 with errno.
 */
pid_t lzb_spawn(char *const argv[], const char *log);

/*
 * Start `criu restore --lazy-pages --restore-detached` with WORKDIR's
 * restore.pid as pidfile, restore.log as log (-v4) and criu's own output
 * in WORKDIR/criu-restore.out.  Its pid, or -1 with ERR.
 */
pid_t lzb_criu_restore_start(const struct lzb_criu_restore *r,
			     struct lzb_err *err);

/*
 * Where lazyboot_plugin.so is: the directory of this program if it is
 * there (a build tree), else NULL (CRIU's own plugin directory,
 * /usr/lib/criu, where an installed plugin lives).  BUF holds the result.
 */
const char *lzb_default_plugin_dir(char *buf, size_t len);

/* The restored root's pid from WORKDIR/restore.pid, or 0. */
int lzb_criu_restore_root(const char *workdir);

/*
 * Why the `criu restore` for WORKDIR failed, in its own words: the
 * lazyboot plugin's refusal (or criu's failed exec) from criu-restore.out
 * if there is one, else the first error line of restore.log (CRIU's
 * "Error (file:line): ...", its timestamp and pid dropped).  0 with the line in BUF, or -1 when
 * neither log names a reason.
 */
int lzb_criu_restore_why(const char *workdir, char *buf, size_t len);

/*
 * Reap the `criu restore` *CRIU started for WORKDIR if it has exited
 * (*CRIU becomes 0): 1 when it exited 0, *ROOT_PID then read from
 * restore.pid; -1 when it failed, with ERR naming CRIU's reason
 * (lzb_criu_restore_why) and its logs unless ERR already holds an error;
 * 0 while it runs (or was reaped before).
 */
int lzb_criu_restore_reap(pid_t *criu, const char *workdir, int *root_pid,
			  struct lzb_err *err);

/*
 * Wait up to TIMEOUT_MS for *CRIU to exit.  When it exited with an error
 * of its own (not a signal) and its logs name the reason, ERR becomes
 * "criu restore failed: REASON", whatever it held: what the pager saw
 * (CRIU's lazy-pages socket closing, the plugin link ending) was only
 * CRIU giving up.  Reaps *CRIU (it becomes 0) if it exited.
 */
void lzb_criu_restore_blame(pid_t *criu, const char *workdir, int timeout_ms,
			    struct lzb_err *err);

/*
 * SIGKILL whatever the restore brought up: every descendant of CRIU (the
 * tasks it is still restoring; CRIU is our child, not reaped), the
 * restored root (ROOT_PIDFD, pid ROOT in our namespace, or -1) stopped
 * first and its descendants (when it is a PID namespace's init, that ends
 * the namespace), and the tasks of PIDFDS (taken when they were handed
 * over); CRIU itself last.  Every task is signalled through a pidfd, a
 * descendant's taken while it still descends from the root or CRIU: no
 * reused pid is hit, and pids of the image are never used.  Returns how
 * many signals were sent.
 */
int lzb_kill_restored(pid_t criu, int root_pidfd, pid_t root,
		      const int *pidfds, size_t n);

#endif
