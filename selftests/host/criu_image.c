// SPDX-License-Identifier: GPL-2.0
/*
 * The CRIU image reader against `crit`: synthetic dumps built with
 * `crit encode` must parse to what `crit decode` shows (pagemap, mm/VMAs,
 * pstree, inventory, a thread's stack pointer from its core image); CRIU >= 4.2 pagemaps (count in field 5) must parse
 * like 3.17 ones; and malformed or truncated images must give a one-line
 * error naming the file, never a crash.  A dump with more tasks than
 * LZB_TASK_LIMIT is refused as a page source, naming both numbers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu/criu_image.h"
#include "criu/criu_page_source.h"
#include "util/pbwire.h"
#include "util/task_limit.h"
#include "kselftest_harness.h"
#include "image_test_util.h"
#include "criu_compare.h"

FIXTURE(dump)
{
	char dir[64];
	char dir5[64];
};

FIXTURE_SETUP(dump)
{
	char sub[128];

	if (!have_crit())
		SKIP(return, "crit is not installed (apt-get install criu)");
	strcpy(self->dir, "/tmp/lzb-criu-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	strcpy(self->dir5, self->dir);
	snprintf(sub, sizeof(sub), "%s/v317", self->dir);
	ASSERT_EQ(0, cached_dump(sub, "v317", "--mib 2 --seed 7"));
	snprintf(sub, sizeof(sub), "%s/v42", self->dir);
	ASSERT_EQ(0, cached_dump(sub, "v42", "--mib 2 --seed 7 --field5"));
	snprintf(sub, sizeof(sub), "%s/aligned", self->dir);
	ASSERT_EQ(0, cached_dump(sub, "aligned7",
				 "--mib 2 --seed 7 --aligned-sp"));
}

FIXTURE_TEARDOWN(dump)
{
	rm_rf(self->dir);
}

static const struct {
	const char *file;
	uint32_t magic;
} images[] = {
	{ "inventory.img", CRIU_MAGIC_INVENTORY },
	{ "pstree.img", CRIU_MAGIC_PSTREE },
	{ "mm-1.img", CRIU_MAGIC_MM },
	{ "mm-7.img", CRIU_MAGIC_MM },
	{ "pagemap-1.img", CRIU_MAGIC_PAGEMAP },
	{ "pagemap-7.img", CRIU_MAGIC_PAGEMAP },
	{ "core-2.img", CRIU_MAGIC_CORE },
	{ "core-7.img", CRIU_MAGIC_CORE },
};

TEST_F_TIMEOUT(dump, parser_matches_crit_decode, 300)
{
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
		char path[256];
		char *want, *got;

		snprintf(path, sizeof(path), "%s/v317/%s", self->dir,
			 images[i].file);
		want = crit_lines(path);
		got = our_lines(path, images[i].magic);
		ASSERT_NE(NULL, want);
		ASSERT_NE(NULL, got);
		EXPECT_STREQ(want, got) TH_LOG("%s differs from crit decode",
					       images[i].file);
		EXPECT_LT(5, strlen(got));
		free(want);
		free(got);
	}
}

/* CRIU >= 4.2 writes nr_pages in field 5 and 0 in field 2. */
TEST_F_TIMEOUT(dump, field5_pagemap_reads_like_317, 300)
{
	for (int pid = 1; pid <= 7; pid += 6) {
		char a[256], b[256];
		char *x, *y;

		snprintf(a, sizeof(a), "%s/v317/pagemap-%d.img", self->dir, pid);
		snprintf(b, sizeof(b), "%s/v42/pagemap-%d.img", self->dir, pid);
		ASSERT_NE(0, same_file(a, b));	/* really different bytes */
		x = our_lines(a, CRIU_MAGIC_PAGEMAP);
		y = our_lines(b, CRIU_MAGIC_PAGEMAP);
		ASSERT_NE(NULL, x);
		ASSERT_NE(NULL, y);
		EXPECT_STREQ(x, y);
		free(x);
		free(y);
	}
}

