// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reading CRIU image files (see criu_image.h).  The layout is: u32 magic
 * words (little-endian), then records of u32 length + protobuf message.
 * Field numbers come from the message definitions CRIU documents (and
 * `crit` shows); the decoding here is our own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criu/criu_image.h"
#include "util/file_util.h"
#include "util/page.h"
#include "util/pbwire.h"
#include "util/vec.h"

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

int lzb_criu_img_open(struct lzb_criu_img_iter *it, const char *name,
		      const uint8_t *buf, size_t len, uint32_t expect,
		      struct lzb_err *err)
{
	size_t off = 0;

	it->name = name;
	it->buf = buf;
	it->len = len;
	if (expect != CRIU_MAGIC_INVENTORY) {
		if (len < 4)
			return lzb_errf(err, "%s: truncated: %zu bytes, no magic",
					name, len);
		if (get_le32(buf) != CRIU_IMG_COMMON_MAGIC)
			return lzb_errf(err, "%s: not a CRIU image (magic 0x%08x, "
					"want 0x%08x)", name, get_le32(buf),
					CRIU_IMG_COMMON_MAGIC);
		off = 4;
	}
	if (len - off < 4)
		return lzb_errf(err, "%s: truncated: no image type magic", name);
	if (get_le32(buf + off) != expect)
		return lzb_errf(err, "%s: wrong image type (magic 0x%08x, want "
				"0x%08x)", name, get_le32(buf + off), expect);
	it->off = off + 4;
	return 0;
}

int lzb_criu_img_next(struct lzb_criu_img_iter *it, const uint8_t **rec,
		      size_t *rec_len, struct lzb_err *err)
{
	uint32_t n;

	if (it->off == it->len)
		return 0;
	if (it->len - it->off < 4)
		return lzb_errf(err, "%s: truncated record header at offset %zu",
				it->name, it->off);
	n = get_le32(it->buf + it->off);
	if (n > CRIU_MAX_RECORD_BYTES)
		return lzb_errf(err, "%s: record of %u bytes at offset %zu is "
				"larger than the %u allowed", it->name, n,
				it->off, CRIU_MAX_RECORD_BYTES);
	if (n > it->len - it->off - 4)
		return lzb_errf(err, "%s: truncated: record at offset %zu wants "
				"%u bytes, %zu left", it->name, it->off, n,
				it->len - it->off - 4);
	*rec = it->buf + it->off + 4;
	*rec_len = n;
	it->off += 4 + (size_t)n;
	return 1;
}

static int bad_pb(struct lzb_err *err, const char *name, const char *what,
		  size_t idx)
{
	return lzb_errf(err, "%s: malformed %s (record %zu)", name, what, idx);
}

int lzb_criu_parse_pagemap(const char *name, const uint8_t *buf, size_t len,
			   struct lzb_criu_pagemap *pm, struct lzb_err *err)
{
	struct lzb_criu_img_iter it;
	const uint8_t *rec;
	size_t rec_len, cap = 0, idx = 0;
	bool have_head = false;
	uint64_t prev_end = 0;
	int r;

