// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pager/image_source.h"
#include "pager/image_source_internal.h"
#include "util/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* The extent of task t holding vaddr (extents are sorted by address). */
static int find_extent(const struct lzb_index *ix,
		       const struct lzb_index_task *t, uint64_t vaddr,
		       struct lzb_extent *e)
{
	uint64_t lo = 0, hi = t->count;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		lzb_index_extent(ix, t->first + mid, e);
		if (vaddr < e->vaddr)
			hi = mid;
		else if (vaddr >= e->vaddr + (uint64_t)e->nr_pages * LZB_PAGE_SIZE)
			lo = mid + 1;
		else
			return 0;
	}
	return -1;
}

int lzb_image_source_new(struct lzb_image *img, struct lzb_fetcher *f,
			 struct lzb_mirrors *m, struct lzb_image_source **out,
			 struct lzb_err *err)
{
	const struct lzb_index *ix = &img->ix;
	struct lzb_image_source *src;
	uint64_t cold = 0, k;
	uint32_t c, *fill;

	if (!img->has_index)
		return lzb_errf(err, "%s: index not loaded", img->dir);
	src = calloc(1, sizeof(*src));
	if (!src)
		return lzb_errf(err, "out of memory");
	src->img = img;
	src->ready_fd = src->pump_fd = -1;
	src->fetcher = f;
	src->mirrors = m;
	src->chunks = calloc(ix->nr_chunks ? ix->nr_chunks : 1,
			     sizeof(*src->chunks));
	for (k = 0; k < ix->nr_extents; k++) {
		struct lzb_extent e;

		lzb_index_extent(ix, k, &e);
		if (e.kind == LZB_EXT_COLD)
			cold++;
	}
	src->runs = calloc(cold ? cold : 1, sizeof(*src->runs));
	fill = calloc(ix->nr_chunks ? ix->nr_chunks : 1, sizeof(*fill));
	if (!src->chunks || !src->runs || !fill)
		goto oom;

	/* Group the cold extents by chunk: count, then place. */
	for (k = 0; k < ix->nr_extents; k++) {
		struct lzb_extent e;

		lzb_index_extent(ix, k, &e);
		if (e.kind != LZB_EXT_COLD)
			continue;
		if (e.chunk >= ix->nr_chunks) {
			free(fill);
			lzb_image_source_free(src);
			return lzb_errf(err, "%s: index extent %llu names chunk "
					"%u of %u", img->dir,
					(unsigned long long)k, e.chunk,
					ix->nr_chunks);
		}
		src->chunks[e.chunk].count++;
	}
	for (c = 0, k = 0; c < ix->nr_chunks; c++) {
		src->chunks[c].first = (uint32_t)k;
		k += src->chunks[c].count;
	}
	for (uint32_t i = 0; i < ix->nr_tasks; i++) {
		struct lzb_index_task t;

		lzb_index_task(ix, i, &t);
		for (k = 0; k < t.count; k++) {
			struct lzb_extent e;
			struct lzb_chunk_run *p;

			lzb_index_extent(ix, t.first + k, &e);
			if (e.kind != LZB_EXT_COLD)
				continue;
			p = &src->runs[src->chunks[e.chunk].first +
				       fill[e.chunk]++];
			p->pid = t.pid;
			p->vaddr = e.vaddr;
			p->nr_pages = e.nr_pages;
			p->offset = e.offset;
		}
	}
	free(fill);
	*out = src;
	return 0;
oom:
	free(fill);
	lzb_image_source_free(src);
	return lzb_errf(err, "out of memory");
}

void lzb_image_source_free(struct lzb_image_source *src)
{
	if (!src)
		return;
	lzb_stream_free(src->stream);
	if (src->ready_fd >= 0)
		close(src->ready_fd);
	if (src->pump_fd >= 0)
		close(src->pump_fd);
	if (src->chunks) {
		for (uint32_t c = 0; c < src->img->ix.nr_chunks; c++)
			if (src->chunks[c].state == CHUNK_FETCHING)
				lzb_fetch_cancel(src->chunks[c].fetch);
	}
	free(src->chunks);
	free(src->runs);
	free(src);
}

int lzb_image_source_add_tasks(struct lzb_image_source *src,
			       struct lzb_engine *engine)
{
	const struct lzb_index *ix = &src->img->ix;
	int err = 0;