TEST_F_TIMEOUT(dump, whole_dump, 300)
{
	struct lzb_criu_dump d;
	struct lzb_err err;
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/v42", self->dir);
	ASSERT_EQ(0, lzb_criu_dump_open(dir, &d, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(2, d.nr_tasks);
	EXPECT_EQ(1, d.tasks[0].ps->pid);
	EXPECT_EQ(3, d.tasks[0].ps->nr_threads);
	EXPECT_EQ(7, d.tasks[1].ps->pid);
	EXPECT_EQ(1, d.tasks[1].ps->ppid);
	for (int i = 0; i < 2; i++) {
		const struct lzb_criu_task *t = &d.tasks[i];

		EXPECT_TRUE(t->has_memory);
		EXPECT_EQ(6, t->mm.nr_vmas);
		/* 2 MiB heap split in two + file COW page + 2 stack pages */
		EXPECT_EQ(256 + 3, t->pm.present_pages);
		EXPECT_FALSE(lzb_criu_vma_can_be_lazy(&t->mm.vmas[0]));
		EXPECT_TRUE(lzb_criu_vma_can_be_lazy(&t->mm.vmas[1]));
		EXPECT_EQ(&t->mm.vmas[1],
			  lzb_criu_mm_find(&t->mm, t->mm.vmas[1].start + 4096));
		EXPECT_EQ(NULL, lzb_criu_mm_find(&t->mm, 4096));
		/* one SP per thread, each in the task's stack page */
		EXPECT_EQ(t->ps->nr_threads, t->nr_thread_sp);
		for (size_t k = 0; k < t->nr_thread_sp; k++)
			EXPECT_EQ(0x7ffff0007000ull, t->thread_sp[k] & ~0xfffull);
	}
	lzb_criu_dump_close(&d);
}

/*
 * PE_LAZY recomputed from VMAs and SPs gives the flags of an ordinary dump,
 * both for that dump and for one in which CRIU set no PE_LAZY at all (every
 * SP page-aligned); the SP pages themselves stay without PE_LAZY.
 */
TEST_F_TIMEOUT(dump, lazy_pagemap_as_criu_means_it, 300)
{
	struct lzb_criu_dump plain, aligned;
	struct lzb_err err;
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/v317", self->dir);
	ASSERT_EQ(0, lzb_criu_dump_open(dir, &plain, &err)) TH_LOG("%s", err.msg);
	snprintf(dir, sizeof(dir), "%s/aligned", self->dir);
	ASSERT_EQ(0, lzb_criu_dump_open(dir, &aligned, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(plain.nr_tasks, aligned.nr_tasks);
	for (size_t i = 0; i < plain.nr_tasks; i++) {
		const struct lzb_criu_task *pt = &plain.tasks[i], *at = &aligned.tasks[i];
		struct lzb_criu_pagemap a, b;

		for (size_t k = 0; k < at->pm.nr; k++)
			EXPECT_EQ(0, at->pm.e[k].flags & CRIU_PE_LAZY);
		ASSERT_EQ(0, lzb_criu_task_lazy_pagemap(pt, &a));
		ASSERT_EQ(0, lzb_criu_task_lazy_pagemap(at, &b));
		ASSERT_EQ(pt->pm.nr, a.nr);
		ASSERT_EQ(pt->pm.nr, b.nr);
		for (size_t k = 0; k < a.nr; k++) {
			const struct lzb_criu_pagemap_entry *w = &pt->pm.e[k];

			EXPECT_TRUE(w->vaddr == a.e[k].vaddr &&
				    w->nr_pages == a.e[k].nr_pages &&
				    w->flags == a.e[k].flags);
			EXPECT_TRUE(w->vaddr == b.e[k].vaddr &&
				    w->nr_pages == b.e[k].nr_pages &&
				    w->flags == b.e[k].flags)
				TH_LOG("task %zu entry %zu: %llx+%llu flags %u, "
				       "want flags %u", i, k,
				       (unsigned long long)b.e[k].vaddr,
				       (unsigned long long)b.e[k].nr_pages,
				       b.e[k].flags, w->flags);
		}
		for (size_t th = 0; th < at->nr_thread_sp; th++) {
			EXPECT_EQ(0, at->thread_sp[th] & 0xfff);
			EXPECT_FALSE(lzb_criu_page_can_be_lazy(at, at->thread_sp[th]));
		}
		EXPECT_EQ(a.present_pages, pt->pm.present_pages);
		lzb_criu_pagemap_free(&a);
		lzb_criu_pagemap_free(&b);
	}
	lzb_criu_dump_close(&plain);
	lzb_criu_dump_close(&aligned);
}

/* Every prefix of every image either parses or fails naming the file. */
TEST_F_TIMEOUT(dump, every_truncation_is_clean, 300)
{
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
		char path[256];
		uint8_t *buf;
		size_t len;

		snprintf(path, sizeof(path), "%s/v42/%s", self->dir,
			 images[i].file);
		ASSERT_EQ(0, read_all(path, &buf, &len));
		for (size_t n = 0; n < len; n++) {
			uint8_t *cut = malloc(n ? n : 1);
			struct lzb_err err = { { 0 } };
			int r = -1;

			memcpy(cut, buf, n);
			switch (images[i].magic) {
			case CRIU_MAGIC_PAGEMAP: {
				struct lzb_criu_pagemap pm;

				r = lzb_criu_parse_pagemap("X.img", cut, n, &pm, &err);
				if (!r)
					lzb_criu_pagemap_free(&pm);
				break;
			}
			case CRIU_MAGIC_MM: {
				struct lzb_criu_mm mm;

				r = lzb_criu_parse_mm("X.img", cut, n, &mm, &err);
				if (!r)
					lzb_criu_mm_free(&mm);
				break;
			}
			case CRIU_MAGIC_PSTREE: {
				struct lzb_criu_pstree ps;

				r = lzb_criu_parse_pstree("X.img", cut, n, &ps, &err);
				if (!r)
					lzb_criu_pstree_free(&ps);
				break;
			}
			case CRIU_MAGIC_CORE: {
				uint64_t sp;

				r = lzb_criu_parse_core_sp("X.img", cut, n, &sp, &err);
				break;
			}
			default: {
				struct lzb_criu_inventory inv;

				r = lzb_criu_parse_inventory("X.img", cut, n, &inv,
							     &err);
			}
			}
			free(cut);
			/* the full record list minus its tail may be valid */
			if (r)
				ASSERT_EQ(0, strncmp(err.msg, "X.img: ", 7))
					TH_LOG("%s cut at %zu: '%s'",
					       images[i].file, n, err.msg);
			if (images[i].magic == CRIU_MAGIC_MM ||
			    images[i].magic == CRIU_MAGIC_CORE)
				ASSERT_NE(0, r);	/* one record: all-or-nothing */
		}
		free(buf);
	}
}

/* A dump of NR zombie tasks (no memory to read) as a page source. */
static int source_of_tasks(size_t nr, struct lzb_err *err)
{
	static const struct lzb_criu_pstree_entry ps = { .pid = 1 };
	struct lzb_criu_dump d = { .dir = "/nonexistent-dump" };
	struct lzb_criu_source *src = NULL;
	int ret;

	d.tasks = calloc(nr, sizeof(*d.tasks));
	if (!d.tasks)
		return lzb_errf(err, "out of memory");
	d.nr_tasks = nr;
	for (size_t i = 0; i < nr; i++)
		d.tasks[i].ps = &ps;
	ret = lzb_criu_source_new(&d, &src, err);
	lzb_criu_source_free(src);
	free(d.tasks);
	return ret;
}

TEST(source_refuses_more_tasks_than_the_limit)
{
	char count[32], limit[32];
	struct lzb_err err;

	EXPECT_EQ(0, source_of_tasks(LZB_TASK_LIMIT, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(-1, source_of_tasks(LZB_TASK_LIMIT + 1, &err));
	snprintf(count, sizeof(count), "%u tasks", LZB_TASK_LIMIT + 1);
	snprintf(limit, sizeof(limit), "limit of %u", LZB_TASK_LIMIT);
	EXPECT_NE(NULL, strstr(err.msg, "/nonexistent-dump")) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, count)) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, limit)) TH_LOG("%s", err.msg);
}

/* Hand-made bad images: what each must be rejected for. */
FIXTURE(bad) {};
FIXTURE_SETUP(bad) {}
FIXTURE_TEARDOWN(bad) {}

FIXTURE_VARIANT(bad)
{
	uint32_t magic;
	const uint8_t *bytes;
	size_t len;
	const char *want;
};

#define HDR(m) 0x19, 0x43, 0x56, 0x54, (m) & 0xff, ((m) >> 8) & 0xff, \
	((m) >> 16) & 0xff, (m) >> 24
#define PM HDR(CRIU_MAGIC_PAGEMAP), 2, 0, 0, 0, 0x08, 0x01
#define BAD(name, mg, want_, ...) \
	static const uint8_t name##_bytes[] = { __VA_ARGS__ }; \
	FIXTURE_VARIANT_ADD(bad, name) { .magic = mg, \
		.bytes = name##_bytes, .len = sizeof(name##_bytes), \
		.want = want_ }

BAD(short_magic, CRIU_MAGIC_PAGEMAP, "truncated", 0x19, 0x43);
BAD(not_criu, CRIU_MAGIC_PAGEMAP, "not a CRIU image", 1, 2, 3, 4, 5, 6, 7, 8);
BAD(wrong_type, CRIU_MAGIC_PAGEMAP, "wrong image type", HDR(CRIU_MAGIC_MM));
BAD(no_head, CRIU_MAGIC_PAGEMAP, "no pagemap head", HDR(CRIU_MAGIC_PAGEMAP));
BAD(record_past_end, CRIU_MAGIC_PAGEMAP, "truncated", PM, 9, 0, 0, 0, 0x08);
BAD(huge_record, CRIU_MAGIC_PAGEMAP, "larger than", PM, 0xff, 0xff, 0xff, 0x7f);
BAD(unaligned_vaddr, CRIU_MAGIC_PAGEMAP, "bad range", PM,
    4, 0, 0, 0, 0x08, 0x01, 0x10, 0x01);
BAD(zero_pages, CRIU_MAGIC_PAGEMAP, "bad range", PM,
    5, 0, 0, 0, 0x08, 0x80, 0x20, 0x10, 0x00);
BAD(kernel_address, CRIU_MAGIC_PAGEMAP, "bad range", PM,
    15, 0, 0, 0, 0x08, 0x80, 0xe0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x01, 0x10, 0x01, 0x20, 0x04);
BAD(overlap, CRIU_MAGIC_PAGEMAP, "out of order", PM,
    7, 0, 0, 0, 0x08, 0x80, 0x20, 0x10, 0x02, 0x20, 0x06,
    7, 0, 0, 0, 0x08, 0x80, 0x20, 0x10, 0x01, 0x20, 0x06);
BAD(unknown_flags, CRIU_MAGIC_PAGEMAP, "unknown flags", PM,
    7, 0, 0, 0, 0x08, 0x80, 0x20, 0x10, 0x01, 0x20, 0x08);
BAD(no_nr_pages, CRIU_MAGIC_PAGEMAP, "malformed pagemap entry", PM,
    3, 0, 0, 0, 0x08, 0x80, 0x20);
BAD(overlong_varint, CRIU_MAGIC_PAGEMAP, "malformed pagemap entry", PM,
    12, 0, 0, 0, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0x01);
BAD(field5_too_many_pages, CRIU_MAGIC_PAGEMAP, "bad range", PM,
    14, 0, 0, 0, 0x08, 0x80, 0x20, 0x10, 0x00, 0x28, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0x7f);
BAD(vma_backwards, CRIU_MAGIC_MM, "bad or out-of-order", HDR(CRIU_MAGIC_MM),
    14, 0, 0, 0, 0x72, 12, 0x08, 0x80, 0x40, 0x10, 0x80, 0x20, 0x28, 3,
    0x30, 0x22, 0x38, 0x01);
BAD(vma_missing_fields, CRIU_MAGIC_MM, "malformed VMA", HDR(CRIU_MAGIC_MM),
    6, 0, 0, 0, 0x72, 4, 0x08, 0x80, 0x20, 0x10);
BAD(two_mm, CRIU_MAGIC_MM, "more than one", HDR(CRIU_MAGIC_MM),
    0, 0, 0, 0, 0, 0, 0, 0);
BAD(pstree_dup, CRIU_MAGIC_PSTREE, "appears twice", HDR(CRIU_MAGIC_PSTREE),
    2, 0, 0, 0, 0x08, 0x05, 2, 0, 0, 0, 0x08, 0x05);
BAD(pstree_empty, CRIU_MAGIC_PSTREE, "no processes", HDR(CRIU_MAGIC_PSTREE));
BAD(pstree_pid0, CRIU_MAGIC_PSTREE, "malformed", HDR(CRIU_MAGIC_PSTREE),
    2, 0, 0, 0, 0x10, 0x05);
/* core_entry { mtype: AARCH64, ti_aarch64 {} } */
BAD(core_not_x86_64, CRIU_MAGIC_CORE, "not of an x86-64 task",
    HDR(CRIU_MAGIC_CORE), 4, 0, 0, 0, 0x08, 0x03, 0x42, 0x00);
/* core_entry { mtype: X86_64, thread_info { gpregs { r15: 0 } } } */
BAD(core_no_sp, CRIU_MAGIC_CORE, "no stack pointer", HDR(CRIU_MAGIC_CORE),
    8, 0, 0, 0, 0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0x08, 0x00);
BAD(core_bad_gpregs, CRIU_MAGIC_CORE, "malformed core entry",
    HDR(CRIU_MAGIC_CORE), 7, 0, 0, 0, 0x08, 0x01, 0x12, 0x03, 0x12, 0x05, 0x08);
BAD(core_empty, CRIU_MAGIC_CORE, "no core entry", HDR(CRIU_MAGIC_CORE));
BAD(inventory_with_common, CRIU_MAGIC_INVENTORY, "wrong image type",
    HDR(CRIU_MAGIC_INVENTORY), 2, 0, 0, 0, 0x08, 2);
BAD(inventory_no_version, CRIU_MAGIC_INVENTORY, "malformed",
    0x16, 0x31, 0x31, 0x58, 2, 0, 0, 0, 0x10, 1);

TEST_F(bad, rejected_with_reason)
{
	struct lzb_err err = { { 0 } };
	int r;

	switch (variant->magic) {
	case CRIU_MAGIC_PAGEMAP: {
		struct lzb_criu_pagemap pm;

		r = lzb_criu_parse_pagemap("bad.img", variant->bytes, variant->len,
					   &pm, &err);
		break;
	}
	case CRIU_MAGIC_MM: {
		struct lzb_criu_mm mm;

		r = lzb_criu_parse_mm("bad.img", variant->bytes, variant->len, &mm,
				      &err);
		break;
	}
	case CRIU_MAGIC_PSTREE: {
		struct lzb_criu_pstree ps;

		r = lzb_criu_parse_pstree("bad.img", variant->bytes, variant->len,
					  &ps, &err);
		break;
	}
	case CRIU_MAGIC_CORE: {
		uint64_t sp;

		r = lzb_criu_parse_core_sp("bad.img", variant->bytes, variant->len,
					   &sp, &err);
		break;
	}
	default: {
		struct lzb_criu_inventory inv;

		r = lzb_criu_parse_inventory("bad.img", variant->bytes,
					     variant->len, &inv, &err);
	}
	}
	ASSERT_EQ(-1, r);
	EXPECT_EQ(0, strncmp(err.msg, "bad.img: ", 9)) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, variant->want))
		TH_LOG("got '%s', want '%s'", err.msg, variant->want);
	EXPECT_EQ(NULL, strchr(err.msg, '\n'));
}

