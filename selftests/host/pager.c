// SPDX-License-Identifier: GPL-2.0
/*
 * Host selftest of the pager loop (daemon/pager.c) as restore and profile
 * run it, with this binary as a stand-in for `criu restore --lazy-pages`:
 * started by the pager (LZB_FAKE_CRIU in its environment), it says hello
 * on the plugin link, forks the app of lazy_app.h (which hands its uffd
 * over the lazy-pages socket and checks every byte it reads), writes the
 * app's pid as the restored root, reports it as the plugin does, and exits
 * as `criu restore --restore-detached` does.  Checked: the hooks, the state
 * (tasks, root, plugin's pids), faults served with and without streaming,
 * a refused task, criu's failure, and the kill path leaving nothing alive;
 * and a live restore from an image source over two file:// mirrors, every
 * chunk on the first one tampered: served from the second, the app's
 * memory right byte for byte; tampered on both: stopped, naming each.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "foreign_peer.h"
#include "lazy_app.h"
#include "engine/lazy_ranges.h"
#include "fetch/fetch.h"
#include "image/image_reader.h"
#include "pager/image_source.h"
#include "pager/pager.h"
#include "pager/stream_gate.h"
#include "criu/plugin_link.h"
#include "util/clock.h"
#include "util/progress_log.h"

#define FAKE_CRIU_ENV "LZB_FAKE_CRIU"

/* ---- the stand-in for criu restore ---------------------------------- */

static void plugin_say(int fd, const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n;

	if (fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	if (write(fd, line, (size_t)n) != n)
		_exit(3);
}

static int plugin_connect(void)
{
	const char *path = getenv(LZB_PLUGIN_SOCKET_ENV);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (!path)
		return -1;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
		_exit(4);
	return fd;
}

/* Read the pager's verdict on a task, as the plugin does: 0 for "ok". */
static int plugin_verdict(int fd)
{
	char line[LZB_PLUGIN_VERDICT_MAX];
	size_t len = 0;

	while (len < sizeof(line) - 1 && read(fd, line + len, 1) == 1 &&
	       line[len] != '\n')
		len++;
	line[len] = '\0';
	return strcmp(line, "ok") ? -1 : 0;
}

/*
 * "settle": the app reads one page, then waits (without touching more)
 * until the pager made all its lazy memory resident, as a service does
 * that started and now waits for requests: the background then comes
 * from the stream, not from faults.  mincore() looks at the page tables
 * without faulting.  False after a minute without.
 */
static bool all_resident(uint64_t addr, uint64_t len)
{
	static unsigned char vec[AREA0_LEN / PAGE];

	if (mincore((void *)addr, len, vec))
		return false;
	for (uint64_t i = 0; i < len / PAGE; i++)
		if (!(vec[i] & 1))
			return false;
	return true;
}

static bool app_settle(void)
{
	uint64_t deadline = lzb_now_ms() + 60000;

	(void)*(volatile uint8_t *)AREA0;
	while (lzb_now_ms() < deadline) {
		if (all_resident(AREA0, AREA0_LEN) &&
		    all_resident(AREA1, AREA1_LAZY))
			return true;
		usleep(10000);
	}
	return false;
}

static int fake_criu(const char *mode, int argc, char **argv)
{
	const char *workdir = NULL, *pidfile = NULL;
	int plugin, ready[2], go[2];
	bool settle;
	char c;
	FILE *f;
	pid_t app;

	/* "gated": wait until the test opens WORKDIR/gate (a fifo). */
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--work-dir") && !strcmp(mode, "gated")) {
			char gate[128];
			int fd;

			snprintf(gate, sizeof(gate), "%s/gate", argv[i + 1]);
			fd = open(gate, O_RDONLY);
			if (fd < 0 || read(fd, &c, 1) < 0)
				return 9;
			close(fd);
		}
	plugin = plugin_connect();
	for (int i = 1; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "--work-dir"))
			workdir = argv[i + 1];
		else if (!strcmp(argv[i], "--pidfile"))
			pidfile = argv[i + 1];
	}
	if (!workdir || !pidfile)
		return 5;
	plugin_say(plugin, "hello %d", getpid());
	if (!strcmp(mode, "gated"))
		mode = "ok";
	if (!strcmp(mode, "fail")) {
		plugin_say(plugin, "exit 1");
		return 1;
	}
	if (!strcmp(mode, "dirty"))
		app_dirty_page = AREA0 + 5 * PAGE;
	settle = !strcmp(mode, "settle");
	if (pipe(ready) || pipe(go))
		return 6;
	app = fork();
	if (app == 0) {
		long bad;

		close(ready[0]);
		close(go[1]);
		app_setup(workdir);
		close(ready[1]);	/* handed over: criu may go */
		/* stopped, as CRIU holds its tasks, until the verdict */
		if (read(go[0], &c, 1) != 0)
			_exit(98);
		if (settle && !app_settle())
			_exit(97);
		bad = check_all();
		_exit(bad > 99 ? 99 : (int)bad);
	}
	close(ready[1]);
	if (app < 0 || read(ready[0], &c, 1) != 0)
		return 7;
	f = fopen(pidfile, "w");
	if (!f || fprintf(f, "%d\n", app) < 0 || fclose(f))
		return 8;
	plugin_say(plugin, "task %d", app);
	if (plugin >= 0 && plugin_verdict(plugin)) {
		kill(app, SIGKILL);
		plugin_say(plugin, "exit 1");
		return 1;
	}
	close(go[1]);		/* the task runs */
	plugin_say(plugin, "exit 0");
	return 0;
}

