/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Profile files: the pages a restored app set touched, in first-touch
 * order (docs/image-format.md, "Profile file").  Text, one range a line:
 *
 *   lazyboot-profile v1
 *   PID 0xVADDR [NPAGES]      pages touched before the app was ready: hot
 *   ready
 *   PID 0xVADDR [NPAGES]      touched later: cold, streamed in this order
 */
#ifndef LAZYBOOT_PROFILE_H
#define LAZYBOOT_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lzb_error.h"

#define LZB_PROFILE_MAGIC	"lazyboot-profile v1"
#define LZB_PROFILE_MAX_BYTES	(1u << 30)
#define LZB_PROFILE_MAX_ENTRIES	(1u << 26)
#define LZB_PROFILE_MAX_RUN	(1u << 20)	/* pages in one line */
#define LZB_PROFILE_MAX_LINE	256u

struct lzb_profile_entry {
	uint32_t pid;
	uint32_t nr_pages;
	uint64_t vaddr;
	bool hot;
};

struct lzb_profile {
	size_t nr;
	struct lzb_profile_entry *e;	/* file order = first-touch order */
};

int lzb_profile_parse(const char *name, const uint8_t *buf, size_t len,
		      struct lzb_profile *p, struct lzb_err *err);
int lzb_profile_load(const char *path, struct lzb_profile *p,
		     struct lzb_err *err);
void lzb_profile_free(struct lzb_profile *p);

#endif
