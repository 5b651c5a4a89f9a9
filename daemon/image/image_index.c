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

/* Where the three tables of an index with these counts start and end. */
struct index_layout {
	size_t tasks, chunks, extents, end;
};

static struct index_layout index_layout(uint64_t nr_tasks, uint64_t nr_chunks,
					uint64_t nr_extents)
{
	struct index_layout l;

	l.tasks = sizeof(struct lzb_disk_index);
	l.chunks = l.tasks + nr_tasks * sizeof(struct lzb_disk_index_task);
	l.extents = l.chunks + nr_chunks * sizeof(struct lzb_disk_index_chunk);
	l.end = l.extents + nr_extents * sizeof(struct lzb_disk_index_extent);
	return l;
}

int lzb_index_encode(const struct lzb_index_stats *st,
		     const struct lzb_index_task *tasks, uint32_t nr_tasks,
		     const struct lzb_index_chunk *chunks, uint32_t nr_chunks,
		     const struct lzb_extent *extents, uint64_t nr_extents,
		     uint8_t **out, size_t *out_len)
{
	struct index_layout l = index_layout(nr_tasks, nr_chunks, nr_extents);
	struct lzb_disk_index_extent *de;
	struct lzb_disk_index_chunk *dc;
	struct lzb_disk_index_task *dt;
	struct lzb_disk_index *h;
	uint8_t *p;

	if (nr_tasks > LZB_MAX_TASKS ||
	    nr_chunks > lzb_nr_chunks(LZB_MAX_OBJECTS) ||
	    nr_extents > LZB_MAX_EXTENTS)
		return -1;
	p = calloc(1, l.end);
	if (!p)
		return -1;
	h = (struct lzb_disk_index *)p;
	memcpy(h->magic, LZB_INDEX_MAGIC, sizeof(h->magic));
	lzb_le16_store(&h->format_version, LZB_FORMAT_VERSION);
	lzb_le16_store(&h->header_size, LZB_INDEX_HDR);
	lzb_le32_store(&h->page_size, LZB_PAGE_SIZE);
	lzb_le32_store(&h->nr_tasks, nr_tasks);
	lzb_le32_store(&h->nr_chunks, nr_chunks);
	lzb_le64_store(&h->nr_extents, nr_extents);
	lzb_le64_store(&h->pages_total, st->pages_total);
	lzb_le64_store(&h->pages_hot, st->pages_hot);
	lzb_le64_store(&h->pages_cold, st->pages_cold);
	lzb_le64_store(&h->pages_zero, st->pages_zero);
	lzb_le64_store(&h->pages_dedup, st->pages_dedup);
	lzb_le64_store(&h->pages_stored, st->pages_stored);
	lzb_le64_store(&h->raw_bytes, st->raw_bytes);
	lzb_le64_store(&h->chunk_bytes, st->chunk_bytes);
	lzb_le64_store(&h->hot_bytes, st->hot_bytes);
	dt = (struct lzb_disk_index_task *)(p + l.tasks);
	for (uint32_t i = 0; i < nr_tasks; i++) {
		lzb_le32_store(&dt[i].pid, tasks[i].pid);
		lzb_le64_store(&dt[i].first, tasks[i].first);
		lzb_le64_store(&dt[i].count, tasks[i].count);
		lzb_le32_store(&dt[i].hot_pages, tasks[i].hot_pages);
	}
	dc = (struct lzb_disk_index_chunk *)(p + l.chunks);
	for (uint32_t i = 0; i < nr_chunks; i++) {
		lzb_le32_store(&dc[i].raw_pages, chunks[i].raw_pages);
		lzb_le64_store(&dc[i].stored, chunks[i].stored);
	}
	de = (struct lzb_disk_index_extent *)(p + l.extents);
	for (uint64_t i = 0; i < nr_extents; i++) {
		lzb_le64_store(&de[i].vaddr, extents[i].vaddr);
		lzb_le32_store(&de[i].nr_pages, extents[i].nr_pages);
		de[i].kind = extents[i].kind;
		lzb_le32_store(&de[i].chunk, extents[i].chunk);
		lzb_le32_store(&de[i].offset, extents[i].offset);
	}
	*out = p;
	*out_len = l.end;
	return 0;
}

