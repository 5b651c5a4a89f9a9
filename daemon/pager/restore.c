// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pager/restore.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "criu/criu_lazy_socket.h"
#include "criu/criu_restore_proc.h"
#include "fetch/fetch.h"
#include "util/file_util.h"
#include "image/image_pack.h"
#include "image/image_reader.h"
#include "pager/image_source.h"
#include "pager/restore_status.h"
#include "criu/plugin_link.h"
#include "util/progress_log.h"
#include "pager/restore_record.h"
#include "engine/uffd_engine.h"
#include "pager/uffd_keeper.h"

#include <linux/lazyboot.h>

#define PROBE_INTERVAL_MS 100

struct restore {
	const struct lzb_restore_opts *o;
	struct lzb_restore_report *rep;
	struct lzb_fetcher *fetcher;
	struct lzb_mirrors *mirrors;
	struct lzb_image img;
	struct lzb_image_source *source;
	struct lzb_engine *engine;
	struct lzb_lazy_socket *sock;
	struct lzb_plugin_link *plugin;
	size_t plugin_tasks;	/* real pids from the plugin, logged */
	char workdir[4096];
	uint64_t t0;
	pid_t criu, probe;
	bool criu_started, criu_ok, restored, ready, resident;
	struct lzb_status_throttle throttle;
	uint64_t started_unix;
	uint64_t next_probe;
	int tasks;
	int task_pids[64];	/* image pids handed over */
	/* Their pids here, from the kernel's credentials on the lazy
	 * socket (the image's are virtual in a restored pid namespace). */
	int task_real_pids[64];
	struct lzb_keeper *keeper;	/* who keeps the uffds alive */
	char guarantee[128];		/* what it guarantees, in words */
	int record_fd, journal_fd;	/* for a successor (restore_record.h) */
	uint64_t lazy_total;
	unsigned int resident_pct;	/* last 10 % step reported */
	bool first_fault;
	bool taken_over;		/* --resume: every uffd is ours */
	unsigned int kill_at_pct;	/* LAZYBOOT_FAULT_KILL_AT_PCT */
};

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static uint64_t now_ms(void)
{
	return lzb_clock_us() / 1000;
}

#define say(r, ...) lzb_progress((r)->o->quiet, (r)->t0 * 1000, __VA_ARGS__)

/* ---- WORKDIR/status --------------------------------------------------- */

static const char *state_of(const struct restore *r, const char *failure)
{
	if (failure)
		return "failed";
	if (r->resident && (!r->o->ready_cmd || r->ready))
		return "resident";
	if (r->ready)
		return "ready";
	if (r->restored)
		return "streaming";
	return r->criu_started ? "restoring" : "fetching-image";
}

/* Write the status if due (a state change, or LZB_STATUS_INTERVAL_MS). */
static void publish(struct restore *r, const char *failure)
{
	struct lzb_restore_status st = { .pager_pid = getpid() };
	const struct lzb_restore_report *rep = r->rep;
	uint64_t now = now_ms(), busy;
	struct lzb_err err;

	snprintf(st.state, sizeof(st.state), "%s", state_of(r, failure));
	if (!lzb_status_due(&r->throttle, st.state, now))
		return;
	snprintf(st.url, sizeof(st.url), "%s",
		 r->o->nr_mirrors ? r->o->mirrors[0] : "");
	snprintf(st.failure, sizeof(st.failure), "%s", failure ? failure : "");
	snprintf(st.guarantee, sizeof(st.guarantee), "%s", r->guarantee);
	st.pager_start = lzb_proc_start_time(st.pager_pid);
	st.root_pid = rep->root_pid;
	if (r->engine) {
		struct lzb_engine_stats es;

		lzb_engine_get_stats(r->engine, &es);
		st.pages_resident = es.pages_resident;
		st.pages_total = es.pages_lazy_total;
		st.faults = es.faults;
		st.latency_p50_us = lzb_latency_percentile_us(&es, 50);
		st.latency_p99_us = lzb_latency_percentile_us(&es, 99);
		st.latency_max_us = es.latency_max_us;
	}
	if (r->source) {
		struct lzb_image_source_stats ss;

		lzb_image_source_get_stats(r->source, &ss);
		st.bytes_fetched = ss.bytes_fetched;
	}
	busy = (rep->ms_resident ? rep->ms_resident : now - r->t0);
	st.mb_per_s = busy ? st.bytes_fetched / 1e3 / (double)busy : 0;
	st.started_unix = r->started_unix;
	st.updated_unix = (uint64_t)time(NULL);
	st.ms_elapsed = now - r->t0;
	st.ms_bundle = rep->ms_bundle;
	st.ms_restored = rep->ms_restored;
	st.ms_ready = rep->ms_ready;
	st.ms_resident = rep->ms_resident;
	if (lzb_status_write(r->workdir, &st, &err) && !r->o->quiet)
		fprintf(stderr, "lazyboot: %s\n", err.msg);
	if (r->o->on_status)
		r->o->on_status(r->o->status_arg, &st);
}

