// SPDX-License-Identifier: GPL-2.0
/*
 * HTTP(S) transport: interop with a real nginx (plain HTTP, and HTTPS with
 * HTTP/2 and a test CA made by openssl here), and a fault-injecting HTTP
 * peer of our own (a thread on 127.0.0.7) that ignores Range, lies in
 * Content-Range, truncates, stalls, sends the wrong size and fails once.
 */
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "fetch_helpers.h"

#define NGINX_IP "127.0.0.5"
#define HTTP_PORT 18080
#define HTTPS_PORT 18443
#define DEAD_PORT 18081		/* nothing listens there */
#define PEER_IP "127.0.0.7"

static const size_t sizes[] = { 0, 1, 511, 512, 513, 100000, 3000000 };

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

FIXTURE(nginx)
{
	char *dir;
	pid_t pid;
	char ca[600];
	char pin[200];
};

FIXTURE_SETUP(nginx)
{
	char conf[600], log[600];
	size_t i;
	FILE *f;

	self->pid = -1;
	if (!have_exe("/usr/sbin/nginx"))
		SKIP(return, "nginx not installed (scripts/install-deps)");
	if (!have_exe("/usr/bin/openssl"))
		SKIP(return, "openssl not installed (scripts/install-deps)");
	self->dir = mkdtemp_dir();
	ASSERT_NE(NULL, self->dir);
	sh("mkdir -p %s/root %s/tmp", self->dir, self->dir);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[32], root[600];

		snprintf(name, sizeof(name), "f%zu", sizes[i]);
		snprintf(root, sizeof(root), "%s/root", self->dir);
		ASSERT_EQ(0, make_file(root, name, sizes[i],
				       (uint32_t)sizes[i]));
	}
	/* A test CA, and a server certificate for the IP it signs. */
	ASSERT_EQ(0, sh("cd %s && ("
		"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key "
		"-out ca.pem -days 2 -subj /CN=lazyboot-test-ca && "
		"openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key "
		"-out srv.csr -subj /CN=" NGINX_IP " && "
		"printf 'subjectAltName=IP:" NGINX_IP "\\n' > ext && "
		"openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key "
		"-CAcreateserial -out srv.pem -days 2 -extfile ext && "
		"openssl x509 -in srv.pem -pubkey -noout | openssl pkey "
		"-pubin -outform der | openssl dgst -sha256 -binary | "
		"openssl enc -base64 > pin) >openssl.log 2>&1",
		self->dir));
	snprintf(self->ca, sizeof(self->ca), "%s/ca.pem", self->dir);
	snprintf(conf, sizeof(conf), "%s/pin", self->dir);
	f = fopen(conf, "r");
	ASSERT_NE(NULL, f);
	strcpy(self->pin, "sha256//");
	ASSERT_NE(NULL, fgets(self->pin + 8, sizeof(self->pin) - 8, f));
	self->pin[strcspn(self->pin, "\n")] = 0;
	fclose(f);

	snprintf(conf, sizeof(conf), "%s/nginx.conf", self->dir);
	f = fopen(conf, "w");
	ASSERT_NE(NULL, f);
	fprintf(f,
		"daemon off;\nmaster_process off;\nworker_processes 1;\n"
		"error_log %1$s/error.log;\npid %1$s/nginx.pid;\n"
		"events { worker_connections 256; }\n"
		"http {\n access_log %1$s/access.log;\n"
		" client_body_temp_path %1$s/tmp; proxy_temp_path %1$s/tmp;\n"
		" fastcgi_temp_path %1$s/tmp; uwsgi_temp_path %1$s/tmp;\n"
		" scgi_temp_path %1$s/tmp;\n"
		" keepalive_requests 10000;\n"
		" server { listen " NGINX_IP ":%2$d; root %1$s/root; }\n"
		" server { listen " NGINX_IP ":%3$d ssl http2; root %1$s/root;\n"
		"  ssl_certificate %1$s/srv.pem;\n"
		"  ssl_certificate_key %1$s/srv.key; }\n"
		"}\n", self->dir, HTTP_PORT, HTTPS_PORT);
	fclose(f);
	snprintf(log, sizeof(log), "%s/nginx.out", self->dir);
	{
		char elog[600];

		snprintf(elog, sizeof(elog), "%s/error.log", self->dir);
		char *argv[] = { "/usr/sbin/nginx", "-c", conf, "-e", elog,
				 NULL };
		self->pid = start_proc(argv, log);
	}
	ASSERT_LT(0, self->pid);
	ASSERT_EQ(0, wait_listen(true, NGINX_IP, HTTPS_PORT, 5000)) {
		TH_LOG("nginx did not start; see %s", log);
	}
}

