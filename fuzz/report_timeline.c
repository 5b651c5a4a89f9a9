// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: `lazyboot report` on any file: the timeline parser
 * (pager/restore_timeline.c) and, for what it accepts, the SVG renderer
 * (cli/report_svg.c), which must cope with any numbers in it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/report_svg.h"
#include "pager/restore_timeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lzb_timeline tl;
	struct lzb_err err;
	char *svg = NULL;
	size_t len = 0;
	FILE *f;

	if (lzb_timeline_parse("fuzz", (const char *)data, size, &tl, &err))
		return 0;
	f = open_memstream(&svg, &len);
	if (f) {
		lzb_report_svg(f, &tl, "fuzz <&>", "");
		fclose(f);
	}
	free(svg);
	lzb_timeline_free(&tl);
	return 0;
}
