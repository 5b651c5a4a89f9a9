/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one page size of lazyboot: the unit of CRIU's pagemaps and pages
 * images, of the lazyboot image's extents and chunks (docs/image-format.md
 * fixes it at 4096) and of every userfaultfd copy.  x86-64 only, as CRIU's
 * images are read here.
 */
#ifndef LAZYBOOT_PAGE_H
#define LAZYBOOT_PAGE_H

#define LZB_PAGE_SIZE 4096u

#endif