	for (uint32_t i = 0; i < ix->nr_tasks && !err; i++) {
		struct lzb_index_task t;
		struct lzb_ranges lazy;

		lzb_index_task(ix, i, &t);
		lzb_ranges_init(&lazy);
		for (uint64_t k = 0; k < t.count && !err; k++) {
			struct lzb_extent e;
			uint64_t len;

			lzb_index_extent(ix, t.first + k, &e);
			if (e.kind != LZB_EXT_COLD)
				continue;
			len = (uint64_t)e.nr_pages * LZB_PAGE_SIZE;
			/* Adjacent extents from different chunks: merge. */
			if (lazy.n && lazy.v[lazy.n - 1].end == e.vaddr)
				lazy.v[lazy.n - 1].end += len;
			else
				err = lzb_ranges_add(&lazy, e.vaddr,
						     e.vaddr + len, e.vaddr);
		}
		if (!err)
			err = lzb_engine_add_task(engine, (int)t.pid, &lazy);
		lzb_ranges_free(&lazy);
	}
	return err;
}

static void set_error(struct lzb_image_source *src, const char *msg)
{
	if (!src->error[0])
		snprintf(src->error, sizeof(src->error), "%s", msg);
}

const struct lzb_chunk_run *
lzb_image_source_runs(const struct lzb_image_source *src, uint32_t c,
		      uint32_t *n)
{
	if (c >= src->img->ix.nr_chunks) {
		*n = 0;
		return NULL;
	}
	*n = src->chunks[c].count;
	return &src->runs[src->chunks[c].first];
}

/* Install a verified, decoded chunk wherever its pages belong. */
static int deliver(struct lzb_image_source *src, uint32_t c,
		   const uint8_t *raw)
{
	uint32_t n;
	const struct lzb_chunk_run *runs = lzb_image_source_runs(src, c, &n);

	for (uint32_t i = 0; i < n; i++) {
		const struct lzb_chunk_run *p = &runs[i];
		int err = lzb_engine_install(src->engine, (int)p->pid, p->vaddr,
					     raw + (uint64_t)p->offset *
							   LZB_PAGE_SIZE,
					     (uint64_t)p->nr_pages *
						     LZB_PAGE_SIZE);

		if (err)
			return err;
		src->stats.pages_delivered += p->nr_pages;
	}
	return 0;
}

/* Tell the engine none of chunk c's pages will come. */
static void fail_chunk(struct lzb_image_source *src, uint32_t c, int err)
{
	uint32_t n;
	const struct lzb_chunk_run *runs = lzb_image_source_runs(src, c, &n);

	for (uint32_t i = 0; i < n; i++) {
		const struct lzb_chunk_run *p = &runs[i];

		lzb_engine_fail(src->engine, (int)p->pid, p->vaddr,
				(uint64_t)p->nr_pages * LZB_PAGE_SIZE, err);
	}
}

/*
 * A mirror's bytes of a fetched chunk, checked against the signed
 * manifest and decoded (lzb_image_open_chunk): never install bytes the
 * manifest does not vouch for.  Refused bytes are that mirror's failure:
 * fetch/ asks the next mirror for the same chunk, at the same priority,
 * so a fault is not lost to one bad mirror.
 */
static int chunk_check(void *arg, const uint8_t *buf, uint64_t len,
		       struct lzb_err *err)
{
	const struct chunk_fetch *cf = arg;
	struct lzb_image_source *src = cf->src;
	struct chunk *ch = &src->chunks[cf->c];
	char where[32];

	snprintf(where, sizeof(where), "chunk %u", cf->c);
	free(ch->raw);
	if (lzb_image_open_chunk(src->img, cf->c, where, buf, (size_t)len,
				 &ch->raw, err)) {
		src->stats.chunks_refused++;
		return -1;
	}
	return 0;
}

int lzb_source_install_chunk(struct lzb_image_source *src, uint32_t c,
			     const uint8_t *raw)
{
	int r = deliver(src, c, raw);

	if (r) {
		fail_chunk(src, c, r);
		return r;
	}
	src->stats.chunks_fetched++;
	return 0;
}

bool lzb_source_chunk_wanted(const struct lzb_image_source *src, uint32_t c)
{
	uint32_t n;
	const struct lzb_chunk_run *runs = lzb_image_source_runs(src, c, &n);

	for (uint32_t i = 0; i < n; i++)
		if (lzb_engine_wants(src->engine, (int)runs[i].pid,
				     runs[i].vaddr,
				     (uint64_t)runs[i].nr_pages *
					     LZB_PAGE_SIZE))
			return true;
	return false;
}

