// SPDX-License-Identifier: LGPL-2.1-or-later
#include "service/daemon_restore.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pager/restore_args.h"
#include "pager/restore_status.h"
#include "service/sd_notify.h"

static const char usage[] =
	"usage: lazybootd restore URL [MIRROR...] (--pubkey FILE | --allow-unsigned)\n"
	"                         [--encrypt-key FILE] [--workdir DIR] [--ready CMD]\n"
	"                         [--criu PATH] [--max-background N]\n"
	"                         [--tftp-blksize N] [--image-id ID]\n"
	"                         [--state-dir DIR] [--allow-downgrade] [--quiet]\n"
	"                         [-- CRIU-RESTORE-OPTION...]\n"
	"\n"
	"The restore of `lazyboot restore` (same options; see its --help) as the\n"
	"main process of a systemd Type=notify service, e.g. lazybootd@NAME.service\n"
	"reading /etc/lazyboot/NAME.conf.  Sends READY=1 once the --ready probe\n"
	"passes (without a probe: once every page is resident) and STATUS= lines\n"
	"with the progress; WORKDIR/status has the details (`lazyboot status`).\n"
	"Then it stays while the restored root process lives and exits as it did\n"
	"(its exit code, or killed by its signal), so systemd keeps the restored\n"
	"tasks for as long as the application runs.  SIGTERM is passed on to the\n"
	"restored root; before every page is resident it stops the restore and\n"
	"kills the restored tasks instead.\n";

struct daemon_restore {
	struct lzb_restore_status last;	/* as last written */
	bool ready_sent;
};

static volatile sig_atomic_t forward_signal;

static void on_forward(int sig)
{
	forward_signal = sig;
}

static void on_status(void *arg, const struct lzb_restore_status *st)
{
	struct daemon_restore *d = arg;
	double pct = st->pages_total ?
		     100.0 * (double)st->pages_resident / st->pages_total : 100;
	bool ready = !strcmp(st->state, "ready") ||
		     !strcmp(st->state, "resident");
	char msg[1024];

	d->last = *st;
	if (!strcmp(st->state, "failed"))
		snprintf(msg, sizeof(msg), "STATUS=failed: %s", st->failure);
	else
		snprintf(msg, sizeof(msg), "%sSTATUS=%s: %.0f%% resident (%llu/%llu "
			 "pages), %.1f MB fetched at %.1f MB/s, %llu faults, "
			 "p99 %llu us",
			 ready && !d->ready_sent ? "READY=1\n" : "", st->state,
			 pct, (unsigned long long)st->pages_resident,
			 (unsigned long long)st->pages_total,
			 st->bytes_fetched / 1e6, st->mb_per_s,
			 (unsigned long long)st->faults,
			 (unsigned long long)st->latency_p99_us);
	d->ready_sent |= ready;
	lzb_sd_notify(msg);
}

/*
 * Wait for the restored root.  It is our child: CRIU's --restore-detached
 * leaves it to the nearest subreaper, and we are one.  Other orphans of
 * the restored tree are reaped on the way.  Returns its wait status, or
 * -1 if it is not our child (then only its end is known, by pidfd).
 */
static int wait_root(int root)
{
	int status, pidfd;
	pid_t pid;

	if (root <= 0) {
		fprintf(stderr, "lazybootd: CRIU named no restored root: "
			"nothing to watch\n");
		return -1;
	}
	for (;;) {
		if (forward_signal) {
			kill(root, forward_signal);
			forward_signal = 0;
		}
		pid = waitpid(-1, &status, 0);
		if (pid == root)
			return status;
		if (pid < 0 && errno == ECHILD)
			break;
	}
	pidfd = (int)syscall(SYS_pidfd_open, root, 0);
	if (pidfd >= 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		while (poll(&p, 1, -1) <= 0 || !(p.revents & POLLIN))
			if (forward_signal) {
				kill(root, forward_signal);
				forward_signal = 0;
			}
		close(pidfd);
	}
	return -1;
}

int lzbd_restore_main(int argc, char **argv)
{
	struct lzb_restore_opts o = { 0 };
	struct daemon_restore d = { 0 };
	struct sigaction sa = { .sa_handler = on_forward };
	struct lzb_restore_report rep;
	struct lzb_err err;
	int ret, status;

	ret = lzb_restore_parse_args(argc, argv, "lazybootd restore", usage, &o);
	if (ret)
		return ret == 1 ? 0 : 2;
	o.on_status = on_status;
	o.status_arg = &d;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		fprintf(stderr, "lazybootd: cannot become a subreaper (%s): the "
			"restored root's exit status will not be known\n",
			strerror(errno));
	if (lzb_restore_run(&o, &rep))
		return 1;
	if (!d.ready_sent)
		lzb_sd_notify("READY=1");

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	status = wait_root(rep.root_pid);
	if (status < 0)
		snprintf(d.last.root_exit, sizeof(d.last.root_exit), "gone");
	else if (WIFEXITED(status))
		snprintf(d.last.root_exit, sizeof(d.last.root_exit), "exit %d",
			 WEXITSTATUS(status));
	else
		snprintf(d.last.root_exit, sizeof(d.last.root_exit),
			 "signal %d", WTERMSIG(status));
	snprintf(d.last.state, sizeof(d.last.state), "done");
	d.last.updated_unix = (uint64_t)time(NULL);
	if (lzb_status_write(o.workdir ? o.workdir : LZB_RESTORE_WORKDIR,
			     &d.last, &err))
		fprintf(stderr, "lazybootd: %s\n", err.msg);
	fprintf(stderr, "lazybootd: restored root %d: %s\n", rep.root_pid,
		d.last.root_exit);
	{
		char msg[128];

		snprintf(msg, sizeof(msg), "STOPPING=1\nSTATUS=done: restored "
			 "root %s", d.last.root_exit);
		lzb_sd_notify(msg);
	}
	if (status < 0)
		return 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	/* Die as it died, so systemd judges the unit as it would the app. */
	signal(WTERMSIG(status), SIG_DFL);
	raise(WTERMSIG(status));
	return 128 + WTERMSIG(status);
}