static void decode_task(const struct lzb_disk_index_task *dt,
			struct lzb_index_task *t)
{
	t->pid = lzb_le32_load(dt->pid);
	t->first = lzb_le64_load(dt->first);
	t->count = lzb_le64_load(dt->count);
	t->hot_pages = lzb_le32_load(dt->hot_pages);
}

static void decode_extent(const struct lzb_disk_index_extent *de,
			  struct lzb_extent *e)
{
	e->vaddr = lzb_le64_load(de->vaddr);
	e->nr_pages = lzb_le32_load(de->nr_pages);
	e->kind = de->kind;
	e->chunk = lzb_le32_load(de->chunk);
	e->offset = lzb_le32_load(de->offset);
}

static const struct lzb_disk_index_task *task_rec(const struct lzb_index *ix,
						  uint32_t i)
{
	return (const struct lzb_disk_index_task *)ix->tasks_raw + i;
}

static const struct lzb_disk_index_chunk *chunk_rec(const struct lzb_index *ix,
						   uint32_t i)
{
	return (const struct lzb_disk_index_chunk *)ix->chunks_raw + i;
}

static const struct lzb_disk_index_extent *
extent_rec(const struct lzb_index *ix, uint64_t i)
{
	return (const struct lzb_disk_index_extent *)ix->extents_raw + i;
}

void lzb_index_task(const struct lzb_index *ix, uint32_t i,
		    struct lzb_index_task *t)
{
	decode_task(task_rec(ix, i), t);
}

void lzb_index_chunk(const struct lzb_index *ix, uint32_t i,
		     struct lzb_index_chunk *c)
{
	const struct lzb_disk_index_chunk *dc = chunk_rec(ix, i);

	c->raw_pages = lzb_le32_load(dc->raw_pages);
	c->stored = lzb_le64_load(dc->stored);
}

void lzb_index_extent(const struct lzb_index *ix, uint64_t i,
		      struct lzb_extent *e)
{
	decode_extent(extent_rec(ix, i), e);
}

static int check_header(const char *name, const uint8_t *p, size_t len,
			struct lzb_index *ix, struct lzb_err *err)
{
	const struct lzb_disk_index *h = (const void *)p;

	if (len < LZB_INDEX_HDR)
		return lzb_errf(err, "%s: truncated index header (%zu bytes)",
				name, len);
	if (memcmp(h->magic, LZB_INDEX_MAGIC, sizeof(h->magic)))
		return lzb_errf(err, "%s: not a lazyboot index (bad magic)",
				name);
	if (lzb_le16_load(h->format_version) != LZB_FORMAT_VERSION ||
	    lzb_le16_load(h->header_size) != LZB_INDEX_HDR ||
	    lzb_le32_load(h->page_size) != LZB_PAGE_SIZE)
		return lzb_errf(err, "%s: unsupported index version/header/page "
				"size", name);
	ix->nr_tasks = lzb_le32_load(h->nr_tasks);
	ix->nr_chunks = lzb_le32_load(h->nr_chunks);
	ix->nr_extents = lzb_le64_load(h->nr_extents);
	if (ix->nr_tasks > LZB_MAX_TASKS || ix->nr_chunks > LZB_MAX_OBJECTS ||
	    ix->nr_extents > LZB_MAX_EXTENTS)
		return lzb_errf(err, "%s: index counts out of bounds (%u tasks, "
				"%u chunks, %llu extents)", name, ix->nr_tasks,
				ix->nr_chunks,
				(unsigned long long)ix->nr_extents);
	ix->st.pages_total = lzb_le64_load(h->pages_total);
	ix->st.pages_hot = lzb_le64_load(h->pages_hot);
	ix->st.pages_cold = lzb_le64_load(h->pages_cold);
	ix->st.pages_zero = lzb_le64_load(h->pages_zero);
	ix->st.pages_dedup = lzb_le64_load(h->pages_dedup);
	ix->st.pages_stored = lzb_le64_load(h->pages_stored);
	ix->st.raw_bytes = lzb_le64_load(h->raw_bytes);
	ix->st.chunk_bytes = lzb_le64_load(h->chunk_bytes);
	ix->st.hot_bytes = lzb_le64_load(h->hot_bytes);
	if (!lzb_disk_zeros(h->reserved, sizeof(h->reserved)))
		return lzb_errf(err, "%s: reserved header bytes not zero",
				name);
	return 0;
}