/*
 * With hold_for_faults (--stream-yield hold), while a fault's chunk is
 * being fetched the stream is held (its TCP window closed:
 * lzb_fetcher_hold), so that chunk has the path to itself instead of
 * sharing it with the stream's bytes.
 */
static void count_urgent(struct lzb_image_source *src, struct chunk *ch,
			 bool on)
{
	if (ch->holding == on)
		return;
	ch->holding = on;
	if (on)
		src->urgent_running++;
	else
		src->urgent_running--;
	if (src->stream_fetcher && src->hold_for_faults)
		lzb_fetcher_hold(src->stream_fetcher, src->urgent_running > 0);
}

static void chunk_done(struct lzb_fetch *req, int ferr, const char *msg,
		       uint64_t len, void *arg)
{
	struct chunk_fetch *cf = arg;
	struct lzb_image_source *src = cf->src;
	struct chunk *ch = &src->chunks[cf->c];
	uint32_t c = cf->c;
	int r;

	(void)req;
	free(cf);
	ch->state = CHUNK_IDLE;
	ch->fetch = NULL;
	count_urgent(src, ch, false);
	if (ch->fallback) {
		ch->fallback = false;
		src->bg_running--;
	}
	if (ferr) {
		/* Every mirror failed (each named in msg), or the deadline. */
		set_error(src, msg);
		r = ferr;
	} else {
		src->stats.chunks_fetched++;
		src->stats.chunks_urgent += ch->urgent;
		src->stats.bytes_fetched += len;
		if (ch->urgent)
			src->stats.bytes_urgent += len;
		r = deliver(src, c, ch->raw);
	}
	free(ch->buf);
	ch->buf = NULL;
	free(ch->raw);
	ch->raw = NULL;
	if (r)
		fail_chunk(src, c, r);
}

int lzb_source_fetch_chunk(struct lzb_image_source *src, uint32_t c,
			   bool urgent)
{
	const struct lzb_object *o = &src->img->m.objects[lzb_chunk_slot(c)];
	struct chunk *ch = &src->chunks[c];
	char name[4 + 2 * LZB_HASH_BYTES + 1];
	struct lzb_fetch_spec spec = { 0 };
	struct chunk_fetch *cf;

	if (ch->state == CHUNK_FETCHING) {
		if (urgent && !ch->urgent) {
			ch->urgent = true;
			count_urgent(src, ch, true);
			lzb_fetch_promote(ch->fetch);
		}
		return 0;
	}
	cf = malloc(sizeof(*cf));
	ch->buf = malloc(o->size ? o->size : 1);
	if (!cf || !ch->buf) {
		free(cf);
		free(ch->buf);
		ch->buf = NULL;
		return -ENOMEM;
	}
	cf->src = src;
	cf->c = c;
	lzb_object_name(name, o);
	spec.mirrors = src->mirrors;
	spec.path = name;
	spec.expected_size = (int64_t)o->size;
	spec.buf = ch->buf;
	spec.buf_size = o->size;
	spec.prio = urgent ? LZB_PRIO_FAULT : LZB_PRIO_BACKGROUND;
	spec.deadline_ms = CHUNK_DEADLINE_MS;
	spec.content_addressed = true;
	/* The tasks die if it fails: a busy server only delays it. */
	spec.retry_until_deadline = true;
	spec.check = chunk_check;
	spec.check_arg = cf;
	spec.done = chunk_done;
	spec.done_arg = cf;
	ch->state = CHUNK_FETCHING;
	ch->urgent = urgent;
	count_urgent(src, ch, urgent);
	ch->fetch = lzb_fetch_submit(src->fetcher, &spec);
	if (!ch->fetch) {
		int err = -errno;

		count_urgent(src, ch, false);
		ch->state = CHUNK_IDLE;
		free(cf);
		free(ch->buf);
		ch->buf = NULL;
		return err;
	}
	return 0;
}

