/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * lazyboot: the generic netlink contract between lazyboot.ko and userspace.
 *
 * Kept in step by hand with uapi/lazyboot.yaml (netlink-spec style); the
 * selftest uapi_spec checks that the two agree.
 */
#ifndef _UAPI_LINUX_LAZYBOOT_H
#define _UAPI_LINUX_LAZYBOOT_H

#define LAZYBOOT_FAMILY_NAME		"lazyboot"
#define LAZYBOOT_FAMILY_VERSION		1

#define LAZYBOOT_MCGRP_EVENTS		"events"
#define LAZYBOOT_STALL_HIST_BUCKETS	32
#define LAZYBOOT_MILESTONE_COUNT	8

/**
 * enum lazyboot_feature - bits of LAZYBOOT_A_INFO_FEATURES
 * @LAZYBOOT_FEATURE_SESSIONS: the module holds restore sessions (the
 *	SESSION_* commands and the "events" multicast group)
 * @LAZYBOOT_FEATURE_STALL_STATS: session replies carry the fault-stall
 *	statistics (a kretprobe on handle_userfault() is in place)
 * @LAZYBOOT_FEATURE_MILESTONES: LAZYBOOT_CMD_MILESTONE is understood
 * @LAZYBOOT_FEATURE_EVENT_PIDS: joining the "events" group needs
 *	CAP_SYS_ADMIN (GENL_MCAST_CAP_SYS_ADMIN), so session events carry
 *	LAZYBOOT_A_SESSION_PID (for sessions of network namespaces owned by
 *	the initial user namespace); without it, anyone may join and events
 *	carry no pid
 *
 * Userspace must treat unknown bits as absent features it cannot use.
 */
enum lazyboot_feature {
	LAZYBOOT_FEATURE_SESSIONS = 1,
	LAZYBOOT_FEATURE_STALL_STATS = 2,
	LAZYBOOT_FEATURE_MILESTONES = 4,
	LAZYBOOT_FEATURE_EVENT_PIDS = 8,
};

/**
 * enum lazyboot_session_state - life of a restore session
 * @LAZYBOOT_SESSION_STATE_ATTACHED: a pager's netlink socket owns it
 * @LAZYBOOT_SESSION_STATE_ORPHANED: its owner's socket went away; the
 *	deadline runs, SESSION_ATTACH adopts it
 * @LAZYBOOT_SESSION_STATE_KILLED: the deadline passed; the task group was
 *	sent SIGKILL and the module keeps the uffd until its mm is gone
 * @LAZYBOOT_SESSION_STATE_CLOSED: ended (only in SESSION_CLOSED events)
 */
enum lazyboot_session_state {
	LAZYBOOT_SESSION_STATE_ATTACHED = 1,
	LAZYBOOT_SESSION_STATE_ORPHANED,
	LAZYBOOT_SESSION_STATE_KILLED,
	LAZYBOOT_SESSION_STATE_CLOSED,
};

/**
 * enum lazyboot_session_end - why a session ended (SESSION_CLOSED events)
 * @LAZYBOOT_SESSION_END_CLOSE: a SESSION_CLOSE request
 * @LAZYBOOT_SESSION_END_EXIT: the task's address space went away
 */
enum lazyboot_session_end {
	LAZYBOOT_SESSION_END_CLOSE = 1,
	LAZYBOOT_SESSION_END_EXIT,
};

/**
 * enum lazyboot_info_attrs - attributes of LAZYBOOT_CMD_GET_INFO replies
 * @LAZYBOOT_A_INFO_FAMILY_VERSION: u32, LAZYBOOT_FAMILY_VERSION of the module
 * @LAZYBOOT_A_INFO_MODULE_VERSION: string, the module's release version
 * @LAZYBOOT_A_INFO_KERNEL_RELEASE: string, the running kernel's release
 * @LAZYBOOT_A_INFO_FEATURES: u64, bitmask of supported features
 * @LAZYBOOT_A_INFO_PAD: padding for 64-bit attributes
 */
enum lazyboot_info_attrs {
	LAZYBOOT_A_INFO_UNSPEC,
	LAZYBOOT_A_INFO_FAMILY_VERSION,
	LAZYBOOT_A_INFO_MODULE_VERSION,
	LAZYBOOT_A_INFO_KERNEL_RELEASE,
	LAZYBOOT_A_INFO_FEATURES,
	LAZYBOOT_A_INFO_PAD,