	memset(pm, 0, sizeof(*pm));
	if (lzb_criu_img_open(&it, name, buf, len, CRIU_MAGIC_PAGEMAP, err))
		return -1;
	while ((r = lzb_criu_img_next(&it, &rec, &rec_len, err)) == 1) {
		struct lzb_pb_reader rd;
		struct lzb_pb_field f;
		struct lzb_criu_pagemap_entry e = { 0 };
		bool has_vaddr = false, has_nr2 = false, has_nr5 = false;
		bool has_flags = false, in_parent = false;
		uint64_t nr2 = 0, nr5 = 0;
		int k;

		lzb_pb_reader_init(&rd, rec, rec_len);
		if (!have_head) {
			bool has_id = false;

			while ((k = lzb_pb_next(&rd, &f)) == 1)
				if (f.num == 1 && f.wire == PB_VARINT) {
					if (f.v > UINT32_MAX)
						goto bad_head;
					pm->pages_id = (uint32_t)f.v;
					has_id = true;
				}
			if (k < 0 || !has_id) {
bad_head:
				lzb_criu_pagemap_free(pm);
				return lzb_errf(err, "%s: malformed pagemap head "
						"(no pages_id)", name);
			}
			have_head = true;
			continue;
		}
		while ((k = lzb_pb_next(&rd, &f)) == 1) {
			if (f.wire != PB_VARINT)
				continue;	/* unknown field kinds: skip */
			switch (f.num) {
			case 1: e.vaddr = f.v; has_vaddr = true; break;
			case 2: nr2 = f.v; has_nr2 = true; break;
			case 3: in_parent = f.v != 0; break;
			case 4:
				/* out-of-range flags fail the unknown-flags check */
				e.flags = f.v > UINT32_MAX ? UINT32_MAX :
							     (uint32_t)f.v;
				has_flags = true;
				break;
			case 5: nr5 = f.v; has_nr5 = true; break;
			}
		}
		if (k < 0 || !has_vaddr || (!has_nr2 && !has_nr5)) {
			lzb_criu_pagemap_free(pm);
			return bad_pb(err, name, "pagemap entry", idx + 1);
		}
		/* Newer CRIU writes the real count in field 5, 0 in field 2. */
		e.nr_pages = has_nr5 ? nr5 : (nr2 & 0xffffffffu);
		if (!has_flags)
			e.flags = in_parent ? CRIU_PE_PARENT : CRIU_PE_PRESENT;
		if (e.flags & ~(CRIU_PE_PARENT | CRIU_PE_LAZY | CRIU_PE_PRESENT)) {
			lzb_criu_pagemap_free(pm);
			return lzb_errf(err, "%s: entry %zu has unknown flags 0x%x",
					name, idx, e.flags);
		}
		if (e.vaddr % LZB_PAGE_SIZE || !e.nr_pages ||
		    e.nr_pages > CRIU_MAX_PAGES ||
		    e.vaddr >= CRIU_USER_VA_END ||
		    e.nr_pages > (CRIU_USER_VA_END - e.vaddr) / LZB_PAGE_SIZE) {
			lzb_criu_pagemap_free(pm);
			return lzb_errf(err, "%s: entry %zu has a bad range "
					"(vaddr 0x%llx, %llu pages)", name, idx,
					(unsigned long long)e.vaddr,
					(unsigned long long)e.nr_pages);
		}
		if (e.vaddr < prev_end) {
			lzb_criu_pagemap_free(pm);
			return lzb_errf(err, "%s: entry %zu (vaddr 0x%llx) is out "
					"of order or overlaps the previous one",
					name, idx, (unsigned long long)e.vaddr);
		}
		if (idx >= CRIU_MAX_PAGEMAP_ENTRIES ||
		    pm->total_pages + e.nr_pages > CRIU_MAX_PAGES) {
			lzb_criu_pagemap_free(pm);
			return lzb_errf(err, "%s: more entries or pages than "
					"lazyboot accepts", name);
		}
		if (LZB_VEC_RESERVE(pm->e, idx, cap, 1)) {
			lzb_criu_pagemap_free(pm);
			return lzb_errf(err, "%s: out of memory", name);
		}
		pm->e[idx++] = e;
		pm->nr = idx;
		prev_end = e.vaddr + e.nr_pages * LZB_PAGE_SIZE;
		pm->total_pages += e.nr_pages;
		if (e.flags & CRIU_PE_PRESENT)
			pm->present_pages += e.nr_pages;
	}
	if (r < 0) {
		lzb_criu_pagemap_free(pm);
		return -1;
	}
	if (!have_head)
		return lzb_errf(err, "%s: truncated: no pagemap head", name);
	return 0;
}

