// SPDX-License-Identifier: LGPL-2.1-or-later
#include "service/stop_post.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pager/restore_record.h"
#include "pager/restore_status.h"
#include "service/daemon_restore.h"
#include "service/unit_query.h"
#include "util/cgroup_procs.h"
#include "util/file_util.h"
#include "util/log.h"

/* Pages still missing: a status that is not final. */
static bool unfinished(const char *workdir)
{
	struct lzb_restore_status st;
	struct lzb_err err;

	return !lzb_status_read(workdir, &st, &err) &&
	       !lzb_status_final(st.state);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* SIGTERM, then SIGKILL to what is left after 5 s. */
static int end_gently(void)
{
	int n = lzb_cgroup_signal_others(SIGTERM);

	lzb_cgroup_signal_others(SIGCONT);
	for (int i = 0; i < 50 && lzb_cgroup_count_others() > 0; i++)
		sleep_ms(100);
	if (lzb_cgroup_count_others() > 0)
		lzb_cgroup_signal_others(SIGKILL);
	return n;
}

int lzbd_stop_post_main(int argc, char **argv)
{
	static struct lzb_record rec;
	char workdir[4200], unit[512], job[32] = "";
	const char *name = argc == 2 ? argv[1] : "";
	struct lzb_err err;
	bool missing, fdstore = false;
	int left, n, ret;

	if (!name[0] || name[0] == '-' || name[0] == '.' || strchr(name, '/')) {
		lzb_log(LZB_LOG_ERR, "lazybootd stop-post: '%s' is not an "
			"instance name (usage: lazybootd stop-post NAME)", name);
		return 2;
	}
	/*
	 * Only as an ExecStopPost= (systemd sets $SERVICE_RESULT there) of
	 * a service: run from a shell, "the others in my cgroup" would be
	 * the shell's session.
	 */
	if (!getenv("SERVICE_RESULT") || !getenv("INVOCATION_ID") ||
	    lzbd_unit_name(unit, sizeof(unit))) {
		lzb_log(LZB_LOG_ERR, "lazybootd stop-post: only for a unit's "
			"ExecStopPost= (no $SERVICE_RESULT, $INVOCATION_ID or "
			"service cgroup here)");
		return 2;
	}
	left = lzb_cgroup_count_others();
	if (left <= 0)
		return 0;
	snprintf(workdir, sizeof(workdir), "%s/%s", LZBD_RUN_DIR, name);
	missing = unfinished(workdir);
	if (missing && !lzb_record_load(workdir, &rec, &err)) {
		fdstore = !strcmp(rec.keeper, "fdstore");
		if (strcmp(rec.keeper, "module") && strcmp(rec.keeper, "holder"))
			rec.keeper[0] = '\0';
	} else {
		rec.keeper[0] = '\0';
	}
	ret = lzbd_unit_job(unit, job, sizeof(job));
	if (ret) {
		/* Not knowing whether a restart follows, end them. */
		lzb_log(LZB_LOG_WARNING, "lazybootd stop-post: cannot ask "
			"systemd about this unit (%s): ending what is left",
			strerror(-ret));
		snprintf(job, sizeof(job), "unknown");
	}
	if (missing && strcmp(job, "stop") && strcmp(job, "unknown")) {
		if (fdstore) {
			n = lzb_cgroup_signal_others(SIGSTOP);
			lzb_log(LZB_LOG_WARNING, "lazybootd stop-post: stopped "
				"%d processes of the unfinished restore (job "
				"queued: %s): the next lazybootd takes their "
				"uffds back from the fd store and lets them go "
				"on, or kills them", n, job[0] ? job : "none");
			lzb_record_free(&rec);
			return 0;
		}
		if (rec.keeper[0]) {
			lzb_log(LZB_LOG_WARNING, "lazybootd stop-post: %d "
				"processes of the unfinished restore left to "
				"the %s (it kills them at its deadline unless "
				"a new lazybootd takes over)", left, rec.keeper);
			lzb_record_free(&rec);
			return 0;
		}
	}
	lzb_record_free(&rec);
	if (missing) {
		n = lzb_cgroup_signal_others(SIGKILL);
		lzb_log(LZB_LOG_WARNING, "lazybootd stop-post: killed %d "
			"processes of the unfinished restore (%s)", n,
			!strcmp(job, "stop") ? "the unit is being stopped" :
			"nothing could resume it");
	} else {
		n = end_gently();
		lzb_log(LZB_LOG_INFO, "lazybootd stop-post: ended %d processes "
			"left in the unit", n);
	}
	return 0;
}
