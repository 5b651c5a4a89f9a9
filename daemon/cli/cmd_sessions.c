// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lazyboot sessions`: the restore sessions lazyboot.ko holds. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/lazyboot.h>

#include "cli/commands.h"
#include "pager/module_session.h"

static const char usage[] =
	"usage: lazyboot sessions [--events MS]\n"
	"\n"
	"List the restore sessions held by lazyboot.ko: id, task (thread\n"
	"group id), state, the netlink port of the owning pager, the deadline\n"
	"(ms) and, for an orphaned session, the time left before its tasks\n"
	"are killed; then how many times its threads blocked on a missing\n"
	"page, and for how long on average and at most (when the module can\n"
	"tell).  Needs CAP_SYS_ADMIN (root), and lists the sessions of its\n"
	"own network namespace only.  Exit status: 0 when listed, 1 when the\n"
	"module is not loaded, 2 when the query failed.\n"
	"\n"
	"--events MS prints instead the module's events for MS milliseconds,\n"
	"one a line: orphaned, killed, closed (with why) and milestones; the\n"
	"task's pid, or - where the kernel cannot keep listeners without\n"
	"CAP_SYS_ADMIN out (LAZYBOOT_FEATURE_EVENT_PIDS clear).\n";

static const char *event_name(uint8_t cmd)
{
	switch (cmd) {
	case LAZYBOOT_CMD_SESSION_ORPHANED: return "orphaned";
	case LAZYBOOT_CMD_SESSION_KILLED: return "killed";
	case LAZYBOOT_CMD_SESSION_CLOSED: return "closed";
	case LAZYBOOT_CMD_MILESTONE: return "milestone";
	}
	return "unknown";
}

static int watch_events(long ms)
{
	struct lzb_session_event ev;
	struct lzb_module *m;
	int n = lzb_module_open_events(&m);

	if (n) {
		fprintf(stderr, "lazyboot: listening to lazyboot.ko's events: "
			"%s\n", strerror(-n));
		return n == -ENOENT ? 1 : 2;
	}
	/* Each wait restarts the clock: enough for a test's bounded watch. */
	while ((n = lzb_session_event_recv(m, &ev, (int)ms)) == 0) {
		printf("event %s id %" PRIu32, event_name(ev.cmd), ev.id);
		if (ev.pid)
			printf(" pid %" PRIu32, ev.pid);
		else if (ev.cmd != LAZYBOOT_CMD_MILESTONE)
			printf(" pid -");
		if (ev.cmd == LAZYBOOT_CMD_SESSION_CLOSED)
			printf(" end %s", ev.end == LAZYBOOT_SESSION_END_EXIT ?
			       "exit" : "close");
		if (ev.cmd == LAZYBOOT_CMD_MILESTONE)
			printf(" milestone %" PRIu32, ev.milestone);
		printf("\n");
		fflush(stdout);
	}
	lzb_module_close(m);
	return n == -ETIMEDOUT ? 0 : 2;
}

static int print_session(const struct lzb_session_info *s, void *arg)
{
	(void)arg;
	printf("%-8" PRIu32 " %-8" PRIu32 " %-9s %-10" PRIu32 " %-10" PRIu32,
	       s->id, s->pid, lzb_session_state_name(s->state), s->owner,
	       s->deadline_ms);
	if (s->state == LAZYBOOT_SESSION_STATE_ORPHANED)
		printf(" %-8" PRIu32, s->remaining_ms);
	else
		printf(" %-8s", "-");
	if (s->has_stalls)
		printf(" %-8" PRIu64 " %" PRIu64 "/%" PRIu64, s->stall_count,
		       s->stall_count ? s->stall_total_ns / s->stall_count / 1000 :
		       0, s->stall_max_ns / 1000);
	else
		printf(" -");
	printf("\n");
	return 0;
}

int cmd_sessions(int argc, char **argv)
{
	struct lzb_module *m;
	int n;

	if (argc == 3 && !strcmp(argv[1], "--events"))
		return watch_events(strtol(argv[2], NULL, 10));
	if (argc > 1) {
		int help = argc == 2 && !strcmp(argv[1], "--help");

		fputs(usage, help ? stdout : stderr);
		return help ? 0 : 2;
	}
	n = lzb_module_open(&m);
	if (n == -ENOENT) {
		printf("lazyboot.ko: not loaded\n");
		return 1;
	}
	if (n) {
		fprintf(stderr, "lazyboot: opening lazyboot.ko's family: %s\n",
			strerror(-n));
		return 2;
	}
	printf("%-8s %-8s %-9s %-10s %-10s %-8s %-8s %s\n", "ID", "PID",
	       "STATE", "OWNER", "DEADLINE", "LEFT(ms)", "STALLS",
	       "AVG/MAX(us)");
	n = lzb_session_list(m, print_session, NULL);
	lzb_module_close(m);
	if (n < 0) {
		fprintf(stderr, "lazyboot: listing sessions failed: %s\n",
			strerror(-n));
		return 2;
	}
	return 0;
}
