// SPDX-License-Identifier: GPL-2.0
/*
 * Host selftest of the pager's core: the userfaultfd engine fed through
 * CRIU's lazy-pages socket protocol.  Each variant forks an "app" that maps
 * the image's memory at fixed addresses, registers it with a userfaultfd
 * the way CRIU's restorer does, hands the uffd over the socket as
 * `criu restore --lazy-pages` does, sends RSTF, then runs a workload and
 * checks every byte it reads against the image (exit status 0 = all good).
 * The source delivers whole 64 KiB chunks, as the image's chunks will.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lazy_app.h"

#define MOVED 0x7e3000000000UL

enum workload {
	SEQUENTIAL, THREADS, FORK, MREMAP, DONTNEED, MUNMAP, STREAM_ONLY,
	TAKEOVER,
};

/* ---- the app -------------------------------------------------------- */

struct toucher {
	unsigned int seed;
	long bad;
};

static void *touch_random(void *arg)
{
	struct toucher *t = arg;
	int i;

	for (i = 0; i < 2000; i++) {
		uint64_t off = (uint64_t)rand_r(&t->seed) % AREA0_LEN;

		if (*(volatile uint8_t *)(AREA0 + off) != image_byte(AREA0 + off))
			t->bad++;
	}
	return NULL;
}

static long app_workload(enum workload w)
{
	struct toucher t[8];
	pthread_t threads[8];
	long bad = 0;
	int i, status;
	pid_t child;
	void *moved;

	switch (w) {
	case SEQUENTIAL:
		return check_all();
	case THREADS:
		for (i = 0; i < 8; i++) {
			t[i].seed = i + 1;
			t[i].bad = 0;
			pthread_create(&threads[i], NULL, touch_random, &t[i]);
		}
		for (i = 0; i < 8; i++) {
			pthread_join(threads[i], NULL);
			bad += t[i].bad;
		}
		return bad + check_all();
	case FORK:
		/* Half is read before the fork, the rest by both after it. */
		bad = check_range(AREA0, AREA0, AREA0_LEN / 2, ~0ULL);
		child = fork();
		if (child == 0)
			_exit(check_all() ? 1 : 0);
		bad += check_all();
		if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			bad++;
		return bad;
	case MREMAP:
		/* Move 2 MiB of area 0 before anything is touched. */
		moved = mremap((void *)(AREA0 + (2UL << 20)), 2UL << 20, 2UL << 20,
			       MREMAP_MAYMOVE | MREMAP_FIXED, (void *)MOVED);
		if (moved != (void *)MOVED)
			return 1000;
		bad = check_range(MOVED, AREA0 + (2UL << 20), 2UL << 20, ~0ULL);
		bad += check_range(AREA0, AREA0, 2UL << 20, ~0ULL);
		bad += check_range(AREA0 + (4UL << 20), AREA0 + (4UL << 20),
				   4UL << 20, ~0ULL);
		return bad;
	case DONTNEED:
		/* Read 1 MiB, drop 2 MiB around it: all of it must read zero
		 * afterwards, never image data again. */
		bad = check_range(AREA0 + (1UL << 20), AREA0 + (1UL << 20),
				  1UL << 20, ~0ULL);
		if (madvise((void *)AREA0, 3UL << 20, MADV_DONTNEED))
			return 1000;
		usleep(50000);
		bad += check_range(AREA0, AREA0, 3UL << 20, 0);
		bad += check_range(AREA0 + (3UL << 20), AREA0 + (3UL << 20),
				   5UL << 20, ~0ULL);
		return bad;
	case MUNMAP:
		if (munmap((void *)(AREA0 + (4UL << 20)), 4UL << 20))
			return 1000;
		return check_range(AREA0, AREA0, 4UL << 20, ~0ULL) +
		       check_range(AREA1, AREA1, AREA1_LEN, AREA1 + AREA1_LAZY);
	case STREAM_ONLY:
		/* Touch nothing until the pager has streamed everything. */
		usleep(300000);
		return check_all();
	case TAKEOVER:
		/* Read 1 MiB, drop it, then block on area 1 while the first
		 * pager dies; the dropped MiB is read only after the second
		 * pager took over, and must read zero, not image data. */
		bad = check_range(AREA0, AREA0, 1UL << 20, ~0ULL);
		if (madvise((void *)AREA0, 1UL << 20, MADV_DONTNEED))
			return 1000;
		bad += check_range(AREA1, AREA1, AREA1_LEN, AREA1 + AREA1_LAZY);
		bad += check_range(AREA0, AREA0, 1UL << 20, 0);
		bad += check_range(AREA0 + (1UL << 20), AREA0 + (1UL << 20),
				   AREA0_LEN - (1UL << 20), ~0ULL);
		return bad;
	}
	return 1000;
}

