// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The page index: (task, virtual address) -> (zero | hot page | chunk,
 * offset), as fixed-size little-endian records sorted by (pid, vaddr), so a
 * pager can binary-search it with pread and never load it whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image_format.h"
#include "util/le.h"

int lzb_index_encode(const struct lzb_index_stats *st,
		     const struct lzb_index_task *tasks, uint32_t nr_tasks,
		     const struct lzb_index_chunk *chunks, uint32_t nr_chunks,
		     const struct lzb_extent *extents, uint64_t nr_extents,
		     uint8_t **out, size_t *out_len)
{
	size_t len = LZB_INDEX_HDR + (size_t)nr_tasks * LZB_INDEX_TASK +
		     (size_t)nr_chunks * LZB_INDEX_CHUNK +
		     (size_t)nr_extents * LZB_INDEX_EXTENT;
	uint8_t *p, *q;

	if (nr_tasks > LZB_MAX_TASKS || nr_chunks > LZB_MAX_OBJECTS - 2 ||
	    nr_extents > LZB_MAX_EXTENTS)
		return -1;
	p = calloc(1, len);
	if (!p)
		return -1;
	memcpy(p, LZB_INDEX_MAGIC, 8);
	put16(p + 8, LZB_FORMAT_VERSION);
	put16(p + 10, LZB_INDEX_HDR);
	put32(p + 12, LZB_PAGE_SIZE);
	put32(p + 16, nr_tasks);
	put32(p + 20, nr_chunks);
	put64(p + 24, nr_extents);
	put64(p + 32, st->pages_total);
	put64(p + 40, st->pages_hot);
	put64(p + 48, st->pages_cold);
	put64(p + 56, st->pages_zero);
	put64(p + 64, st->pages_dedup);
	put64(p + 72, st->pages_stored);
	put64(p + 80, st->raw_bytes);
	put64(p + 88, st->chunk_bytes);
	put64(p + 96, st->hot_bytes);
	q = p + LZB_INDEX_HDR;
	for (uint32_t i = 0; i < nr_tasks; i++, q += LZB_INDEX_TASK) {
		put32(q, tasks[i].pid);
		put64(q + 8, tasks[i].first);
		put64(q + 16, tasks[i].count);
		put32(q + 24, tasks[i].hot_pages);
	}
	for (uint32_t i = 0; i < nr_chunks; i++, q += LZB_INDEX_CHUNK) {
		put32(q, chunks[i].raw_pages);
		put64(q + 8, chunks[i].stored);
	}
	for (uint64_t i = 0; i < nr_extents; i++, q += LZB_INDEX_EXTENT) {
		put64(q, extents[i].vaddr);
		put32(q + 8, extents[i].nr_pages);
		q[12] = extents[i].kind;
		put32(q + 16, extents[i].chunk);
		put32(q + 20, extents[i].offset);
	}
	*out = p;
	*out_len = len;
	return 0;
}

static void decode_task(const uint8_t *q, struct lzb_index_task *t)
{
	t->pid = le32(q);
	t->first = le64(q + 8);
	t->count = le64(q + 16);
	t->hot_pages = le32(q + 24);
}

static void decode_extent(const uint8_t *q, struct lzb_extent *e)
{
	e->vaddr = le64(q);
	e->nr_pages = le32(q + 8);
	e->kind = q[12];
	e->chunk = le32(q + 16);
	e->offset = le32(q + 20);
}

void lzb_index_task(const struct lzb_index *ix, uint32_t i,
		    struct lzb_index_task *t)
{
	decode_task(ix->tasks_raw + (size_t)i * LZB_INDEX_TASK, t);
}

void lzb_index_chunk(const struct lzb_index *ix, uint32_t i,
		     struct lzb_index_chunk *c)
{
	const uint8_t *q = ix->chunks_raw + (size_t)i * LZB_INDEX_CHUNK;

	c->raw_pages = le32(q);
	c->stored = le64(q + 8);
}

void lzb_index_extent(const struct lzb_index *ix, uint64_t i,
		      struct lzb_extent *e)
{
	decode_extent(ix->extents_raw + (size_t)i * LZB_INDEX_EXTENT, e);
}

