// SPDX-License-Identifier: GPL-2.0
/*
 * Host smoke test: userfaultfd works here the way the pager needs it.
 * A missing-page fault on a registered anonymous range is reported,
 * UFFDIO_COPY installs the page and wakes the faulting thread, and
 * UFFDIO_ZEROPAGE serves a zero page.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"

static int open_uffd(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd;

	fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

		if (dev < 0)
			return -errno;
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		close(dev);
		if (fd < 0)
			return -errno;
	}
	if (ioctl(fd, UFFDIO_API, &api)) {
		close(fd);
		return -errno;
	}
	return fd;
}

struct toucher {
	volatile unsigned char *addr;
	unsigned char seen;
};

static void *touch_page(void *arg)
{
	struct toucher *t = arg;

	t->seen = *t->addr;
	return NULL;
}

FIXTURE(uffd)
{
	int fd;
	long page;
	unsigned char *area;
};

FIXTURE_SETUP(uffd)
{
	struct uffdio_register reg = { 0 };

	self->page = sysconf(_SC_PAGESIZE);
	self->fd = open_uffd();
	/* The 6.1 harness runs the body after a SKIP here: skip there. */
	if (self->fd < 0)
		return;
	self->area = mmap(NULL, 4 * self->page, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->area);
	reg.range.start = (uintptr_t)self->area;
	reg.range.len = 4 * self->page;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	ASSERT_EQ(0, ioctl(self->fd, UFFDIO_REGISTER, &reg));
	ASSERT_TRUE(reg.ioctls & (1ULL << _UFFDIO_COPY));
	ASSERT_TRUE(reg.ioctls & (1ULL << _UFFDIO_ZEROPAGE));
}

FIXTURE_TEARDOWN(uffd)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->area && self->area != MAP_FAILED)
		munmap(self->area, 4 * self->page);
}

#define SKIP_WITHOUT_UFFD()						\
	do {								\
		if (self->fd < 0)					\
			SKIP(return, "userfaultfd unavailable: %s (needs " \
			     "root or vm.unprivileged_userfaultfd=1)",	\
			     strerror(-self->fd));			\
	} while (0)

/* Wait for one pagefault message and check it names the expected page. */
static void expect_fault(struct __test_metadata *_metadata, int fd,
			 void *page)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct uffd_msg msg;

	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	ASSERT_EQ(sizeof(msg), read(fd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_EQ((uintptr_t)page, msg.arg.pagefault.address);
}

TEST_F(uffd, copy_wakes_faulting_thread)
{
	unsigned char *page = self->area + self->page;
	struct toucher t = { .addr = page + 17 };
	struct uffdio_copy copy = { 0 };
	unsigned char *src;
	pthread_t thread;

	SKIP_WITHOUT_UFFD();
	src = malloc(self->page);
	ASSERT_NE(NULL, src);
	memset(src, 0xa5, self->page);
	src[17] = 0x5a;

	ASSERT_EQ(0, pthread_create(&thread, NULL, touch_page, &t));
	expect_fault(_metadata, self->fd, page);

	copy.dst = (uintptr_t)page;
	copy.src = (uintptr_t)src;
	copy.len = self->page;
	ASSERT_EQ(0, ioctl(self->fd, UFFDIO_COPY, &copy));
	ASSERT_EQ(self->page, copy.copy);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0x5a, t.seen);
	EXPECT_EQ(0, memcmp(page, src, self->page));

	/* A second copy over a resident page must say so, not overwrite. */
	memset(src, 0, self->page);
	EXPECT_EQ(-1, ioctl(self->fd, UFFDIO_COPY, &copy));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(0x5a, page[17]);
	free(src);
}

TEST_F(uffd, zeropage_serves_zeros)
{
	unsigned char *page = self->area + 2 * self->page;
	struct toucher t = { .addr = page, .seen = 0xff };
	struct uffdio_zeropage zero = { 0 };
	pthread_t thread;
	long i;

	SKIP_WITHOUT_UFFD();
	ASSERT_EQ(0, pthread_create(&thread, NULL, touch_page, &t));
	expect_fault(_metadata, self->fd, page);

	zero.range.start = (uintptr_t)page;
	zero.range.len = self->page;
	ASSERT_EQ(0, ioctl(self->fd, UFFDIO_ZEROPAGE, &zero));
	ASSERT_EQ(self->page, zero.zeropage);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0, t.seen);
	for (i = 0; i < self->page; i++)
		ASSERT_EQ(0, page[i]);
}

TEST_HARNESS_MAIN
