// SPDX-License-Identifier: GPL-2.0
/*
 * The fetch core on file:// (no server needed): whole objects and ranges
 * into buffers and sinks, priorities (a fault never waits behind the
 * background cap), cancel, deadlines, mirrors with failover (on errors,
 * on bytes the caller's check refuses and on too much data; the failed
 * mirror demoted; every mirror named when all failed; a content-addressed
 * object not found retried until it appears), size checks,
 * argument checks, the fetcher fd inside a caller's own epoll loop; and
 * table tests of the HTTP response and TFTP packet parsers.
 */
#include <sys/epoll.h>

#include "kselftest_harness.h"
#include "fetch_helpers.h"
#include "fetch/http_resp.h"
#include "fetch/tftp_proto.h"
#include "util/lzb_error.h"

FIXTURE(core)
{
	char *dir;
	char base[300];
	struct lzb_fetcher *f;
};

FIXTURE_SETUP(core)
{
	struct lzb_fetcher_opts o = { .max_background = 2, .backoff_ms = 5 };

	self->dir = mkdtemp_dir();
	ASSERT_NE(NULL, self->dir);
	snprintf(self->base, sizeof(self->base), "file://%s", self->dir);
	ASSERT_EQ(0, make_file(self->dir, "small", 513, 1));
	ASSERT_EQ(0, make_file(self->dir, "empty", 0, 2));
	ASSERT_EQ(0, make_file(self->dir, "big", 4 << 20, 3));
	self->f = lzb_fetcher_new(&o);
	ASSERT_NE(NULL, self->f);
}

FIXTURE_TEARDOWN(core)
{
	lzb_fetcher_free(self->f);
	rm_rf(self->dir);
	free(self->dir);
}

struct collect {
	uint8_t *buf;
	size_t size;
	uint64_t high;
};

static int collect_sink(void *arg, uint64_t off, const void *data, size_t len)
{
	struct collect *c = arg;

	if (off + len > c->size)
		return -ENOSPC;
	memcpy(c->buf + off, data, len);
	if (off + len > c->high)
		c->high = off + len;
	return 0;
}

TEST_F(core, whole_range_and_sink)
{
	static uint8_t buf[4 << 20];
	struct collect c = { .buf = buf, .size = sizeof(buf) };
	struct sync_result res;
	char url[400];
	struct lzb_fetch_spec spec = { .url = url, .buf = buf,
				       .buf_size = sizeof(buf),
				       .expected_size = -1 };

	snprintf(url, sizeof(url), "%s/small", self->base);
	ASSERT_EQ(0, fetch_sync(self->f, &spec, &res));
	ASSERT_EQ(513, res.len);
	ASSERT_EQ(-1, pattern_check(buf, 513, 1, 0));

	snprintf(url, sizeof(url), "%s/empty", self->base);
	ASSERT_EQ(0, fetch_sync(self->f, &spec, &res));
	ASSERT_EQ(0, res.len);

	snprintf(url, sizeof(url), "%s/big", self->base);
	spec.offset = 1234567;
	spec.length = 2 << 20;
	spec.buf_size = spec.length;
	ASSERT_EQ(0, fetch_sync(self->f, &spec, &res));
	ASSERT_EQ(2 << 20, res.len);
	ASSERT_EQ(-1, pattern_check(buf, 2 << 20, 3, 1234567));

	memset(&spec, 0, sizeof(spec));
	spec.url = url;
	spec.sink = collect_sink;
	spec.sink_arg = &c;
	spec.expected_size = 4 << 20;
	ASSERT_EQ(0, fetch_sync(self->f, &spec, &res));
	ASSERT_EQ(4 << 20, c.high);
	ASSERT_EQ(-1, pattern_check(buf, 4 << 20, 3, 0));
}

struct order {
	int seq[32];
	int n;
};

struct tagged {
	struct order *o;
	int tag;
	int err;
};

