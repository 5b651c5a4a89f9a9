// SPDX-License-Identifier: GPL-2.0
/*
 * Interop: the TFTP client against the real Debian servers, each started by
 * the test on its own loopback address, port 69: tftpd-hpa 5.2 (no
 * windowsize; run from build/, see scripts/test-tftpd-hpa), atftpd 0.8
 * (windowsize) and dnsmasq 2.90 (blksize and tsize only).  Edge sizes
 * around 512 and the negotiated blksize, a file past 65535 blocks
 * (rollover), a range, a missing file, many transfers at once on one
 * event loop, and a window sized to the receive buffer the try has.
 */
#include <libgen.h>

#include "kselftest_harness.h"
#include "fetch_helpers.h"
#include "fetch/tftp_socket.h"

#define BIG_SIZE (65536ULL * 512 + 513)	/* > 65535 blocks at 512 */

enum server { TFTPD_HPA, ATFTPD, DNSMASQ };

FIXTURE(tftp_server)
{
	char *root;
	pid_t pid;
	char base[64];
};

FIXTURE_VARIANT(tftp_server)
{
	enum server server;
	const char *ip;
	const char *name;
};

FIXTURE_VARIANT_ADD(tftp_server, tftpd_hpa)
{
	.server = TFTPD_HPA, .ip = "127.0.0.3", .name = "tftpd-hpa",
};

FIXTURE_VARIANT_ADD(tftp_server, atftpd)
{
	.server = ATFTPD, .ip = "127.0.0.4", .name = "atftpd",
};

FIXTURE_VARIANT_ADD(tftp_server, dnsmasq)
{
	.server = DNSMASQ, .ip = "127.0.0.2", .name = "dnsmasq",
};

static const size_t edge_sizes[] = { 0, 1, 511, 512, 513, 1467, 1468, 1469,
				     100000 };

/*
 * scripts/test-tftpd-hpa, run from the top of the tree: the current
 * directory, or three levels above this program (build/selftests/host/).
 */
static char *tftpd_hpa_path(void)
{
	static char path[1200];
	char exe[512], root[600], cmd[800], line[512];
	ssize_t n;
	FILE *p;

	if (have_exe("scripts/test-tftpd-hpa")) {
		if (!getcwd(root, sizeof(root)))
			return NULL;
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return NULL;
		exe[n] = 0;
		snprintf(root, sizeof(root), "%s/../../..", dirname(exe));
	}
	snprintf(cmd, sizeof(cmd), "cd '%s' && scripts/test-tftpd-hpa", root);
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	if (!fgets(line, sizeof(line), p))
		line[0] = 0;
	pclose(p);
	line[strcspn(line, "\n")] = 0;
	if (!line[0])
		return NULL;
	if (line[0] == '/')
		snprintf(path, sizeof(path), "%s", line);
	else
		snprintf(path, sizeof(path), "%s/%s", root, line);
	return have_exe(path) ? path : NULL;
}