/* Run as criu when the pager started this binary as one. */
__attribute__((constructor)) static void maybe_criu(int argc, char **argv)
{
	const char *mode = getenv(FAKE_CRIU_ENV);

	if (mode && argc > 1 && !strcmp(argv[1], "restore"))
		_exit(fake_criu(mode, argc, argv));
}

/* ---- the pager's side ----------------------------------------------- */

FIXTURE(pager)
{
	char dir[64];
	char self_exe[4096];
	struct lzb_pager *p;
	const struct lzb_pager_state *ps;
	struct source_state src;
	int tasks, last_pid, restored;
	int refuse;			/* what on_task answers */
	bool stop_when_withheld;
	int app_status;			/* of the root, once it exited */
	bool app_done;
	pid_t foreign[2];		/* peers that must be refused */
	int foreign_status[2];
	bool gate_open;
};

FIXTURE_VARIANT(pager)
{
	unsigned int max_background;
};

FIXTURE_VARIANT_ADD(pager, streaming) { .max_background = 2 };
FIXTURE_VARIANT_ADD(pager, faults_only) { .max_background = 0 };

static int on_task(void *ctx, int img_pid, int pid, int pidfd, int uffd)
{
	FIXTURE_DATA(pager) *self = ctx;

	(void)img_pid;
	(void)uffd;
	(void)pidfd;
	self->tasks++;
	self->last_pid = pid;
	return self->refuse;
}

static void on_restored(void *ctx)
{
	FIXTURE_DATA(pager) *self = ctx;

	self->restored++;
}

static void tick(void *ctx, struct lzb_err *err)
{
	FIXTURE_DATA(pager) *self = ctx;
	int root = self->ps->root_pid;

	if (!self->app_done && root > 0 &&
	    waitpid(root, &self->app_status, WNOHANG) == root)
		self->app_done = true;
	if (self->stop_when_withheld && self->ps->criu_done &&
	    self->src.withheld)
		lzb_errf(err, "stopped by the test");
	/* Once both foreign peers have their answer, criu may go. */
	for (int i = 0; i < 2; i++)
		if (self->foreign[i] > 0 &&
		    waitpid(self->foreign[i], &self->foreign_status[i],
			    WNOHANG) == self->foreign[i])
			self->foreign[i] = 0;
	if (!self->gate_open && self->foreign_status[0] != -1 &&
	    self->foreign_status[1] != -1 && !self->foreign[0] &&
	    !self->foreign[1]) {
		char gate[128];
		int fd;

		snprintf(gate, sizeof(gate), "%s/gate", self->dir);
		fd = open(gate, O_WRONLY);
		if (fd >= 0)
			close(fd);
		self->gate_open = true;
	}
}

static bool done(void *ctx)
{
	FIXTURE_DATA(pager) *self = ctx;

	return self->ps->criu_done && self->ps->restored && self->app_done;
}

FIXTURE_SETUP(pager)
{
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		SKIP(return, "userfaultfd unavailable (needs root)");
	close(fd);
	self->gate_open = true;		/* no gate unless a test sets one */
	strcpy(self->dir, "/tmp/lzb-pager-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	n = readlink("/proc/self/exe", self->self_exe,
		     sizeof(self->self_exe) - 1);
	ASSERT_LT(0, n);
	self->self_exe[n] = '\0';
	/* The restored root is left to us when criu exits, as to lazybootd. */
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
}

FIXTURE_TEARDOWN(pager)
{
	char cmd[128];

	if (self->p) {
		lzb_pager_kill_tree(self->p);
		lzb_pager_free(self->p);
	}
	if (self->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
		if (system(cmd))
			TH_LOG("could not remove %s", self->dir);
	}
}

