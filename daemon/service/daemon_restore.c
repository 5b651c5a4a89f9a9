// SPDX-License-Identifier: LGPL-2.1-or-later
#include "service/daemon_restore.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pager/restore_args.h"
#include "pager/restore_resume.h"
#include "pager/restore_status.h"
#include "pager/uffd_fdstore.h"
#include "pager/uffd_keeper.h"
#include "service/coldstart.h"
#include "service/config.h"
#include "service/sd_notify.h"
#include "service/unit_query.h"
#include "service/watchdog.h"
#include "util/cgroup_procs.h"
#include "util/log.h"
#include "util/task_limit.h"
#include "util/unix_listen.h"

static const char usage[] =
	"usage: lazybootd restore URL [MIRROR...] (--pubkey FILE | --allow-unsigned)\n"
	"                         [--encrypt-key FILE] [--image-id HEX]\n"
	"                         [--workdir DIR] [--ready CMD]\n"
	"                         [--criu PATH] [--max-background N] [--no-stream]\n"
	"                         [--stream-yield bound|hold|off]\n"
	"                         [--tftp-blksize N] [--image-id ID]\n"
	"                         [--state-dir DIR] [--allow-downgrade] [--quiet]\n"
	"                         [--fetch-user USER] [--no-fetch-sandbox]\n"
	"                         [--fallback coldstart|fail] [--coldstart CMD]\n"
	"                         [-- CRIU-RESTORE-OPTION...]\n"
	"       lazybootd restore --config FILE [--dry-run] [options]\n"
	"       lazybootd restore --resume WORKDIR [--config FILE] [--ready CMD]\n"
	"\n"
	"The restore of `lazyboot restore` (same options; see its --help) as the\n"
	"main process of a systemd Type=notify service, e.g. lazybootd@NAME.service\n"
	"running `lazybootd run NAME`.\n"
	"\n"
	"  --config FILE  read the restore's settings from FILE (lazybootd.conf(5));\n"
	"                 a mistake in it stops lazybootd before anything starts,\n"
	"                 naming FILE:LINE; URLs and options given here as well\n"
	"                 take the place of the file's\n"
	"  --dry-run      print the settings the restore would run with, as\n"
	"                 lazybootd.conf(5) keys, and exit\n"
	"  --resume WORKDIR  finish the restore in WORKDIR whose pager died, as\n"
	"                 `lazyboot restore --resume` does (image and keys as on\n"
	"                 record); if it cannot take over, the dead pager's tasks\n"
	"                 are left to their keeper's deadline and no cold start\n"
	"                 runs: lazybootd exits 1\n"
	"\n"
	"Sends READY=1 once the --ready probe\n"
	"passes (without a probe: once every page is resident) and STATUS= lines\n"
	"with the progress; WORKDIR/status has the details (`lazyboot status`).\n"
	"Then it stays while the restored root process lives and exits as it did\n"
	"(its exit code, or killed by its signal), so systemd keeps the restored\n"
	"tasks for as long as the application runs.  SIGTERM is passed on to the\n"
	"restored root; before every page is resident it stops the restore and\n"
	"kills the restored tasks instead.\n"
	"\n"
	"  --coldstart CMD  the app's ordinary start (sh -c CMD), run instead\n"
	"                   when the restore cannot start or finish, once the\n"
	"                   restored tasks are gone: READY=1 after the --ready\n"
	"                   probe passes, with STATUS=degraded: cold start\n"
	"                   because <the restore's error>; then lazybootd stays\n"
	"                   while it lives and exits as it did\n"
	"  --fallback coldstart|fail  what a failed restore does (default:\n"
	"                   coldstart when --coldstart is given, else fail:\n"
	"                   exit 1, the unit fails)\n";

struct daemon_restore {
	struct lzb_restore_status last;	/* as last written */
	bool ready_sent;
};

