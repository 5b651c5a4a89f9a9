/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The lazy memory of one restored task: the address ranges whose pages are
 * still to come from the image.  Each range knows where it lies now (start,
 * end: the task's current addresses, which mremap can move) and where it
 * lay at dump time (img_start: the address the image is keyed by).
 *
 * Installing pages, and the task removing or unmapping memory, take pages
 * out; a fault outside every range is on memory the image has no data for.
 */
#ifndef LAZYBOOT_LAZY_RANGES_H
#define LAZYBOOT_LAZY_RANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lzb_range {
	uint64_t start;		/* current address, page aligned */
	uint64_t end;		/* exclusive */
	uint64_t img_start;	/* dump-time address of start */
};

struct lzb_ranges {
	struct lzb_range *v;	/* sorted by start, disjoint */
	size_t n;
	size_t cap;		/* room from v on */
	struct lzb_range *base;	/* the allocation; v may lie past it, so
				 * taking the first range out is O(1) */
	bool img_unordered;	/* some img_start out of start's order
				 * (after an mremap): no search by img */
};

void lzb_ranges_init(struct lzb_ranges *set);
void lzb_ranges_free(struct lzb_ranges *set);
int lzb_ranges_copy(struct lzb_ranges *dst, const struct lzb_ranges *src);

/* Add [start, end) at dump-time img_start; it must not overlap the set. */
int lzb_ranges_add(struct lzb_ranges *set, uint64_t start, uint64_t end,
		   uint64_t img_start);

/* The range holding current address addr, or NULL. */
const struct lzb_range *lzb_ranges_find(const struct lzb_ranges *set,
					uint64_t addr);

/*
 * Index of the first range whose dump-time bytes end after img, when the
 * set is in dump-time order too (!img_unordered); else 0, and callers
 * scan every range.
 */
size_t lzb_ranges_first_img(const struct lzb_ranges *set, uint64_t img);

/* Index of the first range ending after current address addr (may be n). */
size_t lzb_ranges_first_after(const struct lzb_ranges *set, uint64_t addr);

/* Take [start, end) (current addresses) out of the set; none if end <= start. */
int lzb_ranges_remove(struct lzb_ranges *set, uint64_t start, uint64_t end);

/*
 * mremap moved [from, from + len) to to: move what the set has there.
 * -EINVAL when either range runs past the top of the address space.
 */
int lzb_ranges_move(struct lzb_ranges *set, uint64_t from, uint64_t to,
		    uint64_t len);

/* Total bytes still lazy. */
uint64_t lzb_ranges_bytes(const struct lzb_ranges *set);

#endif
