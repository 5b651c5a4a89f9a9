/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One restore's timeline (pager/restore_timeline.h) as a plain SVG
 * picture, for `lazyboot report`: bytes received per second (for faults
 * and in the background), faults per second, their stall time (the
 * pager's measure, and lazyboot.ko's when it kept the sessions),
 * residency, the milestones as labelled vertical lines, one lane per
 * task.  Each milestone is a <g class="milestone" data-name= data-ms=>,
 * in time order, for tools and tests.
 */
#ifndef LAZYBOOT_REPORT_SVG_H
#define LAZYBOOT_REPORT_SVG_H

#include <stdio.h>

#include "pager/restore_timeline.h"

/* TITLE and SUBTITLE are plain text (escaped here); SUBTITLE may be "". */
void lzb_report_svg(FILE *out, const struct lzb_timeline *tl,
		    const char *title, const char *subtitle);

#endif
