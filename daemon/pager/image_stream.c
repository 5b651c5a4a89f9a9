// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The background of a restore as one long transfer: the image's stream
 * (image_format.h, lzb_stream_name) holds every chunk's stored bytes in
 * chunk order, which pack makes the profile's order.  One request brings
 * it all (HTTP: one GET on a kept connection; TFTP: one transfer with the
 * restore's blksize and windowsize) instead of a request per chunk.
 *
 * It starts once the restored tasks' first faults are over (stream_gate.h).
 * The sink (in the loop's thread) only cuts the bytes into chunks and
 * queues each complete one that some task still lacks; a worker thread
 * checks each against the manifest and decodes it (the hash, decryption
 * and decompression: most of a chunk's CPU time); lzb_stream_pump, called
 * by the pager's loop between polls, installs one decoded chunk per call
 * (UFFDIO_COPY).  So a fault read by the loop waits behind at most one
 * chunk's copy, and its chunk is fetched alone at fault priority, which
 * starts at once (fetch.h), on a connection or transfer of its own.
 * The stream has a fetcher of its own (so its bytes never queue ahead of
 * a fault's); while STREAM_QUEUE_MAX bytes wait in either queue, the
 * source stops reading it (*full): its sandboxed child and the server
 * then block on full socket buffers, which bounds the memory the stream
 * holds.  The worker says a chunk is ready through the image source's
 * eventfd, polled by the loop with the stream's fetcher (pump_fd).
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pager/image_source_internal.h"
#include "util/log.h"

/* Stored bytes of cut chunks, waiting to be checked or installed, at which
 * the source stops reading the stream's fetcher. */
#define STREAM_QUEUE_MAX (8u << 20)
/* Chunks the stream may bring that fail their check before it is dropped. */
#define STREAM_MAX_REFUSED 8

struct queued {
	struct queued *next;
	uint32_t c;
	uint64_t size;		/* stored bytes */
	uint8_t *buf;		/* stored bytes, until the worker is done */
	uint8_t *raw;		/* decoded by the worker; NULL if refused */
	struct lzb_err why;	/* the refusal */
};

/* A queue of chunks, filled and emptied under the stream's lock. */
struct chunk_queue {
	struct queued *head, **tail;
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
	unsigned int refused;
	int ready_fd;			/* eventfd: the worker finished one */
	/* shared with the worker, under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct chunk_queue todo;	/* cut, for the worker */
	struct chunk_queue checked;	/* checked and decoded, to install */
	uint64_t held_bytes;		/* stored bytes in both */
	bool stop;
	bool worker_started;
	pthread_t worker;
};

static void push(struct chunk_queue *cq, struct queued *q)
{
	q->next = NULL;
	*cq->tail = q;
	cq->tail = &q->next;
}

static struct queued *pop(struct chunk_queue *cq)
{
	struct queued *q = cq->head;

	if (q) {
		cq->head = q->next;
		if (!cq->head)
			cq->tail = &cq->head;
	}
	return q;
}

static void free_queued(struct queued *q)
{
	free(q->buf);
	free(q->raw);
	free(q);
}

/* The worker: check and decode what the sink cut, in order. */
static void *worker_main(void *arg)
{
	struct lzb_stream *st = arg;
	const struct lzb_image *img = st->src->img;
	const uint64_t one = 1;

	/* background work: the restored app's threads come first */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), LZB_STREAM_NICE);
	pthread_mutex_lock(&st->lock);
	while (!st->stop) {
		struct queued *q = pop(&st->todo);
		char where[LZB_STREAM_NAME_LEN + 32];

		if (!q) {
			pthread_cond_wait(&st->wake, &st->lock);
			continue;
		}
		pthread_mutex_unlock(&st->lock);
		snprintf(where, sizeof(where), "chunk %u in %s", q->c,
			 st->name);
		/* refused: q->raw stays NULL, q->why says why */
		lzb_image_open_chunk(img, q->c, where, q->buf, (size_t)q->size,
				     &q->raw, &q->why);
		free(q->buf);
		q->buf = NULL;
		pthread_mutex_lock(&st->lock);
		push(&st->checked, q);
		if (write(st->ready_fd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow: the pump reads it */
		}
	}
	pthread_mutex_unlock(&st->lock);
	lzb_chunk_decoder_release();
	return NULL;
}

static uint64_t chunk_size(const struct lzb_stream *st, uint32_t c)
{
	return st->offsets[c + 1] - st->offsets[c];
}

/* The chunk just cut, to the worker unless every task has its pages. */
static int enqueue(struct lzb_stream *st)
{
	struct queued *q;

	if (!lzb_source_chunk_wanted(st->src, st->cur)) {
		free(st->cur_buf);
		st->cur_buf = NULL;
		st->cur++;
		return 0;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->c = st->cur;
	q->size = chunk_size(st, st->cur);
	q->buf = st->cur_buf;
	st->cur_buf = NULL;
	st->cur++;
	pthread_mutex_lock(&st->lock);
	push(&st->todo, q);
	st->held_bytes += q->size;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
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

struct lzb_stream *lzb_stream_start(struct lzb_image_source *src,
				    int ready_fd)
{
	const struct lzb_manifest *m = &src->img->m;
	uint32_t n = src->img->ix.nr_chunks;
	struct lzb_fetch_spec spec = { 0 };
	struct lzb_stream *st;

	if (!n || lzb_nr_chunks(m->nr_objects) != n || ready_fd < 0)
		return NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->src = src;
	st->nr_chunks = n;
	st->ready_fd = ready_fd;
	st->todo.tail = &st->todo.head;
	st->checked.tail = &st->checked.head;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->wake, NULL);
	st->offsets = malloc(((size_t)n + 1) * sizeof(*st->offsets));
	if (!st->offsets || lzb_stream_name(st->name, m->objects,
					    m->nr_objects))
		goto fail;
	st->offsets[0] = 0;
	for (uint32_t c = 0; c < n; c++)
		st->offsets[c + 1] = st->offsets[c] +
				     m->objects[lzb_chunk_slot(c)].size;
	/* A successor, or faults before CRIU finished, may have brought the
	 * first chunks: the request starts at the first one still wanted. */
	while (st->cur < n && !lzb_source_chunk_wanted(src, st->cur))
		st->cur++;
	if (st->cur == n)
		goto fail;
	if (pthread_create(&st->worker, NULL, worker_main, st))
		goto fail;
	st->worker_started = true;
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
	st->fetch = lzb_fetch_submit(src->stream_fetcher, &spec);
	if (!st->fetch)
		goto fail;
	src->stats.stream_used = true;
	return st;
fail:
	lzb_stream_free(st);
	return NULL;
}

/* Drop what is queued for the worker or for installing. */
static void drop_queues(struct lzb_stream *st)
{
	struct queued *q;

	pthread_mutex_lock(&st->lock);
	while ((q = pop(&st->todo)) || (q = pop(&st->checked)))
		free_queued(q);
	st->held_bytes = 0;
	pthread_mutex_unlock(&st->lock);
}

void lzb_stream_free(struct lzb_stream *st)
{
	if (!st)
		return;
	if (st->fetch)
		lzb_fetch_cancel(st->fetch);
	if (st->worker_started) {
		pthread_mutex_lock(&st->lock);
		st->stop = true;
		pthread_cond_signal(&st->wake);
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->worker, NULL);
	}
	drop_queues(st);
	pthread_cond_destroy(&st->wake);
	pthread_mutex_destroy(&st->lock);
	free(st->cur_buf);
	free(st->offsets);
	free(st);
}

/* Install the first checked chunk, unless nobody needs it any more. */
static int install_one(struct lzb_stream *st, struct queued *q)
{
	struct lzb_image_source *src = st->src;
	int r;

	if (!q->raw) {
		src->stats.chunks_refused++;
		lzb_log(LZB_LOG_WARNING, "%s", q->why.msg);
		if (++st->refused >= STREAM_MAX_REFUSED &&
		    st->state != STREAM_FAILED) {
			/* what else it holds came the same way */
			lzb_log(LZB_LOG_WARNING, "%s: %u chunks refused, the "
				"rest chunk by chunk", st->name, st->refused);
			if (st->fetch)
				lzb_fetch_cancel(st->fetch);
			st->state = STREAM_FAILED;
			drop_queues(st);
		}
		return 0;
	}
	if (!lzb_source_chunk_wanted(src, q->c))
		return 0;
	r = lzb_source_install_chunk(src, q->c, q->raw);
	if (!r)
		src->stats.chunks_streamed++;
	return r;
}

int lzb_stream_pump(struct lzb_stream *st, bool *full, bool *ended)
{
	struct queued *q;
	uint64_t n;
	int r = 0, flags = 0;
	bool idle;

	if (read(st->ready_fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing new; the queue says what there is */
	}
	pthread_mutex_lock(&st->lock);
	q = pop(&st->checked);
	if (q)
		st->held_bytes -= q->size;
	pthread_mutex_unlock(&st->lock);
	if (q) {
		r = install_one(st, q);
		free_queued(q);
		if (r < 0)
			return r;
	}
	pthread_mutex_lock(&st->lock);
	if (st->checked.head)
		flags |= LZB_PUMP_MORE;
	*full = st->held_bytes >= STREAM_QUEUE_MAX;
	idle = !st->todo.head && !st->checked.head;
	pthread_mutex_unlock(&st->lock);
	*ended = idle && st->state != STREAM_RUNNING;
	if (*ended && st->state == STREAM_FAILED)
		st->src->stats.stream_failed = true;
	return flags;
}
