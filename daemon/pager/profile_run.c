// SPDX-License-Identifier: LGPL-2.1-or-later
/* One profiling run: a fully lazy local restore, watched (profile_run.h). */
#include "pager/profile_run.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criu/criu_image.h"
#include "util/file_util.h"
#include "criu/criu_lazy_socket.h"
#include "criu/criu_lazy_view.h"
#include "criu/criu_page_source.h"
#include "criu/criu_restore_proc.h"
#include "criu/plugin_link.h"
#include "capture/probe.h"
#include "util/progress_log.h"
#include "engine/uffd_engine.h"

#define PROBE_INTERVAL_MS 100
#define PROBE_TIMEOUT_MS 15000

struct run {
	const struct lzb_profile_run_opts *o;
	struct lzb_profile_run_result *res;
	struct lzb_touches *touches;
	struct lzb_engine *engine;
	struct lzb_lazy_socket *sock;
	struct lzb_plugin_link *plugin;
	size_t plugin_logged;
	uint64_t t0;			/* us */
	pid_t criu, probe, warmup;
	bool criu_ok, restored, ready, warmed;
	uint64_t next_probe, end_us;
	int add_err;
	char probe_err[256];
};

#define say(r, ...) lzb_progress((r)->o->quiet, (r)->t0, __VA_ARGS__)

static void on_fault(void *ctx, int img_pid, uint64_t img_addr)
{
	struct run *r = ctx;

	if (!r->add_err)
		r->add_err = lzb_touches_add(r->touches, (uint32_t)img_pid,
					     img_addr, lzb_clock_us() - r->t0,
					     !r->ready);
}

static int on_task(void *ctx, int img_pid, int pid, int uffd)
{
	struct run *r = ctx;

	(void)pid;
	return lzb_engine_attach(r->engine, img_pid, uffd);
}

static int on_finished(void *ctx)
{
	struct run *r = ctx;

	r->restored = true;
	r->res->restored_us = lzb_clock_us() - r->t0;
	say(r, "restore finished (RSTF)");
	return 0;
}

static const struct lzb_lazy_socket_ops socket_ops = {
	.task = on_task, .finished = on_finished,
};

/*
 * Probes and warm-up run in a child: they block, and the restored
 * services they talk to fault on memory this process must serve meanwhile.
 */
static pid_t run_probes(struct run *r)
{
	pid_t pid = fork();

	if (pid == 0) {
		const struct lzb_appset *a = r->o->appset;
		char err[256] = "";

		if (r->o->probe_dir && chdir(r->o->probe_dir))
			_exit(2);
		for (int i = 0; i < a->nsvc; i++)
			for (int k = 0; k < a->svc[i].nprobes; k++)
				if (lzb_probe_once(&a->svc[i].probes[k],
						   PROBE_TIMEOUT_MS, err,
						   sizeof(err)))
					_exit(1);
		_exit(0);
	}
	return pid;
}

static pid_t run_warmup(struct run *r)
{
	pid_t pid = fork();

	if (pid == 0) {
		const struct lzb_appset *a = r->o->appset;
		int bad = 0;

		if (r->o->probe_dir && chdir(r->o->probe_dir))
			_exit(2);
		for (int i = 0; i < a->nsvc; i++) {
			const struct lzb_argv *w = &a->svc[i].warmup;
			int st;
			pid_t c;

			if (!w->argc)
				continue;
			c = lzb_spawn(w->argv, "/dev/null");
			if (c < 0 || waitpid(c, &st, 0) != c ||
			    !WIFEXITED(st) || WEXITSTATUS(st))
				bad = 1;
		}
		_exit(bad);
	}
	return pid;
}

static void poll_children(struct run *r, struct lzb_err *err)
{
	int st;

	if (lzb_criu_restore_reap(&r->criu, r->o->workdir, &r->res->root_pid,
				  err) > 0) {
		r->criu_ok = true;
		say(r, "criu restore finished: root pid %d", r->res->root_pid);
	}
	if (r->probe > 0 && waitpid(r->probe, &st, WNOHANG) == r->probe) {
		r->probe = 0;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			r->ready = true;
			r->res->ready_us = lzb_clock_us() - r->t0;
			say(r, "ready: every probe passed (%zu faults so far)",
			    r->touches->nr);
			r->warmup = run_warmup(r);
		}
	}
	if (r->warmup > 0 && waitpid(r->warmup, &st, WNOHANG) == r->warmup) {
		r->warmup = 0;
		r->warmed = true;
		r->end_us = lzb_clock_us() + (uint64_t)r->o->warmup_ms * 1000;
		say(r, "warm-up commands done%s; recording %u ms more",
		    WIFEXITED(st) && !WEXITSTATUS(st) ? "" : " (one failed)",
		    r->o->warmup_ms);
	}
	if (!r->ready && !r->probe && r->criu_ok && r->restored &&
	    lzb_clock_us() >= r->next_probe) {
		r->probe = run_probes(r);
		r->next_probe = lzb_clock_us() + PROBE_INTERVAL_MS * 1000;
	}
}

static void poll_plugin(struct run *r, struct lzb_err *err)
{
	const struct lzb_plugin_task *pt;
	size_t n;

	if (lzb_plugin_link_process(r->plugin) && !err->msg[0])
		lzb_errf(err, "the CRIU plugin sent a malformed line");
	n = lzb_plugin_link_tasks(r->plugin, &pt);
	for (; r->plugin_logged < n; r->plugin_logged++)
		say(r, "plugin: image pid %d is pid %d",
		    pt[r->plugin_logged].img_pid, pt[r->plugin_logged].real_pid);
	r->res->plugin_tasks = n;
}

