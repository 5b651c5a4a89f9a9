// SPDX-License-Identifier: GPL-2.0
/*
 * The sandboxed fetcher's own cost, without a VM: fetch N objects from
 * BASE_URL (obj/0 .. obj/N-1, each SIZE bytes) as background requests, 4
 * in flight as in a restore's streaming, through an in-process fetcher
 * (MODE in-process) or a sandboxed one (sandboxed), made first thing as
 * the pager makes it before the image is loaded.  One run per process:
 * the sandboxed child is forked, and pages the parent had before the
 * fork cost a copy-on-write fault when it writes them again, so a run
 * must not inherit another run's heap.  Prints mode, wall seconds, CPU
 * seconds of this process and of its reaped children (the child).
 *
 *   fetch_sandbox_cost BASE_URL N SIZE MODE
 *
 * bench/fetch-sandbox-cost runs it against nginx; see bench/README.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "fetch/fetch.h"

static unsigned int left;
static int failed;

static void done(struct lzb_fetch *req, int err, const char *msg,
		 uint64_t len, void *arg)
{
	(void)req;
	(void)len;
	free(arg);
	if (err) {
		fprintf(stderr, "fetch: %s\n", msg);
		failed = 1;
	}
	left--;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int run(const char *base, unsigned int n, size_t size, bool sandbox)
{
	struct lzb_fetcher_opts o = { .max_background = 4,
				      .sandbox = sandbox };
	double t0 = now(), c0 = cpu(RUSAGE_SELF), k0 = cpu(RUSAGE_CHILDREN);
	struct lzb_fetcher *f = lzb_fetcher_new(&o);
	const char *urls[1] = { base };
	struct lzb_mirrors *m = lzb_mirrors_new(urls, 1);

	if (!f || !m)
		return -1;
	left = n;
	for (unsigned int i = 0; i < n; i++) {
		char path[32];
		struct lzb_fetch_spec spec = {
			.mirrors = m, .path = path, .expected_size = size,
			.buf_size = size, .prio = LZB_PRIO_BACKGROUND,
			.deadline_ms = 60000, .done = done,
		};

		spec.buf = malloc(size);
		spec.done_arg = spec.buf;
		snprintf(path, sizeof(path), "obj/%u", i);
		if (!spec.buf || !lzb_fetch_submit(f, &spec))
			return -1;
	}
	while (left)
		if (lzb_fetcher_run(f, 60000))
			return -1;
	lzb_fetcher_free(f);	/* reaps the child: its CPU is counted */
	lzb_mirrors_free(m);
	printf("%s\t%.3f\t%.3f\t%.3f\n", sandbox ? "sandboxed" : "in-process",
	       now() - t0, cpu(RUSAGE_SELF) - c0, cpu(RUSAGE_CHILDREN) - k0);
	fflush(stdout);
	return failed ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned int n;
	size_t size;

	if (argc != 5) {
		fprintf(stderr, "usage: %s BASE_URL N SIZE in-process|sandboxed\n",
			argv[0]);
		return 2;
	}
	n = (unsigned int)strtoul(argv[2], NULL, 10);
	size = strtoul(argv[3], NULL, 10);
	return run(argv[1], n, size, !strcmp(argv[4], "sandboxed")) ? 1 : 0;
}
