// SPDX-License-Identifier: LGPL-2.1-or-later
/* Growable arrays (vec.h). */
#include "util/vec.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int lzb_vec_reserve(void **ptr, size_t *cap, size_t len, size_t need,
		    size_t elem)
{
	size_t want, c = *cap > LZB_VEC_MIN_CAP ? *cap : LZB_VEC_MIN_CAP;
	void *p;

	if (need > SIZE_MAX - len)
		return -ENOMEM;
	want = len + need;
	if (want <= *cap)
		return 0;
	while (c < want) {
		if (c > SIZE_MAX / 2)
			return -ENOMEM;
		c *= 2;
	}
	if (c > SIZE_MAX / elem)
		return -ENOMEM;
	p = realloc(*ptr, c * elem);
	if (!p)
		return -ENOMEM;
	*ptr = p;
	*cap = c;
	return 0;
}