static void order_done(struct lzb_fetch *req, int err, const char *msg,
		       uint64_t len, void *arg)
{
	struct tagged *t = arg;

	(void)req;
	(void)msg;
	(void)len;
	t->err = err;
	t->o->seq[t->o->n++] = t->tag;
}

TEST_F(core, fault_never_waits_behind_background)
{
	static uint8_t bufs[11][4 << 20];
	struct tagged tags[11];
	struct order order = { .n = 0 };
	struct lzb_fetch_stats st;
	char url[400], small[400];
	int i;

	snprintf(url, sizeof(url), "%s/big", self->base);
	snprintf(small, sizeof(small), "%s/small", self->base);
	for (i = 0; i < 10; i++) {
		struct lzb_fetch_spec spec = {
			.url = url, .buf = bufs[i], .buf_size = 4 << 20,
			.expected_size = -1, .prio = LZB_PRIO_BACKGROUND,
			.done = order_done, .done_arg = &tags[i],
		};

		tags[i] = (struct tagged){ .o = &order, .tag = i };
		ASSERT_NE(NULL, lzb_fetch_submit(self->f, &spec));
	}
	lzb_fetcher_stats(self->f, &st);
	ASSERT_EQ(2, st.tries);		/* the background cap */
	{
		struct lzb_fetch_spec spec = {
			.url = small, .buf = bufs[10], .buf_size = 4 << 20,
			.expected_size = 513, .prio = LZB_PRIO_FAULT,
			.done = order_done, .done_arg = &tags[10],
		};

		tags[10] = (struct tagged){ .o = &order, .tag = 10 };
		ASSERT_NE(NULL, lzb_fetch_submit(self->f, &spec));
	}
	lzb_fetcher_stats(self->f, &st);
	ASSERT_EQ(3, st.tries);		/* started at once, past the cap */
	ASSERT_EQ(11, lzb_fetcher_pending(self->f));
	ASSERT_EQ(0, lzb_fetcher_run(self->f, 30000));
	ASSERT_EQ(11, order.n);
	ASSERT_EQ(10, order.seq[0]);	/* the fault finished first */
	for (i = 0; i < 11; i++)
		ASSERT_EQ(0, tags[i].err);
	/* background requests are admitted FIFO, two at a time */
	for (i = 1; i < 11; i++)
		ASSERT_EQ((i - 1) / 2, order.seq[i] / 2);
	lzb_fetcher_stats(self->f, &st);
	ASSERT_EQ(2, st.max_background_seen);
}

TEST_F(core, promote_a_queued_background_request)
{
	static uint8_t bufs[6][4 << 20];
	struct tagged tags[6];
	struct order order = { .n = 0 };
	struct lzb_fetch *req[6];
	struct lzb_fetch_stats st;
	char url[400];
	int i;

	snprintf(url, sizeof(url), "%s/big", self->base);
	for (i = 0; i < 6; i++) {
		struct lzb_fetch_spec spec = {
			.url = url, .buf = bufs[i], .buf_size = 4 << 20,
			.expected_size = -1, .prio = LZB_PRIO_BACKGROUND,
			.done = order_done, .done_arg = &tags[i],
		};

		tags[i] = (struct tagged){ .o = &order, .tag = i, .err = 1 };
		req[i] = lzb_fetch_submit(self->f, &spec);
		ASSERT_NE(NULL, req[i]);
	}
	lzb_fetcher_stats(self->f, &st);
	ASSERT_EQ(2, st.tries);
	lzb_fetch_promote(req[5]);	/* last in the queue: starts now */
	lzb_fetcher_stats(self->f, &st);
	ASSERT_EQ(3, st.tries);
	lzb_fetch_promote(req[0]);	/* running: frees its slot */
	lzb_fetcher_stats(self->f, &st);
	ASSERT_EQ(4, st.tries);
	ASSERT_EQ(0, lzb_fetcher_run(self->f, 30000));
	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, tags[i].err);
	/* the promoted queued request ended before the still-queued ones */
	for (i = 0; i < 6 && order.seq[i] != 5; i++)
		;
	ASSERT_GT(4, i);
	lzb_fetcher_stats(self->f, &st);
	ASSERT_EQ(2, st.max_background_seen);
}