	__LAZYBOOT_A_INFO_MAX,
	LAZYBOOT_A_INFO_MAX = (__LAZYBOOT_A_INFO_MAX - 1)
};

/**
 * enum lazyboot_milestone - steps of a boot, stamped by the module
 * @LAZYBOOT_MILESTONE_RESTORE_STARTED: criu restore started
 * @LAZYBOOT_MILESTONE_TASKS_RESUMED: the restored tasks run
 * @LAZYBOOT_MILESTONE_FIRST_FAULT: the first lazy page was requested
 * @LAZYBOOT_MILESTONE_RESIDENT_50: half of the lazy pages are resident
 * @LAZYBOOT_MILESTONE_RESIDENT_90: 90% of them
 * @LAZYBOOT_MILESTONE_RESIDENT_100: all of them
 * @LAZYBOOT_MILESTONE_READY: the app set answered its readiness probe
 * @LAZYBOOT_MILESTONE_DONE: the pager finished
 */
enum lazyboot_milestone {
	LAZYBOOT_MILESTONE_RESTORE_STARTED,
	LAZYBOOT_MILESTONE_TASKS_RESUMED,
	LAZYBOOT_MILESTONE_FIRST_FAULT,
	LAZYBOOT_MILESTONE_RESIDENT_50,
	LAZYBOOT_MILESTONE_RESIDENT_90,
	LAZYBOOT_MILESTONE_RESIDENT_100,
	LAZYBOOT_MILESTONE_READY,
	LAZYBOOT_MILESTONE_DONE,
};

/**
 * enum lazyboot_session_attrs - attributes of the SESSION_* commands
 * @LAZYBOOT_A_SESSION_ID: u32, session id (never 0)
 * @LAZYBOOT_A_SESSION_PID: u32, thread group id of the restored task, in the
 *	requester's pid namespace
 * @LAZYBOOT_A_SESSION_UFFD: u32, a userfaultfd file descriptor: the
 *	requester's in SESSION_NEW, the one installed in the requester by
 *	SESSION_ATTACH (close-on-exec) in its reply
 * @LAZYBOOT_A_SESSION_DEADLINE_MS: u32, how long an orphaned session waits
 *	for a pager to attach before its task group is killed
 * @LAZYBOOT_A_SESSION_STATE: u32, enum lazyboot_session_state
 * @LAZYBOOT_A_SESSION_OWNER: u32, netlink port id of the owning socket
 *	(0 when orphaned or killed)
 * @LAZYBOOT_A_SESSION_REMAINING_MS: u32, time left before the kill, while
 *	orphaned
 * @LAZYBOOT_A_SESSION_END: u32, enum lazyboot_session_end
 * @LAZYBOOT_A_SESSION_PAD: padding for 64-bit attributes
 * @LAZYBOOT_A_SESSION_STALL_COUNT: u64, completed handle_userfault() calls
 *	of the session's mm (threads blocked on a missing page)
 * @LAZYBOOT_A_SESSION_STALL_TOTAL_NS: u64, their summed duration
 * @LAZYBOOT_A_SESSION_STALL_MAX_NS: u64, the longest one
 * @LAZYBOOT_A_SESSION_STALL_HIST: binary, LAZYBOOT_STALL_HIST_BUCKETS
 *	native-endian __u64 counts: bucket 0 holds stalls under 2 us, bucket
 *	i > 0 those in [2^i, 2^(i+1)) us, the last one everything longer
 * @LAZYBOOT_A_SESSION_MILESTONE: u32, enum lazyboot_milestone
 * @LAZYBOOT_A_SESSION_USER_TS_NS: u64, the sender's own timestamp, opaque
 *	to the module and echoed in the event
 * @LAZYBOOT_A_SESSION_KERNEL_TS_NS: u64, CLOCK_BOOTTIME when the module
 *	received the milestone
 * @LAZYBOOT_A_SESSION_MILESTONE_TIMES: binary, LAZYBOOT_MILESTONE_COUNT
 *	native-endian __u64 CLOCK_BOOTTIME stamps indexed by milestone, the
 *	first report of each; 0 when not reached
 */
