/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * First touches recorded by `lazyboot profile`, and what it derives from
 * several runs: the pairwise Jaccard similarity of the touched-page sets
 * (how stable the hot set is, as REAP measured it), the merged profile
 * (pages seen in at least MIN_RUNS runs, ordered by their median
 * first-touch time), and the profile file `lazyboot pack` reads.
 */
#ifndef LAZYBOOT_PROFILE_TOUCHES_H
#define LAZYBOOT_PROFILE_TOUCHES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lzb_error.h"

struct lzb_touch {
	uint64_t vaddr;		/* dump-time address, page aligned */
	uint64_t t_us;		/* first touch, since the restore started */
	uint32_t pid;		/* image pid */
	bool hot;		/* before the app set was ready */
};

struct lzb_touches {
	size_t nr, cap;
	struct lzb_touch *v;
};

void lzb_touches_free(struct lzb_touches *t);
int lzb_touches_add(struct lzb_touches *t, uint32_t pid, uint64_t vaddr,
		    uint64_t t_us, bool hot);

/* Keep each page's first touch only; the result is sorted by page. */
void lzb_touches_dedupe(struct lzb_touches *t);

/*
 * |A n B| / |A u B| of two deduplicated sets (1.0 when both are empty);
 * HOT_ONLY compares the pages touched before ready only.
 */
double lzb_touches_jaccard(const struct lzb_touches *a,
			   const struct lzb_touches *b, bool hot_only);

/*
 * Merge N deduplicated runs: a page seen in at least MIN_RUNS of them is
 * kept with its median first-touch time (the lower middle of an even
 * count), hot if it was touched before ready in at least MIN_RUNS runs.
 * OUT is sorted hot first, then by median time.
 */
int lzb_touches_merge(const struct lzb_touches *runs, size_t n,
		      unsigned int min_runs, struct lzb_touches *out);

/*
 * Write OUT (sorted as lzb_touches_merge leaves it) as a profile file
 * (profile.h): adjacent pages of a task touched in address order make one
 * line, with its first touch time as a comment (`# +12.345 ms`), which
 * the profile parser skips.  HEADER lines are written as comments.
 */
int lzb_touches_write_profile(const char *path, const struct lzb_touches *t,
			      const char *header, struct lzb_err *err);

#endif