FIXTURE_TEARDOWN(nginx)
{
	stop_proc(self->pid);
	rm_rf(self->dir);
	free(self->dir);
}

static void get_sizes(struct __test_metadata *_metadata, struct lzb_fetcher *f,
		      const char *base)
{
	static uint8_t buf[3000000];
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char url[128];
		struct lzb_fetch_spec spec = {
			.url = url, .buf = buf, .buf_size = sizeof(buf),
			.expected_size = (int64_t)sizes[i],
			.deadline_ms = 20000,
		};
		struct sync_result res;

		snprintf(url, sizeof(url), "%s/f%zu", base, sizes[i]);
		EXPECT_EQ(0, fetch_sync(f, &spec, &res)) {
			TH_LOG("%s", res.msg);
		}
		EXPECT_EQ(sizes[i], res.len);
		EXPECT_EQ(-1, pattern_check(buf, sizes[i], (uint32_t)sizes[i],
					    0));
	}
}

TEST_F(nginx, http_whole_objects_reuse_one_connection)
{
	struct lzb_fetcher *f = lzb_fetcher_new(NULL);
	struct lzb_fetch_stats st;
	char base[64];

	ASSERT_NE(NULL, f);
	snprintf(base, sizeof(base), "http://%s:%d", NGINX_IP, HTTP_PORT);
	get_sizes(_metadata, f, base);
	lzb_fetcher_stats(f, &st);
	EXPECT_EQ(sizeof(sizes) / sizeof(sizes[0]), st.succeeded);
	EXPECT_EQ(1, st.http_new_connections);	/* keep-alive */
	lzb_fetcher_free(f);
}

TEST_F(nginx, https_http2_with_pinned_ca)
{
	struct lzb_fetcher_opts o = { .ca_file = self->ca };
	struct lzb_fetcher *f = lzb_fetcher_new(&o);
	struct lzb_fetch_stats st;
	char base[64];

	ASSERT_NE(NULL, f);
	snprintf(base, sizeof(base), "https://%s:%d", NGINX_IP, HTTPS_PORT);
	get_sizes(_metadata, f, base);
	lzb_fetcher_stats(f, &st);
	EXPECT_EQ(sizeof(sizes) / sizeof(sizes[0]), st.http2_transfers);
	EXPECT_EQ(1, st.http_new_connections);
	lzb_fetcher_free(f);
}

/*
 * The same through the sandboxed child: bytes, HTTP/2, one connection
 * (kept in the child), and the pinned CA in a directory only root may
 * read (mkdtemp's 0700), which the parent reads for the child.
 */
TEST_F(nginx, https_http2_sandboxed)
{
	struct lzb_fetcher_opts o = { .ca_file = self->ca, .sandbox = true };
	struct lzb_fetcher *f = lzb_fetcher_new(&o);
	struct lzb_fetch_stats st;
	char base[64];

	ASSERT_NE(NULL, f);
	ASSERT_LT(0, lzb_fetcher_sandbox_pid(f));
	snprintf(base, sizeof(base), "https://%s:%d", NGINX_IP, HTTPS_PORT);
	get_sizes(_metadata, f, base);
	snprintf(base, sizeof(base), "http://%s:%d", NGINX_IP, HTTP_PORT);
	get_sizes(_metadata, f, base);
	lzb_fetcher_stats(f, &st);
	EXPECT_EQ(2 * sizeof(sizes) / sizeof(sizes[0]), st.succeeded);
	EXPECT_EQ(sizeof(sizes) / sizeof(sizes[0]), st.http2_transfers);
	EXPECT_EQ(2, st.http_new_connections);
	lzb_fetcher_free(f);
}

/*
 * opts.http_bound_window (the image's stream): the same bytes, the
 * receive window bounded at least once per transfer, in this process and
 * in the sandboxed child (its seccomp filter lets TCP_INFO and
 * TCP_WINDOW_CLAMP through), over HTTP and HTTP/2.
 */