static int parse_vma(const uint8_t *p, size_t len, struct lzb_criu_vma *v)
{
	struct lzb_pb_reader rd;
	struct lzb_pb_field f;
	unsigned int seen = 0;
	int k;

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	lzb_pb_reader_init(&rd, p, len);
	while ((k = lzb_pb_next(&rd, &f)) == 1) {
		if (f.wire != PB_VARINT)
			continue;
		switch (f.num) {
		case 1: v->start = f.v; break;
		case 2: v->end = f.v; break;
		case 3: v->pgoff = f.v; break;
		case 4: v->shmid = f.v; break;
		case 5: v->prot = (uint32_t)f.v; break;
		case 6: v->flags = (uint32_t)f.v; break;
		case 7: v->status = (uint32_t)f.v; break;
		case 8: /* sint64, zigzag */
			v->fd = (int32_t)((f.v >> 1) ^ -(f.v & 1));
			break;
		default: continue;
		}
		seen |= 1u << f.num;
	}
	if (k < 0)
		return -1;
	/* start, end, prot, flags, status are required for our use */
	if ((seen & 0xe6) != 0xe6)
		return -1;
	return 0;
}

int lzb_criu_parse_mm(const char *name, const uint8_t *buf, size_t len,
		      struct lzb_criu_mm *mm, struct lzb_err *err)
{
	struct lzb_criu_img_iter it;
	const uint8_t *rec;
	size_t rec_len, cap = 0;
	struct lzb_pb_reader rd;
	struct lzb_pb_field f;
	int r, k;

	memset(mm, 0, sizeof(*mm));
	if (lzb_criu_img_open(&it, name, buf, len, CRIU_MAGIC_MM, err))
		return -1;
	r = lzb_criu_img_next(&it, &rec, &rec_len, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return lzb_errf(err, "%s: truncated: no mm entry", name);
	lzb_pb_reader_init(&rd, rec, rec_len);
	while ((k = lzb_pb_next(&rd, &f)) == 1) {
		struct lzb_criu_vma v;

		if (f.num != 14 || f.wire != PB_LEN)
			continue;
		if (parse_vma(f.data, f.len, &v)) {
			lzb_criu_mm_free(mm);
			return lzb_errf(err, "%s: malformed VMA %zu", name,
					mm->nr_vmas);
		}
		if (v.start % LZB_PAGE_SIZE || v.end % LZB_PAGE_SIZE ||
		    v.start >= v.end || v.end > CRIU_USER_VA_END ||
		    (mm->nr_vmas && v.start < mm->vmas[mm->nr_vmas - 1].end)) {
			unsigned long long s = v.start, e = v.end;
			size_t n = mm->nr_vmas;

			lzb_criu_mm_free(mm);
			return lzb_errf(err, "%s: VMA %zu has a bad or out-of-order "
					"range 0x%llx-0x%llx", name, n, s, e);
		}
		if (mm->nr_vmas >= CRIU_MAX_VMAS ||
		    LZB_VEC_RESERVE(mm->vmas, mm->nr_vmas, cap, 1)) {
			lzb_criu_mm_free(mm);
			return lzb_errf(err, "%s: too many VMAs", name);
		}
		mm->vmas[mm->nr_vmas++] = v;
	}
	if (k < 0) {
		lzb_criu_mm_free(mm);
		return bad_pb(err, name, "mm entry", 0);
	}
	r = lzb_criu_img_next(&it, &rec, &rec_len, err);
	if (r != 0) {
		lzb_criu_mm_free(mm);
		return r < 0 ? -1 : lzb_errf(err, "%s: more than one mm entry",
					     name);
	}
	return 0;
}

int lzb_criu_parse_pstree(const char *name, const uint8_t *buf, size_t len,
			  struct lzb_criu_pstree *ps, struct lzb_err *err)
{
	struct lzb_criu_img_iter it;
	const uint8_t *rec;
	size_t rec_len, cap = 0, tcap = 0, nthreads = 0;
	int r;

