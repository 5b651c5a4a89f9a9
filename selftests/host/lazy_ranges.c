// SPDX-License-Identifier: GPL-2.0
/*
 * Host selftest: the lazy-range bookkeeping the pager relies on to never
 * put image data where the task removed, unmapped or moved memory.
 */
#include "kselftest_harness.h"
#include "engine/lazy_ranges.h"

#define K 0x1000ULL

static void expect_ranges(struct __test_metadata *_metadata,
			  const struct lzb_ranges *set,
			  const struct lzb_range *want, size_t n)
{
	size_t i;

	ASSERT_EQ(n, set->n);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(want[i].start, set->v[i].start);
		EXPECT_EQ(want[i].end, set->v[i].end);
		EXPECT_EQ(want[i].img_start, set->v[i].img_start);
	}
}

FIXTURE(ranges)
{
	struct lzb_ranges set;
};

FIXTURE_SETUP(ranges)
{
	lzb_ranges_init(&self->set);
	/* [16K, 32K) and [64K, 128K), dumped where they are. */
	ASSERT_EQ(0, lzb_ranges_add(&self->set, 16 * K, 32 * K, 16 * K));
	ASSERT_EQ(0, lzb_ranges_add(&self->set, 64 * K, 128 * K, 64 * K));
}

FIXTURE_TEARDOWN(ranges)
{
	lzb_ranges_free(&self->set);
}

TEST_F(ranges, add_rejects_overlap_and_empty)
{
	EXPECT_EQ(-EEXIST, lzb_ranges_add(&self->set, 20 * K, 24 * K, 0));
	EXPECT_EQ(-EEXIST, lzb_ranges_add(&self->set, 0, 17 * K, 0));
	EXPECT_EQ(-EINVAL, lzb_ranges_add(&self->set, 40 * K, 40 * K, 0));
	EXPECT_EQ(0, lzb_ranges_add(&self->set, 32 * K, 40 * K, 32 * K));
	EXPECT_EQ(3, self->set.n);
}

TEST_F(ranges, find)
{
	EXPECT_EQ(NULL, lzb_ranges_find(&self->set, 15 * K));
	EXPECT_EQ(16 * K, lzb_ranges_find(&self->set, 16 * K)->start);
	EXPECT_EQ(16 * K, lzb_ranges_find(&self->set, 32 * K - 1)->start);
	EXPECT_EQ(NULL, lzb_ranges_find(&self->set, 32 * K));
	EXPECT_EQ(64 * K, lzb_ranges_find(&self->set, 100 * K)->start);
	EXPECT_EQ(NULL, lzb_ranges_find(&self->set, 128 * K));
}

TEST_F(ranges, remove_splits_and_trims)
{
	struct lzb_range want[] = {
		{ 16 * K, 20 * K, 16 * K },
		{ 24 * K, 32 * K, 24 * K },
		{ 96 * K, 128 * K, 96 * K },
	};

	ASSERT_EQ(0, lzb_ranges_remove(&self->set, 20 * K, 24 * K));
	ASSERT_EQ(0, lzb_ranges_remove(&self->set, 40 * K, 96 * K));
	expect_ranges(_metadata, &self->set, want, 3);
	EXPECT_EQ(44 * K, lzb_ranges_bytes(&self->set));
}

TEST_F(ranges, remove_across_ranges)
{
	struct lzb_range want[] = { { 120 * K, 128 * K, 120 * K } };

	ASSERT_EQ(0, lzb_ranges_remove(&self->set, 0, 120 * K));
	expect_ranges(_metadata, &self->set, want, 1);
}

/*
 * Found by the restore_record fuzzer through a damaged journal line
 * ("unmap PID START END" with END before START): the remove split a range
 * into two that overlap, so the set held more lazy bytes than before.
 */
TEST_F(ranges, remove_with_end_before_start_changes_nothing)
{
	struct lzb_range want[] = {
		{ 16 * K, 32 * K, 16 * K },
		{ 64 * K, 128 * K, 64 * K },
	};

	ASSERT_EQ(0, lzb_ranges_remove(&self->set, 100 * K, 70 * K));
	ASSERT_EQ(0, lzb_ranges_remove(&self->set, 20 * K, 20 * K));
	expect_ranges(_metadata, &self->set, want, 2);
	EXPECT_EQ(80 * K, lzb_ranges_bytes(&self->set));
}