static volatile sig_atomic_t forward_signal;
/* A resume kept in the fd store failed, and its tasks were ended. */
static bool resume_abandoned;
/* Run by systemd as a service: the cgroup is the unit's own. */
static bool under_unit;

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

static void on_child(int sig)
{
	(void)sig;	/* only to wake the wait (ppoll) */
}

static void pass_on(int root)
{
	if (forward_signal) {
		kill(root, forward_signal);
		forward_signal = 0;
	}
}

/*
 * Sleep until a signal comes (OLD: the mask to wait with), or until the
 * watchdog's next ping is due; then ping if due.  POLL: a pidfd to wait
 * on as well (NULL: none); >0 when it became readable.
 */
static int wait_a_while(struct pollfd *poll_fd, const sigset_t *old)
{
	int ms = lzbd_watchdog_wait_ms(), ret;
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000 };

	ret = ppoll(poll_fd, poll_fd ? 1 : 0, ms < 0 ? NULL : &ts, old);
	lzbd_watchdog_ping();
	return ret;
}

/*
 * Wait for the restored root.  It is our child: CRIU's --restore-detached
 * leaves it to the nearest subreaper, and we are one.  Other orphans of
 * the restored tree are reaped on the way.  Returns its wait status, or
 * -1 if it is not our child (then only its end is known, by pidfd).
 */
static int wait_root(int root)
{
	struct sigaction sa = { .sa_handler = on_child,
				.sa_flags = SA_NOCLDSTOP };
	sigset_t block, old;
	int status = -1, pidfd;
	pid_t pid;

	if (root <= 0) {
		lzb_log(LZB_LOG_WARNING, "lazybootd: CRIU named no restored root: "
			"nothing to watch");
		return -1;
	}
	/*
	 * The signals stay blocked but while ppoll() waits, so one that
	 * comes between the check and the wait is not missed.
	 */
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &old);
	for (;;) {
		pass_on(root);
		pid = waitpid(-1, &status, WNOHANG);
		if (pid == root)
			goto out;
		if (pid > 0)
			continue;
		if (pid < 0 && errno == ECHILD)
			break;
		wait_a_while(NULL, &old);
	}
	status = -1;
	pidfd = (int)syscall(SYS_pidfd_open, root, 0);
	if (pidfd >= 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		for (;;) {
			pass_on(root);
			if (wait_a_while(&p, &old) > 0 &&
			    (p.revents & POLLIN))
				break;
		}
		close(pidfd);
	}
out:
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}

static void write_status(const struct lzb_restore_opts *o,
			 const struct lzb_restore_status *st)
{
	struct lzb_err err;

	if (lzb_status_write(o->workdir ? o->workdir : LZB_RESTORE_WORKDIR,
			     st, &err))
		fprintf(stderr, "lazybootd: %s\n", err.msg);
}

/*
 * The restore failed: run the cold-start command instead if the policy
 * says so and nothing restored runs on.  Returns its pid, or 0 when the
 * unit is to fail (exit 1).  Signals are passed on from here.
 */