TEST_F(nginx, bounded_window_same_bytes)
{
	for (int sandbox = 0; sandbox < 2; sandbox++) {
		struct lzb_fetcher_opts o = {
			.ca_file = self->ca, .sandbox = sandbox,
			.http_bound_window = true,
		};
		struct lzb_fetcher *f = lzb_fetcher_new(&o);
		const size_t n = sizeof(sizes) / sizeof(sizes[0]);
		struct lzb_fetch_stats st;
		char base[64];

		ASSERT_NE(NULL, f);
		snprintf(base, sizeof(base), "http://%s:%d", NGINX_IP,
			 HTTP_PORT);
		get_sizes(_metadata, f, base);
		snprintf(base, sizeof(base), "https://%s:%d", NGINX_IP,
			 HTTPS_PORT);
		get_sizes(_metadata, f, base);
		lzb_fetcher_stats(f, &st);
		EXPECT_EQ(2 * n, st.succeeded);
		/* the window was bounded (at least for the 3 MB bodies: a
		 * small one may come whole from libcurl's timer, unbounded) */
		EXPECT_LE(2, st.http_window_clamps)
			TH_LOG("sandbox %d: %llu clamps", sandbox,
			       (unsigned long long)st.http_window_clamps);
		lzb_fetcher_free(f);
	}
}

/* A sink that keeps its fetcher held until 1 MB came, checking every byte
 * of f3000000 as it comes. */
struct held_sink {
	struct lzb_fetcher *f;
	uint64_t got;
	bool bad;
};

static int held_sink(void *arg, uint64_t offset, const void *data,
		     size_t len)
{
	struct held_sink *h = arg;

	if (offset != h->got || pattern_check(data, len, 3000000, offset) != -1)
		h->bad = true;
	h->got = offset + len;
	lzb_fetcher_hold(h->f, h->got < (1u << 20));
	return 0;
}

/*
 * lzb_fetcher_hold closes a bounded transfer's window and opens it again:
 * a transfer started while held is held from its first bytes, completes
 * once let go, every byte right, and the hold is counted, in this process
 * and through the sandboxed child's HOLD (sent before the TRY, so it is
 * there first).
 */
TEST_F(nginx, held_transfer_completes)
{
	for (int sandbox = 0; sandbox < 2; sandbox++) {
		struct lzb_fetcher_opts o = {
			.sandbox = sandbox, .http_bound_window = true,
		};
		struct held_sink h = { .f = lzb_fetcher_new(&o) };
		struct lzb_fetch_stats st;
		struct sync_result res;
		char url[128];
		struct lzb_fetch_spec spec = {
			.url = url, .expected_size = 3000000,
			.sink = held_sink, .sink_arg = &h,
			.prio = LZB_PRIO_BACKGROUND, .deadline_ms = 10000,
		};

		ASSERT_NE(NULL, h.f);
		lzb_fetcher_hold(h.f, true);
		snprintf(url, sizeof(url), "http://%s:%d/f3000000", NGINX_IP,
			 HTTP_PORT);
		EXPECT_EQ(0, fetch_sync(h.f, &spec, &res)) {
			TH_LOG("%s", res.msg);
		}
		EXPECT_EQ(3000000, h.got);
		EXPECT_FALSE(h.bad);
		lzb_fetcher_stats(h.f, &st);
		EXPECT_LE(1, st.http_window_holds)
			TH_LOG("sandbox %d: not held", sandbox);
		lzb_fetcher_free(h.f);
	}
}

TEST_F(nginx, https_public_key_pin)
{
	struct lzb_fetcher_opts o = { .ca_file = self->ca,
				      .pinned_pubkey = self->pin,
				      .no_retries = true };
	struct lzb_fetcher_opts bad = o;
	struct lzb_fetcher *f = lzb_fetcher_new(&o);
	uint8_t buf[600];
	struct sync_result res;
	char url[128];
	struct lzb_fetch_spec spec = {
		.url = url, .buf = buf, .buf_size = sizeof(buf),
		.expected_size = 513, .deadline_ms = 10000,
	};

	ASSERT_NE(NULL, f);
	snprintf(url, sizeof(url), "https://%s:%d/f513", NGINX_IP, HTTPS_PORT);
	ASSERT_EQ(0, fetch_sync(f, &spec, &res)) {
		TH_LOG("%s", res.msg);
	}
	lzb_fetcher_free(f);
	bad.pinned_pubkey =
		"sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	f = lzb_fetcher_new(&bad);
	ASSERT_NE(NULL, f);
	ASSERT_EQ(-EACCES, fetch_sync(f, &spec, &res));
	TH_LOG("%s", res.msg);
	lzb_fetcher_free(f);
}