static void run_app(const char *dir, enum workload w)
{
	long bad;

	app_setup(dir);
	bad = app_workload(w);
	_exit(bad > 99 ? 99 : (int)bad);
}

/* ---- the pager side ------------------------------------------------- */

struct pager {
	struct lzb_engine *engine;
	int tasks, zombies, finished;
	int last_real_pid;	/* the sender's pid, from its credentials */
};

static int on_task(void *ctx, int img_pid, int real_pid, int pidfd, int uffd)
{
	struct pager *p = ctx;

	close(pidfd);
	p->tasks++;
	p->last_real_pid = real_pid;
	return lzb_engine_attach(p->engine, img_pid, uffd);
}

static int on_zombie(void *ctx, int img_pid)
{
	struct pager *p = ctx;

	(void)img_pid;
	p->zombies++;
	return 0;
}

static int on_finished(void *ctx)
{
	struct pager *p = ctx;

	p->finished++;
	lzb_engine_start_streaming(p->engine);
	return 0;
}

static const struct lzb_lazy_socket_ops socket_ops = {
	.task = on_task, .zombie = on_zombie, .finished = on_finished,
};

FIXTURE(engine)
{
	char dir[64];
	struct source_state source;
	struct pager pager;
	struct lzb_lazy_socket *sock;
	struct lzb_engine_stats stats;
	int uffd_ok;
};

FIXTURE_VARIANT(engine)
{
	enum workload workload;
	unsigned int max_background;	/* 0: no background streaming */
	bool background_first;		/* say the background began first */
};

FIXTURE_VARIANT_ADD(engine, sequential) { .workload = SEQUENTIAL, .max_background = 2 };
FIXTURE_VARIANT_ADD(engine, faults_only) { .workload = SEQUENTIAL, .max_background = 0 };
/* A source streaming on its own began before the app ran: every fault is
 * one "during the background". */
FIXTURE_VARIANT_ADD(engine, faults_in_background) {
	.workload = SEQUENTIAL, .max_background = 0, .background_first = true,
};
FIXTURE_VARIANT_ADD(engine, threads) { .workload = THREADS, .max_background = 4 };
/* Faults only: a stream could finish before the app forks (a loaded host
 * starts the app late), and a task with nothing lazy left has no uffd to
 * report the fork on. */
FIXTURE_VARIANT_ADD(engine, fork) { .workload = FORK, .max_background = 0 };
FIXTURE_VARIANT_ADD(engine, mremap) { .workload = MREMAP, .max_background = 0 };
FIXTURE_VARIANT_ADD(engine, dontneed) { .workload = DONTNEED, .max_background = 0 };
FIXTURE_VARIANT_ADD(engine, munmap) { .workload = MUNMAP, .max_background = 2 };
FIXTURE_VARIANT_ADD(engine, stream_only) { .workload = STREAM_ONLY, .max_background = 8 };

/* A directory with CRIU's lazy-pages socket; whether uffds can be made. */
static int open_socket_dir(char *dir, struct lzb_lazy_socket **sock)
{
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	strcpy(dir, "/tmp/lzb-engine-XXXXXX");
	if (!mkdtemp(dir) || lzb_lazy_socket_listen(dir, sock))
		return -1;
	/* The app is our child: we stand in for criu. */
	lzb_lazy_socket_allow(*sock, getpid());
	return fd >= 0;
}

static void close_socket_dir(const char *dir, struct lzb_lazy_socket *sock)
{
	char path[128];

	lzb_lazy_socket_close(sock);
	snprintf(path, sizeof(path), "%s/%s", dir, LZB_LAZY_SOCKET_NAME);
	unlink(path);
	rmdir(dir);
}

FIXTURE_SETUP(engine)
{
	self->uffd_ok = open_socket_dir(self->dir, &self->sock);
	ASSERT_LE(0, self->uffd_ok);
}

FIXTURE_TEARDOWN(engine)
{
	close_socket_dir(self->dir, self->sock);
}