static pid_t fall_back(const struct lzb_restore_opts *o,
		       struct daemon_restore *d,
		       const struct lzb_restore_report *rep)
{
	struct sigaction sa = { .sa_handler = on_forward };
	char cause[sizeof(d->last.failure)], msg[sizeof(cause) + 64];
	pid_t app;

	/* Told to stop (systemctl stop): not a failure to make up for. */
	if (!lzbd_coldstart_wanted(o) || rep->stop_signal)
		return 0;
	snprintf(cause, sizeof(cause), "%s", d->last.failure[0] ?
		 d->last.failure : "the restore failed");
	if (lzbd_coldstart_tree_gone(rep)) {
		fprintf(stderr, "lazybootd: no cold start: restored tasks were "
			"left running after the failure (%s)\n", cause);
		return 0;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	fprintf(stderr, "lazybootd: cold start because %s\n", cause);
	snprintf(d->last.state, sizeof(d->last.state), "coldstart");
	snprintf(d->last.failure, sizeof(d->last.failure), "%s", cause);
	d->last.pager_pid = getpid();
	d->last.pager_start = lzb_proc_start_time(d->last.pager_pid);
	snprintf(d->last.guarantee, sizeof(d->last.guarantee), "none "
		 "needed: the app was cold-started, nothing was restored");
	d->last.root_pid = 0;
	d->last.root_exit[0] = '\0';
	app = lzbd_coldstart_spawn(o->coldstart_cmd);
	if (app < 0) {
		fprintf(stderr, "lazybootd: cannot start the cold start: %s\n",
			strerror(errno));
		return 0;
	}
	d->last.root_pid = app;
	d->last.updated_unix = (uint64_t)time(NULL);
	write_status(o, &d->last);
	snprintf(msg, sizeof(msg), "STATUS=coldstart: starting because %s",
		 cause);
	lzb_sd_notify(msg);
	if (o->ready_cmd &&
	    !lzbd_coldstart_wait_ready(app, o->ready_cmd, o->workdir ?
				       o->workdir : LZB_RESTORE_WORKDIR,
				       &forward_signal))
		return app;	/* ended before it was ready: no READY=1 */
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=degraded: cold start "
		 "because %s", cause);
	lzb_sd_notify(msg);
	d->ready_sent = true;
	return app;
}

/*
 * Take --config FILE and --dry-run out of argv (before any --), leaving
 * the rest to lzb_restore_parse_args.  Returns -1 on bad usage.
 */
static int take_own_options(int *argc, char **argv, const char **config,
			    bool *dry_run)
{
	int in = 1, out = 1;

	for (; in < *argc && strcmp(argv[in], "--"); in++) {
		if (!strcmp(argv[in], "--dry-run")) {
			*dry_run = true;
		} else if (!strcmp(argv[in], "--config")) {
			if (++in == *argc) {
				lzb_log(LZB_LOG_ERR, "lazybootd restore: "
					"--config needs a file");
				return -1;
			}
			*config = argv[in];
		} else if (!strncmp(argv[in], "--config=", 9)) {
			*config = argv[in] + 9;
		} else {
			argv[out++] = argv[in];
		}
	}
	while (in < *argc)
		argv[out++] = argv[in++];
	argv[out] = NULL;
	*argc = out;
	return 0;
}

static void print_words(const char *key, const char *const *words, size_t n)
{
	if (!n)
		return;
	printf("%s =", key);
	for (size_t i = 0; i < n; i++)
		printf(" %s", words[i]);
	putchar('\n');
}

static void print_string(const char *key, const char *v)
{
	if (v)
		printf("%s = %s\n", key, v);
}

/* --dry-run: the restore's settings, as lazybootd.conf(5) keys. */
static void print_settings(const struct lzb_restore_opts *o,
			   const struct lzbd_config *c)
{
	static const char *const levels[] = {
		[LZB_LOG_ERR] = "error", [LZB_LOG_WARNING] = "warning",
		[LZB_LOG_INFO] = "info",
	};

	print_words("mirrors", o->mirrors, o->nr_mirrors);
	print_string("pubkey", o->pubkey);
	printf("allow-unsigned = %s\n", o->allow_unsigned ? "yes" : "no");
	print_string("encrypt-key", o->encrypt_key);
	print_string("image-id", o->image_id);
	print_string("ready", o->ready_cmd);
	printf("takeover-deadline = %ums\n",
	       o->deadline_ms ? o->deadline_ms : 30000);
	printf("max-background = %u\n",
	       o->max_background ? o->max_background : 4);
	printf("tftp-blksize = %u\n", o->tftp_blksize ? o->tftp_blksize : 1468);
	printf("fallback = %s\n",
	       lzbd_coldstart_wanted(o) ? "coldstart" : "fail");
	print_string("coldstart", o->coldstart_cmd);
	printf("log-level = %s\n", levels[c->log_level]);
	printf("criu = %s\n", o->criu ? o->criu : "criu");
	print_string("plugin-dir", o->plugin_dir);
	print_words("criu-options", (const char *const *)o->criu_args,
		    o->nr_criu_args);
	printf("fetch-sandbox = %s\n", o->no_fetch_sandbox ? "no" : "yes");
	printf("stream = %s\n", o->no_stream ? "no" : "yes");
	printf("stream-yield = %s\n", lzb_stream_yield_names[o->stream_yield]);
	print_string("fetch-user", o->fetch_user);
	printf("# workdir %s\n", o->workdir ? o->workdir : LZB_RESTORE_WORKDIR);
}