/* A pager over the image of lazy_app.h, with criu to be this binary. */
static int start(FIXTURE_DATA(pager) *self, unsigned int max_background,
		 const char *criu_mode, struct lzb_err *err)
{
	const struct lzb_pager_config pc = {
		.workdir = self->dir,
		.source = { .request = deliver_chunk, .ctx = &self->src },
		.max_background = max_background,
		.stream_bytes = 4 * CHUNK,
		.hooks = { .ctx = self, .on_task = on_task,
			   .on_restored = on_restored, .tick = tick,
			   .done = done },
		.t0_us = lzb_now_us(), .quiet = true,
	};
	const struct lzb_criu_restore cr = {
		.criu = self->self_exe, .images_dir = self->dir,
	};
	struct lzb_ranges lazy;
	int ret;

	if (lzb_pager_new(&pc, &self->p, err))
		return -1;
	self->ps = lzb_pager_state(self->p);
	lzb_ranges_init(&lazy);
	ret = lzb_ranges_add(&lazy, AREA0, AREA0 + AREA0_LEN, AREA0);
	if (!ret)
		ret = lzb_ranges_add(&lazy, AREA1, AREA1 + AREA1_LAZY, AREA1);
	if (!ret)
		ret = lzb_engine_add_task(lzb_pager_engine(self->p), IMG_PID,
					  &lazy);
	lzb_ranges_free(&lazy);
	if (ret)
		return lzb_errf(err, "cannot declare the task: %d", ret);
	setenv(FAKE_CRIU_ENV, criu_mode, 1);
	return lzb_pager_start_criu(self->p, &cr, err);
}

/* Gone: neither running nor a zombie of ours. */
static bool gone(int pid)
{
	return kill(pid, 0) && errno == ESRCH;
}

TEST_F_TIMEOUT(pager, serves_until_done, 120)
{
	struct lzb_err err = { { 0 } };
	struct lzb_engine_stats st;

	ASSERT_EQ(0, start(self, variant->max_background, "ok", &err))
		TH_LOG("%s", err.msg);
	ASSERT_EQ(0, lzb_pager_serve(self->p, &err)) TH_LOG("%s", err.msg);
	ASSERT_TRUE(WIFEXITED(self->app_status))
		TH_LOG("app died: status 0x%x", self->app_status);
	EXPECT_EQ(0, WEXITSTATUS(self->app_status)) TH_LOG("app saw wrong bytes");
	/* The hooks saw one task, by its real pid, and RSTF. */
	EXPECT_EQ(1, self->tasks);
	EXPECT_EQ(1, self->restored);
	EXPECT_EQ(1, self->ps->tasks);
	EXPECT_TRUE(self->ps->restored);
	EXPECT_TRUE(self->ps->criu_done);
	/* The root from criu's pidfile is the task, as the plugin says. */
	EXPECT_EQ(self->last_pid, self->ps->root_pid);
	EXPECT_EQ(1, self->ps->plugin_tasks);
	lzb_engine_get_stats(lzb_pager_engine(self->p), &st);
	EXPECT_EQ(st.pages_lazy_total, st.pages_resident);
	if (!variant->max_background) {
		/* Faults only: every chunk was asked for by a fault. */
		EXPECT_LT(0, st.faults);
		EXPECT_EQ(self->src.urgent_requests,
			  self->src.chunks_delivered);
	}
}

/*
 * Who connects to the lazy-pages socket and the plugin link: criu is held
 * at a gate while a root process that is not it, and a uid-65534 process
 * that can reach root's 0600 sockets (CAP_DAC_OVERRIDE), connect to both;
 * each must be hung up on, and the restore then goes on with the real
 * criu.  The sockets are 0600 though the umask is 000.
 */
TEST_F_TIMEOUT(pager, foreign_peers_are_refused, 120)
{
	struct lzb_err err = { { 0 } };
	char lazy[128], link[128], gate[128];
	mode_t old = umask(0);

	snprintf(gate, sizeof(gate), "%s/gate", self->dir);
	ASSERT_EQ(0, mkfifo(gate, 0600));
	self->gate_open = false;
	self->foreign_status[0] = self->foreign_status[1] = -1;
	ASSERT_EQ(0, start(self, variant->max_background, "gated", &err))
		TH_LOG("%s", err.msg);
	umask(old);
	snprintf(lazy, sizeof(lazy), "%s/%s", self->dir, LZB_LAZY_SOCKET_NAME);
	snprintf(link, sizeof(link), "%s/%s", self->dir,
		 LZB_PLUGIN_SOCKET_NAME);
	EXPECT_EQ(0600, mode_of(lazy));
	EXPECT_EQ(0600, mode_of(link));
	for (int i = 0; i < 2; i++) {
		self->foreign[i] = fork();
		ASSERT_LE(0, self->foreign[i]);
		if (self->foreign[i] == 0) {
			if (i == 1 && become_nobody())
				_exit(3);
			_exit(refused_at(lazy, SOCK_STREAM) |
			      refused_at(link, SOCK_STREAM) << 2);
		}
	}
	ASSERT_EQ(0, lzb_pager_serve(self->p, &err)) TH_LOG("%s", err.msg);
	for (int i = 0; i < 2; i++) {
		ASSERT_TRUE(WIFEXITED(self->foreign_status[i]));
		/* 1: lazy socket kept it, 4: plugin link kept it */
		EXPECT_EQ(0, WEXITSTATUS(self->foreign_status[i]))
			TH_LOG("%s peer: %d", i ? "uid 65534" : "root",
			       WEXITSTATUS(self->foreign_status[i]));
	}
	ASSERT_TRUE(WIFEXITED(self->app_status));
	EXPECT_EQ(0, WEXITSTATUS(self->app_status));
	EXPECT_EQ(1, self->ps->tasks);
}

