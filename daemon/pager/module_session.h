/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Restore sessions held by lazyboot.ko (uapi/linux/lazyboot.h).
 *
 * A struct lzb_module is one generic netlink socket.  The sessions it
 * creates (lzb_session_new) or adopts (lzb_session_attach) are owned by that
 * socket: when it is closed, or the process dies, they become orphaned and
 * the module kills their tasks unless another socket attaches before their
 * deadline.  A pager therefore keeps its lzb_module open as long as it
 * serves the sessions.
 *
 * Every function returns 0 (or a non-negative value) on success and a
 * negative errno on failure, the kernel's own errno where it gave one:
 * -ENOENT when the module is not loaded (lzb_module_open) or the session
 * does not exist (or belongs to another network namespace), -EPERM
 * without CAP_SYS_ADMIN or, for NEW and for adopting or closing an
 * orphaned session, without the right to ptrace the task, -EBUSY when
 * another pager owns the session, and so on.
 */
#ifndef LAZYBOOT_MODULE_SESSION_H
#define LAZYBOOT_MODULE_SESSION_H

#include <stdint.h>
#include <sys/types.h>

#include <linux/lazyboot.h>

struct lzb_module;

struct lzb_session_info {
	uint32_t id;
	uint32_t pid;
	uint32_t deadline_ms;
	uint32_t state;		/* enum lazyboot_session_state */
	uint32_t owner;		/* netlink port id, 0 when none */
	uint32_t remaining_ms;	/* orphaned sessions only, else 0 */
	/* Fault stalls, when has_stalls (LAZYBOOT_FEATURE_STALL_STATS). */
	int has_stalls;
	uint64_t stall_count;
	uint64_t stall_total_ns;
	uint64_t stall_max_ns;
	/* [0]: < 2 us; [i]: [2^i, 2^(i+1)) us; the last: longer */
	uint64_t stall_hist[LAZYBOOT_STALL_HIST_BUCKETS];
	/* CLOCK_BOOTTIME ns of each milestone's first report, 0: none */
	uint64_t milestone_times[LAZYBOOT_MILESTONE_COUNT];
};

struct lzb_session_event {
	uint8_t cmd;		/* LAZYBOOT_CMD_SESSION_ORPHANED/KILLED/CLOSED,
				 * LAZYBOOT_CMD_MILESTONE
				 */
	uint32_t id;
	uint32_t pid;		/* in the initial pid namespace; 0 when the
				 * event has none (no
				 * LAZYBOOT_FEATURE_EVENT_PIDS)
				 */
	uint32_t deadline_ms;	/* ORPHANED */
	uint32_t end;		/* CLOSED: enum lazyboot_session_end */
	uint32_t milestone;	/* MILESTONE: enum lazyboot_milestone */
	uint64_t kernel_ts_ns;	/* MILESTONE: CLOCK_BOOTTIME stamp */
	uint64_t user_ts_ns;	/* MILESTONE: the sender's, 0 if none */
};

/* Open a request socket.  -ENOENT when lazyboot.ko is not loaded. */
int lzb_module_open(struct lzb_module **out);
/* Open a socket subscribed to the "events" multicast group. */
int lzb_module_open_events(struct lzb_module **out);
/* Close; sessions owned by this socket become orphaned. */
void lzb_module_close(struct lzb_module *m);
/* The socket's file descriptor (to poll an events socket). */
int lzb_module_fd(const struct lzb_module *m);

/* Hand the task @pid's userfaultfd @uffd to the module; *id gets the id. */
int lzb_session_new(struct lzb_module *m, pid_t pid, int uffd,
		    uint32_t deadline_ms, uint32_t *id);
/* Adopt session @id: returns a new (close-on-exec) fd for its uffd. */
int lzb_session_attach(struct lzb_module *m, uint32_t id);
/* End session @id: the module drops the uffd (copy every page first). */
int lzb_session_close(struct lzb_module *m, uint32_t id);
int lzb_session_get(struct lzb_module *m, uint32_t id,
		    struct lzb_session_info *info);
/*
 * Call @fn for each session; a non-zero return from @fn stops the walk
 * and is returned.  Returns the number of sessions otherwise.
 */
int lzb_session_list(struct lzb_module *m,
		     int (*fn)(const struct lzb_session_info *, void *),
		     void *arg);

/*
 * Report @milestone of session @id (0: of the boot) with the sender's own
 * timestamp @user_ts_ns (0: none); *kernel_ts_ns (if not NULL) gets the
 * module's CLOCK_BOOTTIME stamp.
 */
int lzb_milestone(struct lzb_module *m, uint32_t id, uint32_t milestone,
		  uint64_t user_ts_ns, uint64_t *kernel_ts_ns);

/*
 * Wait up to @timeout_ms (-1: forever) for the next event on an events
 * socket.  -ETIMEDOUT when none came.
 */
int lzb_session_event_recv(struct lzb_module *m, struct lzb_session_event *ev,
			   int timeout_ms);

/* "attached", "orphaned", "killed", "closed" or "unknown". */
const char *lzb_session_state_name(uint32_t state);

#endif