TEST(encode_pagemap_round_trip)
{
	struct lzb_criu_pagemap_entry e[] = {
		{ 0x1000, 3, CRIU_PE_PRESENT },
		{ 0x10000, 70000, CRIU_PE_LAZY },
		{ 0x7fff00000000ull, 1, CRIU_PE_LAZY | CRIU_PE_PRESENT },
	};
	struct lzb_criu_pagemap pm = { .pages_id = 42, .nr = 3, .e = e }, back;
	struct lzb_err err;
	uint8_t *buf;
	size_t len;

	ASSERT_EQ(0, lzb_criu_encode_pagemap(&pm, &buf, &len));
	ASSERT_EQ(0, lzb_criu_parse_pagemap("enc.img", buf, len, &back, &err))
		TH_LOG("%s", err.msg);
	EXPECT_EQ(42, back.pages_id);
	ASSERT_EQ(3, back.nr);
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(e[i].vaddr, back.e[i].vaddr);
		EXPECT_EQ(e[i].nr_pages, back.e[i].nr_pages);
		EXPECT_EQ(e[i].flags, back.e[i].flags);
	}
	EXPECT_EQ(4, back.present_pages);
	lzb_criu_pagemap_free(&back);
	free(buf);
}

TEST_HARNESS_MAIN
