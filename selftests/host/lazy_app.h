/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "app" of the pager tests: it maps an image's memory at fixed
 * addresses, registers it with a userfaultfd the way CRIU's restorer does,
 * hands the uffd over CRIU's lazy-pages socket as `criu restore
 * --lazy-pages` does (then a zombie and RSTF), and checks every byte it
 * reads against the image.  And the page source that serves that image in
 * whole 64 KiB chunks, as the image's chunks are, or withholds them.
 */
#ifndef LAZYBOOT_LAZY_APP_H
#define LAZYBOOT_LAZY_APP_H

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "criu/criu_lazy_socket.h"
#include "engine/uffd_engine.h"

#define PAGE 4096UL
#define IMG_PID 4242
#define CHUNK (64 * 1024UL)
/* The image: two areas; the second has a hole the image has no data for. */
#define AREA0 0x7e1000000000UL
#define AREA0_LEN (8UL << 20)
#define AREA1 0x7e2000000000UL
#define AREA1_LEN (4UL << 20)
#define AREA1_LAZY (3UL << 20)	/* the last MiB is a hole: zeros */

/* The image's byte at dump-time address a. */
static inline uint8_t image_byte(uint64_t a)
{
	uint64_t x = (a >> 3) * 0x9e3779b97f4a7c15ULL ^ IMG_PID;

	return (uint8_t)(x >> ((a & 7) * 8));
}

static inline long check_range(uint64_t addr, uint64_t img, uint64_t len,
			       uint64_t zero_from)
{
	long bad = 0;
	uint64_t i;

	for (i = 0; i < len; i++) {
		uint8_t want = img + i >= zero_from ? 0 : image_byte(img + i);

		if (((volatile uint8_t *)addr)[i] != want)
			bad++;
	}
	return bad;
}

static inline long check_all(void)
{
	return check_range(AREA0, AREA0, AREA0_LEN, ~0ULL) +
	       check_range(AREA1, AREA1, AREA1_LEN, AREA1 + AREA1_LAZY);
}

static inline int send_uffd(int sock, int uffd)
{
	char control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "x", .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	int pid = IMG_PID;

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &uffd, sizeof(int));
	if (send(sock, &pid, sizeof(pid), 0) != sizeof(pid))
		return -1;
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

/*
 * A page of the lazy memory written before it is registered (0: none),
 * as a restorer writing over lazy memory would: the pager must refuse it.
 */
static uint64_t app_dirty_page;

/* Map, register, hand over the uffd like CRIU's restore; exit code 100+
 * for setup errors. */
static inline int app_setup(const char *dir)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP |
			    UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP,
	};
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	uint32_t rstf = LZB_RESTORE_FINISHED;
	uint64_t areas[2][2] = { { AREA0, AREA0_LEN }, { AREA1, AREA1_LEN } };
	int uffd = -1, sock, i;

	for (i = 0; i < 2; i++) {
		struct uffdio_register reg = {
			.range = { areas[i][0], areas[i][1] },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (mmap((void *)areas[i][0], areas[i][1], PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			 -1, 0) != (void *)areas[i][0])
			_exit(101);
		if (app_dirty_page >= areas[i][0] &&
		    app_dirty_page < areas[i][0] + areas[i][1])
			*(volatile uint8_t *)app_dirty_page = 0xd1;
		if (i == 0) {
			uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
			if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api))
				_exit(102);
		}
		if (ioctl(uffd, UFFDIO_REGISTER, &reg))
			_exit(103);
	}
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", dir,
		 LZB_LAZY_SOCKET_NAME);
	sock = socket(AF_UNIX, SOCK_STREAM, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof(addr)))
		_exit(104);
	if (send_uffd(sock, uffd))
		_exit(105);
	/* A zombie of the image, as CRIU reports one. */
	i = -(IMG_PID + 1);
	if (send(sock, &i, sizeof(i), 0) != sizeof(i) ||
	    send(sock, &rstf, sizeof(rstf), 0) != sizeof(rstf))
		_exit(106);
	close(sock);
	close(uffd);	/* like CRIU's restorer: the pager holds it now */
	return 0;
}

struct source_state {
	uint64_t urgent_requests;
	uint64_t chunks_delivered;
	uint64_t limit;		/* 0: none; then requests are left unanswered */
	uint64_t withheld, urgent_withheld;
};

static inline int deliver_chunk(void *ctx, struct lzb_engine *engine,
				int img_pid, uint64_t img_addr, uint64_t len,
				bool urgent)
{
	struct source_state *st = ctx;
	static uint8_t buf[CHUNK];
	uint64_t first = img_addr & ~(CHUNK - 1);
	uint64_t last = (img_addr + len + CHUNK - 1) & ~(CHUNK - 1);
	uint64_t c, i;
	int err;

	if (img_pid != IMG_PID)
		return -ESRCH;
	if (urgent)
		st->urgent_requests++;
	if (st->limit && st->chunks_delivered >= st->limit) {
		st->withheld++;
		st->urgent_withheld += urgent;
		return 0;	/* a pager about to die */
	}
	for (c = first; c < last; c += CHUNK) {
		for (i = 0; i < CHUNK; i++)
			buf[i] = image_byte(c + i);
		err = lzb_engine_install(engine, img_pid, c, buf, CHUNK);
		if (err)
			return err;
		st->chunks_delivered++;
	}
	return 0;
}

#endif