	memset(ps, 0, sizeof(*ps));
	if (lzb_criu_img_open(&it, name, buf, len, CRIU_MAGIC_PSTREE, err))
		return -1;
	while ((r = lzb_criu_img_next(&it, &rec, &rec_len, err)) == 1) {
		struct lzb_criu_pstree_entry e = { 0 };
		struct lzb_pb_reader rd;
		struct lzb_pb_field f;
		size_t first = nthreads;
		bool has_pid = false;
		int k;

		lzb_pb_reader_init(&rd, rec, rec_len);
		while ((k = lzb_pb_next(&rd, &f)) == 1) {
			struct lzb_pb_reader pk;
			uint64_t v;

			if (f.num == 5 && f.wire == PB_LEN) {
				/* packed repeated threads */
				lzb_pb_reader_init(&pk, f.data, f.len);
				while (!lzb_pb_at_end(&pk)) {
					if (lzb_pb_read_varint(&pk, &v) || v > UINT32_MAX)
						goto bad;
					if (nthreads >= CRIU_MAX_THREADS ||
					    LZB_VEC_RESERVE(ps->thread_store, nthreads,
							    tcap, 1))
						goto toomany;
					ps->thread_store[nthreads++] = (uint32_t)v;
				}
				continue;
			}
			if (f.wire != PB_VARINT)
				continue;
			if (f.v > UINT32_MAX)
				goto bad;
			switch (f.num) {
			case 1: e.pid = (uint32_t)f.v; has_pid = true; break;
			case 2: e.ppid = (uint32_t)f.v; break;
			case 3: e.pgid = (uint32_t)f.v; break;
			case 4: e.sid = (uint32_t)f.v; break;
			case 5:
				if (nthreads >= CRIU_MAX_THREADS ||
				    LZB_VEC_RESERVE(ps->thread_store, nthreads,
						    tcap, 1))
					goto toomany;
				ps->thread_store[nthreads++] = (uint32_t)f.v;
				break;
			}
		}
		if (k < 0 || !has_pid || !e.pid)
			goto bad;
		for (size_t i = 0; i < ps->nr; i++)
			if (ps->e[i].pid == e.pid) {
				lzb_criu_pstree_free(ps);
				return lzb_errf(err, "%s: pid %u appears twice",
						name, e.pid);
			}
		if (ps->nr >= CRIU_MAX_TASKS ||
		    LZB_VEC_RESERVE(ps->e, ps->nr, cap, 1))
			goto toomany;
		e.nr_threads = (uint32_t)(nthreads - first);
		/* thread pointers are fixed up once thread_store stops moving */
		e.threads = (uint32_t *)(uintptr_t)first;
		ps->e[ps->nr++] = e;
		continue;
bad:
		{
			size_t n = ps->nr;

			lzb_criu_pstree_free(ps);
			return bad_pb(err, name, "pstree entry", n);
		}
toomany:
		lzb_criu_pstree_free(ps);
		return lzb_errf(err, "%s: more processes or threads than "
				"lazyboot accepts", name);
	}
	if (r < 0) {
		lzb_criu_pstree_free(ps);
		return -1;
	}
	if (!ps->nr)
		return lzb_errf(err, "%s: no processes", name);
	for (size_t i = 0; i < ps->nr; i++)
		ps->e[i].threads = ps->thread_store ?
			ps->thread_store + (uintptr_t)ps->e[i].threads : NULL;
	return 0;
}

int lzb_criu_parse_inventory(const char *name, const uint8_t *buf, size_t len,
			     struct lzb_criu_inventory *inv, struct lzb_err *err)
{
	struct lzb_criu_img_iter it;
	const uint8_t *rec;
	size_t rec_len;
	struct lzb_pb_reader rd;
	struct lzb_pb_field f;
	bool has_version = false;
	int r, k;