FIXTURE_SETUP(tftp_server)
{
	char log[600], addr[64], rootopt[600], pidopt[600], listen[64];
	size_t i;

	self->pid = -1;
	self->root = mkdtemp_dir();
	ASSERT_NE(NULL, self->root);
	for (i = 0; i < sizeof(edge_sizes) / sizeof(edge_sizes[0]); i++) {
		char name[32];

		snprintf(name, sizeof(name), "f%zu", edge_sizes[i]);
		ASSERT_EQ(0, make_file(self->root, name, edge_sizes[i],
				       (uint32_t)edge_sizes[i]));
	}
	snprintf(log, sizeof(log), "%s/server.log", self->root);
	snprintf(self->base, sizeof(self->base), "tftp://%s", variant->ip);
	if (variant->server == TFTPD_HPA) {
		char *bin = tftpd_hpa_path();

		if (!bin)
			SKIP(return, "tftpd-hpa not available: "
			     "scripts/test-tftpd-hpa could not unpack it "
			     "(no Debian archive?)");
		snprintf(addr, sizeof(addr), "%s:69", variant->ip);
		char *argv[] = { bin, "-L", "-s", self->root, "-a", addr,
				 "-u", "root", NULL };
		self->pid = start_proc(argv, log);
	} else if (variant->server == ATFTPD) {
		if (!have_exe("/usr/sbin/atftpd"))
			SKIP(return, "atftpd not installed "
			     "(scripts/install-deps installs it)");
		char *argv[] = { "/usr/sbin/atftpd", "--daemon", "--no-fork",
				 "--port", "69", "--bind-address",
				 (char *)variant->ip, "--user", "root",
				 "--group", "root", "--logfile", "-",
				 self->root, NULL };
		self->pid = start_proc(argv, log);
	} else {
		if (!have_exe("/usr/sbin/dnsmasq"))
			SKIP(return, "dnsmasq not installed "
			     "(scripts/install-deps installs dnsmasq-base)");
		snprintf(rootopt, sizeof(rootopt), "--tftp-root=%s",
			 self->root);
		snprintf(pidopt, sizeof(pidopt), "--pid-file=%s/dnsmasq.pid",
			 self->root);
		snprintf(listen, sizeof(listen), "--listen-address=%s",
			 variant->ip);
		char *argv[] = { "/usr/sbin/dnsmasq", "-k", "--port=0",
				 "--conf-file=/dev/null", "--enable-tftp",
				 rootopt, listen, "--bind-interfaces",
				 "--user=root", pidopt, NULL };
		self->pid = start_proc(argv, log);
	}
	ASSERT_LT(0, self->pid);
	ASSERT_EQ(0, wait_listen(false, variant->ip, 69, 5000)) {
		TH_LOG("%s did not listen on %s:69; see %s", variant->name,
		       variant->ip, log);
	}
}

FIXTURE_TEARDOWN(tftp_server)
{
	stop_proc(self->pid);
	rm_rf(self->root);
	free(self->root);
}

static void fetch_sizes(struct __test_metadata *_metadata,
			FIXTURE_DATA(tftp_server) *self,
			const struct lzb_fetcher_opts *o, const char *what)
{
	struct lzb_fetcher *f = lzb_fetcher_new(o);
	static uint8_t buf[200000];
	size_t i;

	ASSERT_NE(NULL, f);
	for (i = 0; i < sizeof(edge_sizes) / sizeof(edge_sizes[0]); i++) {
		char url[128];
		struct lzb_fetch_spec spec = {
			.url = url, .buf = buf, .buf_size = sizeof(buf),
			.expected_size = (int64_t)edge_sizes[i],
			.deadline_ms = 20000,
		};
		struct sync_result res;

		snprintf(url, sizeof(url), "%s/f%zu", self->base,
			 edge_sizes[i]);
		memset(buf, 0xee, edge_sizes[i] + 16);
		EXPECT_EQ(0, fetch_sync(f, &spec, &res)) {
			TH_LOG("%s %s: %s", what, url, res.msg);
		}
		EXPECT_EQ(edge_sizes[i], res.len);
		EXPECT_EQ(-1, pattern_check(buf, edge_sizes[i],
					    (uint32_t)edge_sizes[i], 0));
	}
	lzb_fetcher_free(f);
}

TEST_F(tftp_server, edge_sizes_options)
{
	struct lzb_fetcher_opts o = { .tftp_blksize = 1468,
				      .tftp_windowsize = 16 };

	fetch_sizes(_metadata, self, &o, "blksize 1468 window 16");
}

/* The same bytes through the sandboxed child (fetch_remote.c). */
TEST_F(tftp_server, edge_sizes_sandboxed)
{
	struct lzb_fetcher_opts o = { .tftp_blksize = 1468,
				      .tftp_windowsize = 16, .sandbox = true };

	fetch_sizes(_metadata, self, &o, "sandboxed, window 16");
}

TEST_F(tftp_server, edge_sizes_lockstep_plain)
{
	struct lzb_fetcher_opts o = { .tftp_no_options = true };

	fetch_sizes(_metadata, self, &o, "RFC 1350 plain");
}

TEST_F(tftp_server, edge_sizes_blksize_512)
{
	/* blksize 512 is the default, so the OACK path with tsize only */
	struct lzb_fetcher_opts o = { .tftp_blksize = 512,
				      .tftp_windowsize = 4 };

	fetch_sizes(_metadata, self, &o, "blksize 512 window 4");
}

