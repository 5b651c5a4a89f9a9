// SPDX-License-Identifier: LGPL-2.1-or-later
/* One lazy restore served from one poll loop (pager.h). */
#include "pager/pager.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criu/criu_lazy_socket.h"
#include "criu/plugin_link.h"
#include "fetch/fetch.h"
#include "util/progress_log.h"
#include "util/task_limit.h"
#include "util/unix_listen.h"
#include "util/vec.h"

#define LOOP_MS 20			/* the longest the loop sleeps */
#define ROOT_GONE_MS 10000		/* how long a killed root may take */
#define LZB_P_PIDFD 3			/* waitid(2) idtype, <linux/wait.h> */
#define CRIU_EXIT_MS 5000		/* how long a failing criu may take */

struct lzb_pager {
	struct lzb_pager_config c;
	struct lzb_pager_state st;
	struct lzb_engine *engine;
	struct lzb_lazy_socket *sock;
	struct lzb_plugin_link *plugin;
	pid_t criu;
	struct lzb_plugin_task *handed;	/* the tasks whose uffd came, with
					 * the pidfds taken then (ours) */
	size_t nr_handed, cap_handed;
	size_t plugin_logged;
	bool criu_symptom;	/* the error came from CRIU's side giving up */
	bool streaming;		/* CRIU is done: the background may come */
};

#define say(p, ...) lzb_progress((p)->c.quiet, (p)->c.t0_us, __VA_ARGS__)

static lzb_plugin_verify_fn verify_task;

int lzb_pager_new(const struct lzb_pager_config *c, struct lzb_pager **pp,
		  struct lzb_err *err)
{
	struct lzb_engine_config ec = {
		.source = c->source, .journal = c->journal,
		/* a source that streams itself gets no background requests */
		.max_background = c->source.pump ? 0 : c->max_background,
		.stream_bytes = c->stream_bytes,
		.on_fault = c->on_fault, .on_fault_ctx = c->on_fault_ctx,
	};
	struct lzb_pager *p = calloc(1, sizeof(*p));
	int ret;

	*pp = NULL;
	if (!p)
		return lzb_errf(err, "cannot set up the pager: %s",
				strerror(ENOMEM));
	p->c = *c;
	if (lzb_private_dir(c->workdir, err)) {
		free(p);
		return -1;
	}
	ret = lzb_engine_new(&ec, &p->engine);
	if (!ret && !c->no_lazy_socket)
		ret = lzb_lazy_socket_listen(c->workdir, &p->sock);
	if (!ret)
		ret = lzb_plugin_link_listen(c->workdir, &p->plugin);
	if (!ret)
		lzb_plugin_link_set_verify(p->plugin, verify_task, p);
	if (ret) {
		lzb_pager_free(p);
		return lzb_errf(err, "cannot set up the pager: %s",
				strerror(-ret));
	}
	*pp = p;
	return 0;
}

void lzb_pager_free(struct lzb_pager *p)
{
	if (!p)
		return;
	if (p->criu > 0) {
		kill(p->criu, SIGKILL);
		waitpid(p->criu, NULL, 0);
	}
	lzb_lazy_socket_close(p->sock);
	lzb_plugin_link_close(p->plugin);
	lzb_engine_free(p->engine);
	for (size_t i = 0; i < p->nr_handed; i++)
		if (p->handed[i].pidfd >= 0)
			close(p->handed[i].pidfd);
	free(p->handed);
	free(p);
}

struct lzb_engine *lzb_pager_engine(struct lzb_pager *p)
{
	return p->engine;
}

const struct lzb_pager_state *lzb_pager_state(const struct lzb_pager *p)
{
	return &p->st;
}

int lzb_pager_start_criu(struct lzb_pager *p,
			 const struct lzb_criu_restore *cr,
			 struct lzb_err *err)
{
	struct lzb_criu_restore mine = *cr;

	mine.workdir = p->c.workdir;
	mine.pager_socket = lzb_plugin_link_path(p->plugin);
	p->criu = lzb_criu_restore_start(&mine, err);
	if (p->criu < 0)
		return -1;
	/* Only this criu and its descendants are heard from now on. */
	if (p->sock)
		lzb_lazy_socket_allow(p->sock, p->criu);
	lzb_plugin_link_allow(p->plugin, p->criu);
	return 0;
}

int lzb_pager_adopt(struct lzb_pager *p, int img_pid, int pid, int pidfd)
{
	if (LZB_VEC_RESERVE(p->handed, p->nr_handed, p->cap_handed, 1)) {
		if (pidfd >= 0)
			close(pidfd);
		return -ENOMEM;
	}
	p->st.tasks++;
	p->handed[p->nr_handed++] = (struct lzb_plugin_task){
		.real_pid = pid, .img_pid = img_pid, .pidfd = pidfd };
	return 0;
}