TEST_F(core, cancel_queued_and_running)
{
	static uint8_t bufs[4][4 << 20];
	struct tagged tags[4];
	struct order order = { .n = 0 };
	struct lzb_fetch *req[4];
	struct lzb_fetch_stats st;
	char url[400];
	int i;

	snprintf(url, sizeof(url), "%s/big", self->base);
	for (i = 0; i < 4; i++) {
		struct lzb_fetch_spec spec = {
			.url = url, .buf = bufs[i], .buf_size = 4 << 20,
			.expected_size = -1, .prio = LZB_PRIO_BACKGROUND,
			.done = order_done, .done_arg = &tags[i],
		};

		tags[i] = (struct tagged){ .o = &order, .tag = i, .err = 1 };
		req[i] = lzb_fetch_submit(self->f, &spec);
		ASSERT_NE(NULL, req[i]);
	}
	lzb_fetch_cancel(req[3]);	/* queued */
	ASSERT_EQ(-ECANCELED, tags[3].err);
	lzb_fetch_cancel(req[0]);	/* running; admits req[2] */
	ASSERT_EQ(-ECANCELED, tags[0].err);
	ASSERT_EQ(2, lzb_fetcher_pending(self->f));
	ASSERT_EQ(0, lzb_fetcher_run(self->f, 30000));
	ASSERT_EQ(0, tags[1].err);
	ASSERT_EQ(0, tags[2].err);
	lzb_fetcher_stats(self->f, &st);
	ASSERT_EQ(2, st.cancelled);
	ASSERT_EQ(2, st.succeeded);
}

TEST_F(core, deadline_ends_a_silent_transfer)
{
	uint8_t buf[64];
	struct sync_result res;
	struct lzb_fetch_spec spec = {
		/* nobody listens: ICMP unreachable, then silence */
		.url = "tftp://127.0.0.6:9/none", .buf = buf,
		.buf_size = sizeof(buf), .expected_size = -1,
		.deadline_ms = 300,
	};
	uint64_t t0 = now_ns();

	ASSERT_EQ(-ETIMEDOUT, fetch_sync(self->f, &spec, &res));
	TH_LOG("%s", res.msg);
	ASSERT_NE(NULL, strstr(res.msg, "deadline of 300 ms passed"));
	ASSERT_GT(1500, (now_ns() - t0) / 1000000);
}

TEST_F(core, mirrors_fail_over_and_remember)
{
	char bad[400];
	const char *bases[] = { bad, self->base };
	struct lzb_mirrors *m;
	struct lzb_fetch_stats st;
	uint8_t buf[600];
	struct sync_result res;
	struct lzb_fetch_spec spec = {
		.path = "small", .buf = buf, .buf_size = sizeof(buf),
		.expected_size = 513,
	};

	snprintf(bad, sizeof(bad), "%s/nonexistent-dir", self->base);
	m = lzb_mirrors_new(bases, 2);
	ASSERT_NE(NULL, m);
	spec.mirrors = m;
	ASSERT_EQ(0, fetch_sync(self->f, &spec, &res));
	ASSERT_EQ(0, fetch_sync(self->f, &spec, &res));
	lzb_fetcher_stats(self->f, &st);
	ASSERT_EQ(1, st.failovers);
	ASSERT_EQ(3, st.tries);

	/* missing everywhere: one round, no retry rounds, ENOENT */
	spec.path = "nothing-here";
	spec.expected_size = -1;
	ASSERT_EQ(-ENOENT, fetch_sync(self->f, &spec, &res));
	TH_LOG("%s", res.msg);
	lzb_fetcher_stats(self->f, &st);
	ASSERT_EQ(5, st.tries);
	ASSERT_EQ(0, st.retry_rounds);
	lzb_mirrors_free(m);
}