enum lazyboot_session_attrs {
	LAZYBOOT_A_SESSION_UNSPEC,
	LAZYBOOT_A_SESSION_ID,
	LAZYBOOT_A_SESSION_PID,
	LAZYBOOT_A_SESSION_UFFD,
	LAZYBOOT_A_SESSION_DEADLINE_MS,
	LAZYBOOT_A_SESSION_STATE,
	LAZYBOOT_A_SESSION_OWNER,
	LAZYBOOT_A_SESSION_REMAINING_MS,
	LAZYBOOT_A_SESSION_END,
	LAZYBOOT_A_SESSION_PAD,
	LAZYBOOT_A_SESSION_STALL_COUNT,
	LAZYBOOT_A_SESSION_STALL_TOTAL_NS,
	LAZYBOOT_A_SESSION_STALL_MAX_NS,
	LAZYBOOT_A_SESSION_STALL_HIST,
	LAZYBOOT_A_SESSION_MILESTONE,
	LAZYBOOT_A_SESSION_USER_TS_NS,
	LAZYBOOT_A_SESSION_KERNEL_TS_NS,
	LAZYBOOT_A_SESSION_MILESTONE_TIMES,

	__LAZYBOOT_A_SESSION_MAX,
	LAZYBOOT_A_SESSION_MAX = (__LAZYBOOT_A_SESSION_MAX - 1)
};

/**
 * enum lazyboot_cmds - generic netlink commands
 *
 * Every command requires CAP_NET_ADMIN in the initial user namespace; all
 * but GET_INFO require CAP_SYS_ADMIN there too (EPERM).  A session is seen,
 * attached, closed or given milestones only from the network namespace
 * that created it (ENOENT elsewhere).
 *
 * @LAZYBOOT_CMD_GET_INFO: do; no request attributes; replies with the
 *	lazyboot_info_attrs.
 * @LAZYBOOT_CMD_SESSION_NEW: do; PID, UFFD, optional DEADLINE_MS; the
 *	caller must be allowed to ptrace-attach to the task (EPERM), hold
 *	UFFD in its own fd table, and name a task and a uffd that have no
 *	session yet (EEXIST); the module takes a reference to the uffd and
 *	the pid, the requesting socket owns the new session; replies like
 *	SESSION_GET
 * @LAZYBOOT_CMD_SESSION_GET: do (ID) and dump; ID, PID, DEADLINE_MS, STATE,
 *	OWNER, REMAINING_MS (orphaned only), the STALL_* statistics (when
 *	LAZYBOOT_FEATURE_STALL_STATS), MILESTONE_TIMES
 * @LAZYBOOT_CMD_SESSION_ATTACH: do; ID; makes the requesting socket the
 *	owner (cancelling the deadline) and replies with ID and UFFD, a new
 *	file descriptor for the held uffd.  An attached session only by its
 *	owner (EBUSY), an orphaned one by a caller that may ptrace its task
 *	(EPERM)
 * @LAZYBOOT_CMD_SESSION_CLOSE: do; ID; the module drops its references;
 *	allowed to the same callers as ATTACH
 * @LAZYBOOT_CMD_SESSION_ORPHANED: event; ID, PID, DEADLINE_MS
 * @LAZYBOOT_CMD_SESSION_KILLED: event; ID, PID
 * @LAZYBOOT_CMD_SESSION_CLOSED: event; ID, PID, END
 * @LAZYBOOT_CMD_MILESTONE: do; MILESTONE, optional ID (a session's
 *	milestone; none: the boot's), optional USER_TS_NS; the module stamps
 *	it, replies with KERNEL_TS_NS and multicasts the same command as an
 *	event: ID (if any), MILESTONE, KERNEL_TS_NS, USER_TS_NS (if any)
 *
 * Session events carry PID only with LAZYBOOT_FEATURE_EVENT_PIDS.
 */
enum lazyboot_cmds {
	LAZYBOOT_CMD_UNSPEC,
	LAZYBOOT_CMD_GET_INFO,
	LAZYBOOT_CMD_SESSION_NEW,
	LAZYBOOT_CMD_SESSION_GET,
	LAZYBOOT_CMD_SESSION_ATTACH,
	LAZYBOOT_CMD_SESSION_CLOSE,
	LAZYBOOT_CMD_SESSION_ORPHANED,
	LAZYBOOT_CMD_SESSION_KILLED,
	LAZYBOOT_CMD_SESSION_CLOSED,
	LAZYBOOT_CMD_MILESTONE,

	__LAZYBOOT_CMD_MAX,
	LAZYBOOT_CMD_MAX = (__LAZYBOOT_CMD_MAX - 1)
};

#endif /* _UAPI_LINUX_LAZYBOOT_H */
