// SPDX-License-Identifier: GPL-2.0
/*
 * What a fault pays while the image's stream runs, on the network alone:
 * one fetcher streams STREAM_URL whole (background priority), another, as
 * the pager's main fetcher, asks a 64 KiB range of CHUNK_URL at fault
 * priority every INTERVAL_MS, one at a time, from 0.5 s after the stream
 * began until it ends.  Both sandboxed, as in a restore.  MODE: plain
 * (the stream left alone), bounded (its TCP window bounded:
 * opts.http_bound_window) or held (bounded, and held while a fault's
 * fetch runs: lzb_fetcher_hold, as the pager does).  Prints mode, the
 * stream's seconds and Mbit/s, the faults, their p50, p99 and max in ms,
 * and the window bounds set.
 *
 *   fault_under_stream STREAM_URL CHUNK_URL CHUNK_FILE_SIZE MODE [INTERVAL_MS]
 *
 * bench/fault-under-stream runs it through a rate-limited veth; see
 * bench/README.md.
 */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fetch/fetch.h"

#define CHUNK (64u << 10)
#define MAX_FAULTS 100000

static bool stream_done;
static bool hold_stream;
static struct lzb_fetcher *stream_fetcher;
static int failed;
static uint64_t stream_bytes;
static bool fault_busy;
static double fault_t0;
static double lat_ms[MAX_FAULTS];
static unsigned int nr_lat;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int discard(void *arg, uint64_t offset, const void *data, size_t len)
{
	(void)arg;
	(void)offset;
	(void)data;
	stream_bytes += len;
	return 0;
}

static void stream_end(struct lzb_fetch *req, int err, const char *msg,
		       uint64_t len, void *arg)
{
	(void)req;
	(void)len;
	(void)arg;
	if (err) {
		fprintf(stderr, "stream: %s\n", msg);
		failed = 1;
	}
	stream_done = true;
}

static void fault_end(struct lzb_fetch *req, int err, const char *msg,
		      uint64_t len, void *arg)
{
	(void)req;
	(void)len;
	(void)arg;
	if (err) {
		fprintf(stderr, "fault: %s\n", msg);
		failed = 1;
	} else if (nr_lat < MAX_FAULTS) {
		lat_ms[nr_lat++] = (now() - fault_t0) * 1e3;
	}
	fault_busy = false;
	if (hold_stream)
		lzb_fetcher_hold(stream_fetcher, false);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(unsigned int p)
{
	unsigned int i;

	if (!nr_lat)
		return 0;
	i = (nr_lat * p + 99) / 100;
	return lat_ms[i ? i - 1 : 0];
}

int main(int argc, char **argv)
{
	static uint8_t buf[CHUNK];
	struct lzb_fetcher_opts so = { .sandbox = true }, fo = so;
	struct lzb_fetcher *sf, *ff;
	struct lzb_fetch_stats st;
	uint64_t file_size;
	unsigned int interval_ms = 200;
	double t0, next, end;
	const char *mode;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: %s STREAM_URL CHUNK_URL CHUNK_FILE_SIZE "
			"plain|bounded|held [INTERVAL_MS]\n", argv[0]);
		return 2;
	}
	file_size = strtoull(argv[3], NULL, 10);
	mode = argv[4];
	if (strcmp(mode, "plain") && strcmp(mode, "bounded") &&
	    strcmp(mode, "held"))
		return 2;
	hold_stream = !strcmp(mode, "held");
	if (argc == 6)
		interval_ms = (unsigned int)strtoul(argv[5], NULL, 10);
	if (file_size < CHUNK || !interval_ms)
		return 2;
	so.http_bound_window = strcmp(mode, "plain") != 0;
	sf = stream_fetcher = lzb_fetcher_new(&so);
	ff = lzb_fetcher_new(&fo);
	if (!sf || !ff)
		return 1;
	srand(1);

	struct lzb_fetch_spec stream = {
		.url = argv[1], .expected_size = -1, .sink = discard,
		.prio = LZB_PRIO_BACKGROUND, .done = stream_end,
	};
	t0 = now();
	if (!lzb_fetch_submit(sf, &stream))
		return 1;
	next = t0 + 0.5;
	while (!stream_done && !failed) {
		if (!fault_busy && now() >= next) {
			uint64_t off = (uint64_t)rand() % (file_size / CHUNK) *
				       CHUNK;
			struct lzb_fetch_spec spec = {
				.url = argv[2], .offset = off, .length = CHUNK,
				.buf = buf, .buf_size = CHUNK,
				.prio = LZB_PRIO_FAULT, .deadline_ms = 30000,
				.done = fault_end,
			};

			fault_t0 = now();
			fault_busy = true;
			if (hold_stream)
				lzb_fetcher_hold(sf, true);
			next = fault_t0 + interval_ms / 1e3;
			if (!lzb_fetch_submit(ff, &spec))
				return 1;
		}
		{
			struct pollfd fds[2] = {
				{ .fd = lzb_fetcher_fd(sf), .events = POLLIN },
				{ .fd = lzb_fetcher_fd(ff), .events = POLLIN },
			};
			int wait_ms = fault_busy ? 100 :
				      (int)((next - now()) * 1e3) + 1;

			poll(fds, 2, wait_ms < 0 ? 0 : wait_ms);
			lzb_fetcher_process(sf);
			lzb_fetcher_process(ff);
		}
	}
	end = now();
	while (fault_busy && !failed)
		lzb_fetcher_run(ff, 100);
	lzb_fetcher_stats(sf, &st);
	lzb_fetcher_free(sf);
	lzb_fetcher_free(ff);
	if (failed)
		return 1;
	qsort(lat_ms, nr_lat, sizeof(lat_ms[0]), by_value);
	printf("%s\t%.3f\t%.1f\t%u\t%.2f\t%.2f\t%.2f\t%llu\n",
	       mode, end - t0,
	       stream_bytes * 8 / (end - t0) / 1e6, nr_lat, pct(50), pct(99),
	       nr_lat ? lat_ms[nr_lat - 1] : 0,
	       (unsigned long long)st.http_window_clamps);
	return 0;
}
