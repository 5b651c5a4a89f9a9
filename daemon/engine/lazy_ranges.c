// SPDX-License-Identifier: LGPL-2.1-or-later
#include "engine/lazy_ranges.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/vec.h"

void lzb_ranges_init(struct lzb_ranges *set)
{
	memset(set, 0, sizeof(*set));
}

void lzb_ranges_free(struct lzb_ranges *set)
{
	free(set->base);
	lzb_ranges_init(set);
}

static int reserve(struct lzb_ranges *set, size_t n)
{
	if (n <= set->cap)
		return 0;
	if (set->v != set->base) {
		/* Reclaim the room freed at the front first. */
		set->cap += (size_t)(set->v - set->base);
		memmove(set->base, set->v, set->n * sizeof(*set->v));
		set->v = set->base;
		if (n <= set->cap)
			return 0;
	}
	if (LZB_VEC_RESERVE(set->base, 0, set->cap, n))
		return -ENOMEM;
	set->v = set->base;
	return 0;
}

/*
 * Take range i out, moving whichever side is shorter: streaming in address
 * order takes ranges from the front, and must not move the whole array
 * each time (a sparse multi-GiB image has millions of ranges).
 */
static void remove_at(struct lzb_ranges *set, size_t i)
{
	if (i < set->n / 2) {
		memmove(&set->v[1], &set->v[0], i * sizeof(*set->v));
		set->v++;
		set->cap--;
	} else {
		memmove(&set->v[i], &set->v[i + 1],
			(set->n - i - 1) * sizeof(*set->v));
	}
	set->n--;
}

static uint64_t img_end(const struct lzb_range *r)
{
	return r->img_start + (r->end - r->start);
}

int lzb_ranges_copy(struct lzb_ranges *dst, const struct lzb_ranges *src)
{
	lzb_ranges_init(dst);
	if (reserve(dst, src->n))
		return -ENOMEM;
	if (src->n)
		memcpy(dst->v, src->v, src->n * sizeof(*src->v));
	dst->n = src->n;
	dst->img_unordered = src->img_unordered;
	return 0;
}

size_t lzb_ranges_first_after(const struct lzb_ranges *set, uint64_t addr)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int insert_at(struct lzb_ranges *set, size_t i,
		     const struct lzb_range *r)
{
	if (reserve(set, set->n + 1))
		return -ENOMEM;
	memmove(&set->v[i + 1], &set->v[i], (set->n - i) * sizeof(*r));
	set->v[i] = *r;
	set->n++;
	return 0;
}

int lzb_ranges_add(struct lzb_ranges *set, uint64_t start, uint64_t end,
		   uint64_t img_start)
{
	struct lzb_range r = { start, end, img_start };
	size_t i;

	if (start >= end)
		return -EINVAL;
	i = lzb_ranges_first_after(set, start);
	if (i < set->n && set->v[i].start < end)
		return -EEXIST;
	if ((i > 0 && img_end(&set->v[i - 1]) > img_start) ||
	    (i < set->n && set->v[i].img_start < img_end(&r)))
		set->img_unordered = true;
	return insert_at(set, i, &r);
}

size_t lzb_ranges_first_img(const struct lzb_ranges *set, uint64_t img)
{
	size_t lo = 0, hi = set->n;

	if (set->img_unordered)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (img_end(&set->v[mid]) <= img)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct lzb_range *lzb_ranges_find(const struct lzb_ranges *set,
					uint64_t addr)
{
	size_t i = lzb_ranges_first_after(set, addr);

	if (i < set->n && set->v[i].start <= addr)
		return &set->v[i];
	return NULL;
}

int lzb_ranges_remove(struct lzb_ranges *set, uint64_t start, uint64_t end)
{
	size_t i = lzb_ranges_first_after(set, start);

	/* Nothing to take; an end before the start would split a range
	 * into two that overlap. */
	if (start >= end)
		return 0;

	while (i < set->n && set->v[i].start < end) {
		struct lzb_range *r = &set->v[i];

		if (r->start < start && r->end > end) {
			/* Split: keep both sides. */
			struct lzb_range tail = {
				end, r->end, r->img_start + (end - r->start)
			};

			r->end = start;
			return insert_at(set, i + 1, &tail);
		}
		if (r->start < start) {
			r->end = start;
			i++;
		} else if (r->end > end) {
			r->img_start += end - r->start;
			r->start = end;
			return 0;
		} else {
			remove_at(set, i);
		}
	}
	return 0;
}

int lzb_ranges_move(struct lzb_ranges *set, uint64_t from, uint64_t to,
		    uint64_t len)
{
	struct lzb_ranges moved;
	size_t i;
	int err;

	/* Neither range may run past the top of the address space. */
	if (from + len < from || to + len < to)
		return -EINVAL;
	/* Collect the parts inside [from, from + len), then re-add them. */
	lzb_ranges_init(&moved);
	for (i = lzb_ranges_first_after(set, from);
	     i < set->n && set->v[i].start < from + len; i++) {
		const struct lzb_range *r = &set->v[i];
		uint64_t s = r->start > from ? r->start : from;
		uint64_t e = r->end < from + len ? r->end : from + len;

		err = lzb_ranges_add(&moved, s - from + to, e - from + to,
				     r->img_start + (s - r->start));
		if (err)
			goto out;
	}
	err = lzb_ranges_remove(set, from, from + len);
	/* Whatever was mapped at the destination before is gone. */
	if (!err)
		err = lzb_ranges_remove(set, to, to + len);
	for (i = 0; !err && i < moved.n; i++)
		err = lzb_ranges_add(set, moved.v[i].start, moved.v[i].end,
				     moved.v[i].img_start);
out:
	lzb_ranges_free(&moved);
	return err;
}

uint64_t lzb_ranges_bytes(const struct lzb_ranges *set)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < set->n; i++)
		total += set->v[i].end - set->v[i].start;
	return total;
}