int lzb_image_source_request(void *ctx, struct lzb_engine *engine,
			     int img_pid, uint64_t img_addr, uint64_t len,
			     bool urgent)
{
	struct lzb_image_source *src = ctx;
	const struct lzb_index *ix = &src->img->ix;
	struct lzb_index_task t;
	uint64_t a = img_addr;
	int err;

	src->engine = engine;
	if (lzb_index_find_task(ix, (uint32_t)img_pid, &t))
		return -ESRCH;
	while (a < img_addr + len) {
		struct lzb_extent e;
		uint64_t end;

		if (find_extent(ix, &t, a, &e) || e.kind != LZB_EXT_COLD)
			return -ENODATA;	/* the engine asked for non-lazy memory */
		err = lzb_source_fetch_chunk(src, e.chunk, urgent);
		if (err)
			return err;
		/* Urgent requests are one page; background ones may span
		 * several extents and chunks. */
		end = e.vaddr + (uint64_t)e.nr_pages * LZB_PAGE_SIZE;
		a = end;
	}
	return 0;
}

void lzb_image_source_set_streaming(struct lzb_image_source *src,
				    struct lzb_fetcher *stream_fetcher,
				    unsigned int max_background,
				    bool hold_for_faults)
{
	struct epoll_event ev = { .events = EPOLLIN };

	src->max_background = max_background ? max_background : 4;
	if (!stream_fetcher || src->pump_fd >= 0)
		return;
	src->ready_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	src->pump_fd = epoll_create1(EPOLL_CLOEXEC);
	if (src->ready_fd < 0 || src->pump_fd < 0 ||
	    epoll_ctl(src->pump_fd, EPOLL_CTL_ADD, src->ready_fd, &ev))
		return;		/* no stream: chunk by chunk */
	src->stream_fetcher = stream_fetcher;
	src->hold_for_faults = hold_for_faults;
}

int lzb_image_source_pump_fd(void *ctx)
{
	const struct lzb_image_source *src = ctx;

	return src->pump_fd;
}

/* Poll the stream's fetcher (through pump_fd) only while it may be read. */
static void watch_stream_fetcher(struct lzb_image_source *src, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = lzb_fetcher_fd(src->stream_fetcher);

	if (on == src->stream_fd_watched)
		return;
	if (!epoll_ctl(src->pump_fd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd,
		       &ev))
		src->stream_fd_watched = on;
}

/*
 * What the stream did not bring (none found, failed, or refused chunks),
 * chunk by chunk in the stream's order, max_background at a time.
 */
static int top_up_fallback(struct lzb_image_source *src)
{
	uint32_t n = src->img->ix.nr_chunks;

	while (src->bg_running < src->max_background &&
	       src->next_fallback < n) {
		uint32_t c = src->next_fallback++;
		struct chunk *ch = &src->chunks[c];
		int err;

		if (ch->state == CHUNK_FETCHING ||
		    !lzb_source_chunk_wanted(src, c))
			continue;
		err = lzb_source_fetch_chunk(src, c, false);
		if (err)
			return err;
		ch->fallback = true;
		src->bg_running++;
	}
	return 0;
}

int lzb_image_source_pump(void *ctx, struct lzb_engine *engine)
{
	struct lzb_image_source *src = ctx;
	bool ended = false;
	int flags;

	src->engine = engine;
	if (!src->pump_started) {
		if (src->stream_fetcher) {
			struct lzb_engine_stats es;

			lzb_engine_get_stats(engine, &es);
			if (!lzb_stream_gate_open(&src->gate, es.faults,
						  lzb_now_ms()))
				return 0;	/* the loop comes back in 20 ms */
			src->stream = lzb_stream_start(src, src->ready_fd);
		}
		src->pump_started = true;
		lzb_engine_background_began(engine);
	}
	if (src->stream) {
		bool full = false;

		/* what arrived, unless enough waits (its child then blocks,
		 * and the server with it: that bounds the memory) */
		if (src->stream_fd_watched)
			lzb_fetcher_process(src->stream_fetcher);
		flags = lzb_stream_pump(src->stream, &full, &ended);
		if (flags < 0)
			return flags;
		watch_stream_fetcher(src, !full && !ended);
		if (!ended)
			return flags;
		lzb_stream_free(src->stream);
		src->stream = NULL;
	}
	return top_up_fallback(src);
}

const char *lzb_image_source_error(const struct lzb_image_source *src)
{
	return src->error[0] ? src->error : NULL;
}

void lzb_image_source_get_stats(const struct lzb_image_source *src,
				struct lzb_image_source_stats *stats)
{
	*stats = src->stats;
}