TEST_F_TIMEOUT(pager, stopped_pager_kills_the_tree, 120)
{
	struct lzb_err err = { { 0 } };
	int root;

	self->src.limit = 1;	/* then a fault waits for ever */
	self->stop_when_withheld = true;
	ASSERT_EQ(0, start(self, variant->max_background, "ok", &err))
		TH_LOG("%s", err.msg);
	ASSERT_EQ(-1, lzb_pager_serve(self->p, &err));
	EXPECT_STREQ("stopped by the test", err.msg);
	root = self->ps->root_pid;
	ASSERT_LT(0, root);
	EXPECT_FALSE(gone(root));
	EXPECT_LE(1, lzb_pager_kill_tree(self->p));
	EXPECT_TRUE(gone(root)) TH_LOG("the restored root %d lives on", root);
}

TEST_F_TIMEOUT(pager, refused_task_stops, 120)
{
	struct lzb_err err = { { 0 } };

	self->refuse = -EPERM;
	ASSERT_EQ(0, start(self, variant->max_background, "ok", &err))
		TH_LOG("%s", err.msg);
	ASSERT_EQ(-1, lzb_pager_serve(self->p, &err));
	EXPECT_NE(NULL, strstr(err.msg, "CRIU's lazy-pages socket: "))
		TH_LOG("%s", err.msg);
	EXPECT_EQ(1, self->ps->tasks);
	lzb_pager_kill_tree(self->p);
	if (self->ps->root_pid > 0)
		EXPECT_TRUE(gone(self->ps->root_pid));
}

/* A lazy page present before the pager installed it: the task never runs. */
TEST_F_TIMEOUT(pager, present_lazy_page_is_refused, 120)
{
	struct lzb_err err = { { 0 } };

	ASSERT_EQ(0, start(self, variant->max_background, "dirty", &err))
		TH_LOG("%s", err.msg);
	ASSERT_EQ(-1, lzb_pager_serve(self->p, &err));
	TH_LOG("%s", err.msg);
	/* the plugin's verdict, or (streaming got there first) the engine */
	EXPECT_NE(NULL, strstr(err.msg, "present before the pager installed"));
	EXPECT_NE(NULL, strstr(err.msg, "0x7e1000005000"));
	lzb_pager_kill_tree(self->p);
	if (self->ps->root_pid > 0)
		EXPECT_TRUE(gone(self->ps->root_pid));
	EXPECT_FALSE(self->app_done && WIFEXITED(self->app_status))
		TH_LOG("the task ran: exit status %d",
		       WEXITSTATUS(self->app_status));
}

TEST_F_TIMEOUT(pager, criu_failure_stops, 120)
{
	struct lzb_err err = { { 0 } };

	ASSERT_EQ(0, start(self, variant->max_background, "fail", &err))
		TH_LOG("%s", err.msg);
	ASSERT_EQ(-1, lzb_pager_serve(self->p, &err));
	EXPECT_NE(NULL, strstr(err.msg, "criu restore failed"))
		TH_LOG("%s", err.msg);
	EXPECT_FALSE(self->ps->criu_done);
	EXPECT_EQ(0, self->ps->tasks);
}

/* ---- a live restore from two mirrors, the first one bad ------------- */

/*
 * lazy_app.h's memory as a lazyboot image in memory (manifest object
 * table and index; no bundle: CRIU here is the stand-in), its chunks
 * written to two file:// mirrors.  BAD_A/BAD_B: which mirrors get every
 * chunk with one byte changed (same size, so only the hash can tell).
 */
struct two_mirrors {
	struct lzb_image img;
	char dir_a[128], dir_b[128];
	struct lzb_fetcher *f;
	struct lzb_fetcher *sf;		/* the stream's */
	struct lzb_mirrors *m;
	struct lzb_image_source *src;
};

static int write_obj(const char *dir, const char *name, const uint8_t *buf,
		     size_t len, bool tamper)
{
	char path[400];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = fwrite(buf, 1, len, f) == len;
	if (tamper && ok) {
		uint8_t b = buf[len / 2] ^ 0x20;

		ok = !fseek(f, (long)(len / 2), SEEK_SET) &&
		     fwrite(&b, 1, 1, f) == 1;
	}
	return fclose(f) || !ok ? -1 : 0;
}