/* Serve until the app exits; returns its wait status. */
static int serve(struct __test_metadata *_metadata,
		 FIXTURE_DATA(engine) *self, pid_t app)
{
	struct pollfd fds[2];
	int status = 0, rounds = 0, err;
	pid_t done = 0;

	while (!done) {
		fds[0].fd = lzb_lazy_socket_fd(self->sock);
		fds[0].events = POLLIN;
		fds[1].fd = lzb_engine_fd(self->pager.engine);
		fds[1].events = POLLIN;
		poll(fds, 2, 20);
		if (fds[0].revents) {
			err = lzb_lazy_socket_process(self->sock, &socket_ops,
						      &self->pager);
			EXPECT_EQ(0, err);
		}
		err = lzb_engine_run(self->pager.engine, 0);
		EXPECT_EQ(0, err);
		if (err)
			kill(app, SIGKILL);
		done = waitpid(app, &status, WNOHANG);
		if (++rounds > 200000) {
			kill(app, SIGKILL);
			waitpid(app, &status, 0);
			break;
		}
	}
	/* The app's memory is gone with it; keep serving to settle state. */
	lzb_engine_run(self->pager.engine, 0);
	return status;
}

/*
 * Every fault of a workload that keeps its memory ends in a copy, a zero
 * page or a wake, each measured; residency counts every image page.
 */
static void check_latency(struct __test_metadata *_metadata,
			  const struct lzb_engine_stats *st, int workload)
{
	uint64_t sum = 0;
	int b;

	for (b = 0; b < LZB_LATENCY_BUCKETS; b++)
		sum += st->latency.log2_us[b];
	EXPECT_EQ(st->latency.count, sum);
	EXPECT_LE(st->latency.count, st->faults);
	EXPECT_LE(lzb_latency_percentile_us(&st->latency, 50),
		  lzb_latency_percentile_us(&st->latency, 99));
	EXPECT_LE(lzb_latency_percentile_us(&st->latency, 99),
		  st->latency.max_us);
	/* the background's faults are some of them */
	EXPECT_LE(st->latency_background.count, st->latency.count);
	EXPECT_LE(st->latency_background.max_us, st->latency.max_us);
	EXPECT_EQ((AREA0_LEN + AREA1_LAZY) / PAGE, st->pages_lazy_total);
	TH_LOG("latency: %llu measured, p50 %llu us, p99 %llu us, max %llu us; "
	       "resident %llu of %llu pages",
	       (unsigned long long)st->latency.count,
	       (unsigned long long)lzb_latency_percentile_us(&st->latency, 50),
	       (unsigned long long)lzb_latency_percentile_us(&st->latency, 99),
	       (unsigned long long)st->latency.max_us,
	       (unsigned long long)st->pages_resident,
	       (unsigned long long)st->pages_lazy_total);
	if (workload == SEQUENTIAL || workload == THREADS ||
	    workload == STREAM_ONLY) {
		EXPECT_EQ(st->faults, st->latency.count);
		EXPECT_EQ(st->pages_lazy_total, st->pages_resident);
		if (st->fault_requests)
			/* Waiting for a fetch cannot take under 1 us. */
			EXPECT_GE(st->latency.max_us, 1);
	}
}

