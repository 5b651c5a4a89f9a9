/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading CRIU image files: the container (magic words + size-prefixed
 * protobuf records), pagemap, mm (VMAs), pstree, inventory, and the raw
 * pages images a pagemap points at.  Parsers take a buffer and the file's
 * name (for errors) so they can be fuzzed; lzb_criu_dump_open() reads a whole
 * dump directory.  Every count and length is bounded; malformed input is an
 * error naming the file, never a crash.
 */
#ifndef LAZYBOOT_CRIU_IMAGE_H
#define LAZYBOOT_CRIU_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lzb_error.h"
#include "util/page.h"

/* Magic words (criu/include/magic.h values; facts, not code). */
#define CRIU_IMG_COMMON_MAGIC	0x54564319u
#define CRIU_MAGIC_INVENTORY	0x58313116u	/* no common magic before it */
#define CRIU_MAGIC_PSTREE	0x50273030u
#define CRIU_MAGIC_MM		0x57492820u
#define CRIU_MAGIC_PAGEMAP	0x56084025u
#define CRIU_MAGIC_CORE		0x55053847u

/* pagemap_entry.flags */
#define CRIU_PE_PARENT		(1u << 0)
#define CRIU_PE_LAZY		(1u << 1)
#define CRIU_PE_PRESENT		(1u << 2)

/* vma_entry.status bits lazyboot looks at */
#define CRIU_VMA_AREA_REGULAR	(1u << 0)
#define CRIU_VMA_AREA_VSYSCALL	(1u << 2)
#define CRIU_VMA_AREA_VDSO	(1u << 3)
#define CRIU_VMA_ANON_PRIVATE	(1u << 9)
#define CRIU_VMA_AREA_VVAR	(1u << 12)

/* Bounds on what a reader accepts. */
#define CRIU_MAX_IMAGE_BYTES	(512u << 20)	/* one metadata image file */
#define CRIU_MAX_RECORD_BYTES	(64u << 20)	/* one protobuf record */
#define CRIU_MAX_PAGEMAP_ENTRIES (16u << 20)
#define CRIU_MAX_VMAS		(1u << 20)
#define CRIU_MAX_TASKS		65536u
#define CRIU_MAX_THREADS	(1u << 22)	/* all processes together */
#define CRIU_MAX_PAGES		(1ull << 36)	/* 256 TiB in one task */
#define CRIU_USER_VA_END	(1ull << 57)	/* 5-level paging user limit */

/* Walks the records of one image buffer. */
struct lzb_criu_img_iter {
	const char *name;
	const uint8_t *buf;
	size_t len;
	size_t off;
};

/*
 * Check the magic words of BUF (common magic then EXPECT; for inventory
 * only EXPECT) and position IT at the first record.
 */
int lzb_criu_img_open(struct lzb_criu_img_iter *it, const char *name,
		      const uint8_t *buf, size_t len, uint32_t expect,
		      struct lzb_err *err);
/* Next record: 1 and (*rec, *rec_len), 0 at a clean end, -1 on error. */
int lzb_criu_img_next(struct lzb_criu_img_iter *it, const uint8_t **rec,
		      size_t *rec_len, struct lzb_err *err);

struct lzb_criu_pagemap_entry {
	uint64_t vaddr;
	uint64_t nr_pages;
	uint32_t flags;
};

struct lzb_criu_pagemap {
	uint32_t pages_id;
	size_t nr;
	struct lzb_criu_pagemap_entry *e;	/* ascending, non-overlapping */
	uint64_t present_pages;		/* pages stored in pages-<id>.img */
	uint64_t total_pages;
};

struct lzb_criu_vma {
	uint64_t start, end, pgoff, shmid;
	uint32_t prot, flags, status;
	int32_t fd;
};

struct lzb_criu_mm {
	size_t nr_vmas;
	struct lzb_criu_vma *vmas;		/* ascending, non-overlapping */
};

struct lzb_criu_pstree_entry {
	uint32_t pid, ppid, pgid, sid;
	uint32_t nr_threads;
	uint32_t *threads;
};

struct lzb_criu_pstree {
	size_t nr;
	struct lzb_criu_pstree_entry *e;
	uint32_t *thread_store;
};