/*
 * --resume, but WORKDIR's record cannot be read (or is marked
 * unresumable): said as a failed restore, with no cold start, as the dead
 * pager's tasks may still run until their keeper's deadline.
 */
static int resume_refused(const struct lzb_restore_opts *o,
			  const struct lzb_err *err)
{
	struct lzb_restore_status st = { .pager_pid = getpid() };
	char msg[sizeof(st.failure) + 16];

	lzb_log(LZB_LOG_ERR, "lazybootd: cannot resume: %s", err->msg);
	snprintf(st.state, sizeof(st.state), "failed");
	snprintf(st.failure, sizeof(st.failure), "cannot resume: %.480s",
		 err->msg);
	snprintf(st.guarantee, sizeof(st.guarantee), "%s",
		 LZB_GUARANTEE_PAGER_ONLY);
	st.pager_start = lzb_proc_start_time(st.pager_pid);
	st.started_unix = st.updated_unix = (uint64_t)time(NULL);
	write_status(o, &st);
	snprintf(msg, sizeof(msg), "STATUS=failed: %s", st.failure);
	lzb_sd_notify(msg);
	return 1;
}

/*
 * Once per process: the fds systemd started us with (its fd store handed
 * back), and whether the unit's store can keep a restore's uffds: only
 * under systemd, and only if it holds LZB_TASK_LIMIT of them (a store
 * that refused some would lose those tasks' uffds when lazybootd dies).
 */
static void fdstore_setup(void)
{
	static struct lzb_listen_fd fds[LZB_TASK_LIMIT];
	static bool done;
	struct lzb_err err;
	char unit[512];
	bool usable = false;
	long max;
	int n;

	if (done)
		return;
	done = true;
	n = lzb_listen_take(fds, LZB_TASK_LIMIT, &err);
	if (n < 0)
		lzb_log(LZB_LOG_WARNING, "lazybootd: the fds systemd passed "
			"are not used: %s", err.msg);
	/* A service's process systemd started (not a shell's). */
	under_unit = getenv("NOTIFY_SOCKET") && getenv("INVOCATION_ID") &&
		     !lzbd_unit_name(unit, sizeof(unit));
	if (under_unit) {
		max = lzbd_unit_fdstore_max(unit);
		usable = max >= (long)LZB_TASK_LIMIT;
		if (!usable && max > 0)
			lzb_log(LZB_LOG_WARNING, "lazybootd: %s keeps %ld fds "
				"(FileDescriptorStoreMax=), not the %u a "
				"restore may need: its fd store keeps no uffd",
				unit, max, LZB_TASK_LIMIT);
	}
	lzb_fdstore_offer(usable, fds, n > 0 ? (unsigned int)n : 0);
}

/*
 * Stopped mid-restore: leave the tasks in the fd store only when systemd
 * restarts the unit (`systemctl restart`), so the next lazybootd resumes
 * them; the unit's stop-post stops them meanwhile.  A plain stop, or a
 * question systemd does not answer, kills them as before.
 */