/* A move whose source or destination wraps past 2^64 is refused whole. */
TEST_F(ranges, move_past_the_top_is_refused)
{
	struct lzb_range want[] = {
		{ 16 * K, 32 * K, 16 * K },
		{ 64 * K, 128 * K, 64 * K },
	};

	EXPECT_EQ(-EINVAL, lzb_ranges_move(&self->set, 16 * K, 4 * K,
					   UINT64_MAX - 8 * K));
	EXPECT_EQ(-EINVAL, lzb_ranges_move(&self->set, 64 * K,
					   UINT64_MAX - 4 * K, 16 * K));
	expect_ranges(_metadata, &self->set, want, 2);
}

TEST_F(ranges, move_keeps_dump_addresses)
{
	struct lzb_range want[] = {
		{ 16 * K, 32 * K, 16 * K },
		{ 64 * K, 80 * K, 64 * K },
		{ 96 * K, 128 * K, 96 * K },
		{ 1024 * K, 1040 * K, 80 * K },
	};

	/* mremap of [80K, 96K) to 1024K. */
	ASSERT_EQ(0, lzb_ranges_move(&self->set, 80 * K, 1024 * K, 16 * K));
	expect_ranges(_metadata, &self->set, want, 4);
}

TEST_F(ranges, move_over_existing_range_replaces_it)
{
	struct lzb_range want[] = { { 64 * K, 80 * K, 16 * K },
				    { 80 * K, 128 * K, 80 * K } };

	/* [16K, 32K) moves onto [64K, 80K): what lay there is gone. */
	ASSERT_EQ(0, lzb_ranges_move(&self->set, 16 * K, 64 * K, 16 * K));
	expect_ranges(_metadata, &self->set, want, 2);
}

TEST_F(ranges, copy_is_independent)
{
	struct lzb_ranges copy;

	ASSERT_EQ(0, lzb_ranges_copy(&copy, &self->set));
	ASSERT_EQ(0, lzb_ranges_remove(&copy, 0, 1024 * K));
	EXPECT_EQ(0, copy.n);
	EXPECT_EQ(2, self->set.n);
	lzb_ranges_free(&copy);
}

TEST_F(ranges, search_by_dump_address)
{
	EXPECT_EQ(0, lzb_ranges_first_img(&self->set, 0));
	EXPECT_EQ(0, lzb_ranges_first_img(&self->set, 31 * K));
	EXPECT_EQ(1, lzb_ranges_first_img(&self->set, 32 * K));
	EXPECT_EQ(2, lzb_ranges_first_img(&self->set, 128 * K));
	EXPECT_FALSE(self->set.img_unordered);
	/* A move that puts dump-time order out of step: scan everything. */
	ASSERT_EQ(0, lzb_ranges_move(&self->set, 16 * K, 1024 * K, 16 * K));
	EXPECT_TRUE(self->set.img_unordered);
	EXPECT_EQ(0, lzb_ranges_first_img(&self->set, 128 * K));
}

/* Taking ranges from either end, then adding again, keeps the set whole. */
TEST(many_ranges_front_and_back)
{
	struct lzb_ranges set;
	const uint64_t n = 1000;
	uint64_t i;

	lzb_ranges_init(&set);
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, lzb_ranges_add(&set, i * 2 * K, i * 2 * K + K,
					    i * 2 * K));
	for (i = 0; i < n / 4; i++) {
		ASSERT_EQ(0, lzb_ranges_remove(&set, i * 2 * K, i * 2 * K + K));
		ASSERT_EQ(0, lzb_ranges_remove(&set, (n - 1 - i) * 2 * K,
					       (n - 1 - i) * 2 * K + K));
	}
	ASSERT_EQ(n / 2, set.n);
	EXPECT_EQ(n / 4 * 2 * K, set.v[0].start);
	EXPECT_EQ((n - 1 - n / 4) * 2 * K, set.v[set.n - 1].start);
	/* Adding reuses the room freed at the front. */
	for (i = 0; i < n / 4; i++)
		ASSERT_EQ(0, lzb_ranges_add(&set, i * 2 * K, i * 2 * K + K,
					    i * 2 * K));
	ASSERT_EQ(n / 2 + n / 4, set.n);
	for (i = 0; i < set.n; i++) {
		EXPECT_EQ(i * 2 * K, set.v[i].start);
		EXPECT_EQ(i * 2 * K, set.v[i].img_start);
	}
	EXPECT_EQ((n / 2 + n / 4) * K, lzb_ranges_bytes(&set));
	lzb_ranges_free(&set);
}

TEST_HARNESS_MAIN