TEST_F_TIMEOUT(tftp_server, rollover_past_65535_blocks, 120)
{
	struct lzb_fetcher_opts o = { .tftp_blksize = 512,
				      .tftp_windowsize = 16 };
	struct lzb_fetcher *f;
	struct sync_result res;
	char url[128];
	uint8_t *buf = malloc(BIG_SIZE);
	struct lzb_fetch_spec spec = {
		.url = url, .buf = buf, .buf_size = BIG_SIZE,
		.expected_size = BIG_SIZE, .deadline_ms = 100000,
	};

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, make_file(self->root, "big", BIG_SIZE, 99));
	f = lzb_fetcher_new(&o);
	ASSERT_NE(NULL, f);
	snprintf(url, sizeof(url), "%s/big", self->base);
	ASSERT_EQ(0, fetch_sync(f, &spec, &res)) {
		TH_LOG("%s", res.msg);
	}
	ASSERT_EQ(BIG_SIZE, res.len);
	ASSERT_EQ(-1, pattern_check(buf, BIG_SIZE, 99, 0));
	lzb_fetcher_free(f);
	free(buf);
}

TEST_F(tftp_server, range_of_a_file)
{
	struct lzb_fetcher *f = lzb_fetcher_new(NULL);
	uint8_t buf[5000];
	struct sync_result res;
	char url[128];
	struct lzb_fetch_spec spec = {
		.url = url, .buf = buf, .buf_size = sizeof(buf),
		.offset = 70001, .length = 5000, .deadline_ms = 10000,
	};

	ASSERT_NE(NULL, f);
	snprintf(url, sizeof(url), "%s/f100000", self->base);
	ASSERT_EQ(0, fetch_sync(f, &spec, &res)) {
		TH_LOG("%s", res.msg);
	}
	ASSERT_EQ(5000, res.len);
	ASSERT_EQ(-1, pattern_check(buf, 5000, 100000, 70001));
	lzb_fetcher_free(f);
}

TEST_F(tftp_server, missing_file_is_a_clear_error)
{
	struct lzb_fetcher_opts o = { .no_retries = true };
	struct lzb_fetcher *f = lzb_fetcher_new(&o);
	uint8_t buf[16];
	struct sync_result res;
	char url[128];
	struct lzb_fetch_spec spec = {
		.url = url, .buf = buf, .buf_size = sizeof(buf),
		.expected_size = -1, .deadline_ms = 10000,
	};

	ASSERT_NE(NULL, f);
	snprintf(url, sizeof(url), "%s/no-such-file", self->base);
	ASSERT_EQ(-ENOENT, fetch_sync(f, &spec, &res));
	TH_LOG("%s", res.msg);
	ASSERT_NE(NULL, strstr(res.msg, "file not found"));
	ASSERT_NE(NULL, strstr(res.msg, url));
	lzb_fetcher_free(f);
}

#define N_CONCURRENT 24

TEST_F(tftp_server, many_transfers_on_one_loop)
{
	struct lzb_fetcher *f = lzb_fetcher_new(NULL);
	static uint8_t bufs[N_CONCURRENT][100000];
	struct sync_result res[N_CONCURRENT];
	int i, left = N_CONCURRENT;

	ASSERT_NE(NULL, f);
	for (i = 0; i < N_CONCURRENT; i++) {
		struct lzb_fetch_spec spec = {
			.url = NULL, .buf = bufs[i], .buf_size = 100000,
			.expected_size = 100000, .deadline_ms = 30000,
			.done = sync_done, .done_arg = &res[i],
		};
		char url[128];

		snprintf(url, sizeof(url), "%s/f100000", self->base);
		spec.url = url;
		memset(&res[i], 0, sizeof(res[i]));
		ASSERT_NE(NULL, lzb_fetch_submit(f, &spec));
	}
	ASSERT_EQ(N_CONCURRENT, lzb_fetcher_pending(f));
	ASSERT_EQ(0, lzb_fetcher_run(f, 60000));
	for (i = 0; i < N_CONCURRENT; i++) {
		EXPECT_TRUE(res[i].done);
		EXPECT_EQ(0, res[i].err) {
			TH_LOG("transfer %d: %s", i, res[i].msg);
		}
		EXPECT_EQ(-1, pattern_check(bufs[i], 100000, 100000, 0));
		left -= res[i].done && !res[i].err;
	}
	ASSERT_EQ(0, left);
	lzb_fetcher_free(f);
}