static bool restart_queued(const char *keeper)
{
	char unit[512], job[32];

	if (strcmp(keeper, "fdstore") || lzbd_unit_name(unit, sizeof(unit)) ||
	    lzbd_unit_job(unit, job, sizeof(job)) || strcmp(job, "restart"))
		return false;
	lzb_log(LZB_LOG_WARNING, "lazybootd: %s is being restarted: the "
		"restore is left in the fd store for the next lazybootd to "
		"resume", unit);
	return true;
}

/*
 * A resume of a restore kept in the fd store failed: nothing else keeps
 * its tasks' uffds or would end them, so they are ended here, every other
 * process of the unit (they were stopped by stop-post, or wait on pages
 * nobody serves).
 */
static void abandon_resume(const char *why, const struct lzb_record *rec)
{
	struct timespec tick = { .tv_nsec = 50 * 1000 * 1000 };
	bool left = true;
	int n = 0;

	/*
	 * Under the unit everything else in its cgroup is the restore's;
	 * run by hand, only the tasks on record that are still the very
	 * processes restored (start time) are.
	 */
	if (under_unit) {
		n = lzb_cgroup_signal_others(SIGKILL);
	} else {
		for (unsigned int t = 0; rec && t < rec->nr_tasks; t++) {
			int pidfd = lzb_record_task_pidfd(&rec->tasks[t]);

			if (pidfd < 0)
				continue;
			n += !lzb_pidfd_kill(pidfd, SIGKILL);
			close(pidfd);
		}
	}
	lzb_log(LZB_LOG_ERR, "lazybootd: killed %d processes of the restore "
		"that cannot be resumed (%s)", n > 0 ? n : 0, why);
	resume_abandoned = true;
	/* Gone, pids too, before a new restore wants them (10 s at most). */
	for (int i = 0; i < 200 && left; i++) {
		left = under_unit && lzb_cgroup_count_others() > 0;
		for (unsigned int t = 0; !left && rec && t < rec->nr_tasks; t++)
			left = rec->tasks[t].pid > 0 &&
			       !kill(rec->tasks[t].pid, 0);
		if (left)
			nanosleep(&tick, NULL);
	}
}

