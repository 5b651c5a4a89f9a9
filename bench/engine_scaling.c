// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Micro-benchmark: the uffd engine's own CPU time per streamed chunk as the
 * lazy image grows.  A MAP_NORESERVE mapping of SIZE is registered on a
 * real userfaultfd; one page in four is lazy (a sparse image: SIZE/16K
 * separate ranges); the engine streams all of it from a source that
 * answers each request with its whole 64 KiB chunk one engine round
 * later, like the image source does.  Prints one line:
 *   size_mib ranges requests user_us_per_request sys_us_per_request wall_s
 * Built by bench/engine-scaling against either engine version (only the
 * API both have is used).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "engine/uffd_engine.h"

#define PAGE 4096ULL
#define CHUNK (64 * 1024ULL)
#define IMG_PID 100

struct queue {
	uint64_t *addr;
	size_t n, cap;
	uint64_t requests;
};

static int request_cb(void *ctx, struct lzb_engine *e, int img_pid,
		      uint64_t img_addr, uint64_t len, bool urgent)
{
	struct queue *q = ctx;
	uint64_t c;

	(void)e;
	(void)img_pid;
	q->requests++;
	for (c = img_addr & ~(CHUNK - 1); c < img_addr + len; c += CHUNK) {
		if (q->n == q->cap) {
			q->cap = q->cap ? q->cap * 2 : 64;
			q->addr = realloc(q->addr, q->cap * sizeof(*q->addr));
			if (!q->addr)
				return -ENOMEM;
		}
		q->addr[q->n++] = c;
	}
	(void)urgent;
	return 0;
}

static double tv_us(struct timeval tv)
{
	return tv.tv_sec * 1e6 + tv.tv_usec;
}

int main(int argc, char **argv)
{
	uint64_t size = (argc > 1 ? strtoull(argv[1], NULL, 0) : 256) << 20;
	struct queue q = { 0 };
	struct lzb_engine_config config = {
		.source = { .request = request_cb, .ctx = &q },
		.max_background = 16, .stream_bytes = CHUNK,
	};
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	static unsigned char data[CHUNK];
	struct rusage r0, r1;
	struct timespec t0, t1;
	struct lzb_ranges lazy;
	struct lzb_engine *e;
	unsigned char *map;
	uint64_t off, nr = 0;
	int uffd, err = 0;

	memset(data, 0x5a, sizeof(data));
	map = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (map == MAP_FAILED || uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
		perror("engine_scaling: mmap/userfaultfd (needs root)");
		return 1;
	}
	reg.range.start = (uintptr_t)map;
	reg.range.len = size;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		perror("engine_scaling: UFFDIO_REGISTER");
		return 1;
	}
	lzb_ranges_init(&lazy);
	for (off = 0; off < size; off += 4 * PAGE, nr++)
		if (lzb_ranges_add(&lazy, (uintptr_t)map + off,
				   (uintptr_t)map + off + PAGE,
				   (uintptr_t)map + off))
			return 1;
	if (lzb_engine_new(&config, &e) ||
	    lzb_engine_add_task(e, IMG_PID, &lazy) ||
	    lzb_engine_attach(e, IMG_PID, uffd))
		return 1;
	lzb_ranges_free(&lazy);
	lzb_engine_start_streaming(e);

	getrusage(RUSAGE_SELF, &r0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!lzb_engine_done(e) && !err) {
		size_t i, n;

		err = lzb_engine_run(e, 0);
		n = q.n;
		q.n = 0;
		for (i = 0; i < n && !err; i++)
			err = lzb_engine_install(e, IMG_PID, q.addr[i], data,
						 CHUNK);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &r1);
	if (err) {
		fprintf(stderr, "engine_scaling: %s\n", strerror(-err));
		return 1;
	}
	/* Every lazy page must have arrived. */
	for (off = 0; off < size; off += 4 * PAGE)
		if (map[off] != 0x5a || map[off + PAGE - 1] != 0x5a) {
			fprintf(stderr, "engine_scaling: page at +%llu not "
				"installed\n", (unsigned long long)off);
			return 1;
		}
	printf("%llu %llu %llu %.2f %.2f %.2f\n",
	       (unsigned long long)(size >> 20), (unsigned long long)nr,
	       (unsigned long long)q.requests,
	       (tv_us(r1.ru_utime) - tv_us(r0.ru_utime)) / q.requests,
	       (tv_us(r1.ru_stime) - tv_us(r0.ru_stime)) / q.requests,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	lzb_engine_free(e);
	return 0;
}