/* CRIU's restore is over: the background may come now. */
static void start_streaming(struct lzb_pager *p)
{
	if (!p->c.max_background && !p->c.source.pump)
		return;
	lzb_engine_start_streaming(p->engine);
	p->streaming = true;
}

void lzb_pager_resumed(struct lzb_pager *p)
{
	start_streaming(p);
	p->st.restored = p->st.criu_done = true;
	p->st.root_pid = lzb_criu_restore_root(p->c.workdir);
}

/* ---- CRIU's lazy-pages socket ----------------------------------------- */

static int on_task(void *ctx, int img_pid, int pid, int pidfd, int uffd)
{
	struct lzb_pager *p = ctx;
	int err = lzb_pager_adopt(p, img_pid, pid, pidfd);

	if (err) {
		close(uffd);
		return err;
	}
	if (p->c.hooks.on_task)
		err = p->c.hooks.on_task(p->c.hooks.ctx, img_pid, pid, pidfd,
					 uffd);
	if (err) {
		close(uffd);
		return err;
	}
	return lzb_engine_attach(p->engine, img_pid, uffd);
}

static int on_finished(void *ctx)
{
	struct lzb_pager *p = ctx;

	p->st.restored = true;
	start_streaming(p);
	if (p->c.hooks.on_restored)
		p->c.hooks.on_restored(p->c.hooks.ctx);
	return 0;
}

static const struct lzb_lazy_socket_ops socket_ops = {
	.task = on_task, .finished = on_finished,
};

/*
 * The plugin holds each restored task stopped until this says it may run:
 * the lazy memory the engine has not installed must be registered and
 * missing, or the task would run on bytes that are not the image's.
 */
static int verify_task(void *ctx, int real_pid, int img_pid,
		       struct lzb_err *err)
{
	struct lzb_pager *p = ctx;

	/*
	 * The task's uffd came over the lazy-pages socket long before (CRIU
	 * sends it as the task's restore begins); read what is queued there
	 * (the call never waits), so the task is known by the pid CRIU gave.
	 */
	if (p->sock) {
		int ret = lzb_lazy_socket_process(p->sock, &socket_ops, p);

		if (ret) {
			p->criu_symptom = true;
			return lzb_errf(err, "CRIU's lazy-pages socket: %s",
					strerror(-ret));
		}
	}
	for (size_t i = 0; i < p->nr_handed; i++)
		if (p->handed[i].real_pid == real_pid)
			img_pid = p->handed[i].img_pid;
	if (img_pid <= 0)
		return lzb_errf(err, "pid %d: cannot tell which task of the "
				"image it is (/proc/%d/status NSpid)",
				real_pid, real_pid);
	return lzb_engine_check_task(p->engine, img_pid, real_pid, err);
}

/* ---- the loop ------------------------------------------------------- */

/* The CRIU plugin's hand-off: real pids and criu's result, logged. */
static void poll_plugin(struct lzb_pager *p, struct lzb_err *err)
{
	const struct lzb_plugin_task *pt;
	int ret = lzb_plugin_link_process(p->plugin);

	if (ret == -E2BIG && !err->msg[0])
		lzb_errf(err, "the CRIU plugin reported more than %u tasks",
			 LZB_TASK_LIMIT);
	else if (ret == -EPERM && !err->msg[0])
		lzb_errf(err, "a restored task was stopped before it ran: %s",
			 lzb_plugin_link_refusal(p->plugin));
	else if (ret == -EPROTO && !err->msg[0])
		lzb_errf(err, "the CRIU plugin sent a malformed line");
	else if (ret && !err->msg[0]) {
		p->criu_symptom = true;
		lzb_errf(err, "the CRIU plugin's link: %s", strerror(-ret));
	}
	p->st.plugin_tasks = lzb_plugin_link_tasks(p->plugin, &pt);
	for (; p->plugin_logged < p->st.plugin_tasks; p->plugin_logged++)
		say(p, "plugin: image pid %d is pid %d",
		    pt[p->plugin_logged].img_pid, pt[p->plugin_logged].real_pid);
	if (lzb_plugin_link_result(p->plugin, &ret) && ret && !err->msg[0]) {
		p->criu_symptom = true;
		lzb_errf(err, "criu restore failed (the plugin says %d); see "
			 "%s/restore.log", ret, p->c.workdir);
	}
}

static void poll_criu(struct lzb_pager *p, struct lzb_err *err)
{
	if (lzb_criu_restore_reap(&p->criu, p->c.workdir, &p->st.root_pid,
				  err) > 0) {
		p->st.criu_done = true;
		say(p, "criu restore finished: root pid %d", p->st.root_pid);
	}
}

