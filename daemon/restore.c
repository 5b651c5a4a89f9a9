// SPDX-License-Identifier: LGPL-2.1-or-later
#include "restore.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "criu_lazy_socket.h"
#include "criu_restore_proc.h"
#include "fetch.h"
#include "file_util.h"
#include "image_pack.h"
#include "image_reader.h"
#include "image_source.h"
#include "plugin_link.h"
#include "uffd_engine.h"

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
	bool criu_ok, restored, ready;
	uint64_t next_probe;
	int tasks;
};

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(const struct restore *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(const struct restore *r, const char *fmt, ...)
{
	va_list ap;

	if (r->o->quiet)
		return;
	printf("[%7.3f] ", (now_ms() - r->t0) / 1000.0);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
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
	say(r, "criu restore --lazy-pages started (log: %s/restore.log)",
	    r->workdir);
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
	int real[64], killed;

	for (size_t i = 0; i < n && i < 64; i++)
		real[i] = pt[i].real_pid;
	killed = lzb_kill_restored(r->criu, root, real, n < 64 ? n : 64);
	if (killed)
		fprintf(stderr, "lazyboot: killed the restored tree (root pid "
			"%d, %d processes): %s\n", root, killed, why);
}

static void poll_children(struct restore *r, struct lzb_err *err)
{
	int status;

	if (r->criu > 0 && waitpid(r->criu, &status, WNOHANG) == r->criu) {
		r->criu = 0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			r->criu_ok = true;
			r->rep->root_pid = read_root_pid(r);
			say(r, "criu restore finished: root pid %d",
			    r->rep->root_pid);
		} else if (!err->msg[0]) {
			lzb_errf(err, "criu restore failed (status 0x%x); see "
				 "%s/restore.log", status, r->workdir);
		}
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

static int on_task(void *ctx, int img_pid, int uffd)
{
	struct restore *r = ctx;

	r->tasks++;
	return lzb_engine_attach(r->engine, img_pid, uffd);
}

static int on_finished(void *ctx)
{
	struct restore *r = ctx;

	r->restored = true;
	r->rep->ms_restored = now_ms() - r->t0;
	lzb_engine_start_streaming(r->engine);
	say(r, "restore finished (RSTF): %d tasks handed over", r->tasks);
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
	bool resident = false;
	int ret;

	while (!finished(r) && !err->msg[0]) {
		struct pollfd fds[3] = {
			{ .fd = lzb_lazy_socket_fd(r->sock), .events = POLLIN },
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
		if (!resident && r->restored && lzb_engine_done(r->engine)) {
			resident = true;
			r->rep->ms_resident = now_ms() - r->t0;
			say(r, "every page resident");
		}
		poll_children(r, err);
	}
	return err->msg[0] ? -1 : 0;
}

int lzb_restore_run(const struct lzb_restore_opts *o,
		    struct lzb_restore_report *rep)
{
	struct lzb_fetcher_opts fopts = { .max_background = o->max_background };
	struct lzb_engine_config config = { 0 };
	struct restore r = { .o = o, .rep = rep };
	struct lzb_engine_stats es;
	struct lzb_image_source_stats ss;
	struct sigaction sa = { .sa_handler = on_stop };
	struct lzb_err err = { { 0 } };
	int ret = -1;

	memset(rep, 0, sizeof(*rep));
	r.t0 = now_ms();
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	snprintf(r.workdir, sizeof(r.workdir), "%s",
		 o->workdir ? o->workdir : "/run/lazyboot/restore");
	/* mkdir -p: the default lives under /run, which may lack lazyboot/. */
	for (char *slash = strchr(r.workdir + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(r.workdir, 0700);
		*slash = '/';
	}
	if (lzb_mkdir(r.workdir, &err))
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
	ret = lzb_engine_new(&config, &r.engine);
	if (!ret)
		ret = lzb_image_source_add_tasks(r.source, r.engine);
	if (!ret)
		ret = lzb_lazy_socket_listen(r.workdir, &r.sock);
	if (!ret)
		ret = lzb_plugin_link_listen(r.workdir, &r.plugin);
	if (ret) {
		lzb_errf(&err, "cannot set up the pager: %s", strerror(-ret));
		ret = -1;
		goto out;
	}
	ret = -1;
	if (start_criu(&r, &err))
		goto out;
	ret = serve(&r, &err);
out:
	if (err.msg[0]) {
		fprintf(stderr, "lazyboot restore: %s\n", err.msg);
		if (r.engine && !lzb_engine_done(r.engine))
			kill_restored(&r, err.msg);
		else if (r.criu > 0)
			kill(r.criu, SIGKILL);
		ret = -1;
	}
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
