// SPDX-License-Identifier: LGPL-2.1-or-later
/* One profiling run: a fully lazy local restore, watched (profile_run.h). */
#include "pager/profile_run.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/probe.h"
#include "criu/criu_image.h"
#include "criu/criu_lazy_view.h"
#include "criu/criu_page_source.h"
#include "criu/criu_restore_proc.h"
#include "pager/pager.h"
#include "util/clock.h"
#include "util/file_util.h"
#include "util/unix_listen.h"
#include "util/progress_log.h"

#define PROBE_INTERVAL_MS 100
#define PROBE_TIMEOUT_MS 15000

struct run {
	const struct lzb_profile_run_opts *o;
	struct lzb_profile_run_result *res;
	struct lzb_touches *touches;
	struct lzb_pager *pager;
	const struct lzb_pager_state *ps;
	uint64_t t0;			/* us */
	pid_t probe, warmup;
	bool ready, warmed;
	uint64_t next_probe, end_us, deadline_us;
	int add_err;
	char probe_err[256];
};

#define say(r, ...) lzb_progress((r)->o->quiet, (r)->t0, __VA_ARGS__)

static void on_fault(void *ctx, int img_pid, uint64_t img_addr)
{
	struct run *r = ctx;

	if (!r->add_err)
		r->add_err = lzb_touches_add(r->touches, (uint32_t)img_pid,
					     img_addr, lzb_now_us() - r->t0,
					     !r->ready);
}

static void on_restored(void *ctx)
{
	struct run *r = ctx;

	r->res->restored_us = lzb_now_us() - r->t0;
	say(r, "restore finished (RSTF)");
}

/*
 * Probes and warm-up run in a child: they block, and the restored
 * services they talk to fault on memory this process must serve meanwhile.
 */
static pid_t run_probes(struct run *r)
{
	pid_t pid = fork();

	if (pid == 0) {
		const struct lzb_appset *a = r->o->appset;
		struct lzb_err err;

		if (r->o->probe_dir && chdir(r->o->probe_dir))
			_exit(2);
		for (int i = 0; i < a->nsvc; i++)
			for (int k = 0; k < a->svc[i].nprobes; k++)
				if (lzb_probe_once(&a->svc[i].probes[k],
						   PROBE_TIMEOUT_MS, &err))
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

static void poll_children(struct run *r)
{
	int st;

	if (r->probe > 0 && waitpid(r->probe, &st, WNOHANG) == r->probe) {
		r->probe = 0;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			r->ready = true;
			r->res->ready_us = lzb_now_us() - r->t0;
			say(r, "ready: every probe passed (%zu faults so far)",
			    r->touches->nr);
			r->warmup = run_warmup(r);
		}
	}
	if (r->warmup > 0 && waitpid(r->warmup, &st, WNOHANG) == r->warmup) {
		r->warmup = 0;
		r->warmed = true;
		r->end_us = lzb_now_us() + (uint64_t)r->o->warmup_ms * 1000;
		say(r, "warm-up commands done%s; recording %u ms more",
		    WIFEXITED(st) && !WEXITSTATUS(st) ? "" : " (one failed)",
		    r->o->warmup_ms);
	}
	if (!r->ready && !r->probe && r->ps->criu_done && r->ps->restored &&
	    lzb_now_us() >= r->next_probe) {
		r->probe = run_probes(r);
		r->next_probe = lzb_now_us() + PROBE_INTERVAL_MS * 1000;
	}
}

static void tick(void *ctx, struct lzb_err *err)
{
	struct run *r = ctx;

	if (r->add_err && !err->msg[0])
		lzb_errf(err, "recording faults: out of memory");
	poll_children(r);
	if (lzb_now_us() >= r->deadline_us && !err->msg[0])
		lzb_errf(err, "not %s after %u s (--timeout)",
			 r->ready ? "done warming up" : r->ps->restored ?
			 "ready" : "restored", r->o->timeout_s);
}

static bool finished(void *ctx)
{
	const struct run *r = ctx;

	return r->warmed && lzb_now_us() >= r->end_us;
}

static const char *source_error(void *ctx)
{
	return lzb_criu_source_error(ctx);
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
	int killed = lzb_pager_kill_tree(r->pager);

	reap(&r->probe);
	reap(&r->warmup);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	say(r, "restored tree killed (%d processes)", killed);
}

/* The pager over the dump's pages, faults only, its tasks declared. */
static int start_pager(struct run *r, struct lzb_criu_source *src,
		       struct lzb_err *err)
{
	const struct lzb_pager_config pc = {
		.workdir = r->o->workdir,
		.source = { .request = lzb_criu_source_request, .ctx = src },
		.source_error = source_error,
		.on_fault = on_fault, .on_fault_ctx = r,
		.max_background = 0,	/* faults only: each a first touch */
		.hooks = { .ctx = r, .on_restored = on_restored, .tick = tick,
			   .done = finished },
		.t0_us = r->t0, .quiet = r->o->quiet,
	};
	int ret;

	if (lzb_pager_new(&pc, &r->pager, err))
		return -1;
	r->ps = lzb_pager_state(r->pager);
	ret = lzb_criu_source_add_tasks(src, lzb_pager_engine(r->pager));
	if (ret)
		return lzb_errf(err, "cannot set up the pager: %s",
				strerror(-ret));
	return 0;
}

int lzb_profile_run(const struct lzb_profile_run_opts *o,
		    struct lzb_touches *touches,
		    struct lzb_profile_run_result *res, struct lzb_err *err)
{
	struct run r = { .o = o, .res = res, .touches = touches };
	struct lzb_criu_source *src = NULL;
	struct lzb_criu_dump dump;
	char view[4200];

	memset(res, 0, sizeof(*res));
	r.t0 = lzb_now_us();
	if (lzb_private_dir(o->workdir, err))
		return -1;
	if (lzb_path(view, sizeof(view), o->workdir, "images"))
		return lzb_errf(err, "%s: path too long", o->workdir);
	if (lzb_criu_dump_open(o->dump_dir, &dump, err))
		return -1;
	if (lzb_criu_lazy_view(&dump, view, err) ||
	    lzb_criu_source_new(&dump, &src, err)) {
		lzb_criu_dump_close(&dump);
		return -1;
	}
	res->lazy_pages = lzb_criu_source_lazy_pages(src);
	/* Orphans of the restore (its detached root) become our children. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (!start_pager(&r, src, err)) {
		const struct lzb_criu_restore cr = {
			.criu = o->criu, .images_dir = view,
			.plugin_dir = o->plugin_dir,
			.extra = o->criu_args, .nr_extra = o->nr_criu_args,
		};

		say(&r, "criu restore --lazy-pages of %s: %llu lazy pages, "
		    "faults only", o->dump_dir,
		    (unsigned long long)res->lazy_pages);
		r.deadline_us = lzb_now_us() +
				(uint64_t)o->timeout_s * 1000000;
		if (!lzb_pager_start_criu(r.pager, &cr, err))
			lzb_pager_serve(r.pager, err);
	}
	if (r.pager) {
		struct lzb_engine_stats es;

		/* Whatever happened, the tree ran on partial memory: end it. */
		end_tree(&r);
		lzb_engine_get_stats(lzb_pager_engine(r.pager), &es);
		res->faults = es.faults;
		res->root_pid = r.ps->root_pid;
		res->plugin_tasks = r.ps->plugin_tasks;
	}
	lzb_pager_free(r.pager);
	lzb_criu_source_free(src);
	lzb_criu_dump_close(&dump);
	return err->msg[0] ? -1 : 0;
}
