// SPDX-License-Identifier: LGPL-2.1-or-later
/* One object fetched whole into memory, blocking (fetch.h). */
#include "fetch/fetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/lzb_error.h"
#include "util/vec.h"

#define WHOLE_DEADLINE_MS 120000

struct whole {
	const struct lzb_fetch_whole_spec *spec;
	uint8_t *buf;
	size_t len, cap, max;
	int err;		/* 1 while running */
	char msg[512];
};

static int whole_sink(void *arg, uint64_t offset, const void *data,
		      size_t len)
{
	struct whole *w = arg;

	if (offset + len > w->max)
		return -EFBIG;
	if (LZB_VEC_RESERVE(w->buf, offset, w->cap, len))
		return -ENOMEM;
	memcpy(w->buf + offset, data, len);
	if (offset + len > w->len)
		w->len = offset + len;
	return 0;
}

/* The caller's check sees the whole object, as it is in our buffer. */
static int whole_check(void *arg, const uint8_t *buf, uint64_t len,
		       struct lzb_err *err)
{
	struct whole *w = arg;

	(void)buf;
	return w->spec->check(w->spec->check_arg, w->buf ? w->buf :
			      (const uint8_t *)"", len, err);
}

static void whole_done(struct lzb_fetch *req, int err, const char *msg,
		       uint64_t len, void *arg)
{
	struct whole *w = arg;

	(void)req;
	w->err = err;
	if (err)
		snprintf(w->msg, sizeof(w->msg), "%s", msg);
	else
		w->len = (size_t)len;
}

int lzb_fetch_whole(struct lzb_fetcher *f, struct lzb_mirrors *m,
		    const struct lzb_fetch_whole_spec *ws, uint8_t **buf,
		    size_t *len, struct lzb_err *err)
{
	struct whole w = { .spec = ws, .err = 1,
			   .max = ws->size >= 0 ? (size_t)ws->size : ws->max };
	struct lzb_fetch_spec spec = {
		.mirrors = m, .path = ws->path, .expected_size = ws->size,
		.sink = whole_sink, .sink_arg = &w, .prio = LZB_PRIO_FAULT,
		.deadline_ms = WHOLE_DEADLINE_MS, .done = whole_done,
		.done_arg = &w, .content_addressed = ws->content_addressed,
		.check = ws->check ? whole_check : NULL, .check_arg = &w,
	};

	if (!lzb_fetch_submit(f, &spec))
		return lzb_errf(err, "%s: cannot start the fetch: %s", ws->path,
				strerror(errno));
	while (w.err == 1)
		lzb_fetcher_run(f, 1000);
	if (w.err) {
		free(w.buf);
		return lzb_errf(err, "%s", w.msg);
	}
	*buf = w.buf ? w.buf : malloc(1);
	*len = w.len;
	return *buf ? 0 : lzb_errf(err, "%s: out of memory", ws->path);
}