int lzb_pager_serve(struct lzb_pager *p, struct lzb_err *err)
{
	const struct lzb_pager_hooks *h = &p->c.hooks;
	int ret, pump = 0;

	while (!err->msg[0] && !h->done(h->ctx)) {
		struct pollfd fds[5] = {
			{ .fd = p->sock ? lzb_lazy_socket_fd(p->sock) : -1,
			  .events = POLLIN },
			{ .fd = lzb_engine_fd(p->engine), .events = POLLIN },
			{ .fd = p->c.fetcher ? lzb_fetcher_fd(p->c.fetcher) : -1,
			  .events = POLLIN },
			{ .fd = lzb_plugin_link_fd(p->plugin), .events = POLLIN },
			{ .fd = p->streaming && p->c.source.pump_fd ?
				p->c.source.pump_fd(p->c.source.ctx) : -1,
			  .events = POLLIN },
		};

		poll(fds, 5, pump & LZB_PUMP_MORE ? 0 : LOOP_MS);
		poll_plugin(p, err);
		if (fds[2].revents)
			lzb_fetcher_process(p->c.fetcher);
		/* Also after RSTF: reading CRIU's hang-up closes the socket,
		 * which would otherwise stay readable and spin this loop. */
		if (fds[0].revents) {
			ret = lzb_lazy_socket_process(p->sock, &socket_ops, p);
			if (ret && !err->msg[0]) {
				p->criu_symptom = true;
				lzb_errf(err, "CRIU's lazy-pages socket: %s",
					 strerror(-ret));
			}
		}
		ret = lzb_engine_run(p->engine, 0);
		if (ret && !err->msg[0]) {
			const char *why = lzb_engine_error(p->engine);

			if (!why && p->c.source_error)
				why = p->c.source_error(p->c.source.ctx);

			lzb_errf(err, "pager stopped: %s",
				 why ? why : strerror(-ret));
		}
		/* One unit of the source's own background, after the faults. */
		pump = 0;
		if (p->streaming && p->c.source.pump && !err->msg[0]) {
			pump = p->c.source.pump(p->c.source.ctx, p->engine);
			if (pump < 0) {
				lzb_errf(err, "pager stopped: %s",
					 strerror(-pump));
				pump = 0;
			}
		}
		/* After CRIU hung up the socket, criu is reaped by the blame
		 * below, which names CRIU's own error: reaped here first (it
		 * may have exited already), the hang-up would be the cause. */
		if (!p->criu_symptom)
			poll_criu(p, err);
		if (h->tick)
			h->tick(h->ctx, err);
	}
	if (err->msg[0] && p->criu_symptom)
		lzb_criu_restore_blame(&p->criu, p->c.workdir, CRIU_EXIT_MS,
				       err);
	return err->msg[0] ? -1 : 0;
}

/* ---- ending the restored tree --------------------------------------- */

/* Wait up to ROOT_GONE_MS for the root to exit; reap it if our child. */
static void wait_gone(int pidfd)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
	siginfo_t si;

	while (poll(&pfd, 1, ROOT_GONE_MS) < 0 && errno == EINTR)
		;
	/* By the pidfd (P_PIDFD, Linux 5.4): never another task's pid. */
	waitid((idtype_t)LZB_P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG);
}

int lzb_pager_kill_tree(struct lzb_pager *p)
{
	const struct lzb_plugin_task *pt = NULL;
	size_t n = p->plugin ? lzb_plugin_link_tasks(p->plugin, &pt) : 0;
	int *pidfds = calloc(p->nr_handed + n + 1, sizeof(int)), killed;
	int root_pidfd = -1;
	size_t nr = 0;

	if (!p->st.root_pid)
		p->st.root_pid = lzb_criu_restore_root(p->c.workdir);
	/* The tasks by the pidfds taken when they were handed over. */
	for (size_t i = 0; pidfds && i < p->nr_handed; i++)
		if (p->handed[i].pidfd >= 0)
			pidfds[nr++] = p->handed[i].pidfd;
	for (size_t i = 0; pidfds && i < n; i++)
		if (pt[i].pidfd >= 0)
			pidfds[nr++] = pt[i].pidfd;
	/* The root is one of them; its pid from restore.pid is not used. */
	for (size_t i = 0; i < p->nr_handed && root_pidfd < 0; i++)
		if (p->handed[i].real_pid == p->st.root_pid)
			root_pidfd = p->handed[i].pidfd;
	for (size_t i = 0; i < n && root_pidfd < 0; i++)
		if (pt[i].real_pid == p->st.root_pid)
			root_pidfd = pt[i].pidfd;
	killed = lzb_kill_restored(p->criu, root_pidfd,
				   root_pidfd >= 0 ? p->st.root_pid : 0,
				   pidfds, nr);
	free(pidfds);
	if (p->criu > 0)
		waitpid(p->criu, NULL, 0);
	p->criu = 0;
	if (root_pidfd >= 0)
		wait_gone(root_pidfd);
	return killed;
}