struct lzb_criu_inventory {
	uint32_t img_version;
	bool has_lsmtype;
	uint32_t lsmtype;
	bool has_dump_uptime;
	uint64_t dump_uptime;
};

int lzb_criu_parse_pagemap(const char *name, const uint8_t *buf, size_t len,
			   struct lzb_criu_pagemap *pm, struct lzb_err *err);
int lzb_criu_parse_mm(const char *name, const uint8_t *buf, size_t len,
		      struct lzb_criu_mm *mm, struct lzb_err *err);
int lzb_criu_parse_pstree(const char *name, const uint8_t *buf, size_t len,
			  struct lzb_criu_pstree *ps, struct lzb_err *err);
int lzb_criu_parse_inventory(const char *name, const uint8_t *buf, size_t len,
			     struct lzb_criu_inventory *inv, struct lzb_err *err);
/*
 * The stack pointer of the thread a core-TID.img describes (x86-64 only:
 * another architecture is refused with an error naming it).
 */
int lzb_criu_parse_core_sp(const char *name, const uint8_t *buf, size_t len,
			   uint64_t *sp, struct lzb_err *err);
void lzb_criu_pagemap_free(struct lzb_criu_pagemap *pm);
void lzb_criu_mm_free(struct lzb_criu_mm *mm);
void lzb_criu_pstree_free(struct lzb_criu_pstree *ps);

/*
 * Whether CRIU may restore a VMA lazily (registered with userfaultfd):
 * private anonymous, not locked, not hugetlb, not vdso/vvar/vsyscall.
 */
bool lzb_criu_vma_can_be_lazy(const struct lzb_criu_vma *vma);
/* The VMA holding ADDR, or NULL (binary search). */
const struct lzb_criu_vma *lzb_criu_mm_find(const struct lzb_criu_mm *mm,
					    uint64_t addr);

/* Encode a pagemap image (head + entries, 3.17 field layout). */
int lzb_criu_encode_pagemap(const struct lzb_criu_pagemap *pm, uint8_t **out,
			    size_t *out_len);

/* One process of a dump: its pstree entry and memory images. */
struct lzb_criu_task {
	const struct lzb_criu_pstree_entry *ps;
	bool has_memory;		/* false for zombies */
	struct lzb_criu_pagemap pm;
	struct lzb_criu_mm mm;
	size_t nr_thread_sp;
	uint64_t *thread_sp;		/* each thread's SP (core-TID.img) */
	char pagemap_name[64];		/* "pagemap-PID.img" */
	char pages_name[64];		/* "pages-ID.img" */
};

struct lzb_criu_dump {
	char dir[4096];
	struct lzb_criu_inventory inv;
	struct lzb_criu_pstree pstree;
	size_t nr_tasks;
	struct lzb_criu_task *tasks;	/* pstree order */
};

/*
 * Whether the page at VADDR of task T may be restored lazily: its VMA can be
 * registered with userfaultfd and no thread's stack pointer is in it.  This
 * is what CRIU means its PE_LAZY flags to say; the flags a dump carries are
 * not trusted for it (criu/mem.c is_stack() compares the low 12 bits of SP
 * since CRIU commit 1bc68dd87: the page under SP stays PE_LAZY, and when
 * some SP is page-aligned no page of the task is PE_LAZY).
 */
bool lzb_criu_page_can_be_lazy(const struct lzb_criu_task *t, uint64_t vaddr);
/*
 * T's pagemap with PE_LAZY set by lzb_criu_page_can_be_lazy() on every page
 * with data and cleared elsewhere (entries split where that changes; the
 * order of the data in pages-<id>.img is kept).  -1 when out of memory.
 */
int lzb_criu_task_lazy_pagemap(const struct lzb_criu_task *t,
				struct lzb_criu_pagemap *out);

/*
 * Read inventory, pstree, and every process's pagemap, mm and threads'
 * stack pointers.
 */
int lzb_criu_dump_open(const char *dir, struct lzb_criu_dump *d,
		       struct lzb_err *err);
void lzb_criu_dump_close(struct lzb_criu_dump *d);

#endif