TEST_F(nginx, https_unknown_ca_is_refused)
{
	struct lzb_fetcher_opts o = { .no_retries = true };
	struct lzb_fetcher *f = lzb_fetcher_new(&o);
	uint8_t buf[600];
	struct sync_result res;
	char url[128];
	struct lzb_fetch_spec spec = {
		.url = url, .buf = buf, .buf_size = sizeof(buf),
		.expected_size = -1, .deadline_ms = 10000,
	};

	ASSERT_NE(NULL, f);
	snprintf(url, sizeof(url), "https://%s:%d/f513", NGINX_IP, HTTPS_PORT);
	ASSERT_EQ(-EACCES, fetch_sync(f, &spec, &res));
	TH_LOG("%s", res.msg);
	ASSERT_NE(NULL, strstr(res.msg, "TLS verification failed"));
	lzb_fetcher_free(f);
}

/* A TLS verification failure is not retried after a backoff: the same
 * server will present the same certificate.  One try, one clear message. */
TEST_F(nginx, https_verification_failure_fails_fast)
{
	struct lzb_fetcher_opts o = { .retries = 5, .backoff_ms = 30000 };
	struct lzb_fetcher *f = lzb_fetcher_new(&o);
	struct lzb_fetch_stats st;
	uint8_t buf[600];
	struct sync_result res;
	char url[128];
	struct lzb_fetch_spec spec = {
		.url = url, .buf = buf, .buf_size = sizeof(buf),
		.expected_size = -1, .deadline_ms = 120000,
	};
	uint64_t t0;

	ASSERT_NE(NULL, f);
	snprintf(url, sizeof(url), "https://%s:%d/f513", NGINX_IP, HTTPS_PORT);
	t0 = now_ns();
	ASSERT_EQ(-EACCES, fetch_sync(f, &spec, &res));
	TH_LOG("%s", res.msg);
	ASSERT_NE(NULL, strstr(res.msg, "TLS verification failed"));
	lzb_fetcher_stats(f, &st);
	ASSERT_EQ(1, st.tries);
	ASSERT_EQ(0, st.retry_rounds);
	/*
	 * A single backoff would take 30 s; one TLS handshake takes far less
	 * even under ASan on a loaded machine (a 2 s bound was missed there).
	 */
	ASSERT_GT(20000ULL * 1000000, now_ns() - t0);
	lzb_fetcher_free(f);
}

TEST_F(nginx, https_unreadable_ca_file_fails_fast)
{
	struct lzb_fetcher_opts o = { .retries = 5, .backoff_ms = 300,
				      .ca_file = "/nonexistent/ca.pem" };
	struct lzb_fetcher *f = lzb_fetcher_new(&o);
	struct lzb_fetch_stats st;
	uint8_t buf[600];
	struct sync_result res;
	char url[128];
	struct lzb_fetch_spec spec = {
		.url = url, .buf = buf, .buf_size = sizeof(buf),
		.expected_size = -1, .deadline_ms = 20000,
	};

	ASSERT_NE(NULL, f);
	snprintf(url, sizeof(url), "https://%s:%d/f513", NGINX_IP, HTTPS_PORT);
	ASSERT_EQ(-EACCES, fetch_sync(f, &spec, &res));
	TH_LOG("%s", res.msg);
	ASSERT_NE(NULL, strstr(res.msg, "TLS verification failed"));
	lzb_fetcher_stats(f, &st);
	ASSERT_EQ(1, st.tries);
	ASSERT_EQ(0, st.retry_rounds);
	lzb_fetcher_free(f);
}

