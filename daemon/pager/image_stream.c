// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The background of a restore as one long transfer: the image's stream
 * (image_format.h, lzb_stream_name) holds every chunk's stored bytes in
 * chunk order, which pack makes the profile's order.  One request brings
 * it all (HTTP: one GET on a kept connection; TFTP: one transfer with the
 * restore's blksize and windowsize) instead of a request per chunk.
 *
 * The sink only cuts the bytes into chunks and queues each complete one;
 * lzb_stream_pump, called by the pager's loop between polls, checks and
 * installs one queued chunk per call.  So a fault read by the loop waits
 * behind at most one chunk of background work, and its chunk is fetched
 * alone at fault priority, which starts at once (fetch.h), on a
 * connection or transfer of its own.  While STREAM_QUEUE_MAX bytes wait,
 * the pump asks the loop not to read the fetcher unless a fault waits
 * (LZB_PUMP_FULL): the sandboxed fetcher and the server then block on
 * full socket buffers, which bounds the memory the stream holds.
 *
 * The stream's bytes are not trusted more than a chunk's: each chunk cut
 * out of it is checked against the signed manifest like a chunk fetched
 * alone.  A refused chunk is left to the per-chunk fallback (which asks
 * every mirror); after STREAM_MAX_REFUSED of them the stream is dropped.
 * No stream on the mirrors (an image packed with --no-stream, or by an
 * older lazyboot), or a failed one, ends it early: the fallback fetches
 * what it did not bring, one chunk at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pager/image_source_internal.h"
#include "util/log.h"

/* Bytes of complete chunks waiting to be installed before the loop stops
 * reading the fetcher (unless a fault waits). */
#define STREAM_QUEUE_MAX (8u << 20)
/* Chunks the stream may bring that fail their check before it is dropped. */
#define STREAM_MAX_REFUSED 8

struct queued {
	struct queued *next;
	uint32_t c;
	uint8_t *buf;
};

enum stream_state { STREAM_RUNNING, STREAM_DONE, STREAM_FAILED };

struct lzb_stream {
	struct lzb_image_source *src;
	char name[LZB_STREAM_NAME_LEN];
	uint64_t *offsets;		/* of chunk c; [nr_chunks]: the size */
	uint32_t nr_chunks;
	struct lzb_fetch *fetch;
	uint64_t base;			/* stream offset the request starts at */
	enum stream_state state;
	uint32_t cur;			/* the chunk being cut */
	uint8_t *cur_buf;
	uint64_t top;			/* bytes seen so far (not again) */
	struct queued *head, **tail;
	uint64_t queued_bytes;
	unsigned int refused;
};

static uint64_t chunk_size(const struct lzb_stream *st, uint32_t c)
{
	return st->offsets[c + 1] - st->offsets[c];
}

static int enqueue(struct lzb_stream *st)
{
	struct queued *q = malloc(sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->next = NULL;
	q->c = st->cur;
	q->buf = st->cur_buf;
	*st->tail = q;
	st->tail = &q->next;
	st->queued_bytes += chunk_size(st, st->cur);
	st->cur_buf = NULL;
	st->cur++;
	return 0;
}

/*
 * Bytes at offset REL of the request, which starts at the stream's BASE.
 * A new try starts again at REL 0 (fetch.h): what lies before the chunk
 * being cut was queued already and is skipped.
 */
static int sink(void *arg, uint64_t rel, const void *data, size_t len)
{
	struct lzb_stream *st = arg;
	const uint8_t *p = data;
	uint64_t off = st->base + rel;

	if (off + len > st->top) {
		uint64_t fresh = off + len - (off > st->top ? off : st->top);

		st->src->stats.bytes_fetched += fresh;
		st->src->stats.bytes_streamed += fresh;
		st->top = off + len;
	}
	while (len && st->cur < st->nr_chunks) {
		uint64_t start = st->offsets[st->cur];
		uint64_t end = st->offsets[st->cur + 1];
		size_t n;

		if (off >= end)
			return -EIO;	/* bytes in order: never past the cut */
		if (off < start) {	/* a new try, before the cut */
			n = start - off < len ? (size_t)(start - off) : len;
			off += n, p += n, len -= n;
			continue;
		}
		if (!st->cur_buf) {
			st->cur_buf = malloc(end - start ? end - start : 1);
			if (!st->cur_buf)
				return -ENOMEM;
		}
		n = end - off < len ? (size_t)(end - off) : len;
		memcpy(st->cur_buf + (off - start), p, n);
		off += n, p += n, len -= n;
		if (off == end) {
			int err = enqueue(st);

			if (err)
				return err;
		}
	}
	return 0;
}

static void done(struct lzb_fetch *req, int err, const char *msg,
		 uint64_t len, void *arg)
{
	struct lzb_stream *st = arg;

	(void)req, (void)len;
	st->fetch = NULL;
	if (!err && st->cur == st->nr_chunks) {
		st->state = STREAM_DONE;
		return;
	}
	st->state = STREAM_FAILED;
	if (err == -ENOENT)	/* an image packed without one */
		lzb_log(LZB_LOG_INFO, "no %s on the mirrors: the background "
			"chunk by chunk", st->name);
	else if (!err)
		lzb_log(LZB_LOG_WARNING, "%s: ended before its last chunk; "
			"the rest chunk by chunk", st->name);
	else if (err != -ECANCELED)
		lzb_log(LZB_LOG_WARNING, "%s; the rest chunk by chunk", msg);
}

struct lzb_stream *lzb_stream_start(struct lzb_image_source *src)
{
	const struct lzb_manifest *m = &src->img->m;
	uint32_t n = src->img->ix.nr_chunks;
	struct lzb_fetch_spec spec = { 0 };
	struct lzb_stream *st;

	if (!n || lzb_nr_chunks(m->nr_objects) != n)
		return NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->offsets = malloc(((size_t)n + 1) * sizeof(*st->offsets));
	if (!st->offsets || lzb_stream_name(st->name, m->objects,
					    m->nr_objects)) {
		lzb_stream_free(st);
		return NULL;
	}
	st->src = src;
	st->nr_chunks = n;
	st->tail = &st->head;
	st->offsets[0] = 0;
	for (uint32_t c = 0; c < n; c++)
		st->offsets[c + 1] = st->offsets[c] +
				     m->objects[lzb_chunk_slot(c)].size;
	/* A successor, or faults before CRIU finished, may have brought the
	 * first chunks: the request starts at the first one still wanted. */
	while (st->cur < n && !lzb_source_chunk_wanted(src, st->cur))
		st->cur++;
	if (st->cur == n) {
		lzb_stream_free(st);
		return NULL;
	}
	st->base = st->top = st->offsets[st->cur];
	spec.mirrors = src->mirrors;
	spec.path = st->name;
	if (st->base) {
		spec.offset = st->base;
		spec.length = st->offsets[n] - st->base;
	} else {
		spec.expected_size = (int64_t)st->offsets[n];
	}
	spec.sink = sink;
	spec.sink_arg = st;
	spec.prio = LZB_PRIO_BACKGROUND;
	spec.done = done;
	spec.done_arg = st;
	st->fetch = lzb_fetch_submit(src->fetcher, &spec);
	if (!st->fetch) {
		lzb_stream_free(st);
		return NULL;
	}
	src->stats.stream_used = true;
	return st;
}

static void drop_queue(struct lzb_stream *st)
{
	while (st->head) {
		struct queued *q = st->head;

		st->head = q->next;
		free(q->buf);
		free(q);
	}
	st->tail = &st->head;
	st->queued_bytes = 0;
}

void lzb_stream_free(struct lzb_stream *st)
{
	if (!st)
		return;
	if (st->fetch)
		lzb_fetch_cancel(st->fetch);
	drop_queue(st);
	free(st->cur_buf);
	free(st->offsets);
	free(st);
}

/* Check and install the first queued chunk, unless nobody needs it now. */
static int take_one(struct lzb_stream *st)
{
	struct lzb_image_source *src = st->src;
	struct queued *q = st->head;
	struct lzb_err err = { { 0 } };
	char where[LZB_STREAM_NAME_LEN + 32];
	int r = 0;

	st->head = q->next;
	if (!st->head)
		st->tail = &st->head;
	st->queued_bytes -= chunk_size(st, q->c);
	if (lzb_source_chunk_wanted(src, q->c)) {
		snprintf(where, sizeof(where), "chunk %u in %s", q->c,
			 st->name);
		r = lzb_source_take_chunk(src, q->c, where, q->buf,
					  (size_t)chunk_size(st, q->c), &err);
		if (r == 1) {
			lzb_log(LZB_LOG_WARNING, "%s", err.msg);
			if (++st->refused >= STREAM_MAX_REFUSED &&
			    st->state != STREAM_FAILED) {
				/* what else it holds came the same way */
				lzb_log(LZB_LOG_WARNING, "%s: %u chunks "
					"refused, the rest chunk by chunk",
					st->name, st->refused);
				if (st->fetch)
					lzb_fetch_cancel(st->fetch);
				st->state = STREAM_FAILED;
				drop_queue(st);
			}
			r = 0;
		} else if (!r) {
			src->stats.chunks_streamed++;
		}
	}
	free(q->buf);
	free(q);
	return r;
}

int lzb_stream_pump(struct lzb_stream *st, bool *ended)
{
	int r = 0, flags = 0;

	if (st->head)
		r = take_one(st);
	if (r < 0)
		return r;
	if (st->head)
		flags |= LZB_PUMP_MORE;
	if (st->queued_bytes >= STREAM_QUEUE_MAX)
		flags |= LZB_PUMP_FULL;
	*ended = !st->head && st->state != STREAM_RUNNING;
	if (*ended && st->state == STREAM_FAILED)
		st->src->stats.stream_failed = true;
	return flags;
}
