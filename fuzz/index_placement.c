// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: index -> chunk placement.  The pager's image source
 * (daemon/pager/image_source.c) turns an index that passed
 * lzb_index_parse into, per chunk, the runs of pages it installs into
 * tasks; a fetched chunk is copied into every run.  Whatever the index,
 * every run must lie inside its chunk (offset + pages within the
 * chunk's raw pages), belong to a task of the index and be one of its
 * cold extents, and the runs of all chunks together must be exactly the
 * cold extents, each once.
 *
 * First byte even: the rest is an index as stored (seeds: real indexes).
 * Odd: the rest describes one compactly and the real encoder
 * (lzb_index_encode) writes it, so overlapping, out-of-order,
 * out-of-range and repeated entries reach the parser and, when it takes
 * them, the placement:
 *   1 byte chunks (1 + b % 8), then per chunk 1 byte raw pages;
 *   1 byte tasks (1 + b % 4); per task 1 byte pid step, 1 byte extents
 *   (b % 8), per extent 5 bytes: page step (signed), pages, kind,
 *   chunk, offset.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lazy_ranges.h"
#include "engine/uffd_engine.h"
#include "image/image_format.h"
#include "image/image_reader.h"
#include "pager/image_source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int no_source(void *ctx, struct lzb_engine *engine, int img_pid,
		     uint64_t img_addr, uint64_t len, bool urgent)
{
	(void)ctx, (void)engine, (void)img_pid, (void)img_addr, (void)len;
	(void)urgent;
	return 0;
}

/* The compact description, encoded; 0 and *out, or -1. */
static int encode(const uint8_t *d, size_t n, uint8_t **out, size_t *len)
{
	struct lzb_index_chunk chunks[8];
	struct lzb_index_task tasks[4];
	struct lzb_extent ext[32];
	struct lzb_index_stats st = { 0 };
	uint32_t nc, nt, ne = 0, pid = 0;
	size_t i = 0;

	if (n < 1)
		return -1;
	nc = 1 + d[i++] % 8;
	for (uint32_t c = 0; c < nc; c++)
		chunks[c] = (struct lzb_index_chunk){
			.raw_pages = i < n ? d[i++] : 1, .stored = 100 };
	nt = i < n ? 1 + d[i++] % 4 : 1;
	for (uint32_t t = 0; t < nt; t++) {
		uint64_t va = 0x400000, hot = 0;
		uint32_t count;

		pid += i < n ? d[i++] : 1;
		count = i < n ? d[i++] % 8 : 0;
		tasks[t] = (struct lzb_index_task){ .pid = pid, .first = ne };
		for (uint32_t k = 0; k < count && i + 5 <= n; k++, i += 5) {
			struct lzb_extent *e = &ext[ne++];

			va += (uint64_t)(int64_t)(int8_t)d[i] * LZB_PAGE_SIZE;
			e->vaddr = va;
			e->nr_pages = d[i + 1];
			e->kind = d[i + 2] % 4;
			e->chunk = d[i + 3];
			e->offset = d[i + 4];
			if (e->kind == LZB_EXT_HOT) {
				/* hot offsets as the packer writes them */
				e->offset = (uint32_t)hot;
				hot += e->nr_pages;
			}
			st.pages_total += e->nr_pages;
			va += (uint64_t)e->nr_pages * LZB_PAGE_SIZE;
			tasks[t].count++;
		}
		tasks[t].hot_pages = (uint32_t)hot;
	}
	return lzb_index_encode(&st, tasks, nt, chunks, nc, ext, ne, out, len);
}

/* Is run r of chunk c one of task pid's cold extents? */
static bool is_cold_extent(const struct lzb_index *ix, uint32_t c,
			   const struct lzb_chunk_run *r)
{
	struct lzb_index_task t;
	struct lzb_extent e;

	if (lzb_index_find_task(ix, r->pid, &t))
		return false;
	for (uint64_t k = t.first; k < t.first + t.count; k++) {
		lzb_index_extent(ix, k, &e);
		if (e.kind == LZB_EXT_COLD && e.chunk == c &&
		    e.vaddr == r->vaddr && e.nr_pages == r->nr_pages &&
		    e.offset == r->offset)
			return true;
	}
	return false;
}

static void check(struct lzb_image *img)
{
	const struct lzb_index *ix = &img->ix;
	struct lzb_engine_config config = {
		.source = { .request = no_source },
		.max_background = 1, .stream_bytes = 65536,
	};
	struct lzb_image_source *src;
	struct lzb_engine *engine;
	struct lzb_err err;
	uint64_t cold = 0, runs = 0;

	if (lzb_image_source_new(img, NULL, NULL, &src, &err))
		return;
	for (uint64_t k = 0; k < ix->nr_extents; k++) {
		struct lzb_extent e;

		lzb_index_extent(ix, k, &e);
		cold += e.kind == LZB_EXT_COLD;
	}
	for (uint32_t c = 0; c < ix->nr_chunks; c++) {
		struct lzb_index_chunk ch;
		const struct lzb_chunk_run *r;
		uint32_t n;

		lzb_index_chunk(ix, c, &ch);
		r = lzb_image_source_runs(src, c, &n);
		for (uint32_t i = 0; i < n; i++) {
			if (r[i].offset > ch.raw_pages ||
			    r[i].nr_pages > ch.raw_pages - r[i].offset ||
			    !is_cold_extent(ix, c, &r[i]))
				abort();
		}
		runs += n;
	}
	if (runs != cold)
		abort();
	/* and every task's cold memory declared to an engine */
	if (lzb_engine_new(&config, &engine))
		abort();
	lzb_image_source_add_tasks(src, engine);
	lzb_engine_free(engine);
	lzb_image_source_free(src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lzb_image img;
	struct lzb_err err;
	uint8_t *buf = NULL;
	size_t len;

	if (!size)
		return 0;
	if (data[0] & 1) {
		if (encode(data + 1, size - 1, &buf, &len))
			return 0;
	} else {
		len = size - 1;
		buf = malloc(len ? len : 1);
		if (!buf)
			return 0;
		memcpy(buf, data + 1, len);
	}
	memset(&img, 0, sizeof(img));
	strcpy(img.dir, "fuzz");
	if (!lzb_index_parse("index", buf, len, &img.ix, &err)) {
		img.has_index = true;
		check(&img);
	}
	free(buf);
	return 0;
}