TEST_F_TIMEOUT(engine, restore, 120)
{
	struct lzb_engine_config config = {
		.source = { .request = deliver_chunk, .ctx = &self->source },
		.max_background = variant->max_background,
		.stream_bytes = 256 * 1024,
	};
	struct lzb_ranges lazy;
	int status;
	pid_t app;

	if (!self->uffd_ok)
		SKIP(return, "userfaultfd unavailable (needs root)");
	lzb_ranges_init(&lazy);
	ASSERT_EQ(0, lzb_ranges_add(&lazy, AREA0, AREA0 + AREA0_LEN, AREA0));
	ASSERT_EQ(0, lzb_ranges_add(&lazy, AREA1, AREA1 + AREA1_LAZY, AREA1));
	ASSERT_EQ(0, lzb_engine_new(&config, &self->pager.engine));
	ASSERT_EQ(0, lzb_engine_add_task(self->pager.engine, IMG_PID, &lazy));
	lzb_ranges_free(&lazy);
	if (variant->background_first)
		lzb_engine_background_began(self->pager.engine);

	app = fork();
	ASSERT_GE(app, 0);
	if (app == 0)
		run_app(self->dir, variant->workload);

	status = serve(_metadata, self, app);
	lzb_engine_get_stats(self->pager.engine, &self->stats);
	TH_LOG("faults %llu (requests %llu, zero %llu), pages %llu, forks %llu",
	       (unsigned long long)self->stats.faults,
	       (unsigned long long)self->stats.fault_requests,
	       (unsigned long long)self->stats.zero_pages,
	       (unsigned long long)self->stats.pages_installed,
	       (unsigned long long)self->stats.forks);

	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("app died: status 0x%x", status);
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("app saw wrong bytes");
	EXPECT_EQ(1, self->pager.tasks);
	/* The kernel's credentials name the task that sent its uffd. */
	EXPECT_EQ(app, self->pager.last_real_pid);
	EXPECT_EQ(1, self->pager.zombies);
	EXPECT_EQ(1, self->pager.finished);

	switch (variant->workload) {
	case FORK:
		EXPECT_EQ(1, self->stats.forks);
		break;
	case MREMAP:
		EXPECT_GE(self->stats.remaps, 1);
		break;
	case DONTNEED:
		EXPECT_GE(self->stats.removes, 1);
		break;
	case MUNMAP:
		EXPECT_GE(self->stats.unmaps, 1);
		break;
	case SEQUENTIAL:
	case THREADS:
	case STREAM_ONLY:
		/* Every image page went in once; the hole got none. */
		EXPECT_EQ((AREA0_LEN + AREA1_LAZY) / PAGE,
			  self->stats.pages_installed);
		EXPECT_TRUE(lzb_engine_done(self->pager.engine));
		break;
	default:
		break;
	}
	if (!variant->max_background)
		EXPECT_EQ(self->stats.fault_requests, self->source.urgent_requests);
	/* Faults count as the background's only once it began. */
	if (variant->background_first) {
		EXPECT_LT(0, self->stats.latency_background.count);
		EXPECT_EQ(self->stats.latency.count,
			  self->stats.latency_background.count);
	} else if (!variant->max_background) {
		EXPECT_EQ(0, self->stats.latency_background.count);
	}
	check_latency(_metadata, &self->stats, variant->workload);
	lzb_engine_free(self->pager.engine);
}

/* Hand-made histograms: what p50 and p99 must say. */
TEST(latency_percentiles)
{
	struct lzb_latency st = { 0 };

	EXPECT_EQ(0, lzb_latency_percentile_us(&st, 50));
	st.log2_us[3] = 98;	/* 8..15 us */
	st.log2_us[10] = 2;	/* 1024..2047 us */
	st.count = 100;
	st.max_us = 1500;
	EXPECT_EQ(16, lzb_latency_percentile_us(&st, 50));
	EXPECT_EQ(16, lzb_latency_percentile_us(&st, 98));
	EXPECT_EQ(1500, lzb_latency_percentile_us(&st, 99));
	EXPECT_EQ(1500, lzb_latency_percentile_us(&st, 100));
}

/* ---- a pager dies mid-stream, a second one finishes ----------------- */

struct journal {
	struct uffd_msg msgs[16];
	int n;
};

static void record(void *ctx, int img_pid, const struct uffd_msg *msg)
{
	struct journal *j = ctx;

	if (img_pid == IMG_PID && j->n < 16)
		j->msgs[j->n++] = *msg;
}

struct keeper_pager {
	struct pager pager;
	int kept_uffd;		/* what the module or holder keeps */
};

static int keep_task(void *ctx, int img_pid, int real_pid, int pidfd,
		     int uffd)
{
	struct keeper_pager *k = ctx;

	k->kept_uffd = dup(uffd);
	return on_task(&k->pager, img_pid, real_pid, pidfd, uffd);
}

static const struct lzb_lazy_socket_ops keeper_ops = {
	.task = keep_task, .zombie = on_zombie, .finished = on_finished,
};

static struct lzb_engine *new_engine(struct source_state *src,
				     struct journal *j, unsigned int bg)
{
	struct lzb_engine_config config = {
		.source = { .request = deliver_chunk, .ctx = src },
		.journal = { .event = j ? record : NULL, .ctx = j },
		.max_background = bg,
		.stream_bytes = 256 * 1024,
	};
	struct lzb_ranges lazy;
	struct lzb_engine *e = NULL;

	lzb_ranges_init(&lazy);
	if (lzb_ranges_add(&lazy, AREA0, AREA0 + AREA0_LEN, AREA0) ||
	    lzb_ranges_add(&lazy, AREA1, AREA1 + AREA1_LAZY, AREA1) ||
	    lzb_engine_new(&config, &e) ||
	    lzb_engine_add_task(e, IMG_PID, &lazy)) {
		lzb_engine_free(e);
		e = NULL;
	}
	lzb_ranges_free(&lazy);
	return e;
}

FIXTURE(takeover)
{
	char dir[64];
	struct lzb_lazy_socket *sock;
	int uffd_ok;
};