int lzbd_restore_main(int argc, char **argv)
{
	struct lzb_restore_opts o = { 0 };
	struct daemon_restore d = { 0 };
	struct sigaction sa = { .sa_handler = on_forward };
	struct lzbd_config cfg = { .log_level = LZB_LOG_INFO };
	static struct lzb_record rec;
	struct lzb_restore_report rep;
	bool cold = false;
	const char *config = NULL;
	bool dry_run = false;
	struct lzb_err err;
	bool fdstore_resume;
	int ret, status;

	resume_abandoned = false;
	if (take_own_options(&argc, argv, &config, &dry_run))
		return 2;
	if (config) {
		if (lzbd_config_load(config, &cfg, &err)) {
			char msg[600];

			lzb_log(LZB_LOG_ERR, "lazybootd: %s", err.msg);
			snprintf(msg, sizeof(msg), "STATUS=failed: %s", err.msg);
			lzb_sd_notify(msg);
			return 2;
		}
		lzbd_config_apply(&cfg, &o);
		lzb_log_set_level(cfg.log_level);
	}
	ret = lzb_restore_parse_args(argc, argv, "lazybootd restore", usage, &o);
	if (ret)
		return ret == 1 ? 0 : 2;
	if (dry_run) {
		print_settings(&o, &cfg);
		return 0;
	}
	lzbd_watchdog_init();
	fdstore_setup();
	fdstore_resume = o.resume && lzb_fdstore_offered() > 0;
	if (o.resume && lzb_resume_opts(&o, &rec, &err)) {
		if (fdstore_resume)
			abandon_resume(err.msg, NULL);
		lzb_fdstore_drop_unused();
		return resume_refused(&o, &err);
	}
	fdstore_resume |= o.resume && !strcmp(rec.keeper, "fdstore");
	if (!o.resume)	/* a new restore: what an old one stored goes */
		lzb_fdstore_drop_unused();
	o.on_status = on_status;
	o.status_arg = &d;
	o.on_loop = lzbd_watchdog_ping;
	o.leave_on_stop = restart_queued;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		lzb_log(LZB_LOG_WARNING, "lazybootd: cannot become a subreaper (%s): the "
			"restored root's exit status will not be known",
			strerror(errno));
	ret = lzb_restore_run(&o, &rep);
	if (ret && fdstore_resume && !rep.left_to_keeper)
		abandon_resume(d.last.failure[0] ? d.last.failure :
			       "the resume failed", &rec);
	lzb_record_free(&rec);
	if (ret) {
		rep.root_pid = fall_back(&o, &d, &rep);
		if (!rep.root_pid)
			return 1;
		cold = true;
	}
	if (!d.ready_sent && !cold)
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
	/* A cold start stays "coldstart": the restore did not happen. */
	if (!cold)
		snprintf(d.last.state, sizeof(d.last.state), "done");
	d.last.updated_unix = (uint64_t)time(NULL);
	write_status(&o, &d.last);
	lzb_log(status == 0 ? LZB_LOG_INFO : LZB_LOG_WARNING,
		"lazybootd: %s %d: %s", cold ? "cold-started app" :
		"restored root", rep.root_pid, d.last.root_exit);
	{
		char msg[128];

		snprintf(msg, sizeof(msg), "STOPPING=1\nSTATUS=done: %s %s",
			 cold ? "cold-started app" : "restored root",
			 d.last.root_exit);
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

int lzbd_run_main(int argc, char **argv)
{
	static char config[4200], workdir[4200];
	const char *name = argc >= 2 ? argv[1] : "";
	const char *why;
	char **args;
	bool resume;
	int ret;

	if (!name[0] || name[0] == '-' || name[0] == '.' || strchr(name, '/')) {
		lzb_log(LZB_LOG_ERR, "lazybootd run: '%s' is not an instance "
			"name (usage: lazybootd run NAME [options]; NAME.conf "
			"in %s)", name, LZBD_CONFIG_DIR);
		return 2;
	}
	snprintf(config, sizeof(config), "%s/%s.conf", LZBD_CONFIG_DIR, name);
	snprintf(workdir, sizeof(workdir), "%s/%s", LZBD_RUN_DIR, name);
	/*
	 * restore --config FILE --workdir DIR, or --resume DIR when an
	 * earlier lazybootd died mid-restore and its tasks live on; then
	 * the caller's options.
	 */
	resume = lzb_resume_wanted(workdir, &why);
	if (resume)
		lzb_log(LZB_LOG_WARNING, "lazybootd: resuming the restore in "
			"%s: %s", workdir, why);
	else if (strcmp(why, "no status of an earlier restore"))
		lzb_log(LZB_LOG_INFO, "lazybootd: a new restore in %s: %s",
			workdir, why);
	args = calloc((size_t)argc + 5, sizeof(*args));
	if (!args)
		return 1;
	args[0] = "restore";
	args[1] = "--config";
	args[2] = config;
	args[3] = resume ? "--resume" : "--workdir";
	args[4] = workdir;
	for (int i = 2; i < argc; i++)
		args[i + 3] = argv[i];
	ret = lzbd_restore_main(argc + 3, args);
	/*
	 * The fd store's restore could not be resumed and its tasks are
	 * dead: restore anew, as a start after them would.
	 */
	if (ret && resume && resume_abandoned) {
		lzb_log(LZB_LOG_WARNING, "lazybootd: a new restore in %s",
			workdir);
		args[0] = "restore";
		args[1] = "--config";
		args[2] = config;
		args[3] = "--workdir";
		args[4] = workdir;
		for (int i = 2; i < argc; i++)
			args[i + 3] = argv[i];
		args[argc + 3] = NULL;
		ret = lzbd_restore_main(argc + 3, args);
	}
	free(args);
	return ret;
}