/* ---- fetching the metadata objects, synchronously ------------------- */

struct whole {
	uint8_t *buf;
	size_t len, cap, max;
	int err;
	char msg[512];
};

static int whole_sink(void *arg, uint64_t offset, const void *data,
		      size_t len)
{
	struct whole *w = arg;

	if (offset + len > w->max)
		return -EFBIG;
	if (offset + len > w->cap) {
		size_t cap = w->cap ? w->cap : 65536;
		uint8_t *p;

		while (cap < offset + len)
			cap *= 2;
		p = realloc(w->buf, cap);
		if (!p)
			return -ENOMEM;
		w->buf = p;
		w->cap = cap;
	}
	memcpy(w->buf + offset, data, len);
	if (offset + len > w->len)
		w->len = offset + len;
	return 0;
}

static void whole_done(struct lzb_fetch *req, int err, const char *msg,
		       uint64_t len, void *arg)
{
	struct whole *w = arg;

	(void)req;
	w->err = err;
	if (err)
		snprintf(w->msg, sizeof(w->msg), "%s", msg);
	else
		w->len = (size_t)len;
}

/* Fetch PATH of the image whole: at most MAX bytes, or exactly SIZE. */
static int fetch_whole(struct restore *r, const char *path, int64_t size,
		       size_t max, uint8_t **buf, size_t *len,
		       struct lzb_err *err)
{
	struct whole w = { .max = size >= 0 ? (size_t)size : max };
	struct lzb_fetch_spec spec = {
		.mirrors = r->mirrors, .path = path, .expected_size = size,
		.sink = whole_sink, .sink_arg = &w, .prio = LZB_PRIO_FAULT,
		.deadline_ms = 120000, .done = whole_done, .done_arg = &w,
	};

	w.err = 1;
	if (!lzb_fetch_submit(r->fetcher, &spec))
		return lzb_errf(err, "%s: cannot start the fetch: %s", path,
				strerror(errno));
	while (w.err == 1)
		lzb_fetcher_run(r->fetcher, 1000);
	if (w.err) {
		free(w.buf);
		return lzb_errf(err, "%s", w.msg);
	}
	*buf = w.buf ? w.buf : malloc(1);
	*len = w.len;
	return 0;
}

static int fetch_object(struct restore *r, uint32_t i, uint8_t **buf,
			size_t *len, struct lzb_err *err)
{
	char name[4 + 2 * LZB_HASH_BYTES + 1];

	lzb_object_name(name, &r->img.m.objects[i]);
	if (fetch_whole(r, name, (int64_t)r->img.m.objects[i].size, 0, buf,
			len, err))
		return -1;
	if (lzb_image_check_object(&r->img, i, name, *buf, *len, err)) {
		free(*buf);
		return -1;
	}
	return 0;
}