/*
 * A window the sandboxed child's receive buffer cannot hold (rmem_max
 * caps it, the child has no CAP_NET_ADMIN) is asked for smaller; a spare
 * socket, made before the child dropped the capability, holds it whole,
 * for as many long tries as there are spares; a transfer too short to
 * fill the window it would be cut to is not cut and leaves the spares to
 * the long ones.  Each fetch's bytes checked.
 */
#define FIT_BLKSIZE 65464
#define FIT_WINDOW 128
#define FIT_SIZE ((8u << 20) + 1)	/* 129 blocks */
#define SHORT_SIZE 100000		/* 2 blocks */

static const struct fit_case {
	const char *what;
	bool sandbox;
	unsigned int spares;
	bool long_one[2];	/* each fetch: "fit" (129 blocks) or 2 */
	uint64_t cut[2];	/* tftp_windows_cut after each fetch */
} fit_cases[] = {
	{ "sandboxed, no spare: the window is cut to the buffer",
	  true, 0, { true, true }, { 1, 2 } },
	{ "a spare per family: the first long try holds the whole window",
	  true, 1, { true, true }, { 0, 1 } },
	{ "a short try leaves the spare to the long one after it",
	  true, 1, { false, true }, { 0, 0 } },
	{ "2 blocks, which any buffer holds: never cut",
	  true, 0, { false, false }, { 0, 0 } },
	{ "root, not sandboxed: SO_RCVBUFFORCE holds every window",
	  false, 0, { true, true }, { 0, 0 } },
};

TEST_F(tftp_server, window_fits_the_receive_buffer)
{
	long rmem_max = read_rmem_max();
	uint8_t *buf = malloc(FIT_SIZE);

	ASSERT_NE(NULL, buf);
	if (geteuid())
		SKIP(free(buf); return, "not root: the sandbox needs root");
	if (rmem_max < 0 ||
	    rmem_max >= lzb_tftp_rcvbuf_for(FIT_BLKSIZE, FIT_WINDOW))
		SKIP(free(buf); return, "net.core.rmem_max is %ld: a window "
		     "of %d blocks of %d fits without CAP_NET_ADMIN", rmem_max,
		     FIT_WINDOW, FIT_BLKSIZE);
	ASSERT_EQ(0, make_file(self->root, "fit", FIT_SIZE, FIT_SIZE));
	for (size_t i = 0; i < sizeof(fit_cases) / sizeof(fit_cases[0]); i++) {
		const struct fit_case *c = &fit_cases[i];
		struct lzb_fetcher_opts o = {
			.tftp_blksize = FIT_BLKSIZE,
			.tftp_windowsize = FIT_WINDOW,
			.sandbox = c->sandbox, .tftp_spare_sockets = c->spares,
		};
		struct lzb_fetcher *f = lzb_fetcher_new(&o);

		ASSERT_NE(NULL, f);
		for (int k = 0; k < 2; k++) {
			size_t size = c->long_one[k] ? FIT_SIZE : SHORT_SIZE;
			struct lzb_fetch_stats st;
			struct sync_result res;
			char url[128];
			struct lzb_fetch_spec spec = {
				.url = url, .buf = buf, .buf_size = FIT_SIZE,
				.expected_size = (int64_t)size,
				.deadline_ms = 30000,
			};

			snprintf(url, sizeof(url), "%s/%s", self->base,
				 c->long_one[k] ? "fit" : "f100000");
			memset(buf, 0xee, size);
			ASSERT_EQ(0, fetch_sync(f, &spec, &res)) {
				TH_LOG("%s: %s", c->what, res.msg);
			}
			ASSERT_EQ(size, res.len);
			EXPECT_EQ(-1, pattern_check(buf, size, (uint32_t)size,
						    0));
			lzb_fetcher_stats(f, &st);
			EXPECT_EQ(c->cut[k], st.tftp_windows_cut) {
				TH_LOG("%s, fetch %d", c->what, k + 1);
			}
		}
		lzb_fetcher_free(f);
	}
	free(buf);
}

TEST_HARNESS_MAIN
