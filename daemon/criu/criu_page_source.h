/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pager's page source over a plain CRIU dump on local disk: pages are
 * read straight from each task's pages-<id>.img at the offset its pagemap
 * gives them, no lazyboot image needed.  `lazyboot profile` uses it to
 * restore a capture fully lazily and watch which pages the tasks touch.
 *
 * Lazy memory is what CRIU restores lazily: pagemap entries flagged
 * PE_LAZY in VMAs CRIU can register with userfaultfd.  A request is
 * answered with exactly the asked range, so every first touch of a page
 * is a fault of its own.
 */
#ifndef LAZYBOOT_CRIU_PAGE_SOURCE_H
#define LAZYBOOT_CRIU_PAGE_SOURCE_H

#include <stdint.h>

#include "criu/criu_image.h"
#include "engine/uffd_engine.h"

struct lzb_criu_source;

/* DUMP stays open (and unchanged) while the source lives. */
int lzb_criu_source_new(const struct lzb_criu_dump *dump,
			struct lzb_criu_source **src, struct lzb_err *err);
void lzb_criu_source_free(struct lzb_criu_source *src);

/* The engine's page source (ctx = the CRIU source). */
int lzb_criu_source_request(void *ctx, struct lzb_engine *engine,
			    int img_pid, uint64_t img_addr, uint64_t len,
			    bool urgent);

/* Declare every task of the dump to the engine with its lazy memory. */
int lzb_criu_source_add_tasks(struct lzb_criu_source *src,
			      struct lzb_engine *engine);

/* Pages CRIU will restore lazily, all tasks. */
uint64_t lzb_criu_source_lazy_pages(const struct lzb_criu_source *src);

/* The first error a request met (one line), or NULL. */
const char *lzb_criu_source_error(const struct lzb_criu_source *src);

#endif