TEST_F(nginx, ranges_answered_206)
{
	static const struct { uint64_t off, len; } r[] = {
		{ 0, 1 }, { 2999999, 1 }, { 4095, 4097 }, { 1000000, 65536 },
		{ 0, 3000000 },
	};
	struct lzb_fetcher_opts o = { .ca_file = self->ca };
	struct lzb_fetcher *f = lzb_fetcher_new(&o);
	static uint8_t buf[3000000];
	struct lzb_fetch_stats st;
	size_t i;
	int s;

	ASSERT_NE(NULL, f);
	for (s = 0; s < 2; s++)
		for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
			struct sync_result res;
			char url[128];
			struct lzb_fetch_spec spec = {
				.url = url, .buf = buf, .buf_size = r[i].len,
				.offset = r[i].off, .length = r[i].len,
				.deadline_ms = 10000,
			};

			snprintf(url, sizeof(url), "%s://%s:%d/f3000000",
				 s ? "https" : "http", NGINX_IP,
				 s ? HTTPS_PORT : HTTP_PORT);
			EXPECT_EQ(0, fetch_sync(f, &spec, &res)) {
				TH_LOG("%s", res.msg);
			}
			EXPECT_EQ(r[i].len, res.len);
			EXPECT_EQ(-1, pattern_check(buf, r[i].len, 3000000,
						    r[i].off));
		}
	lzb_fetcher_stats(f, &st);
	EXPECT_EQ(0, st.range_ignored);
	lzb_fetcher_free(f);
}

/*
 * Many requests at once over HTTPS (every 8th a fault, the rest background
 * capped at 8): one HTTP/2 connection carries them all.  44 x 64 KiB fit in
 * the 3000000-byte file (a range past its end is answered with a shorter
 * 206, which the client refuses).
 */
#define NREQ 44
TEST_F(nginx, http2_multiplexes_concurrent_requests)
{
	struct lzb_fetcher_opts o = { .ca_file = self->ca,
				      .max_background = 8 };
	struct lzb_fetcher *f = lzb_fetcher_new(&o);
	static uint8_t bufs[NREQ][65536];
	struct sync_result res[NREQ];
	struct lzb_fetch_stats st;
	char url[128];
	int i;

	ASSERT_NE(NULL, f);
	snprintf(url, sizeof(url), "https://%s:%d/f3000000", NGINX_IP,
		 HTTPS_PORT);
	for (i = 0; i < NREQ; i++) {
		struct lzb_fetch_spec spec = {
			.url = url, .buf = bufs[i], .buf_size = 65536,
			.offset = (uint64_t)i * 65536, .length = 65536,
			.prio = i % 8 ? LZB_PRIO_BACKGROUND : LZB_PRIO_FAULT,
			.deadline_ms = 20000,
			.done = sync_done, .done_arg = &res[i],
		};

		memset(&res[i], 0, sizeof(res[i]));
		ASSERT_NE(NULL, lzb_fetch_submit(f, &spec));
	}
	ASSERT_EQ(0, lzb_fetcher_run(f, 30000));
	for (i = 0; i < NREQ; i++) {
		ASSERT_EQ(0, res[i].err) {
			TH_LOG("%d: %s", i, res[i].msg);
		}
		ASSERT_EQ(-1, pattern_check(bufs[i], 65536, 3000000,
					    (uint64_t)i * 65536));
	}
	lzb_fetcher_stats(f, &st);
	TH_LOG("%llu connections, %llu HTTP/2 transfers, peak background %u",
	       (unsigned long long)st.http_new_connections,
	       (unsigned long long)st.http2_transfers,
	       st.max_background_seen);
	ASSERT_EQ(NREQ, st.http2_transfers);
	ASSERT_EQ(1, st.http_new_connections);
	ASSERT_EQ(8, st.max_background_seen);
	lzb_fetcher_free(f);
}

TEST_F(nginx, errors_are_clear)
{
	struct lzb_fetcher_opts o = { .no_retries = true };
	struct lzb_fetcher *f = lzb_fetcher_new(&o);
	uint8_t buf[100];
	struct sync_result res;
	char url[128];
	struct lzb_fetch_spec spec = {
		.url = url, .buf = buf, .buf_size = sizeof(buf),
		.expected_size = -1, .deadline_ms = 10000,
	};

	ASSERT_NE(NULL, f);
	snprintf(url, sizeof(url), "http://%s:%d/missing", NGINX_IP, HTTP_PORT);
	ASSERT_EQ(-ENOENT, fetch_sync(f, &spec, &res));
	ASSERT_NE(NULL, strstr(res.msg, "not found (HTTP 404)"));

	snprintf(url, sizeof(url), "http://%s:%d/f513", NGINX_IP, HTTP_PORT);
	spec.offset = 600;
	spec.length = 10;
	ASSERT_EQ(-ERANGE, fetch_sync(f, &spec, &res));
	ASSERT_NE(NULL, strstr(res.msg, "HTTP 416"));

	spec.offset = 0;
	spec.length = 0;
	spec.buf_size = 100;	/* the object is larger */
	ASSERT_EQ(-EFBIG, fetch_sync(f, &spec, &res));
	TH_LOG("%s", res.msg);

	snprintf(url, sizeof(url), "http://%s:%d/f1", NGINX_IP, DEAD_PORT);
	ASSERT_EQ(-ECONNREFUSED, fetch_sync(f, &spec, &res));
	TH_LOG("%s", res.msg);
	lzb_fetcher_free(f);
}

