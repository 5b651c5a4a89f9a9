/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Growable arrays: a pointer, a length and a capacity (in elements, the
 * capacity a size_t) that the caller keeps where it likes.  One helper
 * grows them, doubling, so no caller repeats the realloc loop and its
 * overflow checks.
 *
 *	if (LZB_VEC_RESERVE(v, nr, cap, 1))
 *		return -ENOMEM;
 *	v[nr++] = x;
 */
#ifndef LAZYBOOT_VEC_H
#define LAZYBOOT_VEC_H

#include <stddef.h>

/* The capacity an empty array first grows to, in elements. */
#define LZB_VEC_MIN_CAP 16u

/*
 * Make *PTR (capacity *CAP elements of ELEM bytes) hold at least LEN + NEED
 * elements, doubling the capacity from at least LZB_VEC_MIN_CAP.  0, or
 * -ENOMEM (also when the size overflows) with *PTR and *CAP untouched.
 */
int lzb_vec_reserve(void **ptr, size_t *cap, size_t len, size_t need,
		    size_t elem);

/* The same for an array PTR of any element type, with CAP a size_t. */
#define LZB_VEC_RESERVE(ptr, len, cap, need) \
	lzb_vec_reserve((void **)&(ptr), &(cap), (len), (need), sizeof(*(ptr)))

#endif