int lzb_index_parse(const char *name, const uint8_t *buf, size_t len,
		    struct lzb_index *ix, struct lzb_err *err)
{
	struct index_layout l;
	uint64_t next = 0, pages = 0;

	memset(ix, 0, sizeof(*ix));
	if (check_header(name, buf, len, ix, err))
		return -1;
	l = index_layout(ix->nr_tasks, ix->nr_chunks, ix->nr_extents);
	if (len != l.end)
		return lzb_errf(err, "%s: index is %zu bytes, its counts need %zu",
				name, len, l.end);
	ix->tasks_raw = buf + l.tasks;
	ix->chunks_raw = buf + l.chunks;
	ix->extents_raw = buf + l.extents;
	for (uint32_t c = 0; c < ix->nr_chunks; c++) {
		const struct lzb_disk_index_chunk *dc = chunk_rec(ix, c);
		struct lzb_index_chunk ch;

		lzb_index_chunk(ix, c, &ch);
		if (!lzb_disk_zeros(dc->reserved, sizeof(dc->reserved)))
			return lzb_errf(err, "%s: chunk %u: reserved bytes not "
					"zero", name, c);
		if (!ch.raw_pages || ch.raw_pages > LZB_MAX_CHUNK / LZB_PAGE_SIZE)
			return lzb_errf(err, "%s: chunk %u has %u pages", name, c,
					ch.raw_pages);
	}
	for (uint32_t i = 0; i < ix->nr_tasks; i++) {
		const struct lzb_disk_index_task *dt = task_rec(ix, i);
		struct lzb_index_task t;
		uint64_t end = 0, hot = 0;

		lzb_index_task(ix, i, &t);
		if (!lzb_disk_zeros(dt->reserved_after_pid,
			   sizeof(dt->reserved_after_pid)) ||
		    !lzb_disk_zeros(dt->reserved_end, sizeof(dt->reserved_end)))
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
			const struct lzb_disk_index_extent *de =
				extent_rec(ix, k);
			struct lzb_extent e;

			decode_extent(de, &e);
			if (!lzb_disk_zeros(de->reserved, sizeof(de->reserved)))
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
	uint8_t hdr[sizeof(struct lzb_disk_index)];
	struct lzb_disk_index_extent rec;
	struct index_layout l;
	struct lzb_index ix;
	struct lzb_index_task t;
	uint64_t lo, hi;
	uint32_t tlo = 0, thi;
	bool found = false;

	if (pread_all(fd, hdr, sizeof(hdr), 0))
		return lzb_errf(err, "index: cannot read header");
	if (check_header("index", hdr, sizeof(hdr), &ix, err))
		return -1;
	thi = ix.nr_tasks;
	while (tlo < thi) {
		uint32_t mid = tlo + (thi - tlo) / 2;
		struct lzb_disk_index_task trec;

		if (pread_all(fd, &trec, sizeof(trec),
			      sizeof(hdr) + (uint64_t)mid * sizeof(trec)))
			return lzb_errf(err, "index: truncated task table");
		decode_task(&trec, &t);
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
	l = index_layout(ix.nr_tasks, ix.nr_chunks, 0);
	lo = t.first;
	hi = t.first + t.count;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (pread_all(fd, &rec, sizeof(rec),
			      l.extents + mid * sizeof(rec)))
			return lzb_errf(err, "index: truncated extent table");
		decode_extent(&rec, e);
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