/* What each mirror has of the image's stream (image_stream.c). */
enum stream_kind {
	NO_STREAM,		/* none: an image packed with --no-stream */
	GOOD_STREAM,
	BAD_STREAM,		/* one byte of every chunk in it changed */
};

/* STREAM (every chunk's stored bytes back to back) as KIND in DIR. */
static int write_stream(const char *dir, const struct lzb_manifest *m,
			const uint8_t *stream, size_t len,
			enum stream_kind kind)
{
	char name[LZB_STREAM_NAME_LEN], sdir[200];
	uint8_t *copy;
	uint64_t off = 0;
	int ret;

	if (kind == NO_STREAM)
		return 0;
	snprintf(sdir, sizeof(sdir), "%s/stream", dir);
	if (lzb_stream_name(name, m->objects, m->nr_objects) ||
	    mkdir(sdir, 0700))
		return -1;
	copy = malloc(len);
	if (!copy)
		return -1;
	memcpy(copy, stream, len);
	for (uint32_t c = 0; kind == BAD_STREAM &&
			     c < lzb_nr_chunks(m->nr_objects); c++) {
		uint64_t size = m->objects[lzb_chunk_slot(c)].size;

		copy[off + size / 2] ^= 0x20;
		off += size;
	}
	ret = write_obj(dir, name, copy, len, false);
	free(copy);
	return ret;
}

static int make_two_mirrors(struct two_mirrors *tm, const char *dir,
			    bool bad_a, bool bad_b, enum stream_kind stream,
			    struct lzb_err *err)
{
	const uint64_t per = CHUNK / PAGE;
	const uint32_t n0 = AREA0_LEN / CHUNK, n = n0 + AREA1_LAZY / CHUNK;
	struct lzb_index_task task = { .pid = IMG_PID, .count = n };
	struct lzb_index_chunk *chunks = calloc(n, sizeof(*chunks));
	struct lzb_extent *ext = calloc(n, sizeof(*ext));
	struct lzb_index_stats st = { 0 };
	const char *bases[2];
	char url_a[160], url_b[160];
	uint8_t raw[CHUNK], *ix, *all = NULL;
	size_t ix_len, all_len = 0;
	int ret = -1;

	memset(tm, 0, sizeof(*tm));
	snprintf(tm->dir_a, sizeof(tm->dir_a), "%s/a", dir);
	snprintf(tm->dir_b, sizeof(tm->dir_b), "%s/b", dir);
	snprintf(url_a, sizeof(url_a), "%s/obj", tm->dir_a);
	snprintf(url_b, sizeof(url_b), "%s/obj", tm->dir_b);
	if (!chunks || !ext || mkdir(tm->dir_a, 0700) || mkdir(url_a, 0700) ||
	    mkdir(tm->dir_b, 0700) || mkdir(url_b, 0700)) {
		lzb_errf(err, "cannot set up the mirrors");
		goto out;
	}
	strcpy(tm->img.dir, "test image");
	tm->img.m.nr_objects = lzb_chunk_slot(n);
	tm->img.m.objects = calloc(tm->img.m.nr_objects,
				   sizeof(*tm->img.m.objects));
	if (!tm->img.m.objects)
		goto out;
	for (uint32_t c = 0; c < n; c++) {
		uint64_t va = c < n0 ? AREA0 + c * CHUNK :
				       AREA1 + (c - n0) * CHUNK;
		struct lzb_object *o = &tm->img.m.objects[lzb_chunk_slot(c)];
		char name[4 + 2 * LZB_HASH_BYTES + 1];
		uint8_t *enc;
		size_t len;

		for (uint64_t i = 0; i < CHUNK; i++)
			raw[i] = image_byte(va + i);
		if (lzb_chunk_encode(raw, CHUNK, 1, NULL, &enc, &len))
			goto out;
		o->type = LZB_OBJ_CHUNK;
		o->size = len;
		lzb_hash(o->hash, enc, len);
		lzb_object_name(name, o);
		if (write_obj(tm->dir_a, name, enc, len, bad_a) ||
		    write_obj(tm->dir_b, name, enc, len, bad_b)) {
			free(enc);
			lzb_errf(err, "cannot write %s", name);
			goto out;
		}
		uint8_t *grown = realloc(all, all_len + len);

		if (!grown) {
			free(enc);
			goto out;
		}
		all = grown;
		memcpy(all + all_len, enc, len);
		all_len += len;
		free(enc);
		chunks[c] = (struct lzb_index_chunk){ .raw_pages = per,
						      .stored = len };
		ext[c] = (struct lzb_extent){ .vaddr = va, .nr_pages = per,
					      .kind = LZB_EXT_COLD,
					      .chunk = c };
	}
	st.pages_total = st.pages_cold = st.pages_stored = n * per;
	if (write_stream(tm->dir_a, &tm->img.m, all, all_len, stream) ||
	    write_stream(tm->dir_b, &tm->img.m, all, all_len, stream)) {
		lzb_errf(err, "cannot write the stream");
		goto out;
	}
	if (lzb_index_encode(&st, &task, 1, chunks, n, ext, n, &ix, &ix_len) ||
	    lzb_image_set_index(&tm->img, "index", ix, ix_len, err))
		goto out;
	snprintf(url_a, sizeof(url_a), "file://%s", tm->dir_a);
	snprintf(url_b, sizeof(url_b), "file://%s", tm->dir_b);
	bases[0] = url_a;
	bases[1] = url_b;
	tm->f = lzb_fetcher_new(&(struct lzb_fetcher_opts){ .backoff_ms = 5 });
	tm->sf = lzb_fetcher_new(&(struct lzb_fetcher_opts){ .backoff_ms = 5 });
	tm->m = lzb_mirrors_new(bases, 2);
	if (!tm->f || !tm->sf || !tm->m ||
	    lzb_image_source_new(&tm->img, tm->f, tm->m, &tm->src, err))
		goto out;
	ret = 0;
out:
	free(all);
	free(chunks);
	free(ext);
	return ret;
}