	memset(inv, 0, sizeof(*inv));
	if (lzb_criu_img_open(&it, name, buf, len, CRIU_MAGIC_INVENTORY, err))
		return -1;
	r = lzb_criu_img_next(&it, &rec, &rec_len, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return lzb_errf(err, "%s: truncated: no inventory entry", name);
	lzb_pb_reader_init(&rd, rec, rec_len);
	while ((k = lzb_pb_next(&rd, &f)) == 1) {
		if (f.wire != PB_VARINT)
			continue;
		switch (f.num) {
		case 1:
			inv->img_version = (uint32_t)f.v;
			has_version = f.v <= UINT32_MAX;
			break;
		case 6:
			inv->lsmtype = (uint32_t)f.v;
			inv->has_lsmtype = true;
			break;
		case 8:
			inv->dump_uptime = f.v;
			inv->has_dump_uptime = true;
			break;
		}
	}
	if (k < 0 || !has_version)
		return bad_pb(err, name, "inventory entry", 0);
	return 0;
}

/* The only field a core image is read for: gpregs.sp of x86-64. */
static int core_find_sp(const uint8_t *p, size_t len, int depth, uint64_t *sp)
{
	/* core_entry.thread_info (2) -> thread_info_x86.gpregs (2) -> sp (20) */
	static const uint32_t path[] = { 2, 2, 20 };
	struct lzb_pb_reader rd;
	struct lzb_pb_field f;
	int k, found = 0;

	lzb_pb_reader_init(&rd, p, len);
	while ((k = lzb_pb_next(&rd, &f)) == 1) {
		if (f.num != path[depth])
			continue;
		if (depth == 2 && f.wire == PB_VARINT) {
			*sp = f.v;
			found = 1;
		} else if (depth < 2 && f.wire == PB_LEN) {
			found = core_find_sp(f.data, f.len, depth + 1, sp);
			if (found < 0)
				return -1;
		}
	}
	return k < 0 ? -1 : found;
}

int lzb_criu_parse_core_sp(const char *name, const uint8_t *buf, size_t len,
			   uint64_t *sp, struct lzb_err *err)
{
	struct lzb_criu_img_iter it;
	const uint8_t *rec;
	size_t rec_len;
	struct lzb_pb_reader rd;
	struct lzb_pb_field f;
	uint64_t mtype = 0;
	int r, k;

	if (lzb_criu_img_open(&it, name, buf, len, CRIU_MAGIC_CORE, err))
		return -1;
	r = lzb_criu_img_next(&it, &rec, &rec_len, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return lzb_errf(err, "%s: truncated: no core entry", name);
	lzb_pb_reader_init(&rd, rec, rec_len);
	while ((k = lzb_pb_next(&rd, &f)) == 1)
		if (f.num == 1 && f.wire == PB_VARINT)
			mtype = f.v;
	if (k < 0)
		return bad_pb(err, name, "core entry", 0);
	if (mtype != 1)
		return lzb_errf(err, "%s: the dump is not of an x86-64 task "
				"(core_entry.mtype %llu); lazyboot reads x86-64 "
				"dumps only", name, (unsigned long long)mtype);
	r = core_find_sp(rec, rec_len, 0, sp);
	if (r < 0)
		return bad_pb(err, name, "core entry", 0);
	if (!r)
		return lzb_errf(err, "%s: the core entry has no stack pointer "
				"(thread_info.gpregs.sp)", name);
	return 0;
}

void lzb_criu_pagemap_free(struct lzb_criu_pagemap *pm)
{
	free(pm->e);
	memset(pm, 0, sizeof(*pm));
}

void lzb_criu_mm_free(struct lzb_criu_mm *mm)
{
	free(mm->vmas);
	memset(mm, 0, sizeof(*mm));
}

void lzb_criu_pstree_free(struct lzb_criu_pstree *ps)
{
	free(ps->e);
	free(ps->thread_store);
	memset(ps, 0, sizeof(*ps));
}

bool lzb_criu_vma_can_be_lazy(const struct lzb_criu_vma *vma)
{
	const uint32_t map_private = 0x02, map_anon = 0x20;
	const uint32_t map_locked = 0x2000, map_hugetlb = 0x40000;

	if ((vma->flags & (map_private | map_anon)) != (map_private | map_anon))
		return false;
	if (vma->flags & (map_locked | map_hugetlb))
		return false;
	if (vma->status & (CRIU_VMA_AREA_VDSO | CRIU_VMA_AREA_VSYSCALL |
			   CRIU_VMA_AREA_VVAR))
		return false;
	return true;
}

const struct lzb_criu_vma *lzb_criu_mm_find(const struct lzb_criu_mm *mm,
					    uint64_t addr)
{
	size_t lo = 0, hi = mm->nr_vmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct lzb_criu_vma *v = &mm->vmas[mid];

		if (addr < v->start)
			hi = mid;
		else if (addr >= v->end)
			lo = mid + 1;
		else
			return v;
	}
	return NULL;
}

static void put_record(struct lzb_pb_buf *out, const struct lzb_pb_buf *rec)
{
	lzb_pb_put_u32le(out, (uint32_t)rec->len);
	lzb_pb_put_bytes(out, rec->p, rec->len);
}

int lzb_criu_encode_pagemap(const struct lzb_criu_pagemap *pm, uint8_t **out,
			    size_t *out_len)
{
	struct lzb_pb_buf b = { 0 }, rec = { 0 };

	lzb_pb_put_u32le(&b, CRIU_IMG_COMMON_MAGIC);
	lzb_pb_put_u32le(&b, CRIU_MAGIC_PAGEMAP);
	lzb_pb_put_field_varint(&rec, 1, pm->pages_id);
	put_record(&b, &rec);
	for (size_t i = 0; i < pm->nr; i++) {
		const struct lzb_criu_pagemap_entry *e = &pm->e[i];

		rec.len = 0;
		lzb_pb_put_field_varint(&rec, 1, e->vaddr);
		/* 3.17 reads only field 2; newer CRIU falls back to it. */
		if (e->nr_pages > UINT32_MAX)
			rec.oom = true;
		lzb_pb_put_field_varint(&rec, 2, e->nr_pages);
		lzb_pb_put_field_varint(&rec, 4, e->flags);
		put_record(&b, &rec);
	}
	if (b.oom || rec.oom) {
		lzb_pb_buf_free(&b);
		lzb_pb_buf_free(&rec);
		return -1;
	}
	lzb_pb_buf_free(&rec);
	*out = b.p;
	*out_len = b.len;
	return 0;
}

bool lzb_criu_page_can_be_lazy(const struct lzb_criu_task *t, uint64_t vaddr)
{
	const struct lzb_criu_vma *v = lzb_criu_mm_find(&t->mm, vaddr);

	if (!v || !lzb_criu_vma_can_be_lazy(v))
		return false;
	for (size_t i = 0; i < t->nr_thread_sp; i++)
		if ((t->thread_sp[i] & ~(uint64_t)(LZB_PAGE_SIZE - 1)) ==
		    (vaddr & ~(uint64_t)(LZB_PAGE_SIZE - 1)))
			return false;
	return true;
}

int lzb_criu_task_lazy_pagemap(const struct lzb_criu_task *t,
				struct lzb_criu_pagemap *out)
{
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	out->pages_id = t->pm.pages_id;
	for (size_t i = 0; i < t->pm.nr; i++) {
		const struct lzb_criu_pagemap_entry *e = &t->pm.e[i];

		for (uint64_t k = 0; k < e->nr_pages; k++) {
			uint64_t va = e->vaddr + k * LZB_PAGE_SIZE;
			uint32_t fl = e->flags & ~CRIU_PE_LAZY;
			struct lzb_criu_pagemap_entry *last =
				out->nr ? &out->e[out->nr - 1] : NULL;

			if ((e->flags & CRIU_PE_PRESENT) &&
			    lzb_criu_page_can_be_lazy(t, va))
				fl |= CRIU_PE_LAZY;
			if (last && last->flags == fl && last->vaddr +
			    last->nr_pages * LZB_PAGE_SIZE == va) {
				last->nr_pages++;
				continue;
			}
			if (LZB_VEC_RESERVE(out->e, out->nr, cap, 1)) {
				lzb_criu_pagemap_free(out);
				return -1;
			}
			out->e[out->nr++] = (struct lzb_criu_pagemap_entry){
				.vaddr = va, .nr_pages = 1, .flags = fl };
		}
	}
	out->present_pages = t->pm.present_pages;
	out->total_pages = t->pm.total_pages;
	return 0;
}

static int load_image(const char *dir, const char *name, uint8_t **buf,
		      size_t *len, struct lzb_err *err)
{
	char path[4200];

	if (lzb_path(path, sizeof(path), dir, name))
		return lzb_errf(err, "%s/%s: path too long", dir, name);
	return lzb_read_file(path, CRIU_MAX_IMAGE_BYTES, buf, len, err);
}

/* Every thread's stack pointer, from core-TID.img. */
static int load_thread_sps(const char *dir, struct lzb_criu_task *t,
			   struct lzb_err *err)
{
	char name[64], path[4200];
	uint8_t *buf = NULL;
	size_t len;