static int check_header(const char *name, const uint8_t *p, size_t len,
			struct lzb_index *ix, struct lzb_err *err)
{
	if (len < LZB_INDEX_HDR)
		return lzb_errf(err, "%s: truncated index header (%zu bytes)",
				name, len);
	if (memcmp(p, LZB_INDEX_MAGIC, 8))
		return lzb_errf(err, "%s: not a lazyboot index (bad magic)",
				name);
	if (le16(p + 8) != LZB_FORMAT_VERSION || le16(p + 10) != LZB_INDEX_HDR ||
	    le32(p + 12) != LZB_PAGE_SIZE)
		return lzb_errf(err, "%s: unsupported index version/header/page "
				"size", name);
	ix->nr_tasks = le32(p + 16);
	ix->nr_chunks = le32(p + 20);
	ix->nr_extents = le64(p + 24);
	if (ix->nr_tasks > LZB_MAX_TASKS || ix->nr_chunks > LZB_MAX_OBJECTS ||
	    ix->nr_extents > LZB_MAX_EXTENTS)
		return lzb_errf(err, "%s: index counts out of bounds (%u tasks, "
				"%u chunks, %llu extents)", name, ix->nr_tasks,
				ix->nr_chunks,
				(unsigned long long)ix->nr_extents);
	ix->st.pages_total = le64(p + 32);
	ix->st.pages_hot = le64(p + 40);
	ix->st.pages_cold = le64(p + 48);
	ix->st.pages_zero = le64(p + 56);
	ix->st.pages_dedup = le64(p + 64);
	ix->st.pages_stored = le64(p + 72);
	ix->st.raw_bytes = le64(p + 80);
	ix->st.chunk_bytes = le64(p + 88);
	ix->st.hot_bytes = le64(p + 96);
	for (int i = 104; i < (int)LZB_INDEX_HDR; i++)
		if (p[i])
			return lzb_errf(err, "%s: reserved header bytes not zero",
					name);
	return 0;
}