TEST_F(nginx, mirror_failover)
{
	struct lzb_fetcher *f = lzb_fetcher_new(NULL);
	char dead[64], good[64];
	const char *bases[] = { dead, good };
	struct lzb_mirrors *m;
	struct lzb_fetch_stats st;
	uint8_t buf[600];
	struct sync_result res;
	struct lzb_fetch_spec spec = {
		.path = "f513", .buf = buf, .buf_size = sizeof(buf),
		.expected_size = 513, .deadline_ms = 10000,
	};

	snprintf(dead, sizeof(dead), "http://%s:%d/", NGINX_IP, DEAD_PORT);
	snprintf(good, sizeof(good), "http://%s:%d/", NGINX_IP, HTTP_PORT);
	m = lzb_mirrors_new(bases, 2);
	ASSERT_NE(NULL, m);
	spec.mirrors = m;
	ASSERT_EQ(0, fetch_sync(f, &spec, &res));
	ASSERT_EQ(0, fetch_sync(f, &spec, &res));
	lzb_fetcher_stats(f, &st);
	/* the second request starts at the mirror that worked */
	ASSERT_EQ(1, st.failovers);
	ASSERT_EQ(3, st.tries);
	lzb_fetcher_free(f);
	lzb_mirrors_free(m);
}

/* ---- the fault-injecting HTTP peer ---- */

enum hfault {
	H_RANGE_IGNORED,	/* 200 + whole body to a Range request */
	H_WRONG_CONTENT_RANGE,
	H_NO_CONTENT_RANGE,
	H_206_FOR_WHOLE,
	H_TRUNCATE,		/* Content-Length N, N/2 sent, close */
	H_STALL,		/* half the body, then silence */
	H_SLOW,			/* the body in 10 pieces, 100 ms apart */
	H_WRONG_SIZE,		/* larger than the expected size */
	H_FLAKY_503,		/* 503 first, then right */
	H_BUSY_5,		/* 503 five times, then right */
	H_BAD_STATUS,
};

struct hpeer {
	int lfd;
	unsigned int port;
	pthread_t thread;
	volatile int stop;
	enum hfault fault;
	size_t size;
	unsigned int requests;
};

static void hpeer_reply(struct hpeer *p, int c, const char *req)
{
	static uint8_t body[200000];
	const char *rh = strcasestr(req, "\r\nRange: bytes=");
	unsigned long long a = 0, b = 0;
	char head[512];
	size_t off = 0, len = p->size;
	int status = 200, n;

	p->requests++;
	if (rh && sscanf(rh + 15, "%llu-%llu", &a, &b) == 2 &&
	    p->fault != H_RANGE_IGNORED) {
		status = 206;
		off = a;
		len = b - a + 1;
	}
	if (p->fault == H_206_FOR_WHOLE)
		status = 206;
	pattern_fill(body, p->size, 5, 0);
	if ((p->fault == H_FLAKY_503 && p->requests == 1) ||
	    (p->fault == H_BUSY_5 && p->requests <= 5)) {
		n = snprintf(head, sizeof(head), "HTTP/1.1 503 Busy\r\n"
			     "Content-Length: 0\r\nConnection: close\r\n\r\n");
		send(c, head, n, MSG_NOSIGNAL);
		return;
	}
	if (p->fault == H_BAD_STATUS) {
		n = snprintf(head, sizeof(head), "HTTP/1.1 2x0 What\r\n\r\n");
		send(c, head, n, MSG_NOSIGNAL);
		return;
	}
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n", status,
		     len);
	if (status == 206 && p->fault != H_NO_CONTENT_RANGE)
		n += snprintf(head + n, sizeof(head) - n,
			      "Content-Range: bytes %zu-%zu/%zu\r\n",
			      off + (p->fault == H_WRONG_CONTENT_RANGE),
			      off + len - 1 + (p->fault ==
					       H_WRONG_CONTENT_RANGE),
			      p->size);
	n += snprintf(head + n, sizeof(head) - n, "\r\n");
	send(c, head, n, MSG_NOSIGNAL);
	if (p->fault == H_TRUNCATE || p->fault == H_STALL)
		len /= 2;
	if (p->fault == H_SLOW) {
		for (size_t i = 0; i < 10 && !p->stop; i++) {
			size_t a = len * i / 10, b = len * (i + 1) / 10;

			usleep(100000);
			send(c, body + off + a, b - a, MSG_NOSIGNAL);
		}
		return;
	}
	send(c, body + off, len, MSG_NOSIGNAL);
	while (p->fault == H_STALL && !p->stop)
		usleep(10000);
}

