/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A CRIU dump as `criu restore --lazy-pages` should see it when lazyboot
 * serves its pages straight from the dump (`lazyboot profile`): a directory
 * of symlinks to the dump's files, except that every pagemap-PID.img is
 * written anew with PE_LAZY where lzb_criu_page_can_be_lazy() says so, not
 * where the dump put it (criu_image.h says why the two differ).
 */
#ifndef LAZYBOOT_CRIU_LAZY_VIEW_H
#define LAZYBOOT_CRIU_LAZY_VIEW_H

#include "criu/criu_image.h"
#include "util/lzb_error.h"

/*
 * Make VIEW_DIR (created if missing, files of the same names replaced) for
 * DUMP, and give DUMP's tasks the rewritten pagemaps, so a page source over
 * DUMP agrees with what CRIU restores eagerly.  0, or -1 with err set.
 */
int lzb_criu_lazy_view(struct lzb_criu_dump *dump, const char *view_dir,
		       struct lzb_err *err);

#endif