static bool zeros(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

int lzb_index_parse(const char *name, const uint8_t *buf, size_t len,
		    struct lzb_index *ix, struct lzb_err *err)
{
	size_t want;
	uint64_t next = 0, pages = 0;

	memset(ix, 0, sizeof(*ix));
	if (check_header(name, buf, len, ix, err))
		return -1;
	want = LZB_INDEX_HDR + (size_t)ix->nr_tasks * LZB_INDEX_TASK +
	       (size_t)ix->nr_chunks * LZB_INDEX_CHUNK +
	       (size_t)ix->nr_extents * LZB_INDEX_EXTENT;
	if (len != want)
		return lzb_errf(err, "%s: index is %zu bytes, its counts need %zu",
				name, len, want);
	ix->tasks_raw = buf + LZB_INDEX_HDR;
	ix->chunks_raw = ix->tasks_raw + (size_t)ix->nr_tasks * LZB_INDEX_TASK;
	ix->extents_raw = ix->chunks_raw +
			  (size_t)ix->nr_chunks * LZB_INDEX_CHUNK;
	for (uint32_t c = 0; c < ix->nr_chunks; c++) {
		struct lzb_index_chunk ch;

		lzb_index_chunk(ix, c, &ch);
		if (!zeros(ix->chunks_raw + (size_t)c * LZB_INDEX_CHUNK + 4, 4))
			return lzb_errf(err, "%s: chunk %u: reserved bytes not "
					"zero", name, c);
		if (!ch.raw_pages || ch.raw_pages > LZB_MAX_CHUNK / LZB_PAGE_SIZE)
			return lzb_errf(err, "%s: chunk %u has %u pages", name, c,
					ch.raw_pages);
	}
	for (uint32_t i = 0; i < ix->nr_tasks; i++) {
		struct lzb_index_task t;
		uint64_t end = 0, hot = 0;

		lzb_index_task(ix, i, &t);
		if (!zeros(ix->tasks_raw + (size_t)i * LZB_INDEX_TASK + 4, 4) ||
		    !zeros(ix->tasks_raw + (size_t)i * LZB_INDEX_TASK + 28, 4))
			return lzb_errf(err, "%s: task %u: reserved bytes not "
					"zero", name, i);
		if (i) {
			struct lzb_index_task prev;

			lzb_index_task(ix, i - 1, &prev);
			if (prev.pid >= t.pid)
				return lzb_errf(err, "%s: task table not sorted "
						"at entry %u", name, i);
		}
		if (t.first != next || t.count > ix->nr_extents - next)
			return lzb_errf(err, "%s: task %u (pid %u) has a bad "
					"extent range", name, i, t.pid);
		next += t.count;
		for (uint64_t k = t.first; k < t.first + t.count; k++) {
			struct lzb_extent e;

			lzb_index_extent(ix, k, &e);
			if (!zeros(ix->extents_raw + (size_t)k * LZB_INDEX_EXTENT +
				   13, 3))
				return lzb_errf(err, "%s: pid %u extent %llu: "
						"reserved bytes not zero", name,
						t.pid, (unsigned long long)k);
			if (e.vaddr % LZB_PAGE_SIZE || !e.nr_pages ||
			    e.vaddr < end || e.vaddr >= (1ull << 57) ||
			    e.nr_pages > ((1ull << 57) - e.vaddr) / LZB_PAGE_SIZE)
				return lzb_errf(err, "%s: pid %u extent %llu has a "
						"bad or out-of-order range", name,
						t.pid, (unsigned long long)k);
			end = e.vaddr + (uint64_t)e.nr_pages * LZB_PAGE_SIZE;
			pages += e.nr_pages;
			switch (e.kind) {
			case LZB_EXT_ZERO:
				break;
			case LZB_EXT_HOT:
				if (e.offset != hot)
					return lzb_errf(err, "%s: pid %u extent "
							"%llu: hot offset %u, "
							"want %llu", name, t.pid,
							(unsigned long long)k,
							e.offset,
							(unsigned long long)hot);
				hot += e.nr_pages;
				break;
			case LZB_EXT_COLD: {
				struct lzb_index_chunk ch;

				if (e.chunk >= ix->nr_chunks)
					return lzb_errf(err, "%s: pid %u extent "
							"%llu names chunk %u of "
							"%u", name, t.pid,
							(unsigned long long)k,
							e.chunk, ix->nr_chunks);
				lzb_index_chunk(ix, e.chunk, &ch);
				if (e.offset > ch.raw_pages ||
				    e.nr_pages > ch.raw_pages - e.offset)
					return lzb_errf(err, "%s: pid %u extent "
							"%llu runs past the end "
							"of chunk %u", name,
							t.pid,
							(unsigned long long)k,
							e.chunk);
				break;
			}
			default:
				return lzb_errf(err, "%s: pid %u extent %llu has "
						"unknown kind %u", name, t.pid,
						(unsigned long long)k, e.kind);
			}
		}
		if (hot != t.hot_pages)
			return lzb_errf(err, "%s: pid %u says %u hot pages, its "
					"extents hold %llu", name, t.pid,
					t.hot_pages, (unsigned long long)hot);
	}
	if (next != ix->nr_extents)
		return lzb_errf(err, "%s: %llu extents belong to no task", name,
				(unsigned long long)(ix->nr_extents - next));
	if (pages != ix->st.pages_total)
		return lzb_errf(err, "%s: extents hold %llu pages, header says "
				"%llu", name, (unsigned long long)pages,
				(unsigned long long)ix->st.pages_total);
	return 0;
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done,
				  (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

int lzb_index_lookup_fd(int fd, uint32_t pid, uint64_t vaddr,
			struct lzb_extent *e, struct lzb_err *err)
{
	uint8_t hdr[LZB_INDEX_HDR], rec[LZB_INDEX_EXTENT];
	struct lzb_index ix;
	struct lzb_index_task t;
	uint64_t lo, hi, ext_base;
	uint32_t tlo = 0, thi;
	bool found = false;

	if (pread_all(fd, hdr, sizeof(hdr), 0))
		return lzb_errf(err, "index: cannot read header");
	if (check_header("index", hdr, sizeof(hdr), &ix, err))
		return -1;
	thi = ix.nr_tasks;
	while (tlo < thi) {
		uint32_t mid = tlo + (thi - tlo) / 2;
		uint8_t trec[LZB_INDEX_TASK];

		if (pread_all(fd, trec, sizeof(trec),
			      LZB_INDEX_HDR + (uint64_t)mid * LZB_INDEX_TASK))
			return lzb_errf(err, "index: truncated task table");
		decode_task(trec, &t);
		if (t.pid == pid) {
			found = true;
			break;
		}
		if (t.pid < pid)
			tlo = mid + 1;
		else
			thi = mid;
	}
	if (!found)
		return 0;
	if (t.first > ix.nr_extents || t.count > ix.nr_extents - t.first)
		return lzb_errf(err, "index: pid %u has a bad extent range", pid);
	ext_base = LZB_INDEX_HDR + (uint64_t)ix.nr_tasks * LZB_INDEX_TASK +
		   (uint64_t)ix.nr_chunks * LZB_INDEX_CHUNK;
	lo = t.first;
	hi = t.first + t.count;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (pread_all(fd, rec, sizeof(rec),
			      ext_base + mid * LZB_INDEX_EXTENT))
			return lzb_errf(err, "index: truncated extent table");
		decode_extent(rec, e);
		if (vaddr < e->vaddr)
			hi = mid;
		else if ((vaddr - e->vaddr) / LZB_PAGE_SIZE >= e->nr_pages)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

int lzb_index_find_task(const struct lzb_index *ix, uint32_t pid,
			struct lzb_index_task *t)
{
	for (uint32_t i = 0; i < ix->nr_tasks; i++) {
		lzb_index_task(ix, i, t);
		if (t->pid == pid)
			return 0;
	}
	return -1;
}