static int load_image(struct restore *r, struct lzb_err *err)
{
	uint8_t pk[LZB_SIGN_PUB_BYTES], *buf;
	const uint8_t *pkp = NULL;
	struct lzb_bundle bundle;
	char where[128];
	size_t len;
	int ret;

	if (r->o->pubkey) {
		if (lzb_load_sign_public(r->o->pubkey, pk, err))
			return -1;
		pkp = pk;
	} else if (!r->o->allow_unsigned) {
		return lzb_errf(err, "no --pubkey given: refusing to restore "
				"an image whose manifest is not verified "
				"(--allow-unsigned overrides)");
	}
	if (fetch_whole(r, "manifest", -1, LZB_MANIFEST_MAX, &buf, &len, err) ||
	    lzb_image_open_buffer(&r->img, "manifest", buf, len, pkp, err))
		return -1;
	if (r->o->encrypt_key &&
	    lzb_image_set_key(&r->img, r->o->encrypt_key, err))
		return -1;
	if ((r->img.m.flags & LZB_MF_ENCRYPTED) && !r->img.key)
		return lzb_errf(err, "manifest: the image is encrypted; give "
				"its key with --encrypt-key");
	say(r, "manifest: image version %llu, %u objects, %s",
	    (unsigned long long)r->img.m.version, r->img.m.nr_objects,
	    pkp ? "signature verified" : "NOT VERIFIED (no --pubkey)");

	if (fetch_object(r, 1, &buf, &len, err) ||
	    lzb_image_set_index(&r->img, "index", buf, len, err))
		return -1;
	if (r->o->resume)	/* CRIU restored from the bundle already */
		return 0;
	if (fetch_object(r, 0, &buf, &len, err))
		return -1;
	snprintf(where, sizeof(where), "boot bundle");
	ret = lzb_bundle_decode(where, buf, len, r->img.key, &bundle, err);
	free(buf);
	if (ret)
		return -1;
	for (uint32_t i = 0; i < bundle.nr && !ret; i++) {
		const struct lzb_bundle_file *bf = &bundle.files[i];
		char path[4400];

		/* The original pagemaps are for unpack, not for restore. */
		if (!strncmp(bf->name, LZB_ORIG_PAGEMAP_PREFIX,
			     strlen(LZB_ORIG_PAGEMAP_PREFIX)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", r->workdir, bf->name);
		ret = lzb_write_file_nosync(path, bf->data, (size_t)bf->size,
					    0600, err);
	}
	lzb_bundle_free(&bundle);
	if (ret)
		return -1;
	r->rep->ms_bundle = now_ms() - r->t0;
	say(r, "index and boot bundle verified: %u tasks, %u chunks, "
	    "%llu hot pages, %llu cold", r->img.ix.nr_tasks, r->img.ix.nr_chunks,
	    (unsigned long long)r->img.ix.st.pages_hot,
	    (unsigned long long)r->img.ix.st.pages_cold);
	return 0;
}

/* ---- CRIU and the probe --------------------------------------------- */

static int start_criu(struct restore *r, struct lzb_err *err)
{
	struct lzb_criu_restore cr = {
		.criu = r->o->criu, .images_dir = r->workdir,
		.workdir = r->workdir, .plugin_dir = r->o->plugin_dir,
		.pager_socket = lzb_plugin_link_path(r->plugin),
		.extra = r->o->criu_args, .nr_extra = r->o->nr_criu_args,
	};

	r->criu = lzb_criu_restore_start(&cr, err);
	if (r->criu < 0)
		return -1;
	r->criu_started = true;
	say(r, "criu restore --lazy-pages started (log: %s/restore.log)",
	    r->workdir);
	lzb_keeper_milestone(r->keeper, LAZYBOOT_MILESTONE_RESTORE_STARTED);
	return 0;
}

static int read_root_pid(struct restore *r)
{
	return lzb_criu_restore_root(r->workdir);
}

/*
 * The restored tree must not run on with pages missing: end it, by real
 * pids only (the lazy socket's pids are the image's: in the app set's own
 * PID namespace they name other processes here).
 */
static void kill_restored(struct restore *r, const char *why)
{
	int root = r->rep->root_pid ? r->rep->root_pid : read_root_pid(r);
	const struct lzb_plugin_task *pt = NULL;
	size_t n = r->plugin ? lzb_plugin_link_tasks(r->plugin, &pt) : 0;
	int real[128], killed, nr = 0;

	for (int i = 0; i < r->tasks && i < 64; i++)
		if (r->task_real_pids[i] > 0)
			real[nr++] = r->task_real_pids[i];
	for (size_t i = 0; i < n && nr < 64; i++)
		real[nr++] = pt[i].real_pid;
	killed = lzb_kill_restored(r->criu, root, real, nr);
	if (killed)
		fprintf(stderr, "lazyboot: killed the restored tree (root pid "
			"%d, %d processes): %s\n", root, killed, why);
}

static void poll_children(struct restore *r, struct lzb_err *err)
{
	int status;

	if (lzb_criu_restore_reap(&r->criu, r->workdir, &r->rep->root_pid,
				  err) > 0) {
		r->criu_ok = true;
		say(r, "criu restore finished: root pid %d", r->rep->root_pid);
	}
	if (r->probe > 0 && waitpid(r->probe, &status, WNOHANG) == r->probe) {
		r->probe = 0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			struct lzb_image_source_stats st;

			r->ready = true;
			r->rep->ms_ready = now_ms() - r->t0;
			lzb_image_source_get_stats(r->source, &st);
			r->rep->bytes_before_ready = st.bytes_fetched;
			say(r, "ready: probe passed");
			lzb_keeper_milestone(r->keeper,
					     LAZYBOOT_MILESTONE_READY);
		}
	}
	if (r->o->ready_cmd && !r->ready && r->criu_ok && !r->probe &&
	    now_ms() >= r->next_probe) {
		char *argv[] = { "sh", "-c", (char *)r->o->ready_cmd, NULL };
		char log[4200];

		snprintf(log, sizeof(log), "%s/probe.out", r->workdir);
		r->probe = lzb_spawn(argv, log);
		r->next_probe = now_ms() + PROBE_INTERVAL_MS;
	}
}

/* ---- the loop ------------------------------------------------------- */

static int on_task(void *ctx, int img_pid, int pid, int uffd)
{
	struct restore *r = ctx;
	uint32_t session;
	int err;

	if (r->tasks < 64) {
		r->task_pids[r->tasks] = img_pid;
		r->task_real_pids[r->tasks] = pid;
	}
	r->tasks++;
	/* Kept before it is used: from now on the pager may die. */
	err = lzb_keeper_keep(r->keeper, img_pid, pid, uffd,
			      &session);
	if (err) {
		fprintf(stderr, "lazyboot: the %s cannot keep the uffd of task "
			"%d: %s\n", lzb_keeper_kind(r->keeper),
			pid, strerror(-err));
		close(uffd);
		return err;
	}
	lzb_record_add_task(r->record_fd, img_pid, pid,
			    session);
	return lzb_engine_attach(r->engine, img_pid, uffd);
}

/* A successor takes over a task's uffd (-1: it is gone). */
static int on_resumed_task(void *ctx, int img_pid, int pid, int uffd)
{
	struct restore *r = ctx;
	char path[64];
	int pagemap, err;

	if (r->tasks < 64) {
		r->task_pids[r->tasks] = img_pid;
		r->task_real_pids[r->tasks] = pid;
	}
	r->tasks++;
	/* What the dead pager installed need not be fetched again. */
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pagemap = uffd >= 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	err = lzb_engine_reattach(r->engine, img_pid, uffd, pagemap);
	if (pagemap >= 0)
		close(pagemap);
	return err;
}

static void journal_event(void *ctx, int img_pid, const struct uffd_msg *msg)
{
	const struct restore *r = ctx;

	lzb_journal_add(r->journal_fd, img_pid, msg);
}

/* Say each 10 % step of residency; milestones at 50, 90 and 100 %. */
static void report_progress(struct restore *r)
{
	static const struct { unsigned int pct, milestone; } marks[] = {
		{ 50, LAZYBOOT_MILESTONE_RESIDENT_50 },
		{ 90, LAZYBOOT_MILESTONE_RESIDENT_90 },
		{ 100, LAZYBOOT_MILESTONE_RESIDENT_100 },
	};
	struct lzb_engine_stats st;
	unsigned int pct;

	lzb_engine_get_stats(r->engine, &st);
	if (st.faults && !r->first_fault) {
		r->first_fault = true;
		lzb_keeper_milestone(r->keeper, LAZYBOOT_MILESTONE_FIRST_FAULT);
	}
	if (!r->restored)
		return;
	pct = r->lazy_total && st.bytes_lazy < r->lazy_total ?
	      (unsigned int)((r->lazy_total - st.bytes_lazy) * 100 /
			     r->lazy_total) : 0;
	if (lzb_engine_done(r->engine))
		pct = 100;
	while (r->resident_pct + 10 <= pct) {
		r->resident_pct += 10;
		say(r, "resident %u%%", r->resident_pct);
		/* Fault injection for the restart tests: the pager dies
		 * here, exactly as from an outside SIGKILL. */
		if (r->kill_at_pct == r->resident_pct)
			kill(getpid(), SIGKILL);
		for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
			if (marks[i].pct == r->resident_pct)
				lzb_keeper_milestone(r->keeper,
						     marks[i].milestone);
	}
}

static int on_finished(void *ctx)
{
	struct restore *r = ctx;

	r->restored = true;
	r->rep->ms_restored = now_ms() - r->t0;
	lzb_engine_start_streaming(r->engine);
	say(r, "restore finished (RSTF): %d tasks handed over", r->tasks);
	lzb_keeper_milestone(r->keeper, LAZYBOOT_MILESTONE_TASKS_RESUMED);
	return 0;
}

static const struct lzb_lazy_socket_ops socket_ops = {
	.task = on_task, .finished = on_finished,
};

/* The CRIU plugin's hand-off: real pids and criu's result, logged. */
static void poll_plugin(struct restore *r, struct lzb_err *err)
{
	const struct lzb_plugin_task *pt;
	size_t n;
	int ret;

	if (lzb_plugin_link_process(r->plugin) && !err->msg[0])
		lzb_errf(err, "the CRIU plugin sent a malformed line");
	n = lzb_plugin_link_tasks(r->plugin, &pt);
	for (; r->plugin_tasks < n; r->plugin_tasks++)
		say(r, "plugin: image pid %d is pid %d",
		    pt[r->plugin_tasks].img_pid, pt[r->plugin_tasks].real_pid);
	if (lzb_plugin_link_result(r->plugin, &ret) && ret && !err->msg[0])
		lzb_errf(err, "criu restore failed (the plugin says %d); see "
			 "%s/restore.log", ret, r->workdir);
}

static bool finished(const struct restore *r)
{
	return r->criu_ok && r->restored && lzb_engine_done(r->engine) &&
	       (!r->o->ready_cmd || r->ready);
}

static int serve(struct restore *r, struct lzb_err *err)
{
	int ret;

	while (!finished(r) && !err->msg[0]) {
		struct pollfd fds[3] = {
			{ .fd = r->sock ? lzb_lazy_socket_fd(r->sock) : -1,
			  .events = POLLIN },
			{ .fd = lzb_engine_fd(r->engine), .events = POLLIN },
			{ .fd = lzb_fetcher_fd(r->fetcher), .events = POLLIN },
		};

		if (stop_signal) {
			lzb_errf(err, "stopped by signal %d", stop_signal);
			break;
		}
		poll(fds, 3, 20);
		poll_plugin(r, err);
		if (fds[2].revents)
			lzb_fetcher_process(r->fetcher);
		/* Also after RSTF: reading CRIU's hang-up closes the socket,
		 * which would otherwise stay readable and spin this loop. */
		if (fds[0].revents) {
			ret = lzb_lazy_socket_process(r->sock, &socket_ops, r);
			if (ret)
				lzb_errf(err, "CRIU's lazy-pages socket: %s",
					 strerror(-ret));
		}
		ret = lzb_engine_run(r->engine, 0);
		if (ret && !err->msg[0]) {
			const char *why = lzb_image_source_error(r->source);

			lzb_errf(err, "pager stopped: %s",
				 why ? why : strerror(-ret));
		}
		report_progress(r);
		if (!r->resident && r->restored && lzb_engine_done(r->engine)) {
			r->resident = true;
			/* The engine closed its uffds: the keeper must let go
			 * of them too, or a later fault on a hole of a
			 * registered range would wait for nobody. */
			lzb_keeper_release(r->keeper);
			r->rep->ms_resident = now_ms() - r->t0;
			say(r, "every page resident");
		}
		poll_children(r, err);
		publish(r, NULL);
	}
	return err->msg[0] ? -1 : 0;
}

/*
 * Take over the restore of a pager that died: its tasks' uffds from the
 * module or the holder, its journal replayed first, every thread woken.
 */
static int resume(struct restore *r, struct lzb_err *err)
{
	struct lzb_record rec;
	int events, ret;

	if (lzb_record_load(r->workdir, &rec, err))
		return -1;
	events = lzb_journal_replay(r->workdir, r->engine, err);
	if (events < 0) {
		lzb_record_free(&rec);
		return -1;
	}
	lzb_engine_start_streaming(r->engine);
	ret = lzb_keeper_resume(r->workdir, &rec, &r->keeper, on_resumed_task,
				r, err);
	lzb_record_free(&rec);
	if (ret)
		return -1;
	r->taken_over = true;
	r->criu_ok = r->restored = true;
	r->rep->root_pid = read_root_pid(r);
	say(r, "resumed: %d tasks taken over from the %s, %d journaled "
	    "events replayed, root pid %d", r->tasks,
	    lzb_keeper_kind(r->keeper), events, r->rep->root_pid);
	return 0;
}

int lzb_restore_run(const struct lzb_restore_opts *o,
		    struct lzb_restore_report *rep)
{
	struct lzb_fetcher_opts fopts = { .max_background = o->max_background,
					  .tftp_blksize = o->tftp_blksize };
	struct lzb_engine_config config = { 0 };
	struct restore r = { .o = o, .rep = rep, .record_fd = -1,
			     .journal_fd = -1 };
	struct lzb_engine_stats es;
	struct lzb_image_source_stats ss;
	struct sigaction sa = { .sa_handler = on_stop };
	struct lzb_err err = { { 0 } };
	bool killed = false;
	int ret = -1;

	memset(rep, 0, sizeof(*rep));
	r.t0 = now_ms();
	r.started_unix = (uint64_t)time(NULL);
	snprintf(r.guarantee, sizeof(r.guarantee), "%s", LZB_GUARANTEE_PAGER_ONLY);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	snprintf(r.workdir, sizeof(r.workdir), "%s",
		 o->workdir ? o->workdir : LZB_RESTORE_WORKDIR);
	/* mkdir -p: the default lives under /run, which may lack lazyboot/. */
	for (char *slash = strchr(r.workdir + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(r.workdir, 0700);
		*slash = '/';
	}
	if (lzb_mkdir(r.workdir, &err))
		goto out;
	publish(&r, NULL);
	/* Before anything else: the holder, if any, inherits only stdio. */
	if (!o->resume &&
	    (lzb_keeper_start(r.workdir, o->deadline_ms, &r.keeper) ||
	     lzb_record_create(r.workdir, o, o->deadline_ms,
			       lzb_keeper_kind(r.keeper), &err)))
		goto out;
	if (lzb_record_open(r.workdir, &r.record_fd, &r.journal_fd, &err))
		goto out;
	r.fetcher = lzb_fetcher_new(&fopts);
	r.mirrors = lzb_mirrors_new(o->mirrors, o->nr_mirrors);
	if (!r.fetcher || !r.mirrors) {
		lzb_errf(&err, "cannot set up the fetcher: %s", strerror(errno));
		goto out;
	}
	if (load_image(&r, &err) ||
	    lzb_image_source_new(&r.img, r.fetcher, r.mirrors, &r.source, &err))
		goto out;
	config.source.request = lzb_image_source_request;
	config.source.ctx = r.source;
	config.max_background = o->max_background ? o->max_background : 4;
	config.stream_bytes = r.img.m.chunk_size ? r.img.m.chunk_size : 65536;
	config.journal.event = journal_event;
	config.journal.ctx = &r;
	ret = lzb_engine_new(&config, &r.engine);
	if (!ret)
		ret = lzb_image_source_add_tasks(r.source, r.engine);
	if (!ret && !o->resume)
		ret = lzb_lazy_socket_listen(r.workdir, &r.sock);
	if (!ret)
		ret = lzb_plugin_link_listen(r.workdir, &r.plugin);
	if (ret) {
		lzb_errf(&err, "cannot set up the pager: %s", strerror(-ret));
		ret = -1;
		goto out;
	}
	lzb_engine_get_stats(r.engine, &es);
	r.lazy_total = es.bytes_lazy;
	if (getenv("LAZYBOOT_FAULT_KILL_AT_PCT"))
		r.kill_at_pct = (unsigned int)atoi(
			getenv("LAZYBOOT_FAULT_KILL_AT_PCT"));
	ret = -1;
	if (o->resume ? resume(&r, &err) : start_criu(&r, &err))
		goto out;
	snprintf(r.guarantee, sizeof(r.guarantee), "%s",
		 lzb_keeper_guarantee(r.keeper));
	say(&r, "guarantee: %s", r.guarantee);
	ret = serve(&r, &err);
	if (!ret)
		lzb_keeper_milestone(r.keeper, LAZYBOOT_MILESTONE_DONE);
out:
	if (err.msg[0]) {
		fprintf(stderr, "lazyboot restore: %s\n", err.msg);
		/* A resume that could not take over kills nothing: the
		 * tasks may be another pager's, and are kept till the
		 * deadline anyway. */
		if (r.engine && !lzb_engine_done(r.engine) &&
		    (!o->resume || r.taken_over)) {
			kill_restored(&r, err.msg);
			killed = true;
		} else if (r.criu > 0) {
			kill(r.criu, SIGKILL);
		}
		ret = -1;
	}
	publish(&r, err.msg[0] ? err.msg : NULL);
	/* Resident, or killed, or none handed over: nothing to keep. */
	if (!ret || killed || !r.tasks)
		lzb_keeper_release(r.keeper);
	lzb_keeper_free(r.keeper);
	if (r.record_fd >= 0)
		close(r.record_fd);
	if (r.journal_fd >= 0)
		close(r.journal_fd);
	if (r.engine) {
		lzb_engine_get_stats(r.engine, &es);
		rep->faults = es.faults;
		rep->zero_pages = es.zero_pages;
		rep->pages_installed = es.pages_installed;
	}
	if (r.source) {
		lzb_image_source_get_stats(r.source, &ss);
		rep->chunks_fetched = ss.chunks_fetched;
		rep->chunks_urgent = ss.chunks_urgent;
		rep->bytes_fetched = ss.bytes_fetched;
	}
	if (r.criu > 0)
		waitpid(r.criu, NULL, 0);
	if (r.probe > 0) {
		kill(r.probe, SIGKILL);
		waitpid(r.probe, NULL, 0);
	}
	lzb_lazy_socket_close(r.sock);
	lzb_plugin_link_close(r.plugin);
	/* The source cancels its fetches, telling the engine: engine last. */
	lzb_image_source_free(r.source);
	lzb_engine_free(r.engine);
	lzb_image_close(&r.img);
	if (r.fetcher)
		lzb_fetcher_free(r.fetcher);
	if (r.mirrors)
		lzb_mirrors_free(r.mirrors);
	return ret;
}