FIXTURE_SETUP(takeover)
{
	self->uffd_ok = open_socket_dir(self->dir, &self->sock);
	ASSERT_LE(0, self->uffd_ok);
}

FIXTURE_TEARDOWN(takeover)
{
	close_socket_dir(self->dir, self->sock);
}

/*
 * A pager dies (its engine torn down) while a thread waits on a request it
 * read; a second engine takes over from a dup of the uffd (what the module
 * or the holder keeps), replays the journal, wakes the thread and finishes.
 */
TEST_F_TIMEOUT(takeover, dup_uffd, 120)
{
	struct source_state first = { .limit = 20 }, second = { 0 };
	struct keeper_pager k = { .kept_uffd = -1 };
	struct lzb_engine_stats st1, st2;
	struct journal j = { .n = 0 };
	int status = 0, rounds = 0, i, fd;
	pid_t app, done = 0;
	char pagemap[64];

	if (!self->uffd_ok)
		SKIP(return, "userfaultfd unavailable (needs root)");
	k.pager.engine = new_engine(&first, &j, 0);
	ASSERT_NE(NULL, k.pager.engine);
	app = fork();
	ASSERT_GE(app, 0);
	if (app == 0)
		run_app(self->dir, TAKEOVER);

	/* The first pager serves faults until a thread waits on a request
	 * it will never answer. */
	while (!first.urgent_withheld && ++rounds < 100000) {
		struct pollfd fds[2] = {
			{ .fd = lzb_lazy_socket_fd(self->sock), .events = POLLIN },
			{ .fd = lzb_engine_fd(k.pager.engine), .events = POLLIN },
		};

		poll(fds, 2, 20);
		if (fds[0].revents)
			EXPECT_EQ(0, lzb_lazy_socket_process(self->sock,
							     &keeper_ops, &k));
		EXPECT_EQ(0, lzb_engine_run(k.pager.engine, 0));
	}
	ASSERT_NE(0, first.urgent_withheld);
	ASSERT_LE(0, k.kept_uffd);
	usleep(50000);
	lzb_engine_get_stats(k.pager.engine, &st1);
	lzb_engine_free(k.pager.engine);	/* the pager dies */
	EXPECT_EQ(1, j.n) TH_LOG("the MADV_DONTNEED is on record");

	/* The successor: same lazy memory, the journal, the kept uffd. */
	k.pager.engine = new_engine(&second, NULL, 4);
	ASSERT_NE(NULL, k.pager.engine);
	for (i = 0; i < j.n; i++)
		EXPECT_EQ(0, lzb_engine_replay(k.pager.engine, IMG_PID,
					       &j.msgs[i]));
	lzb_engine_start_streaming(k.pager.engine);
	snprintf(pagemap, sizeof(pagemap), "/proc/%d/pagemap", app);
	fd = open(pagemap, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, lzb_engine_reattach(k.pager.engine, IMG_PID,
					 k.kept_uffd, fd));
	close(fd);
	rounds = 0;
	while (!done && ++rounds < 200000) {
		struct pollfd fd = {
			.fd = lzb_engine_fd(k.pager.engine), .events = POLLIN,
		};

		poll(&fd, 1, 20);
		EXPECT_EQ(0, lzb_engine_run(k.pager.engine, 0));
		done = waitpid(app, &status, WNOHANG);
	}
	if (!done) {
		kill(app, SIGKILL);
		waitpid(app, &status, 0);
	}
	lzb_engine_get_stats(k.pager.engine, &st2);
	TH_LOG("first pager: %llu pages, %llu faults; second: %llu pages, "
	       "%llu faults", (unsigned long long)st1.pages_installed,
	       (unsigned long long)st1.faults,
	       (unsigned long long)st2.pages_installed,
	       (unsigned long long)st2.faults);
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("app died: status 0x%x", status);
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("app saw wrong bytes");
	/* Every image page went in once across both (what the first had
	 * installed is skipped), and the dropped MiB, installed by the first,
	 * never again: without the journal the second would refill it. */
	EXPECT_EQ((AREA0_LEN + AREA1_LAZY) / PAGE,
		  st1.pages_installed + st2.pages_installed);
	/* Nothing the first installed was fetched again: neither the
	 * dropped MiB (journal) nor area 1's first chunks (pagemap). */
	EXPECT_EQ((AREA0_LEN + AREA1_LAZY) / CHUNK - first.chunks_delivered,
		  second.chunks_delivered);
	EXPECT_TRUE(lzb_engine_done(k.pager.engine));
	lzb_engine_free(k.pager.engine);
}

TEST_HARNESS_MAIN