static int serve(struct run *r, struct lzb_err *err)
{
	uint64_t deadline = lzb_clock_us() + (uint64_t)r->o->timeout_s * 1000000;
	int ret;

	while (!err->msg[0] && !(r->warmed && lzb_clock_us() >= r->end_us)) {
		struct pollfd fds[2] = {
			{ .fd = lzb_lazy_socket_fd(r->sock), .events = POLLIN },
			{ .fd = lzb_engine_fd(r->engine), .events = POLLIN },
		};

		if (lzb_clock_us() >= deadline) {
			lzb_errf(err, "not %s after %u s (--timeout)",
				 r->ready ? "done warming up" : r->restored ?
				 "ready" : "restored", r->o->timeout_s);
			break;
		}
		poll(fds, 2, 20);
		if (fds[0].revents) {
			ret = lzb_lazy_socket_process(r->sock, &socket_ops, r);
			if (ret)
				lzb_errf(err, "CRIU's lazy-pages socket: %s",
					 strerror(-ret));
		}
		ret = lzb_engine_run(r->engine, 0);
		if (ret && !err->msg[0])
			lzb_errf(err, "pager stopped: %s", strerror(-ret));
		if (r->add_err && !err->msg[0])
			lzb_errf(err, "recording faults: out of memory");
		poll_plugin(r, err);
		poll_children(r, err);
	}
	return err->msg[0] ? -1 : 0;
}

static void reap(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

/* The restored tree is killed, and its root (our child: we are a
 * subreaper) reaped, so the next run finds its ports and pids free. */
static void end_tree(struct run *r)
{
	const struct lzb_plugin_task *pt = NULL;
	size_t n = r->plugin ? lzb_plugin_link_tasks(r->plugin, &pt) : 0;
	int root = r->res->root_pid ? r->res->root_pid :
		   lzb_criu_restore_root(r->o->workdir);
	int *real = calloc(n + 1, sizeof(int)), killed;

	for (size_t i = 0; real && i < n; i++)
		real[i] = pt[i].real_pid;
	killed = lzb_kill_restored(r->criu, root, real, real ? n : 0);
	free(real);
	if (r->criu > 0)
		waitpid(r->criu, NULL, 0);
	r->criu = 0;
	if (root > 0) {
		for (int i = 0; i < 200; i++) {
			if (waitpid(root, NULL, WNOHANG) == root ||
			    (kill(root, 0) && errno == ESRCH))
				break;
			usleep(50000);
		}
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	say(r, "restored tree killed (%d processes)", killed);
}

int lzb_profile_run(const struct lzb_profile_run_opts *o,
		    struct lzb_touches *touches,
		    struct lzb_profile_run_result *res, struct lzb_err *err)
{
	struct lzb_engine_config config = { 0 };
	struct run r = { .o = o, .res = res, .touches = touches };
	struct lzb_criu_source *src = NULL;
	struct criu_dump dump;
	char view[4200];
	int ret;

	memset(res, 0, sizeof(*res));
	r.t0 = lzb_clock_us();
	if (lzb_mkdir(o->workdir, err))
		return -1;
	if (lzb_path(view, sizeof(view), o->workdir, "images"))
		return lzb_errf(err, "%s: path too long", o->workdir);
	if (criu_dump_open(o->dump_dir, &dump, err))
		return -1;
	if (lzb_criu_lazy_view(&dump, view, err) ||
	    lzb_criu_source_new(&dump, &src, err)) {
		criu_dump_close(&dump);
		return -1;
	}
	res->lazy_pages = lzb_criu_source_lazy_pages(src);
	config.source.request = lzb_criu_source_request;
	config.source.ctx = src;
	config.max_background = 0;	/* faults only: each is a first touch */
	config.on_fault = on_fault;
	config.on_fault_ctx = &r;
	/* Orphans of the restore (its detached root) become our children. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	ret = lzb_engine_new(&config, &r.engine);
	if (!ret)
		ret = lzb_criu_source_add_tasks(src, r.engine);
	if (!ret)
		ret = lzb_lazy_socket_listen(o->workdir, &r.sock);
	if (!ret)
		ret = lzb_plugin_link_listen(o->workdir, &r.plugin);
	if (ret) {
		lzb_errf(err, "cannot set up the pager: %s", strerror(-ret));
	} else {
		struct lzb_criu_restore cr = {
			.criu = o->criu, .images_dir = view,
			.workdir = o->workdir, .plugin_dir = o->plugin_dir,
			.pager_socket = lzb_plugin_link_path(r.plugin),
			.extra = o->criu_args, .nr_extra = o->nr_criu_args,
		};

		say(&r, "criu restore --lazy-pages of %s: %llu lazy pages, "
		    "faults only", o->dump_dir,
		    (unsigned long long)res->lazy_pages);
		r.criu = lzb_criu_restore_start(&cr, err);
		if (r.criu > 0)
			serve(&r, err);
	}
	if (err->msg[0] && lzb_criu_source_error(src)) {
		struct lzb_err first = *err;

		lzb_errf(err, "%s (%s)", first.msg, lzb_criu_source_error(src));
	}
	/* Whatever happened, the tree ran on partial memory: end it. */
	end_tree(&r);
	reap(&r.probe);
	reap(&r.warmup);
	if (r.engine) {
		struct lzb_engine_stats es;

		lzb_engine_get_stats(r.engine, &es);
		res->faults = es.faults;
	}
	lzb_lazy_socket_close(r.sock);
	lzb_plugin_link_close(r.plugin);
	lzb_engine_free(r.engine);
	lzb_criu_source_free(src);
	criu_dump_close(&dump);
	return err->msg[0] ? -1 : 0;
}