	t->thread_sp = calloc(t->ps->nr_threads ? t->ps->nr_threads : 1,
			      sizeof(*t->thread_sp));
	if (!t->thread_sp)
		return lzb_errf(err, "%s: out of memory", dir);
	for (uint32_t i = 0; i < t->ps->nr_threads; i++) {
		snprintf(name, sizeof(name), "core-%u.img", t->ps->threads[i]);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (load_image(dir, name, &buf, &len, err) ||
		    lzb_criu_parse_core_sp(path, buf, len, &t->thread_sp[i], err)) {
			free(buf);
			return -1;
		}
		free(buf);
		buf = NULL;
		t->nr_thread_sp++;
	}
	return 0;
}

int lzb_criu_dump_open(const char *dir, struct lzb_criu_dump *d,
		       struct lzb_err *err)
{
	uint8_t *buf;
	size_t len;
	char path[4200];

	memset(d, 0, sizeof(*d));
	if (strlen(dir) >= sizeof(d->dir))
		return lzb_errf(err, "%s: path too long", dir);
	strcpy(d->dir, dir);

	if (load_image(dir, "inventory.img", &buf, &len, err))
		return -1;
	snprintf(path, sizeof(path), "%s/inventory.img", dir);
	if (lzb_criu_parse_inventory(path, buf, len, &d->inv, err)) {
		free(buf);
		return -1;
	}
	free(buf);

