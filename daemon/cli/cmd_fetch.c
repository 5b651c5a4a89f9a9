// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lazyboot fetch`: download one object over any transport, with progress. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "fetch/fetch.h"
#include "util/clock.h"
#include "util/file_util.h"

static const char usage[] =
	"usage: lazyboot fetch [options] URL [MIRROR-URL...] --out FILE\n"
	"\n"
	"Download one object over file://, http://, https:// or tftp:// with the\n"
	"same fetch engine lazybootd uses, and write it to FILE (through a new\n"
	"hidden file beside it, renamed when complete and verified; nothing is\n"
	"left on failure).  Extra URLs are mirrors\n"
	"of the same object: a failed try moves to the next one, and after all\n"
	"failed a new round starts after a backoff (--retries rounds).\n"
	"\n"
	"Options:\n"
	"  -o, --out FILE        where to write (required)\n"
	"  -r, --range OFF+LEN   only LEN bytes from byte OFF (HTTP: a Range\n"
	"                        request that must be answered 206; TFTP has no\n"
	"                        offsets, so the bytes before OFF are skipped)\n"
	"  -s, --size N          the object must be exactly N bytes\n"
	"      --deadline MS     give up after MS milliseconds in all (0: none)\n"
	"      --retries N       rounds over the mirrors after the first (2)\n"
	"      --ca FILE         https: trust only the CAs in this PEM file\n"
	"      --pin KEY         https: public key pin, sha256//BASE64\n"
	"      --accept-full     https/http: take a 200 answer to a Range request\n"
	"                        by cutting the range out (default: fail over)\n"
	"      --blksize N       tftp: block size to ask for, 8-65464 (1468)\n"
	"      --windowsize N    tftp: window to ask for, 1 = lock-step (16)\n"
	"      --no-options      tftp: plain RFC 1350 request, no options\n"
	"      --progress        progress display even when stderr is no tty\n"
	"      --repeat N        fetch N times on one fetcher (warm connection)\n"
	"                        and print first/min/median/max times\n"
	"  -q, --quiet           no progress display\n"
	"  -h, --help            this text\n"
	"\n"
	"Progress goes to stderr (when it is a terminal, or always with\n"
	"--progress).  The last line names the bytes, time, rate and any retries.\n"
	"Exit status: 0 on success, 1 when the download failed, 2 on bad usage.\n";

struct cli_state {
	int fd;
	bool progress;
	double start;
	double last_draw;
	const char *err;
};