/* A caller's check: the bytes must be pattern 1 ("small" as made above). */
static int check_pattern1(void *arg, const uint8_t *buf, uint64_t len,
			  struct lzb_err *err)
{
	int *calls = arg;

	(*calls)++;
	if (pattern_check(buf, (size_t)len, 1, 0) >= 0)
		return lzb_errf(err, "small: hash mismatch (test)");
	return 0;
}

/*
 * Bytes the caller refuses are that mirror's failure: the same object is
 * asked of the next mirror, the bad one is tried last from then on, and
 * with every mirror bad the request fails naming each.
 */
TEST_F(core, refused_bytes_fail_over_and_demote)
{
	char bad[400], worse[400];
	const char *bases[] = { bad, self->base };
	const char *all_bad[] = { bad, worse };
	struct lzb_mirrors *m;
	struct lzb_fetch_stats st;
	uint8_t buf[600];
	struct sync_result res;
	int calls = 0;
	char want[1200];
	struct lzb_fetch_spec spec = {
		.path = "small", .buf = buf, .buf_size = sizeof(buf),
		.expected_size = 513, .check = check_pattern1,
		.check_arg = &calls,
	};

	snprintf(bad, sizeof(bad), "%s/bad", self->base);
	snprintf(worse, sizeof(worse), "%s/worse", self->base);
	ASSERT_EQ(0, mkdir(bad + 7, 0700));
	ASSERT_EQ(0, mkdir(worse + 7, 0700));
	ASSERT_EQ(0, make_file(bad + 7, "small", 513, 7));	/* tampered */
	ASSERT_EQ(0, make_file(worse + 7, "small", 513, 8));
	m = lzb_mirrors_new(bases, 2);
	ASSERT_NE(NULL, m);
	spec.mirrors = m;
	ASSERT_EQ(0, fetch_sync(self->f, &spec, &res)) TH_LOG("%s", res.msg);
	EXPECT_EQ(-1, pattern_check(buf, 513, 1, 0));
	lzb_fetcher_stats(self->f, &st);
	EXPECT_EQ(2, st.tries);
	EXPECT_EQ(1, st.failovers);
	EXPECT_EQ(2, calls);
	/* demoted: the next request goes to the good mirror first */
	ASSERT_EQ(0, fetch_sync(self->f, &spec, &res)) TH_LOG("%s", res.msg);
	lzb_fetcher_stats(self->f, &st);
	EXPECT_EQ(3, st.tries);
	EXPECT_EQ(3, calls);
	lzb_mirrors_free(m);

	/* every mirror bad: one round (same bytes again would not help),
	 * one line naming each mirror and what was wrong */
	m = lzb_mirrors_new(all_bad, 2);
	ASSERT_NE(NULL, m);
	spec.mirrors = m;
	EXPECT_EQ(-EBADMSG, fetch_sync(self->f, &spec, &res));
	snprintf(want, sizeof(want), "small: every mirror failed: %s: small: "
		 "hash mismatch (test); %s: small: hash mismatch (test)", bad,
		 worse);
	EXPECT_STREQ(want, res.msg);
	lzb_fetcher_stats(self->f, &st);
	EXPECT_EQ(5, st.tries);
	EXPECT_EQ(0, st.retry_rounds);
	lzb_mirrors_free(m);
}

/* A mirror sending more than the object's size is passed over too. */
TEST_F(core, too_large_fails_over)
{
	char big[400];
	const char *bases[] = { big, self->base };
	struct lzb_mirrors *m;
	uint8_t buf[600];
	struct sync_result res;
	struct lzb_fetch_spec spec = {
		.path = "small", .buf = buf, .buf_size = sizeof(buf),
		.expected_size = 513,
	};

	snprintf(big, sizeof(big), "%s/big-dir", self->base);
	ASSERT_EQ(0, mkdir(big + 7, 0700));
	ASSERT_EQ(0, make_file(big + 7, "small", 580, 1));
	m = lzb_mirrors_new(bases, 2);
	ASSERT_NE(NULL, m);
	spec.mirrors = m;
	ASSERT_EQ(0, fetch_sync(self->f, &spec, &res)) TH_LOG("%s", res.msg);
	EXPECT_EQ(-1, pattern_check(buf, 513, 1, 0));
	lzb_mirrors_free(m);
}

