/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The holder: a minimal second process that keeps the restored tasks'
 * userfaultfds alive when lazyboot.ko is not there to.  If the pager dies,
 * the kernel would otherwise release each uffd and every page not yet
 * copied would read as zeros.
 *
 * The pager forks it before anything else (it inherits nothing but stdio,
 * which it points at WORKDIR/holder.log) and hands it each uffd over
 * SCM_RIGHTS.  It listens on WORKDIR/holder.socket: a successor pager
 * connects and takes the uffds back (new fds for the same uffds).  When the
 * connection of the pager in charge closes without "done", the holder
 * starts the deadline; if no pager takes over before it, the holder
 * SIGKILLs the tasks (through pidfds: no pid reuse) and waits for them to
 * die before it lets the uffds go: never resumed on zero pages.
 * "done" (every page resident) makes it close the uffds and exit.
 *
 * Functions return 0 or a negative errno.
 */
#ifndef LAZYBOOT_UFFD_HOLDER_H
#define LAZYBOOT_UFFD_HOLDER_H

#include <stdint.h>
#include <sys/types.h>

#define LZB_HOLDER_SOCKET_NAME "holder.socket"
#define LZB_HOLDER_LOG_NAME "holder.log"

struct lzb_held_task {
	int img_pid;
	int pid;	/* real pid */
	int uffd;	/* in the caller, from lzb_holder_take() */
	int pidfd;	/* the task's, from the same */
};

/* Fork the holder for WORKDIR; *conn: the pager's connection to it. */
int lzb_holder_start(const char *workdir, uint32_t deadline_ms, pid_t *holder,
		     int *conn);
/* Connect to the holder of WORKDIR (a successor pager). */
int lzb_holder_connect(const char *workdir, int *conn);
/*
 * Give the holder a copy of task PID's uffd and of PIDFD, the pidfd taken
 * when the task was handed over, through which alone it will be killed
 * (the caller keeps its own).
 */
int lzb_holder_keep(int conn, int img_pid, int pid, int pidfd, int uffd);
/*
 * The journal could not be written: no successor may take over (it would
 * replay a journal with events missing and install stale image bytes),
 * so lzb_holder_take() gets -ESTALE and the deadline kills the tasks
 * unless this pager finishes.
 */
int lzb_holder_seal(int conn);
/*
 * Take over: the caller's connection becomes the one in charge and gets
 * every kept task with a new fd for its uffd and its pidfd.  Returns the
 * number of tasks, -EBUSY while a pager is in charge, -ESTALE once sealed.
 */
int lzb_holder_take(int conn, struct lzb_held_task *tasks, int max);
/* Every page is resident (or the tasks were killed): release and exit. */
int lzb_holder_done(int conn);

#endif