static int sink(void *arg, uint64_t off, const void *data, size_t len)
{
	struct cli_state *c = arg;
	const char *p = data;

	while (len) {
		ssize_t n = pwrite(c->fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* "512 B", "12.3 KiB", "4.0 MiB", "1.20 GiB" */
static const char *human(uint64_t n, char *buf, size_t size)
{
	if (n < 1024)
		snprintf(buf, size, "%" PRIu64 " B", n);
	else if (n < 1024 * 1024)
		snprintf(buf, size, "%.1f KiB", n / 1024.0);
	else if (n < 1024ULL * 1024 * 1024)
		snprintf(buf, size, "%.1f MiB", n / 1048576.0);
	else
		snprintf(buf, size, "%.2f GiB", n / 1073741824.0);
	return buf;
}

static void draw(struct cli_state *c, uint64_t done, uint64_t total, bool end)
{
	double t = lzb_now_ns() / 1e9, el = t - c->start;
	double rate = el > 0 ? done / el : 0;
	char a[32], b[32];

	if (!c->progress || (!end && t - c->last_draw < 0.1))
		return;
	c->last_draw = t;
	if (total)
		fprintf(stderr, "\r%11s of %-11s %5.1f%% %9.2f MiB/s  ",
			human(done, a, sizeof(a)), human(total, b, sizeof(b)),
			100.0 * done / total, rate / 1048576);
	else
		fprintf(stderr, "\r%11s %9.2f MiB/s  ",
			human(done, a, sizeof(a)), rate / 1048576);
	if (end)
		fputc('\n', stderr);
}

static void progress(void *arg, uint64_t done, uint64_t total)
{
	draw(arg, done, total, false);
}

static int result_err = 1;
static uint64_t result_len;
static char result_msg[400];

static void done(struct lzb_fetch *req, int err, const char *msg,
		 uint64_t len, void *arg)
{
	(void)req;
	(void)arg;
	result_err = err;
	result_len = len;
	snprintf(result_msg, sizeof(result_msg), "%s", msg);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* --repeat: the first try pays for the connection, the rest reuse it. */
static void report_repeat(double *t, int n)
{
	double first = t[0];

	qsort(t + 1, n - 1, sizeof(*t), cmp_double);
	fprintf(stderr, "repeat %d: first %.3f ms, then min %.3f ms, "
		"median %.3f ms, max %.3f ms\n", n, first * 1e3, t[1] * 1e3,
		t[1 + (n - 1) / 2] * 1e3, t[n - 1] * 1e3);
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || *end || *s == '-' ? -1 : 0;
}

int cmd_fetch(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "range", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' },
		{ "deadline", required_argument, NULL, 'D' },
		{ "retries", required_argument, NULL, 'R' },
		{ "ca", required_argument, NULL, 'C' },
		{ "pin", required_argument, NULL, 'P' },
		{ "accept-full", no_argument, NULL, 'A' },
		{ "blksize", required_argument, NULL, 'B' },
		{ "windowsize", required_argument, NULL, 'W' },
		{ "no-options", no_argument, NULL, 'N' },
		{ "progress", no_argument, NULL, 'p' },
		{ "repeat", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct lzb_fetcher_opts o = { 0 };
	struct lzb_fetch_spec spec = { .expected_size = -1 };
	struct cli_state c = { .fd = -1 };
	struct lzb_fetch_stats st;
	struct lzb_fetcher *f;
	struct lzb_mirrors *m;
	const char *out = NULL;
	struct lzb_out_file part;
	struct lzb_err werr;
	int opt, quiet = 0, force_progress = 0, repeat = 1;
	double times[1000], el;
	uint64_t v, v2;
	char *plus;

	while ((opt = getopt_long(argc, argv, "o:r:s:qh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'r':
			plus = strchr(optarg, '+');
			if (!plus)
				goto bad;
			*plus = 0;
			if (parse_u64(optarg, &v) || parse_u64(plus + 1, &v2) ||
			    !v2) {
				*plus = '+';
				goto bad;
			}
			*plus = '+';
			spec.offset = v;
			spec.length = v2;
			break;
		case 's':
			if (parse_u64(optarg, &v) || v > INT64_MAX)
				goto bad;
			spec.expected_size = (int64_t)v;
			break;
		case 'D':
			if (parse_u64(optarg, &v) || v > UINT32_MAX)
				goto bad;
			spec.deadline_ms = (unsigned int)v;
			break;
		case 'R':
			if (parse_u64(optarg, &v) || v > 100)
				goto bad;
			o.retries = (unsigned int)v;
			o.no_retries = !v;
			break;
		case 'C':
			o.ca_file = optarg;
			break;
		case 'P':
			o.pinned_pubkey = optarg;
			break;
		case 'A':
			o.accept_full_for_range = true;
			break;
		case 'B':
			if (parse_u64(optarg, &v) || v < 8 || v > 65464)
				goto bad;
			o.tftp_blksize = (unsigned int)v;
			break;
		case 'W':
			if (parse_u64(optarg, &v) || !v || v > 65535)
				goto bad;
			o.tftp_windowsize = (unsigned int)v;
			break;
		case 'N':
			o.tftp_no_options = true;
			break;
		case 'p':
			force_progress = 1;
			break;
		case 'n':
			if (parse_u64(optarg, &v) || !v || v > 1000)
				goto bad;
			repeat = (int)v;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind >= argc || !out) {
		fprintf(stderr, "lazyboot fetch: %s\n", optind >= argc ?
			"no URL given" : "--out FILE is required");
		fputs(usage, stderr);
		return 2;
	}
	for (int i = optind; i < argc; i++)
		if (!lzb_fetch_scheme(argv[i])) {
			fprintf(stderr, "lazyboot fetch: '%s': not a file://, "
				"http://, https:// or tftp:// URL\n", argv[i]);
			return 2;
		}
	m = lzb_mirrors_new((const char *const *)argv + optind, argc - optind);
	f = m ? lzb_fetcher_new(&o) : NULL;
	if (!f) {
		fprintf(stderr, "lazyboot fetch: cannot set up: %s\n",
			strerror(errno));
		lzb_mirrors_free(m);
		return 1;
	}
	if (lzb_out_open(&part, out, 0644, &werr)) {
		fprintf(stderr, "lazyboot fetch: %s\n", werr.msg);
		goto fail_setup;
	}
	c.fd = part.fd;
	c.progress = !quiet && (force_progress || isatty(2));
	c.start = lzb_now_ns() / 1e9;
	spec.mirrors = m;
	spec.path = "";
	spec.sink = sink;
	spec.sink_arg = &c;
	spec.prio = LZB_PRIO_FAULT;
	spec.done = done;
	spec.progress = progress;
	spec.progress_arg = &c;
	for (int i = 0; i < repeat; i++) {
		double t0 = lzb_now_ns() / 1e9;

		if (!lzb_fetch_submit(f, &spec)) {
			fprintf(stderr, "lazyboot fetch: cannot start: %s\n",
				strerror(errno));
			goto fail_file;
		}
		lzb_fetcher_run(f, -1);
		if (result_err)
			break;
		times[i] = lzb_now_ns() / 1e9 - t0;
	}
	if (repeat > 1 && !result_err)
		report_repeat(times, repeat);
	el = lzb_now_ns() / 1e9 - c.start;	/* the transfer, not the fsync below */
	lzb_fetcher_stats(f, &st);
	draw(&c, result_len, result_len, true);
	if (result_err) {
		fprintf(stderr, "lazyboot fetch: %s\n", result_msg);
		goto fail_file;
	}
	if (ftruncate(c.fd, (off_t)result_len)) {
		fprintf(stderr, "lazyboot fetch: writing %s: %s\n", out,
			strerror(errno));
		goto fail_file;
	}
	if (lzb_out_commit(&part, true, &werr)) {
		fprintf(stderr, "lazyboot fetch: writing %s\n", werr.msg);
		goto fail_setup;
	}
	{
		fprintf(stderr, "fetched %" PRIu64 " bytes in %.3f s "
			"(%.2f MiB/s), %" PRIu64 " tries, %" PRIu64
			" failovers, %" PRIu64 " retransmits\n", result_len,
			el, el > 0 ? result_len / el / 1048576 : 0.0,
			st.tries, st.failovers, st.tftp_retransmits);
	}
	lzb_fetcher_free(f);
	lzb_mirrors_free(m);
	return 0;
fail_file:
	lzb_out_abort(&part);
fail_setup:
	lzb_fetcher_free(f);
	lzb_mirrors_free(m);
	return 1;
bad:
	fprintf(stderr, "lazyboot fetch: bad value '%s' for --%s\n", optarg,
		opt == 'r' ? "range (want OFF+LEN, LEN > 0)" :
		opt == 's' ? "size" : opt == 'D' ? "deadline" :
		opt == 'R' ? "retries (0-100)" : opt == 'n' ? "repeat (1-1000)" :
		opt == 'B' ?
		"blksize (8-65464)" : "windowsize (1-65535)");
	return 2;
}