/*
 * A content-addressed object not found on any mirror (a mirror still
 * being filled) is asked for again after the backoff, like a server
 * error; once it is there the request succeeds.  Deterministic: the test
 * runs the fetcher's loop itself and puts the object in place while the
 * request waits in its backoff.
 */
TEST_F(core, content_addressed_not_found_retried_until_it_appears)
{
	char late[400];
	const char *bases[] = { self->base, late };
	struct lzb_mirrors *m;
	struct lzb_fetch_stats st;
	uint8_t buf[600];
	struct sync_result res = { 0 };
	struct lzb_fetch_spec spec = {
		.path = "obj/later", .buf = buf, .buf_size = sizeof(buf),
		.expected_size = 513, .content_addressed = true,
		.prio = LZB_PRIO_FAULT, .done = sync_done, .done_arg = &res,
	};

	snprintf(late, sizeof(late), "%s/late", self->base);
	ASSERT_EQ(0, mkdir(late + 7, 0700));
	m = lzb_mirrors_new(bases, 2);
	ASSERT_NE(NULL, m);
	spec.mirrors = m;
	ASSERT_NE(NULL, lzb_fetch_submit(self->f, &spec));
	/* the first round: not found on either mirror */
	do {
		ASSERT_EQ(0, lzb_fetcher_process(self->f));
		lzb_fetcher_stats(self->f, &st);
	} while (!res.done && !st.retry_rounds);
	ASSERT_FALSE(res.done) TH_LOG("ended in round 1: %s", res.msg);
	EXPECT_EQ(2, st.tries);
	/* now it appears on the second mirror */
	{
		char d[420];

		snprintf(d, sizeof(d), "%s/obj", late + 7);
		ASSERT_EQ(0, mkdir(d, 0700));
		ASSERT_EQ(0, make_file(d, "later", 513, 1));
	}
	while (!res.done)
		ASSERT_EQ(0, lzb_fetcher_run(self->f, 10000));
	ASSERT_EQ(0, res.err) TH_LOG("%s", res.msg);
	EXPECT_EQ(-1, pattern_check(buf, 513, 1, 0));
	lzb_mirrors_free(m);

	/* still missing when the deadline passes: it names each mirror */
	{
		struct lzb_fetcher *slow = lzb_fetcher_new(
			&(struct lzb_fetcher_opts){ .backoff_ms = 60000 });
		char want[600];

		ASSERT_NE(NULL, slow);
		m = lzb_mirrors_new(bases, 2);
		ASSERT_NE(NULL, m);
		spec.mirrors = m;
		spec.path = "obj/never";
		spec.deadline_ms = 500;
		EXPECT_EQ(-ETIMEDOUT, fetch_sync(slow, &spec, &res));
		snprintf(want, sizeof(want), "; obj/never: every mirror "
			 "failed: %s: No such file", self->base);
		EXPECT_NE(NULL, strstr(res.msg, "deadline of 500 ms passed"))
			TH_LOG("%s", res.msg);
		EXPECT_NE(NULL, strstr(res.msg, want)) TH_LOG("%s", res.msg);
		EXPECT_NE(NULL, strstr(res.msg, late)) TH_LOG("%s", res.msg);
		spec.deadline_ms = 0;
		lzb_mirrors_free(m);
		lzb_fetcher_free(slow);
	}

	/* not content-addressed: "not found" everywhere ends it at once */
	m = lzb_mirrors_new(bases, 2);
	ASSERT_NE(NULL, m);
	spec.mirrors = m;
	spec.path = "never";
	spec.content_addressed = false;
	ASSERT_EQ(-ENOENT, fetch_sync(self->f, &spec, &res));
	lzb_fetcher_stats(self->f, &st);
	EXPECT_EQ(1, st.retry_rounds);
	lzb_mirrors_free(m);
}

