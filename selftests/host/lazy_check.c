// SPDX-License-Identifier: GPL-2.0
/*
 * The invariant of a lazy restore (engine/lazy_check.h): before a restored
 * task runs, its lazy memory is registered with userfaultfd and no page of
 * it is present.  Each case breaks it the way a restore could (memory not
 * registered, a page written or read before registration, a transparent
 * huge page over a neighbouring write, a range not mapped) on this
 * process's own memory, and the check must name it; and the engine must
 * refuse to install a page over one that is already there.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "engine/lazy_check.h"
#include "engine/uffd_engine.h"

#define PAGE 4096UL
#define HUGE (2UL << 20)
#define LEN (4 * HUGE)

static int new_uffd(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 || ioctl(fd, UFFDIO_API, &api))
		return -1;
	return fd;
}

static int register_missing(int uffd, void *addr, size_t len)
{
	struct uffdio_register reg = {
		.range = { (uintptr_t)addr, len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	return ioctl(uffd, UFFDIO_REGISTER, &reg);
}

/* LEN bytes at a huge-page boundary, anonymous, THP off unless asked. */
static char *map_area(bool thp)
{
	char *raw = mmap(NULL, LEN + HUGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;

	if (raw == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
	madvise(a, LEN, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return a;
}

static int check(char *start, size_t len, struct lzb_err *err)
{
	struct lzb_ranges lazy;
	int ret;

	lzb_ranges_init(&lazy);
	if (lzb_ranges_add(&lazy, (uintptr_t)start, (uintptr_t)start + len,
			   (uintptr_t)start))
		return -2;
	ret = lzb_lazy_check(&lazy, getpid(), err);
	lzb_ranges_free(&lazy);
	return ret;
}

FIXTURE(area) {
	char *a;
	int uffd;
	struct lzb_err err;
};

FIXTURE_SETUP(area)
{
	self->a = map_area(false);
	ASSERT_NE(NULL, self->a);
	self->uffd = new_uffd();
	ASSERT_LE(0, self->uffd);
	memset(&self->err, 0, sizeof(self->err));
}

FIXTURE_TEARDOWN(area)
{
	close(self->uffd);
}

TEST_F(area, registered_and_missing_holds)
{
	ASSERT_EQ(0, register_missing(self->uffd, self->a, LEN));
	EXPECT_EQ(0, check(self->a, LEN, &self->err)) {
		TH_LOG("%s", self->err.msg);
	}
}

TEST_F(area, unregistered_range_is_named)
{
	ASSERT_EQ(0, register_missing(self->uffd, self->a, HUGE));
	EXPECT_EQ(-1, check(self->a, 2 * HUGE, &self->err));
	TH_LOG("%s", self->err.msg);
	EXPECT_NE(NULL, strstr(self->err.msg, "not registered with "
			       "userfaultfd"));
}

TEST_F(area, page_written_before_registration)
{
	self->a[3 * PAGE] = 1;
	ASSERT_EQ(0, register_missing(self->uffd, self->a, LEN));
	EXPECT_EQ(-1, check(self->a, LEN, &self->err));
	TH_LOG("%s", self->err.msg);
	EXPECT_NE(NULL, strstr(self->err.msg, "1 of 2048 lazy pages are "
			       "present"));
	EXPECT_NE(NULL, strstr(self->err.msg, "written or read in"));
}

TEST_F(area, page_read_before_registration)
{
	volatile char c = self->a[5 * PAGE];

	(void)c;
	ASSERT_EQ(0, register_missing(self->uffd, self->a, LEN));
	EXPECT_EQ(-1, check(self->a, LEN, &self->err));
	TH_LOG("%s", self->err.msg);
	EXPECT_NE(NULL, strstr(self->err.msg, "1 of 2048 lazy pages are "
			       "present"));
	/* the shared zero page, or (as some kernels map) a page of its own */
	EXPECT_NE(NULL, strstr(self->err.msg, "before registration"));
}

TEST_F(area, unmapped_range_is_named)
{
	ASSERT_EQ(0, register_missing(self->uffd, self->a, HUGE));
	ASSERT_EQ(0, munmap(self->a + HUGE, HUGE));
	EXPECT_EQ(-1, check(self->a, 2 * HUGE, &self->err));
	TH_LOG("%s", self->err.msg);
	EXPECT_NE(NULL, strstr(self->err.msg, "is not mapped"));
}

/*
 * What CRIU 3.17 can do when THP is on: an eager (hot) page written by the
 * restorer faults in a whole huge page, so its lazy neighbours are there,
 * zero-filled, before the memory is registered.
 */
TEST(huge_page_over_an_eager_write)
{
	struct lzb_err err = { { 0 } };
	char mode[64] = "";
	char *a = map_area(true);
	int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY);
	int uffd = new_uffd();

	ASSERT_NE(NULL, a);
	ASSERT_LE(0, uffd);
	if (fd < 0 || read(fd, mode, sizeof(mode) - 1) <= 0 ||
	    strstr(mode, "[never]"))
		SKIP(return, "transparent huge pages are off on this kernel");
	close(fd);
	a[0] = 1;		/* the eager page */
	ASSERT_EQ(0, register_missing(uffd, a, LEN));
	/* the lazy pages: everything but the eager one */
	EXPECT_EQ(-1, check(a + PAGE, HUGE - PAGE, &err));
	TH_LOG("%s", err.msg);
	if (!strstr(err.msg, "huge page"))
		SKIP(return, "the write did not get a huge page here: %s",
		     err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "511 of 511 lazy pages"));
	/* the refusal says whether THP was off for the task */
	EXPECT_NE(NULL, strstr(err.msg, "the task's THP_enabled: 1"));
	close(uffd);
}

/*
 * The defence against the case above: the pager starts criu with
 * PR_SET_THP_DISABLE, so the same eager write gets a 4 KiB page, even in
 * memory that asks for huge pages (MADV_HUGEPAGE).
 */
TEST(thp_disable_keeps_lazy_neighbours_missing)
{
	struct lzb_err err = { { 0 } };
	char *a;
	int uffd = new_uffd();

	ASSERT_LE(0, uffd);
	ASSERT_EQ(0, prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));
	a = map_area(true);
	ASSERT_NE(NULL, a);
	a[0] = 1;		/* the eager page */
	ASSERT_EQ(0, register_missing(uffd, a, LEN));
	EXPECT_EQ(0, check(a + PAGE, HUGE - PAGE, &err)) {
		TH_LOG("%s", err.msg);
	}
	close(uffd);
}

