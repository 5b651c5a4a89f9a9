// SPDX-License-Identifier: GPL-2.0
/*
 * Host selftest: what `lazyboot profile` derives from its runs (first
 * touches, Jaccard similarity, the majority merge by median time), the
 * profile file it writes read back by pack's parser, and the pager's end
 * of the CRIU plugin link.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "criu/plugin_link.h"
#include "capture/profile.h"
#include "capture/profile_touches.h"

#define P 0x1000ULL

static void add(struct __test_metadata *_metadata, struct lzb_touches *t,
		uint32_t pid, uint64_t page, uint64_t us, bool hot)
{
	ASSERT_EQ(0, lzb_touches_add(t, pid, page * P, us, hot));
}

TEST(dedupe_keeps_first_touch)
{
	struct lzb_touches t = { 0 };

	add(_metadata, &t, 2, 5, 300, false);
	add(_metadata, &t, 1, 7, 100, true);
	add(_metadata, &t, 2, 5, 200, true);	/* a fork's touch, earlier */
	add(_metadata, &t, 1, 7, 150, true);
	lzb_touches_dedupe(&t);
	ASSERT_EQ(2, t.nr);
	EXPECT_EQ(1, t.v[0].pid);
	EXPECT_EQ(100, t.v[0].t_us);
	EXPECT_EQ(2, t.v[1].pid);
	EXPECT_EQ(200, t.v[1].t_us);
	EXPECT_TRUE(t.v[1].hot);
	lzb_touches_free(&t);
}

TEST(jaccard)
{
	struct lzb_touches a = { 0 }, b = { 0 }, e = { 0 };

	/* a = {1, 2, 3 (cold)}, b = {2, 3, 4 (cold)}: 2 of 4 */
	add(_metadata, &a, 1, 1, 0, true);
	add(_metadata, &a, 1, 2, 0, true);
	add(_metadata, &a, 1, 3, 0, false);
	add(_metadata, &b, 1, 2, 0, true);
	add(_metadata, &b, 1, 3, 0, true);
	add(_metadata, &b, 1, 4, 0, false);
	lzb_touches_dedupe(&a);
	lzb_touches_dedupe(&b);
	EXPECT_EQ(0.5, lzb_touches_jaccard(&a, &b, false));
	EXPECT_EQ(0.5, lzb_touches_jaccard(&b, &a, false));
	/* before ready: a = {1, 2}, b = {2, 3}: 1 of 3 */
	EXPECT_EQ(1.0 / 3, lzb_touches_jaccard(&a, &b, true));
	EXPECT_EQ(1.0, lzb_touches_jaccard(&a, &a, false));
	EXPECT_EQ(0.0, lzb_touches_jaccard(&a, &e, false));
	EXPECT_EQ(1.0, lzb_touches_jaccard(&e, &e, false));
	/* the same page number in another task is another page */
	lzb_touches_free(&b);
	add(_metadata, &b, 2, 1, 0, true);
	EXPECT_EQ(0.0, lzb_touches_jaccard(&a, &b, false));
	lzb_touches_free(&a);
	lzb_touches_free(&b);
}

TEST(merge_majority_median)
{
	struct lzb_touches r[3] = { 0 }, m;

	/* page 10: all three runs, times 30/10/20 -> median 20, hot */
	add(_metadata, &r[0], 1, 10, 30, true);
	add(_metadata, &r[1], 1, 10, 10, true);
	add(_metadata, &r[2], 1, 10, 20, true);
	/* page 11: two runs, hot in one only -> kept, cold, median 5 */
	add(_metadata, &r[0], 1, 11, 5, true);
	add(_metadata, &r[1], 1, 11, 900, false);
	/* page 12: one run only -> dropped */
	add(_metadata, &r[2], 1, 12, 1, true);
	/* page 13 of pid 2: two runs, both hot, 40 and 50 -> lower 40 */
	add(_metadata, &r[0], 2, 13, 50, true);
	add(_metadata, &r[2], 2, 13, 40, true);
	for (int i = 0; i < 3; i++)
		lzb_touches_dedupe(&r[i]);
	ASSERT_EQ(0, lzb_touches_merge(r, 3, 2, &m));
	ASSERT_EQ(3, m.nr);
	/* hot first by median time, then cold */
	EXPECT_EQ(10 * P, m.v[0].vaddr);
	EXPECT_EQ(20, m.v[0].t_us);
	EXPECT_TRUE(m.v[0].hot);
	EXPECT_EQ(2, m.v[1].pid);
	EXPECT_EQ(40, m.v[1].t_us);
	EXPECT_EQ(11 * P, m.v[2].vaddr);
	EXPECT_FALSE(m.v[2].hot);
	EXPECT_EQ(5, m.v[2].t_us);
	lzb_touches_free(&m);
	/* one run: everything it saw, as it saw it */
	ASSERT_EQ(0, lzb_touches_merge(&r[2], 1, 1, &m));
	EXPECT_EQ(3, m.nr);
	lzb_touches_free(&m);
	for (int i = 0; i < 3; i++)
		lzb_touches_free(&r[i]);
}