TEST_F(core, size_checks)
{
	uint8_t buf[600];
	struct sync_result res;
	char url[400];
	struct lzb_fetch_spec spec = { .url = url, .buf = buf,
				       .buf_size = 100, .expected_size = -1 };
	struct lzb_fetch_stats st;

	snprintf(url, sizeof(url), "%s/small", self->base);
	ASSERT_EQ(-EFBIG, fetch_sync(self->f, &spec, &res));
	TH_LOG("%s", res.msg);
	lzb_fetcher_stats(self->f, &st);
	ASSERT_EQ(1, st.tries);		/* never retried */

	spec.buf_size = sizeof(buf);
	spec.expected_size = 512;
	ASSERT_EQ(-EFBIG, fetch_sync(self->f, &spec, &res));
	spec.expected_size = 514;
	ASSERT_EQ(-EPROTO, fetch_sync(self->f, &spec, &res));
	TH_LOG("%s", res.msg);
	ASSERT_NE(NULL, strstr(res.msg, "expected 514"));

	spec.expected_size = -1;
	spec.offset = 500;
	spec.length = 14;
	ASSERT_EQ(-ERANGE, fetch_sync(self->f, &spec, &res));
	TH_LOG("%s", res.msg);
}

TEST_F(core, bad_requests_are_refused)
{
	uint8_t buf[10];
	struct lzb_fetch_spec spec = { .url = "gopher://x/y", .buf = buf,
				       .buf_size = 10, .done = sync_done };

	errno = 0;
	ASSERT_EQ(NULL, lzb_fetch_submit(self->f, &spec));
	ASSERT_EQ(EINVAL, errno);
	spec.url = "file:///x";
	spec.buf = NULL;		/* no destination */
	ASSERT_EQ(NULL, lzb_fetch_submit(self->f, &spec));
	spec.buf = buf;
	spec.length = 11;		/* range larger than the buffer */
	ASSERT_EQ(NULL, lzb_fetch_submit(self->f, &spec));
	ASSERT_EQ(0, lzb_fetcher_pending(self->f));
	ASSERT_EQ(NULL, lzb_fetch_scheme("ftp://x"));
	ASSERT_STREQ("https", lzb_fetch_scheme("https://x/"));
	ASSERT_STREQ("http", lzb_fetch_scheme("http://x/"));
	ASSERT_STREQ("file", lzb_fetch_scheme("file:///x"));
	ASSERT_STREQ("tftp", lzb_fetch_scheme("tftp://x/"));
	ASSERT_EQ(NULL, lzb_fetch_scheme("httpx://x/"));
	ASSERT_EQ(NULL, lzb_fetch_scheme("http:/x/"));
}

/* A transport's init hook checks its options: TFTP's, at the RFCs' limits. */
TEST(bad_transport_options_are_refused)
{
	static const struct lzb_fetcher_opts bad[] = {
		{ .tftp_blksize = 7 },
		{ .tftp_blksize = 65465 },
		{ .tftp_windowsize = 65536 },
		{ .tftp_timeout_s = 256 },
	};
	static const struct lzb_fetcher_opts good[] = {
		{ .tftp_blksize = 8 },
		{ .tftp_blksize = 65464, .tftp_windowsize = 65535,
		  .tftp_timeout_s = 255 },
	};
	struct lzb_fetcher *f;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		EXPECT_EQ(NULL, lzb_fetcher_new(&bad[i]));
		EXPECT_EQ(EINVAL, errno) TH_LOG("bad option set %zu", i);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		f = lzb_fetcher_new(&good[i]);
		EXPECT_NE(NULL, f) TH_LOG("good option set %zu", i);
		lzb_fetcher_free(f);
	}
}

