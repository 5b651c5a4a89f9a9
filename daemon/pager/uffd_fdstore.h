/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * systemd's fd store as the keeper of the restored tasks' uffds (the third
 * beside lazyboot.ko and the holder; uffd_keeper.h): each uffd is sent to
 * the service manager with FDSTORE=1 and FDNAME=lzb-uffd.<record id>.<pid>,
 * so a lazybootd that crashed leaves them with systemd, and the one
 * systemd starts next gets them back (LISTEN_FDS, LISTEN_FDNAMES) and
 * resumes.  Nothing here kills a task whose pager never comes back: the
 * unit does that (lazybootd stop-post; docs/pager.md, "Keepers").
 *
 * The service layer says at start whether the unit's fd store can hold
 * them (lzb_fdstore_offer) and hands over the fds it was started with.
 */
#ifndef LAZYBOOT_UFFD_FDSTORE_H
#define LAZYBOOT_UFFD_FDSTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/sd_fds.h"

struct lzb_record;

#define LZB_FDSTORE_PREFIX "lzb-uffd."

/*
 * USABLE: the unit's fd store holds at least LZB_TASK_LIMIT fds (a new
 * restore may keep its uffds there).  FDS (N): what the service was
 * started with; this takes them (closes or hands them out).
 */
void lzb_fdstore_offer(bool usable, const struct lzb_listen_fd *fds,
		       unsigned int n);
bool lzb_fdstore_usable(void);
/* How many of the fds given at start carry lazyboot's prefix. */
unsigned int lzb_fdstore_offered(void);

/* FDNAME of task PID's uffd in the restore whose record id is RECORD_ID. */
void lzb_fdstore_name(char *buf, size_t len, const char *record_id, int pid);

/* Store UFFD (made O_NONBLOCK) under its name: 0 or -errno. */
int lzb_fdstore_keep(const char *record_id, int pid, int uffd);
/* Remove task PID's uffd from the store (FDSTOREREMOVE=1). */
void lzb_fdstore_forget(const char *record_id, int pid);

/* Is FD a userfaultfd? (its /proc/self/fd link) */
bool lzb_is_uffd(int fd);

/*
 * Which of FDS (N, as from LISTEN_FDNAMES) is the uffd of each task on
 * REC: TASK_FD[i] is an index into FDS, or -1.  Used only is a name of
 * lazyboot's prefix with REC's id and a pid on record, whose fd IS_UFFD
 * says is a userfaultfd, and the only one for that pid: a name of another
 * restore, an unknown pid, a second fd for one task (both are refused),
 * or an fd of another kind is never matched.  Each refusal is logged.
 * Returns how many tasks have their uffd.
 */
unsigned int lzb_fdstore_match(const struct lzb_record *rec,
			       const struct lzb_listen_fd *fds, unsigned int n,
			       bool (*is_uffd)(int fd), int *task_fd);

/*
 * lzb_fdstore_match() on the fds given at start: TASK_UFFD[i] is task i's
 * uffd (the caller's to close), or -1.  Every other fd given at start is
 * removed from the store and closed.  Returns how many tasks have one.
 */
unsigned int lzb_fdstore_take(const struct lzb_record *rec, int *task_uffd);

/* Remove from the store and close every fd given at start not taken. */
void lzb_fdstore_drop_unused(void);

#endif