static int no_request(void *ctx, struct lzb_engine *e, int img_pid,
		      uint64_t img_addr, uint64_t len, bool urgent)
{
	(void)ctx, (void)e, (void)img_pid, (void)img_addr, (void)len;
	(void)urgent;
	return 0;
}

/* A page present before the engine installs it stops the engine, named. */
TEST_F(area, engine_refuses_to_install_over_a_present_page)
{
	struct lzb_engine_config config = { .source = { no_request, NULL } };
	static char image[2 * PAGE];
	struct lzb_engine *e;
	struct lzb_ranges lazy;

	memset(image, 0x5a, sizeof(image));
	self->a[PAGE] = 1;
	ASSERT_EQ(0, register_missing(self->uffd, self->a, LEN));
	lzb_ranges_init(&lazy);
	ASSERT_EQ(0, lzb_ranges_add(&lazy, (uintptr_t)self->a,
				    (uintptr_t)self->a + LEN,
				    (uintptr_t)self->a));
	ASSERT_EQ(0, lzb_engine_new(&config, &e));
	ASSERT_EQ(0, lzb_engine_add_task(e, 7, &lazy));
	ASSERT_EQ(0, lzb_engine_attach(e, 7, dup(self->uffd)));
	/* a missing page goes in */
	EXPECT_EQ(0, lzb_engine_install(e, 7, (uintptr_t)self->a, image,
					PAGE));
	EXPECT_EQ(0x5a, self->a[0]);
	/* the present one is refused, and the engine says which */
	EXPECT_EQ(-EEXIST, lzb_engine_install(e, 7, (uintptr_t)self->a + PAGE,
					      image, PAGE));
	ASSERT_NE(NULL, lzb_engine_error(e));
	TH_LOG("%s", lzb_engine_error(e));
	EXPECT_NE(NULL, strstr(lzb_engine_error(e), "was present before the "
			       "pager installed it"));
	EXPECT_EQ(1, self->a[PAGE]);
	lzb_engine_free(e);
	lzb_ranges_free(&lazy);
}

/*
 * A successor pager without the task's pagemap finds the pages its
 * predecessor installed still listed as lazy: those are no harm.
 */
TEST_F(area, engine_takes_over_blind_without_refusing)
{
	struct lzb_engine_config config = { .source = { no_request, NULL } };
	static char image[PAGE];
	struct lzb_engine *e;
	struct lzb_ranges lazy;

	memset(image, 0x5a, sizeof(image));
	self->a[0] = 0x5a;	/* "installed by the dead pager" */
	ASSERT_EQ(0, register_missing(self->uffd, self->a, LEN));
	lzb_ranges_init(&lazy);
	ASSERT_EQ(0, lzb_ranges_add(&lazy, (uintptr_t)self->a,
				    (uintptr_t)self->a + LEN,
				    (uintptr_t)self->a));
	ASSERT_EQ(0, lzb_engine_new(&config, &e));
	ASSERT_EQ(0, lzb_engine_add_task(e, 7, &lazy));
	ASSERT_EQ(0, lzb_engine_reattach(e, 7, dup(self->uffd), -1));
	EXPECT_EQ(0, lzb_engine_install(e, 7, (uintptr_t)self->a, image,
					PAGE));
	EXPECT_EQ(NULL, lzb_engine_error(e));
	lzb_engine_free(e);
	lzb_ranges_free(&lazy);
}

TEST_HARNESS_MAIN