TEST_F(core, fd_in_the_callers_epoll)
{
	static uint8_t buf[4 << 20];
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct sync_result res = { 0 };
	char url[400];
	struct lzb_fetch_spec spec = { .url = url, .buf = buf,
				       .buf_size = sizeof(buf),
				       .expected_size = 4 << 20,
				       .done = sync_done, .done_arg = &res };
	int ep = epoll_create1(0), turns = 0;

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, lzb_fetcher_fd(self->f),
			       &ev));
	snprintf(url, sizeof(url), "%s/big", self->base);
	ASSERT_NE(NULL, lzb_fetch_submit(self->f, &spec));
	while (!res.done && turns < 1000) {
		int n = epoll_wait(ep, &out, 1,
				   lzb_fetcher_timeout_ms(self->f) < 0 ?
				   5000 : 5000);

		ASSERT_LE(0, n);
		ASSERT_EQ(0, lzb_fetcher_process(self->f));
		turns++;
	}
	ASSERT_TRUE(res.done);
	ASSERT_EQ(0, res.err);
	ASSERT_EQ(-1, pattern_check(buf, 4 << 20, 3, 0));
	close(ep);
}

/* ---- parsers ---- */

struct http_case {
	const char *lines;	/* '\n'-separated header lines */
	uint64_t off, len, limit;
	int want;
	bool full;
};

static const struct http_case http_cases[] = {
	{ "HTTP/1.1 200 OK\nContent-Length: 10\n\n", 0, 0, 10, 0, false },
	{ "HTTP/1.1 200 OK\nContent-Length: 11\n\n", 0, 0, 10, -EFBIG, false },
	{ "HTTP/2 206\ncontent-range: bytes 5-9/100\ncontent-length: 5\n\n",
	  5, 5, 5, 0, false },
	{ "HTTP/1.1 206 P\nContent-Range: bytes 5-9/*\n\n", 5, 5, 5, 0, false },
	{ "HTTP/1.1 206 P\nContent-Range: bytes 5-9/9\n\n", 5, 5, 5, -EPROTO,
	  false },
	{ "HTTP/1.1 206 P\nContent-Range: bytes 5-9/100\n"
	  "Content-Range: bytes 5-9/100\n\n", 5, 5, 5, -EPROTO, false },
	{ "HTTP/1.1 206 P\nContent-Range: items 5-9/100\n\n", 5, 5, 5,
	  -EPROTO, false },
	{ "HTTP/1.1 206 P\nContent-Range: bytes 99999999999999999999999-9/1\n\n",
	  5, 5, 5, -EPROTO, false },
	{ "HTTP/1.1 200 OK\n\n", 5, 5, 5, -EPROTO, false },
	{ "HTTP/1.1 100 Continue\n\nHTTP/1.1 404 NF\n\n", 0, 0, 9, -ENOENT,
	  false },
	{ "HTTP/1.1 503 Busy\n\n", 0, 0, 9, -EAGAIN, false },
	{ "HTTP/1.1 301 Moved\n\n", 0, 0, 9, -EPROTO, false },
	{ "HTTP/1.1 200 OK\nContent-Length: 1\nContent-Length: 2\n\n", 0, 0,
	  9, -EPROTO, false },
	{ "HTTP/1.1 200 OK\nContent-Length: -1\n\n", 0, 0, 9, -EPROTO, false },
};

TEST(http_response_checks)
{
	size_t i;

	for (i = 0; i < sizeof(http_cases) / sizeof(http_cases[0]); i++) {
		const struct http_case *c = &http_cases[i];
		struct lzb_http_resp h;
		const char *p = c->lines;
		char msg[200] = "";
		bool full = true;
		int rc;

		lzb_http_resp_init(&h);
		while (*p) {
			const char *nl = strchr(p, '\n');

			lzb_http_resp_line(&h, p, nl - p);
			p = nl + 1;
		}
		rc = lzb_http_resp_check(&h, c->off, c->len, c->limit, false,
					 &full, msg, sizeof(msg));
		EXPECT_EQ(c->want, rc) {
			TH_LOG("case %zu: %s", i, msg);
		}
		EXPECT_EQ(c->full, full);
		if (rc)
			EXPECT_NE(0, msg[0]);
	}
}