TEST(profile_file_reads_back)
{
	char path[] = "/tmp/lzb-profile-test-XXXXXX";
	struct lzb_touches t = { 0 };
	struct lzb_profile p;
	struct lzb_err err = { { 0 } };
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	close(fd);
	/* hot: pid 1 pages 4,5,6 in a row (one line), pid 2 page 4;
	 * cold: pid 1 pages 9 then 8 (descending: two lines) */
	add(_metadata, &t, 1, 4, 10, true);
	add(_metadata, &t, 1, 5, 11, true);
	add(_metadata, &t, 1, 6, 12, true);
	add(_metadata, &t, 2, 4, 13, true);
	add(_metadata, &t, 1, 9, 20, false);
	add(_metadata, &t, 1, 8, 21, false);
	ASSERT_EQ(0, lzb_touches_write_profile(path, &t, "two\nheader lines",
					       &err));
	ASSERT_EQ(0, lzb_profile_load(path, &p, &err)) {
		TH_LOG("%s", err.msg);
	}
	ASSERT_EQ(4, p.nr);
	EXPECT_EQ(1, p.e[0].pid);
	EXPECT_EQ(4 * P, p.e[0].vaddr);
	EXPECT_EQ(3, p.e[0].nr_pages);
	EXPECT_TRUE(p.e[0].hot);
	EXPECT_EQ(2, p.e[1].pid);
	EXPECT_TRUE(p.e[1].hot);
	EXPECT_EQ(9 * P, p.e[2].vaddr);
	EXPECT_FALSE(p.e[2].hot);
	EXPECT_EQ(8 * P, p.e[3].vaddr);
	EXPECT_EQ(1, p.e[3].nr_pages);
	lzb_profile_free(&p);
	/* nothing touched: still a valid profile, everything cold */
	lzb_touches_free(&t);
	ASSERT_EQ(0, lzb_touches_write_profile(path, &t, NULL, &err));
	ASSERT_EQ(0, lzb_profile_load(path, &p, &err));
	EXPECT_EQ(0, p.nr);
	lzb_profile_free(&p);
	unlink(path);
}

/*
 * Let the link accept and read what the test wrote.  Nothing to wait for:
 * once connect() or write() on a unix socket returns, the connection or
 * the bytes are queued at the link's end; each call takes one step.
 */
static void pump(struct lzb_plugin_link *l)
{
	for (int i = 0; i < 20; i++)
		lzb_plugin_link_process(l);
}

TEST(plugin_link)
{
	char dir[] = "/tmp/lzb-link-test-XXXXXX";
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const struct lzb_plugin_task *t;
	struct lzb_plugin_link *l;
	int fd, ret = -1;

	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, lzb_plugin_link_listen(dir, &l));
	lzb_plugin_link_allow(l, getpid());	/* we stand in for criu */
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s",
		 lzb_plugin_link_path(l));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&addr, sizeof(addr)));
	pump(l);
	EXPECT_FALSE(lzb_plugin_link_hello(l));
	/* split across writes: lines are reassembled */
	ASSERT_EQ(9, write(fd, "hello 1\nt", 9));
	dprintf(fd, "%s", "ask ");
	dprintf(fd, "%d\n", (int)getpid());
	pump(l);
	EXPECT_TRUE(lzb_plugin_link_hello(l));
	ASSERT_EQ(1, lzb_plugin_link_tasks(l, &t));
	EXPECT_EQ(getpid(), t[0].real_pid);
	/* not in a PID namespace of its own: the image pid is the same */
	EXPECT_EQ(getpid(), t[0].img_pid);
	EXPECT_EQ(0, lzb_plugin_link_result(l, &ret));
	dprintf(fd, "exit -1\n");
	pump(l);
	EXPECT_EQ(1, lzb_plugin_link_result(l, &ret));
	EXPECT_EQ(-1, ret);
	dprintf(fd, "task 12 and more\n");
	EXPECT_EQ(-EPROTO, lzb_plugin_link_process(l));
	close(fd);
	lzb_plugin_link_close(l);
	rmdir(dir);
}

TEST_HARNESS_MAIN