static void *hpeer_main(void *arg)
{
	struct hpeer *p = arg;
	struct pollfd pfd = { .fd = p->lfd, .events = POLLIN };

	while (!p->stop) {
		char req[4096];
		size_t got = 0;
		int c;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		c = accept(p->lfd, NULL, NULL);
		if (c < 0)
			continue;
		while (got < sizeof(req) - 1) {
			ssize_t n = recv(c, req + got, sizeof(req) - 1 - got, 0);

			if (n <= 0)
				break;
			got += n;
			req[got] = 0;
			if (strstr(req, "\r\n\r\n")) {
				hpeer_reply(p, c, req);
				break;
			}
		}
		close(c);
	}
	return NULL;
}

FIXTURE(http_fault)
{
	struct hpeer peer;
	char url[128];
};

FIXTURE_VARIANT(http_fault)
{
	enum hfault fault;
	uint64_t offset, length;	/* length 0: whole object */
	int64_t expected_size;		/* 0: not given */
	bool accept_full, retries;
	bool until_deadline;		/* spec.retry_until_deadline */
	unsigned int rounds;		/* retry rounds expected (0: not checked) */
	unsigned int stall_ms;		/* 0: 1000 */
	int expect_err;
	const char *expect_msg;
	unsigned int min_ms, max_ms;	/* bounds on the time taken (0: none) */
};

FIXTURE_VARIANT_ADD(http_fault, range_ignored_fails_over)
{
	.fault = H_RANGE_IGNORED, .offset = 1000, .length = 5000,
	.expect_err = -EPROTO, .expect_msg = "server ignored Range (answered 200",
};

FIXTURE_VARIANT_ADD(http_fault, range_ignored_cut_when_allowed)
{
	.fault = H_RANGE_IGNORED, .offset = 1000, .length = 5000,
	.accept_full = true,
};

FIXTURE_VARIANT_ADD(http_fault, wrong_content_range)
{
	.fault = H_WRONG_CONTENT_RANGE, .offset = 1000, .length = 5000,
	.expect_err = -EPROTO, .expect_msg = "206 for bytes 1001-6000, asked 1000-5999",
};

FIXTURE_VARIANT_ADD(http_fault, missing_content_range)
{
	.fault = H_NO_CONTENT_RANGE, .offset = 1000, .length = 5000,
	.expect_err = -EPROTO, .expect_msg = "206 without a valid Content-Range",
};

FIXTURE_VARIANT_ADD(http_fault, partial_for_whole_object)
{
	.fault = H_206_FOR_WHOLE, .expect_err = -EPROTO,
	.expect_msg = "unexpected HTTP 206",
};

FIXTURE_VARIANT_ADD(http_fault, truncated_body)
{
	.fault = H_TRUNCATE, .expect_err = -EPROTO, .expect_msg = "truncated",
};

FIXTURE_VARIANT_ADD(http_fault, stalled_body)
{
	.fault = H_STALL, .expect_err = -ETIMEDOUT, .expect_msg = "stalled",
};

/* Stalls are timed to the millisecond, not rounded up to whole seconds. */
FIXTURE_VARIANT_ADD(http_fault, stalled_body_subsecond)
{
	.fault = H_STALL, .stall_ms = 250, .expect_err = -ETIMEDOUT,
	.expect_msg = "stalled: no data for 250 ms", .min_ms = 250,
	.max_ms = 900,
};

/* A slow body (a piece every 100 ms, 1 s in all) is not a stall at 250 ms. */
FIXTURE_VARIANT_ADD(http_fault, slow_body_is_no_stall)
{
	.fault = H_SLOW, .stall_ms = 250, .min_ms = 900,
};