TEST(tftp_packets)
{
	static const struct {
		const char *bytes;
		size_t len;
		int want;
		uint16_t op;
	} cases[] = {
#define PKT(s) s, sizeof(s) - 1
		{ PKT("\0\3\0\1abc"), 0, LZB_TFTP_DATA },
		{ PKT("\0\3\0"), -EBADMSG, 0 },
		{ PKT("\0\4\0\1"), 0, LZB_TFTP_ACK },
		{ PKT("\0\4\0\1x"), -EBADMSG, 0 },
		{ PKT("\0\5\0\1no such file"), 0, LZB_TFTP_ERROR },
		{ PKT("\0\6blksize\0001024\0tsize\0005\0"), 0, LZB_TFTP_OACK },
		{ PKT("\0\6blksize\0001024"), -EBADMSG, 0 },
		{ PKT("\0\6\0x\0"), -EBADMSG, 0 },
		{ PKT("\0\1file\0octet\0"), 0, LZB_TFTP_RRQ },
		{ PKT("\0\1file\0octet"), -EBADMSG, 0 },
		{ PKT("\0\11"), -EBADMSG, 0 },
		{ PKT("\0"), -EBADMSG, 0 },
	};
	struct lzb_tftp_ask ask = { .blksize = 1468, .windowsize = 16,
				    .timeout_s = 1, .tsize = true };
	struct lzb_tftp_neg neg;
	struct lzb_tftp_pkt p;
	uint8_t buf[600];
	char why[96];
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = lzb_tftp_parse((const uint8_t *)cases[i].bytes,
					cases[i].len, &p, why, sizeof(why));

		EXPECT_EQ(cases[i].want, rc) {
			TH_LOG("case %zu: %s", i, why);
		}
		if (!rc)
			EXPECT_EQ(cases[i].op, p.op);
	}
	/* an RRQ we build parses back with all four options */
	n = lzb_tftp_build_rrq(buf, sizeof(buf), "dir/file", &ask);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, lzb_tftp_parse(buf, n, &p, why, sizeof(why)));
	ASSERT_STREQ("dir/file", p.filename);
	ASSERT_EQ(4, p.n_opts);

	/* OACK checks */
#define RAW(s) (const uint8_t *)s, sizeof(s) - 1
	ASSERT_EQ(0, lzb_tftp_parse(RAW("\0\6BLKSIZE\0001024\0windowsize\0008"
					"\0tsize\00077\0"), &p, why,
				    sizeof(why)));
	ASSERT_EQ(0, lzb_tftp_apply_oack(&p, &ask, &neg, why, sizeof(why)));
	ASSERT_EQ(1024, neg.blksize);
	ASSERT_EQ(8, neg.windowsize);
	ASSERT_TRUE(neg.have_tsize);
	ASSERT_EQ(77, neg.tsize);
	ASSERT_EQ(0, lzb_tftp_parse(RAW("\0\6windowsize\00017\0"), &p, why,
				    sizeof(why)));
	ASSERT_EQ(-EPROTO, lzb_tftp_apply_oack(&p, &ask, &neg, why,
					       sizeof(why)));
	ASSERT_EQ(0, lzb_tftp_parse(RAW("\0\6multicast\0001\0"), &p, why,
				    sizeof(why)));
	ASSERT_EQ(-EPROTO, lzb_tftp_apply_oack(&p, &ask, &neg, why,
					       sizeof(why)));
	ASSERT_STREQ("option negotiation refused", lzb_tftp_error_name(8));
}

TEST_HARNESS_MAIN
