/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who keeps the restored tasks' userfaultfds alive if the pager dies:
 *
 *   module  lazyboot.ko holds each uffd in a kernel session (the strongest:
 *           nothing in userspace can release it); a pager that does not
 *           re-attach before the deadline has the tasks killed by the kernel;
 *   holder  without the module, a tiny second process (uffd_holder.h)
 *           holds them and kills the tasks at the deadline;
 *   fdstore without the module, under a systemd unit whose fd store can
 *           hold them: systemd keeps each uffd (uffd_fdstore.h) and hands
 *           it to the lazybootd it starts next; no deadline of its own:
 *           the unit stops or kills the tasks when lazybootd ends
 *           (lazybootd stop-post), and a successor resumes or kills them;
 *   none    none could be set up: a pager crash lets missing pages read
 *           as zeros, and the pager says so.
 *
 * The keeper also reports the restore's milestones to the module (stamped
 * by the kernel), and closes the sessions or dismisses the holder once
 * every page is resident.
 */
#ifndef LAZYBOOT_UFFD_KEEPER_H
#define LAZYBOOT_UFFD_KEEPER_H

#include <stdint.h>

#include "util/lzb_error.h"

struct lzb_keeper;
struct lzb_record;
struct lzb_record_task;

#define LZB_KEEPER_DEADLINE_MS 30000

/*
 * Pick the keeper for a new restore: the module if loaded, else the fd
 * store if lzb_fdstore_usable(), else a holder.  RECORD_ID: the record's
 * id (names the uffds in the fd store).
 */
int lzb_keeper_start(const char *workdir, uint32_t deadline_ms,
		     const char *record_id, struct lzb_keeper **keeper);

/* "module", "holder", "fdstore" or "none". */
const char *lzb_keeper_kind(const struct lzb_keeper *keeper);
/* What is guaranteed, for `lazyboot status` and the restore's output. */
const char *lzb_keeper_guarantee(const struct lzb_keeper *keeper);

/*
 * Keep a copy of task PID's uffd (the holder also of PIDFD, the pidfd
 * taken at hand-over, to kill it through); *session gets the module's id
 * (or 0).
 */
int lzb_keeper_keep(struct lzb_keeper *keeper, int img_pid, int pid,
		    int pidfd, int uffd, uint32_t *session);

/*
 * Take over the uffds of a dead pager's restore, as its record says: call
 * fn for each task on record, with a new fd for its uffd, or -1 when its
 * uffd is no longer held (the task is gone), and a pidfd of it (fn owns
 * it), or -1 when none can be had safely: the holder's, or (module) one
 * opened by pid only while the task's start time is the one on record.
 */
int lzb_keeper_resume(const char *workdir, const struct lzb_record *rec,
		      struct lzb_keeper **keeper,
		      int (*fn)(void *ctx, int img_pid, int pid, int pidfd,
				int uffd),
		      void *ctx, struct lzb_err *err);

/*
 * The restore can no longer be resumed (its journal or record could not
 * be written): the holder refuses any take-over from now on, and kills
 * the tasks at the deadline if this pager dies.  (lazyboot.ko has no such
 * switch: there the record, moved aside, is what stops a resume.)
 */
void lzb_keeper_seal(struct lzb_keeper *keeper);

/* Report milestone (enum lazyboot_milestone) when the module is there. */
void lzb_keeper_milestone(struct lzb_keeper *keeper, uint32_t milestone);

/*
 * lazyboot.ko's fault-stall statistics summed over the sessions kept
 * (LAZYBOOT_FEATURE_STALL_STATS): 0, or -ENOENT when the module keeps no
 * session (another keeper, released, or a module without the feature).
 * One netlink round trip per session: call it now and then, not per fault.
 */
int lzb_keeper_stalls(struct lzb_keeper *keeper, uint64_t *count,
		      uint64_t *total_ns);

/* Every page is resident, or the tasks are dead: let the uffds go. */
void lzb_keeper_release(struct lzb_keeper *keeper);

/*
 * Free; without lzb_keeper_release() first, the uffds stay kept and the
 * deadline starts (the module or the holder kills the tasks unless a pager
 * takes over).
 */
void lzb_keeper_free(struct lzb_keeper *keeper);

/*
 * A pidfd for task T on record, only if it is the very process recorded
 * (same start time: its pid was not reused), else -1.
 */
int lzb_record_task_pidfd(const struct lzb_record_task *t);

#endif