FIXTURE_VARIANT_ADD(http_fault, larger_than_expected)
{
	.fault = H_WRONG_SIZE, .expected_size = 1000, .expect_err = -EFBIG,
	.expect_msg = "more than the 1000",
};

FIXTURE_VARIANT_ADD(http_fault, busy_then_ok_retried)
{
	.fault = H_FLAKY_503, .retries = true,
};

/* A server busy for longer than `retries` rounds: the request ends ... */
FIXTURE_VARIANT_ADD(http_fault, busy_longer_than_retries_fails)
{
	.fault = H_BUSY_5, .retries = true, .expect_err = -EAGAIN,
	.expect_msg = "503", .rounds = 2,
};

/* ... unless it asked to be retried until its deadline (a chunk). */
FIXTURE_VARIANT_ADD(http_fault, busy_retried_until_deadline)
{
	.fault = H_BUSY_5, .retries = true, .until_deadline = true,
	.rounds = 5,
};

FIXTURE_VARIANT_ADD(http_fault, malformed_status)
{
	.fault = H_BAD_STATUS, .expect_err = -EPROTO,
	.expect_msg = "malformed HTTP",
};

FIXTURE_SETUP(http_fault)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);

	memset(&self->peer, 0, sizeof(self->peer));
	self->peer.fault = variant->fault;
	self->peer.size = 100000;
	self->peer.lfd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, self->peer.lfd);
	inet_pton(AF_INET, PEER_IP, &a.sin_addr);
	ASSERT_EQ(0, bind(self->peer.lfd, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, listen(self->peer.lfd, 16));
	ASSERT_EQ(0, getsockname(self->peer.lfd, (struct sockaddr *)&a, &al));
	self->peer.port = ntohs(a.sin_port);
	snprintf(self->url, sizeof(self->url), "http://%s:%u/obj", PEER_IP,
		 self->peer.port);
	ASSERT_EQ(0, pthread_create(&self->peer.thread, NULL, hpeer_main,
				    &self->peer));
}

FIXTURE_TEARDOWN(http_fault)
{
	self->peer.stop = 1;
	pthread_join(self->peer.thread, NULL);
	close(self->peer.lfd);
}

TEST_F(http_fault, response)
{
	struct lzb_fetcher_opts o = {
		.no_retries = !variant->retries, .backoff_ms = 20,
		.stall_ms = variant->stall_ms ? variant->stall_ms : 1000,
		.accept_full_for_range = variant->accept_full,
	};
	struct lzb_fetcher *f = lzb_fetcher_new(&o);
	static uint8_t buf[200000];
	struct lzb_fetch_stats st;
	struct sync_result res;
	struct lzb_fetch_spec spec = {
		.url = self->url, .buf = buf,
		.buf_size = variant->length ? variant->length : sizeof(buf),
		.offset = variant->offset, .length = variant->length,
		.expected_size = variant->expected_size ?
				 variant->expected_size : -1,
		.deadline_ms = 20000,
		.retry_until_deadline = variant->until_deadline,
	};
	uint64_t t0, ms;
	int err;

	ASSERT_NE(NULL, f);
	t0 = now_ns();
	err = fetch_sync(f, &spec, &res);
	ms = (now_ns() - t0) / 1000000;
	lzb_fetcher_stats(f, &st);
	TH_LOG("-> %d %s (%u requests, %llu ms)", err, res.msg,
	       self->peer.requests, (unsigned long long)ms);
	if (variant->min_ms)
		ASSERT_LE(variant->min_ms, ms);
	if (variant->max_ms)
		ASSERT_GE(variant->max_ms, ms);
	ASSERT_EQ(variant->expect_err, err);
	if (variant->expect_msg)
		ASSERT_NE(NULL, strstr(res.msg, variant->expect_msg));
	if (!err) {
		uint64_t len = variant->length ? variant->length : 100000;

		ASSERT_EQ(len, res.len);
		ASSERT_EQ(-1, pattern_check(buf, len, 5, variant->offset));
	}
	if (variant->accept_full)
		ASSERT_EQ(1, st.range_ignored);
	if (variant->retries)
		ASSERT_EQ(variant->rounds ? variant->rounds : 1,
			  st.retry_rounds);
	lzb_fetcher_free(f);
}

TEST_HARNESS_MAIN