static void free_two_mirrors(struct two_mirrors *tm)
{
	lzb_image_source_free(tm->src);
	lzb_mirrors_free(tm->m);
	lzb_fetcher_free(tm->f);
	lzb_fetcher_free(tm->sf);
	lzb_image_close(&tm->img);
}

static const char *image_source_error(void *ctx)
{
	return lzb_image_source_error(ctx);
}

/* A pager over TM's image source, with criu to be this binary. */
static int start_from_mirrors(FIXTURE_DATA(pager) *self,
			      struct two_mirrors *tm,
			      unsigned int max_background, bool own_stream,
			      struct lzb_err *err)
{
	const struct lzb_pager_config pc = {
		.workdir = self->dir,
		.source = { .request = lzb_image_source_request,
			    .pump = own_stream ? lzb_image_source_pump : NULL,
			    .pump_fd = lzb_image_source_pump_fd,
			    .ctx = tm->src },
		.source_error = image_source_error,
		.max_background = max_background,
		.stream_bytes = 4 * CHUNK,
		.fetcher = tm->f,
		.hooks = { .ctx = self, .on_task = on_task,
			   .on_restored = on_restored, .tick = tick,
			   .done = done },
		.t0_us = lzb_now_us(), .quiet = true,
	};
	const struct lzb_criu_restore cr = {
		.criu = self->self_exe, .images_dir = self->dir,
	};
	int ret;

	if (own_stream)	/* holding for faults: a no-op over file:// */
		lzb_image_source_set_streaming(tm->src, tm->sf,
					       max_background, true);
	if (lzb_pager_new(&pc, &self->p, err))
		return -1;
	self->ps = lzb_pager_state(self->p);
	ret = lzb_image_source_add_tasks(tm->src, lzb_pager_engine(self->p));
	if (ret)
		return lzb_errf(err, "cannot declare the tasks: %d", ret);
	/* With a stream, the app waits for its background as a service does */
	setenv(FAKE_CRIU_ENV, own_stream ? "settle" : "ok", 1);
	return lzb_pager_start_criu(self->p, &cr, err);
}

/*
 * Every chunk on the first mirror tampered (its hash no longer the
 * manifest's), the second intact: the restore completes from the second
 * and the app reads every byte of its memory right (it checks them all
 * itself and exits 0 only then).  Faults keep their priority across the
 * failover; the bad mirror is demoted, so only the first chunk or few
 * are refused, not all.
 */