	if (load_image(dir, "pstree.img", &buf, &len, err))
		return -1;
	snprintf(path, sizeof(path), "%s/pstree.img", dir);
	if (lzb_criu_parse_pstree(path, buf, len, &d->pstree, err)) {
		free(buf);
		return -1;
	}
	free(buf);

	d->tasks = calloc(d->pstree.nr, sizeof(*d->tasks));
	if (!d->tasks) {
		lzb_criu_dump_close(d);
		return lzb_errf(err, "%s: out of memory", dir);
	}
	d->nr_tasks = d->pstree.nr;
	for (size_t i = 0; i < d->nr_tasks; i++) {
		struct lzb_criu_task *t = &d->tasks[i];
		char name[64];

		t->ps = &d->pstree.e[i];
		snprintf(t->pagemap_name, sizeof(t->pagemap_name),
			 "pagemap-%u.img", t->ps->pid);
		if (lzb_path(path, sizeof(path), dir, t->pagemap_name)) {
			lzb_criu_dump_close(d);
			return lzb_errf(err, "%s: path too long", dir);
		}
		if (access(path, F_OK) && errno == ENOENT)
			continue;	/* zombie: no memory images */
		if (lzb_read_file(path, CRIU_MAX_IMAGE_BYTES, &buf, &len, err) ||
		    lzb_criu_parse_pagemap(path, buf, len, &t->pm, err)) {
			free(buf);
			lzb_criu_dump_close(d);
			return -1;
		}
		free(buf);
		snprintf(t->pages_name, sizeof(t->pages_name), "pages-%u.img",
			 t->pm.pages_id);
		for (size_t j = 0; j < i; j++)
			if (d->tasks[j].has_memory &&
			    d->tasks[j].pm.pages_id == t->pm.pages_id) {
				lzb_criu_dump_close(d);
				return lzb_errf(err, "%s: pages_id %u is also used "
						"by pid %u", path, t->pm.pages_id,
						d->tasks[j].ps->pid);
			}
		snprintf(name, sizeof(name), "mm-%u.img", t->ps->pid);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (load_image(dir, name, &buf, &len, err) ||
		    lzb_criu_parse_mm(path, buf, len, &t->mm, err)) {
			free(buf);
			lzb_criu_dump_close(d);
			return -1;
		}
		free(buf);
		if (load_thread_sps(dir, t, err)) {
			lzb_criu_dump_close(d);
			return -1;
		}
		t->has_memory = true;
	}
	return 0;
}

void lzb_criu_dump_close(struct lzb_criu_dump *d)
{
	for (size_t i = 0; i < d->nr_tasks; i++) {
		lzb_criu_pagemap_free(&d->tasks[i].pm);
		lzb_criu_mm_free(&d->tasks[i].mm);
		free(d->tasks[i].thread_sp);
	}
	free(d->tasks);
	lzb_criu_pstree_free(&d->pstree);
	memset(d, 0, sizeof(*d));
}
