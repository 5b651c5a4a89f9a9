// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lazyboot sessions`: the restore sessions lazyboot.ko holds. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <linux/lazyboot.h>

#include "commands.h"
#include "module_session.h"

static const char usage[] =
	"usage: lazyboot sessions\n"
	"\n"
	"List the restore sessions held by lazyboot.ko: id, task (thread\n"
	"group id), state, the netlink port of the owning pager, the deadline\n"
	"(ms) and, for an orphaned session, the time left before its tasks\n"
	"are killed; then how many times its threads blocked on a missing\n"
	"page, and for how long on average and at most (when the module can\n"
	"tell).  Needs CAP_NET_ADMIN.  Exit status: 0 when listed, 1 when the\n"
	"module is not loaded, 2 when the query failed.\n";

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