TEST_F_TIMEOUT(pager, tampered_chunk_on_first_mirror_fails_over, 120)
{
	struct lzb_err err = { { 0 } };
	struct lzb_image_source_stats ss;
	struct lzb_engine_stats st;
	struct two_mirrors tm;

	ASSERT_EQ(0, make_two_mirrors(&tm, self->dir, true, false, NO_STREAM,
				      &err))
		TH_LOG("%s", err.msg);
	ASSERT_EQ(0, start_from_mirrors(self, &tm, variant->max_background,
					false, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(0, lzb_pager_serve(self->p, &err)) TH_LOG("%s", err.msg);
	ASSERT_TRUE(self->app_done);
	ASSERT_TRUE(WIFEXITED(self->app_status))
		TH_LOG("app died: status 0x%x", self->app_status);
	EXPECT_EQ(0, WEXITSTATUS(self->app_status))
		TH_LOG("app saw %d wrong bytes", WEXITSTATUS(self->app_status));
	lzb_engine_get_stats(lzb_pager_engine(self->p), &st);
	EXPECT_EQ(st.pages_lazy_total, st.pages_resident);
	lzb_image_source_get_stats(tm.src, &ss);
	EXPECT_EQ(tm.img.ix.nr_chunks, ss.chunks_fetched);
	EXPECT_LE(1, ss.chunks_refused);
	/* demoted after its first refusals: not asked for every chunk */
	EXPECT_GT(ss.chunks_fetched / 4, ss.chunks_refused);
	lzb_pager_kill_tree(self->p);
	/* the source before the pager, as restore.c does: freeing it
	 * cancels chunk fetches, which fail their pages in the engine */
	free_two_mirrors(&tm);
	lzb_pager_free(self->p);
	self->p = NULL;
}

/* Both mirrors bad: the restore stops naming each; the app never runs on. */
TEST_F_TIMEOUT(pager, tampered_chunk_on_every_mirror_stops, 120)
{
	struct lzb_err err = { { 0 } };
	struct two_mirrors tm;

	ASSERT_EQ(0, make_two_mirrors(&tm, self->dir, true, true, NO_STREAM,
				      &err))
		TH_LOG("%s", err.msg);
	ASSERT_EQ(0, start_from_mirrors(self, &tm, variant->max_background,
					false, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(-1, lzb_pager_serve(self->p, &err));
	TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "every mirror failed"));
	EXPECT_NE(NULL, strstr(err.msg, tm.dir_a));
	EXPECT_NE(NULL, strstr(err.msg, tm.dir_b));
	EXPECT_NE(NULL, strstr(err.msg, "hash mismatch"));
	lzb_pager_kill_tree(self->p);
	if (self->ps->root_pid > 0)
		EXPECT_TRUE(gone(self->ps->root_pid));
	EXPECT_FALSE(self->app_done && WIFEXITED(self->app_status) &&
		     WEXITSTATUS(self->app_status) == 0);
	free_two_mirrors(&tm);	/* before the pager: see above */
	lzb_pager_free(self->p);
	self->p = NULL;
}

/*
 * The background from the image's stream (image_stream.c), the source
 * streaming itself: KIND on both mirrors, every chunk object intact.  The
 * app checks every byte of its memory and exits 0 only if all are right.
 * The variant's max_background is the fallback's (0: its default, 4): a
 * source with a pump streams whatever the engine's setting.
 */
static void restore_with_stream(struct __test_metadata *_metadata,
				FIXTURE_DATA(pager) *self,
				unsigned int max_background,
				enum stream_kind kind,
				struct lzb_image_source_stats *ss)
{
	struct lzb_err err = { { 0 } };
	struct lzb_engine_stats st;
	struct two_mirrors tm;

	ASSERT_EQ(0, make_two_mirrors(&tm, self->dir, false, false, kind,
				      &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, start_from_mirrors(self, &tm, max_background, true,
					&err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(0, lzb_pager_serve(self->p, &err)) TH_LOG("%s", err.msg);
	ASSERT_TRUE(self->app_done);
	ASSERT_TRUE(WIFEXITED(self->app_status))
		TH_LOG("app died: status 0x%x", self->app_status);
	EXPECT_EQ(0, WEXITSTATUS(self->app_status))
		TH_LOG("app exit %d: wrong bytes, or 97: its memory never "
		       "became resident", WEXITSTATUS(self->app_status));
	lzb_engine_get_stats(lzb_pager_engine(self->p), &st);
	EXPECT_EQ(st.pages_lazy_total, st.pages_resident);
	lzb_image_source_get_stats(tm.src, ss);
	lzb_pager_kill_tree(self->p);
	free_two_mirrors(&tm);	/* before the pager: see above */
	lzb_pager_free(self->p);
	self->p = NULL;
}

/* Every chunk the faults did not bring came from the stream, checked. */
TEST_F_TIMEOUT(pager, stream_brings_the_background, 120)
{
	struct lzb_image_source_stats ss = { 0 };

	restore_with_stream(_metadata, self, variant->max_background,
			    GOOD_STREAM, &ss);
	EXPECT_TRUE(ss.stream_used);
	EXPECT_FALSE(ss.stream_failed);
	EXPECT_EQ(0, ss.chunks_refused);
	EXPECT_LT(0, ss.chunks_streamed);
	/*
	 * A chunk is fetched alone for a fault, or by the fallback when a
	 * copy from the stream was deferred (the task's map was changing)
	 * and its pages were still lazy as the stream ended: at most a few.
	 */
	EXPECT_GE(ss.chunks_urgent + 2, ss.chunks_fetched - ss.chunks_streamed)
		TH_LOG("%llu fetched, %llu from the stream, %llu for faults",
		       (unsigned long long)ss.chunks_fetched,
		       (unsigned long long)ss.chunks_streamed,
		       (unsigned long long)ss.chunks_urgent);
}

/*
 * A mirror set whose stream has one byte of every chunk changed: no
 * changed byte reaches the app (it checks them all); the stream is
 * dropped after a few refusals and the chunks come one by one.
 */
TEST_F_TIMEOUT(pager, tampered_stream_falls_back_to_chunks, 120)
{
	struct lzb_image_source_stats ss = { 0 };

	restore_with_stream(_metadata, self, variant->max_background,
			    BAD_STREAM, &ss);
	EXPECT_TRUE(ss.stream_used);
	EXPECT_TRUE(ss.stream_failed);
	EXPECT_EQ(0, ss.chunks_streamed);
	EXPECT_LE(1, ss.chunks_refused);
	EXPECT_GE(8, ss.chunks_refused);
}

/* No stream on any mirror (an older image): chunk by chunk, all of it. */
TEST_F_TIMEOUT(pager, no_stream_falls_back_to_chunks, 120)
{
	struct lzb_image_source_stats ss = { 0 };

	restore_with_stream(_metadata, self, variant->max_background,
			    NO_STREAM, &ss);
	EXPECT_TRUE(ss.stream_used);
	EXPECT_TRUE(ss.stream_failed);
	EXPECT_EQ(0, ss.chunks_streamed);
	EXPECT_EQ(0, ss.chunks_refused);
}

/*
 * The stream waits for the restored tasks' burst of faults to end: a
 * table of fault counts the loop sees at given times, and whether the
 * gate opens at the last of them.
 */
TEST(stream_waits_for_the_faults_to_calm)
{
	static const struct {
		const char *name;
		unsigned int looks;
		struct { uint64_t ms, faults; } at[8];
		bool open;
	} cases[] = {
		{ "first look", 1, { { 5000, 0 } }, false },
		{ "no fault, not yet quiet", 2, { { 0, 0 }, { 99, 0 } }, false },
		{ "no fault for the quiet time", 2, { { 0, 0 }, { 100, 0 } },
		  true },
		{ "a fault restarts the quiet time", 3,
		  { { 0, 0 }, { 80, 3 }, { 179, 3 } }, false },
		{ "quiet after the last fault", 3,
		  { { 0, 0 }, { 80, 3 }, { 180, 3 } }, true },
		{ "faults every 50 ms, before the cap", 4,
		  { { 0, 0 }, { 50, 1 }, { 100, 2 }, { 999, 40 } }, false },
		{ "faults every 50 ms, at the cap", 3,
		  { { 0, 0 }, { 950, 39 }, { 1000, 40 } }, true },
		{ "faults before the first look do not count", 2,
		  { { 10, 70 }, { 110, 70 } }, true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lzb_stream_gate gate = { 0 };
		bool open = false;

		for (unsigned int k = 0; k < cases[i].looks; k++) {
			open = lzb_stream_gate_open(&gate, cases[i].at[k].faults,
						    cases[i].at[k].ms);
			if (k + 1 < cases[i].looks)
				ASSERT_FALSE(open) TH_LOG("%s: open at look %u",
							  cases[i].name, k);
		}
		EXPECT_EQ(cases[i].open, open) TH_LOG("%s", cases[i].name);
	}
}

static int no_task(void *ctx, int img_pid, int real_pid, int pidfd, int uffd)
{
	(void)ctx, (void)img_pid, (void)real_pid;
	close(uffd);
	close(pidfd);
	return -EPROTO;
}

/*
 * The pager reads the lazy-pages socket from its loop and from the
 * plugin's verdict, so a call may come when the other already read what
 * was queued: it must return at once, not wait for a message.
 */
TEST(lazy_socket_returns_when_nothing_is_queued)
{
	const struct lzb_lazy_socket_ops ops = { .task = no_task };
	char dir[] = "/tmp/lzb-lazysock-XXXXXX", path[128];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct lzb_lazy_socket *sock;
	uint64_t t0;
	int fd;

	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, lzb_lazy_socket_listen(dir, &sock));
	lzb_lazy_socket_allow(sock, getpid());	/* we stand in for criu */
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", dir,
		 LZB_LAZY_SOCKET_NAME);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&addr, sizeof(addr)));
	t0 = lzb_now_us();
	EXPECT_EQ(0, lzb_lazy_socket_process(sock, &ops, NULL));	/* accept */
	EXPECT_EQ(0, lzb_lazy_socket_process(sock, &ops, NULL));	/* nothing */
	EXPECT_GT(1000000, lzb_now_us() - t0)
		TH_LOG("waited %llu us", (unsigned long long)(lzb_now_us() - t0));
	close(fd);
	/* the hang-up before RSTF is read, and named */
	EXPECT_EQ(-EPIPE, lzb_lazy_socket_process(sock, &ops, NULL));
	lzb_lazy_socket_close(sock);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	EXPECT_EQ(0, system(path));
}

TEST_HARNESS_MAIN
