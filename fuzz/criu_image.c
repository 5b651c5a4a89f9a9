// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the CRIU image readers (of a core image: its SP) and
 * the profile parser.  The first byte picks the parser, the rest is the
 * file.  Parsed pagemaps are re-encoded and re-parsed; the round trip must
 * be exact.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "criu/criu_image.h"
#include "capture/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lzb_err err;

	if (!size)
		return 0;
	switch (data[0] % 6) {
	case 0: {
		struct lzb_criu_pagemap pm, back;
		uint8_t *enc;
		size_t len;
		bool fits = true;

		if (lzb_criu_parse_pagemap("f", data + 1, size - 1, &pm, &err))
			break;
		for (size_t i = 0; i < pm.nr; i++)
			fits &= pm.e[i].nr_pages <= UINT32_MAX;
		if (fits && !lzb_criu_encode_pagemap(&pm, &enc, &len)) {
			if (lzb_criu_parse_pagemap("g", enc, len, &back, &err))
				abort();
			if (back.nr != pm.nr || back.pages_id != pm.pages_id ||
			    (pm.nr && memcmp(back.e, pm.e, pm.nr * sizeof(*pm.e))))
				abort();
			lzb_criu_pagemap_free(&back);
			free(enc);
		}
		lzb_criu_pagemap_free(&pm);
		break;
	}
	case 1: {
		struct lzb_criu_mm mm;

		if (!lzb_criu_parse_mm("f", data + 1, size - 1, &mm, &err)) {
			for (size_t i = 0; i < mm.nr_vmas; i++)
				if (lzb_criu_mm_find(&mm, mm.vmas[i].start) !=
				    &mm.vmas[i])
					abort();
			lzb_criu_mm_free(&mm);
		}
		break;
	}
	case 2: {
		struct lzb_criu_pstree ps;
		uint64_t sum = 0;

		if (!lzb_criu_parse_pstree("f", data + 1, size - 1, &ps, &err)) {
			for (size_t i = 0; i < ps.nr; i++)
				for (uint32_t t = 0; t < ps.e[i].nr_threads; t++)
					sum += ps.e[i].threads[t];
			(void)sum;
			lzb_criu_pstree_free(&ps);
		}
		break;
	}
	case 3: {
		struct lzb_criu_inventory inv;

		lzb_criu_parse_inventory("f", data + 1, size - 1, &inv, &err);
		break;
	}
	case 5: {
		uint64_t sp;

		lzb_criu_parse_core_sp("f", data + 1, size - 1, &sp, &err);
		break;
	}
	default: {
		struct lzb_profile p;

		if (!lzb_profile_parse("f", data + 1, size - 1, &p, &err))
			lzb_profile_free(&p);
	}
	}
	return 0;
}
