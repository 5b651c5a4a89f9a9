// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `lazyboot pack`: CRIU dump (+ profile) -> lazyboot image.
 *
 * Every page of every process's pagemap gets one of three fates:
 *  - hot:  eager; kept in a rewritten local pages-<id>.img inside the boot
 *          bundle, with a PE_PRESENT pagemap entry.  Pages CRIU cannot
 *          restore lazily (VMAs that are not private anonymous, locked,
 *          hugetlb, vdso...) and the page under each thread's stack pointer
 *          are always hot, as are the profile's pre-ready pages;
 *  - zero: lazy, all-zero: PE_LAZY, never stored, served as a zero page;
 *  - cold: lazy: PE_LAZY, stored once (by content) in a zstd chunk.
 * The original pagemap is kept in the bundle so `unpack` can rebuild the
 * dump exactly.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "criu/criu_image.h"
#include "util/file_util.h"
#include "util/vec.h"
#include "image/image_pack.h"
#include "capture/profile.h"

enum { K_ZERO = LZB_EXT_ZERO, K_HOT = LZB_EXT_HOT, K_COLD = LZB_EXT_COLD };

struct page {
	uint64_t vaddr;
	uint64_t src;		/* byte offset in the task's pages image */
	uint64_t rank;		/* stream order (profile), UINT64_MAX if none */
	uint32_t loc_chunk;
	uint32_t loc_off;
	uint8_t kind;
	uint8_t forced_hot;
};

struct ptask {
	struct lzb_criu_task *t;
	const uint8_t *pages;	/* mmap of pages-<id>.img */
	size_t pages_len;
	size_t nr;
	struct page *pg;	/* ascending vaddr */
	uint32_t hot;
};

struct dedup_slot {
	uint8_t hash[LZB_HASH_BYTES];
	uint32_t chunk, off;
	uint8_t used;
};

struct packer {
	const struct lzb_pack_opts *o;
	struct lzb_pack_result *res;
	struct lzb_err *err;
	struct lzb_criu_dump dump;
	struct ptask *tasks;
	size_t nr_tasks;
	uint8_t enc_key[LZB_ENC_KEY_BYTES];
	const uint8_t *key;
	uint32_t chunk_pages;
	/* chunk being filled */
	uint8_t *cbuf;
	uint32_t cfill;
	/* outputs */
	struct lzb_object *objs;	/* by LZB_SLOT_*: bundle, index, chunks */
	uint32_t nr_objs;
	size_t cap_objs;
	struct lzb_index_chunk *chunks;	/* by chunk number */
	size_t cap_chunks;
	struct dedup_slot *dd;
	size_t dd_cap;
	char objdir[4200];
};

static int is_zero(const uint8_t *p)
{
	static const uint8_t zero[LZB_PAGE_SIZE];

	return !memcmp(p, zero, LZB_PAGE_SIZE);
}

static struct page *find_page(struct ptask *pt, uint64_t vaddr)
{
	size_t lo = 0, hi = pt->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pt->pg[mid].vaddr == vaddr)
			return &pt->pg[mid];
		if (pt->pg[mid].vaddr < vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct ptask *find_task(struct packer *pk, uint32_t pid)
{
	for (size_t i = 0; i < pk->nr_tasks; i++)
		if (pk->tasks[i].t->ps->pid == pid)
			return &pk->tasks[i];
	return NULL;
}

static int load_task_pages(struct packer *pk, struct ptask *pt)
{
	struct lzb_criu_task *t = pt->t;
	char path[4200];
	struct stat st;
	size_t n = 0;
	uint64_t off = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pk->dump.dir, t->pages_name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lzb_errf(pk->err, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		close(fd);
		return lzb_errf(pk->err, "%s: %s", path, strerror(errno));
	}
	if ((uint64_t)st.st_size != t->pm.present_pages * LZB_PAGE_SIZE) {
		close(fd);
		return lzb_errf(pk->err, "%s: %lld bytes, but %s lists %llu "
				"present pages (%llu bytes)", path,
				(long long)st.st_size, t->pagemap_name,
				(unsigned long long)t->pm.present_pages,
				(unsigned long long)t->pm.present_pages *
					LZB_PAGE_SIZE);
	}
	pt->pages_len = (size_t)st.st_size;
	if (pt->pages_len) {
		void *m = mmap(NULL, pt->pages_len, PROT_READ, MAP_PRIVATE, fd, 0);

		if (m == MAP_FAILED) {
			close(fd);
			return lzb_errf(pk->err, "%s: mmap: %s", path,
					strerror(errno));
		}
		pt->pages = m;
	}
	close(fd);

	pt->nr = (size_t)t->pm.present_pages;
	pt->pg = calloc(pt->nr ? pt->nr : 1, sizeof(*pt->pg));
	if (!pt->pg)
		return lzb_errf(pk->err, "%s: out of memory", path);
	for (size_t i = 0; i < t->pm.nr; i++) {
		const struct lzb_criu_pagemap_entry *e = &t->pm.e[i];

		if (e->flags & CRIU_PE_PARENT)
			return lzb_errf(pk->err, "%s/%s: entry %zu is in a parent "
					"image (incremental dumps are not "
					"supported)", pk->dump.dir,
					t->pagemap_name, i);
		if (!(e->flags & CRIU_PE_PRESENT))
			return lzb_errf(pk->err, "%s/%s: entry %zu has no data "
					"(dumped with --lazy-pages?)",
					pk->dump.dir, t->pagemap_name, i);
		for (uint64_t k = 0; k < e->nr_pages; k++, n++, off += LZB_PAGE_SIZE) {
			struct page *p = &pt->pg[n];

			p->vaddr = e->vaddr + k * LZB_PAGE_SIZE;
			p->src = off;
			p->rank = UINT64_MAX;
			p->forced_hot = !lzb_criu_page_can_be_lazy(t, p->vaddr);
			if (p->forced_hot)
				p->kind = K_HOT;
			else
				p->kind = is_zero(pt->pages + off) ? K_ZERO : K_COLD;
		}
	}
	return 0;
}

static int apply_profile(struct packer *pk)
{
	struct lzb_profile prof;
	uint64_t rank = 0;

	if (!pk->o->profile)
		return 0;
	if (lzb_profile_load(pk->o->profile, &prof, pk->err))
		return -1;
	for (size_t i = 0; i < prof.nr; i++) {
		const struct lzb_profile_entry *e = &prof.e[i];
		struct ptask *pt = find_task(pk, e->pid);

		for (uint32_t k = 0; k < e->nr_pages; k++) {
			struct page *p = pt ? find_page(pt, e->vaddr +
					(uint64_t)k * LZB_PAGE_SIZE) : NULL;

			if (!p) {
				pk->res->profile_ignored++;
				continue;
			}
			if (p->rank != UINT64_MAX)
				continue;	/* first touch counts */
			p->rank = rank++;
			if (e->hot && p->kind == K_COLD)
				p->kind = K_HOT;
		}
	}
	lzb_profile_free(&prof);
	return 0;
}

static int add_object(struct packer *pk, uint8_t type, uint8_t flags,
		      const uint8_t *data, size_t len, uint32_t *idx)
{
	struct lzb_object *o;
	char name[4 + 2 * LZB_HASH_BYTES + 1], path[4400];
	struct stat st;

	if (pk->nr_objs >= LZB_MAX_OBJECTS)
		return lzb_errf(pk->err, "%s: more than %u objects; use a "
				"larger --chunk-size", pk->o->out_dir,
				LZB_MAX_OBJECTS);
	if (LZB_VEC_RESERVE(pk->objs, pk->nr_objs, pk->cap_objs, 1))
		return lzb_errf(pk->err, "out of memory");
	o = &pk->objs[*idx = pk->nr_objs++];
	o->type = type;
	o->flags = flags;
	o->size = len;
	lzb_hash(o->hash, data, len);
	lzb_object_name(name, o);
	snprintf(path, sizeof(path), "%s/%s", pk->o->out_dir, name);
	/* content-addressed: an existing object of the right size is ours */
	if (!stat(path, &st) && (uint64_t)st.st_size == len)
		return 0;
	if (type == LZB_OBJ_CHUNK)
		pk->res->chunks_written++;
	return lzb_write_file_nosync(path, data, len, 0644, pk->err);
}

static int flush_chunk(struct packer *pk)
{
	uint8_t *obj;
	size_t len;
	uint32_t idx, c;
	int r;

	if (!pk->cfill)
		return 0;
	if (lzb_chunk_encode(pk->cbuf, (size_t)pk->cfill * LZB_PAGE_SIZE,
			     pk->o->level, pk->key, &obj, &len))
		return lzb_errf(pk->err, "chunk %u: compression failed",
				lzb_nr_chunks(pk->nr_objs));
	r = add_object(pk, LZB_OBJ_CHUNK, pk->key ? LZB_OBJF_ENCRYPTED : 0, obj,
		       len, &idx);
	free(obj);
	if (r)
		return -1;
	c = lzb_slot_chunk(idx);
	if (LZB_VEC_RESERVE(pk->chunks, c, pk->cap_chunks, 1))
		return lzb_errf(pk->err, "out of memory");
	pk->chunks[c].raw_pages = pk->cfill;
	pk->chunks[c].stored = len;
	pk->res->st.chunk_bytes += len;
	pk->cfill = 0;
	return 0;
}

static int store_cold(struct packer *pk, struct ptask *pt, struct page *p)
{
	const uint8_t *data = pt->pages + p->src;
	uint8_t h[LZB_HASH_BYTES];
	size_t i;

	lzb_hash(h, data, LZB_PAGE_SIZE);
	memcpy(&i, h, sizeof(i));
	for (i &= pk->dd_cap - 1;; i = (i + 1) & (pk->dd_cap - 1)) {
		struct dedup_slot *s = &pk->dd[i];

		if (!s->used)
			break;
		if (!memcmp(s->hash, h, sizeof(h))) {
			p->loc_chunk = s->chunk;
			p->loc_off = s->off;
			pk->res->st.pages_dedup++;
			return 0;
		}
	}
	memcpy(pk->dd[i].hash, h, sizeof(h));
	pk->dd[i].used = 1;
	/* the chunk being filled is the next one added */
	pk->dd[i].chunk = p->loc_chunk = lzb_nr_chunks(pk->nr_objs);
	pk->dd[i].off = p->loc_off = pk->cfill;
	memcpy(pk->cbuf + (size_t)pk->cfill * LZB_PAGE_SIZE, data,
	       LZB_PAGE_SIZE);
	pk->res->st.pages_stored++;
	if (++pk->cfill == pk->chunk_pages)
		return flush_chunk(pk);
	return 0;
}

struct cold_ref {
	uint64_t rank;
	uint32_t task;
	uint32_t pad;
	uint64_t idx;
};

static int cmp_cold(const void *a, const void *b)
{
	const struct cold_ref *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->task != y->task)
		return x->task < y->task ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int pack_cold(struct packer *pk)
{
	struct cold_ref *refs;
	uint64_t n = 0;
	int r = 0;

	for (size_t t = 0; t < pk->nr_tasks; t++)
		for (size_t i = 0; i < pk->tasks[t].nr; i++)
			n += pk->tasks[t].pg[i].kind == K_COLD;
	pk->res->st.pages_cold = n;
	pk->dd_cap = 64;
	while (pk->dd_cap < 2 * n)
		pk->dd_cap *= 2;
	pk->dd = calloc(pk->dd_cap, sizeof(*pk->dd));
	refs = malloc((n ? n : 1) * sizeof(*refs));
	pk->cbuf = malloc((size_t)pk->chunk_pages * LZB_PAGE_SIZE);
	if (!pk->dd || !refs || !pk->cbuf) {
		free(refs);
		return lzb_errf(pk->err, "out of memory for %llu cold pages",
				(unsigned long long)n);
	}
	n = 0;
	for (size_t t = 0; t < pk->nr_tasks; t++)
		for (size_t i = 0; i < pk->tasks[t].nr; i++)
			if (pk->tasks[t].pg[i].kind == K_COLD)
				refs[n++] = (struct cold_ref){
					.rank = pk->tasks[t].pg[i].rank,
					.task = (uint32_t)t, .idx = i };
	/* profile order first, then the rest by process and address */
	qsort(refs, n, sizeof(*refs), cmp_cold);
	for (uint64_t i = 0; i < n && !r; i++) {
		struct ptask *pt = &pk->tasks[refs[i].task];

		r = store_cold(pk, pt, &pt->pg[refs[i].idx]);
	}
	free(refs);
	if (!r)
		r = flush_chunk(pk);
	return r;
}

/*
 * The stream (image_format.h): the chunk objects just written, read back
 * and concatenated in chunk order into OUT/stream/<hash>.
 */
static int write_stream(struct packer *pk)
{
	struct lzb_out_file out;
	char dir[4300], path[4400];
	uint64_t total = 0;

	if (lzb_stream_name(pk->res->stream_name, pk->objs, pk->nr_objs))
		return 0;	/* no chunk: no stream */
	snprintf(dir, sizeof(dir), "%s/stream", pk->o->out_dir);
	snprintf(path, sizeof(path), "%s/%s", pk->o->out_dir,
		 pk->res->stream_name);
	if (lzb_mkdir(dir, pk->err) ||
	    lzb_out_open(&out, path, 0644, pk->err))
		return -1;
	for (uint32_t i = LZB_SLOT_CHUNK0; i < pk->nr_objs; i++) {
		char name[4 + 2 * LZB_HASH_BYTES + 1], obj[4400];
		uint8_t *buf;
		size_t len;

		lzb_object_name(name, &pk->objs[i]);
		snprintf(obj, sizeof(obj), "%s/%s", pk->o->out_dir, name);
		if (lzb_read_file(obj, pk->objs[i].size, &buf, &len,
				  pk->err)) {
			lzb_out_abort(&out);
			return -1;
		}
		if (len != pk->objs[i].size) {
			free(buf);
			lzb_out_abort(&out);
			return lzb_errf(pk->err, "%s: %zu bytes, not %llu, "
					"changed while packing", obj, len,
					(unsigned long long)pk->objs[i].size);
		}
		if (lzb_out_write(&out, buf, len, pk->err)) {
			free(buf);
			return -1;
		}
		free(buf);
		total += len;
	}
	if (lzb_out_commit(&out, false, pk->err))
		return -1;
	pk->res->stream_bytes = total;
	return 0;
}

/* Rewritten pagemap: hot -> PE_PRESENT, zero/cold -> PE_LAZY. */
static int rewrite_pagemap(struct packer *pk, struct ptask *pt,
			   struct lzb_bundle_builder *bb)
{
	struct lzb_criu_pagemap pm = { .pages_id = pt->t->pm.pages_id };
	uint8_t *img, *hot;
	size_t img_len, cap = 0;
	uint32_t nhot = 0;
	int r;

	hot = malloc((size_t)(pt->hot ? pt->hot : 1) * LZB_PAGE_SIZE);
	if (!hot)
		return lzb_errf(pk->err, "out of memory");
	for (size_t i = 0; i < pt->nr; i++) {
		const struct page *p = &pt->pg[i];
		uint32_t fl = p->kind == K_HOT ? CRIU_PE_PRESENT : CRIU_PE_LAZY;
		struct lzb_criu_pagemap_entry *last = pm.nr ? &pm.e[pm.nr - 1] : NULL;

		if (p->kind == K_HOT)
			memcpy(hot + (size_t)nhot++ * LZB_PAGE_SIZE,
			       pt->pages + p->src, LZB_PAGE_SIZE);
		if (last && last->flags == fl && last->nr_pages < UINT32_MAX &&
		    last->vaddr + last->nr_pages * LZB_PAGE_SIZE == p->vaddr) {
			last->nr_pages++;
			continue;
		}
		if (LZB_VEC_RESERVE(pm.e, pm.nr, cap, 1)) {
			free(pm.e);
			free(hot);
			return lzb_errf(pk->err, "out of memory");
		}
		pm.e[pm.nr++] = (struct lzb_criu_pagemap_entry){
			.vaddr = p->vaddr, .nr_pages = 1, .flags = fl };
	}
	r = lzb_criu_encode_pagemap(&pm, &img, &img_len);
	free(pm.e);
	if (r) {
		free(hot);
		return lzb_errf(pk->err, "%s: encoding failed",
				pt->t->pagemap_name);
	}
	r = lzb_bundle_add(bb, pt->t->pagemap_name, img, img_len);
	free(img);
	if (!r)
		r = lzb_bundle_add(bb, pt->t->pages_name, hot,
				   (size_t)nhot * LZB_PAGE_SIZE);
	free(hot);
	pk->res->st.hot_bytes += (uint64_t)nhot * LZB_PAGE_SIZE;
	return r ? lzb_errf(pk->err, "boot bundle: more than %llu bytes",
			    (unsigned long long)LZB_MAX_BUNDLE) : 0;
}

static bool is_memory_file(struct packer *pk, const char *name)
{
	for (size_t i = 0; i < pk->nr_tasks; i++)
		if (!strcmp(name, pk->tasks[i].t->pagemap_name) ||
		    !strcmp(name, pk->tasks[i].t->pages_name))
			return true;
	return false;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int build_bundle(struct packer *pk, uint8_t **out, size_t *out_len)
{
	struct lzb_bundle_builder bb = { 0 };
	DIR *d = opendir(pk->dump.dir);
	struct dirent *de;
	char **names = NULL;
	size_t nn = 0, cap = 0;
	int r = 0;

	if (!d)
		return lzb_errf(pk->err, "%s: %s", pk->dump.dir, strerror(errno));
	while ((de = readdir(d))) {
		char path[4400];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", pk->dump.dir, de->d_name);
		if (de->d_name[0] == '.' || lstat(path, &st) || !S_ISREG(st.st_mode))
			continue;	/* sockets, logs dirs, links: not images */
		if (!lzb_name_ok(de->d_name) ||
		    !strncmp(de->d_name, LZB_ORIG_PAGEMAP_PREFIX,
			     strlen(LZB_ORIG_PAGEMAP_PREFIX)))
			continue;
		/* criu's own logs (-o) are not images */
		if (strlen(de->d_name) > 4 &&
		    !strcmp(de->d_name + strlen(de->d_name) - 4, ".log"))
			continue;
		if (LZB_VEC_RESERVE(names, nn, cap, 1)) {
			r = lzb_errf(pk->err, "out of memory");
			break;
		}
		if (nn >= LZB_MAX_BUNDLE_FILES / 2 ||
		    !(names[nn++] = strdup(de->d_name))) {
			r = lzb_errf(pk->err, "%s: too many files", pk->dump.dir);
			break;
		}
	}
	closedir(d);
	if (!r)
		qsort(names, nn, sizeof(*names), cmp_name);
	for (size_t i = 0; i < nn && !r; i++) {
		char path[4400];
		uint8_t *buf;
		size_t len;

		if (is_memory_file(pk, names[i]))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pk->dump.dir, names[i]);
		if (lzb_read_file(path, LZB_MAX_BUNDLE, &buf, &len, pk->err)) {
			r = -1;
			break;
		}
		if (lzb_bundle_add(&bb, names[i], buf, len))
			r = lzb_errf(pk->err, "boot bundle: cannot add %s", path);
		free(buf);
	}
	for (size_t i = 0; i < pk->nr_tasks && !r; i++) {
		struct ptask *pt = &pk->tasks[i];
		char path[4400], orig[128];
		uint8_t *buf;
		size_t len;

		snprintf(path, sizeof(path), "%s/%s", pk->dump.dir,
			 pt->t->pagemap_name);
		snprintf(orig, sizeof(orig), "%s%s", LZB_ORIG_PAGEMAP_PREFIX,
			 pt->t->pagemap_name);
		if (lzb_read_file(path, CRIU_MAX_IMAGE_BYTES, &buf, &len, pk->err)) {
			r = -1;
			break;
		}
		r = lzb_bundle_add(&bb, orig, buf, len);
		free(buf);
		if (r)
			r = lzb_errf(pk->err, "boot bundle: cannot add %s", path);
		else
			r = rewrite_pagemap(pk, pt, &bb);
	}
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	if (!r && lzb_bundle_encode(&bb, pk->o->level, pk->key, out, out_len))
		r = lzb_errf(pk->err, "boot bundle: encoding failed");
	free(bb.p);
	return r;
}

static int build_index(struct packer *pk, uint8_t **out, size_t *out_len)
{
	struct lzb_index_task *it;
	struct lzb_extent *ex = NULL;
	uint64_t ne = 0;
	size_t cap = 0;
	int r;

	it = calloc(pk->nr_tasks ? pk->nr_tasks : 1, sizeof(*it));
	if (!it)
		return lzb_errf(pk->err, "out of memory");
	for (size_t t = 0; t < pk->nr_tasks; t++) {
		struct ptask *pt = &pk->tasks[t];
		uint32_t hot = 0;

		it[t].pid = pt->t->ps->pid;
		it[t].first = ne;
		for (size_t i = 0; i < pt->nr; i++) {
			const struct page *p = &pt->pg[i];
			struct lzb_extent *l = ne > it[t].first ? &ex[ne - 1] : NULL;
			uint32_t chunk = p->kind == K_COLD ? p->loc_chunk : 0;
			uint32_t off = p->kind == K_COLD ? p->loc_off :
				       p->kind == K_HOT ? hot : 0;

			if (p->kind == K_HOT)
				hot++;
			if (l && l->kind == p->kind && l->nr_pages < UINT32_MAX &&
			    l->vaddr + (uint64_t)l->nr_pages * LZB_PAGE_SIZE ==
				    p->vaddr &&
			    (p->kind == K_ZERO ||
			     (l->chunk == chunk && l->offset + l->nr_pages == off))) {
				l->nr_pages++;
				continue;
			}
			if (LZB_VEC_RESERVE(ex, ne, cap, 1)) {
				free(ex);
				free(it);
				return lzb_errf(pk->err, "out of memory");
			}
			ex[ne++] = (struct lzb_extent){ .vaddr = p->vaddr,
				.nr_pages = 1, .kind = p->kind, .chunk = chunk,
				.offset = off };
		}
		it[t].count = ne - it[t].first;
		it[t].hot_pages = hot;
	}
	/* the index's task table is sorted by pid for binary search */
	for (size_t a = 1; a < pk->nr_tasks; a++)
		for (size_t b = a; b > 0 && it[b - 1].pid > it[b].pid; b--) {
			struct lzb_index_task tmp = it[b];

			it[b] = it[b - 1];
			it[b - 1] = tmp;
		}
	if (pk->nr_tasks > 1) {
		/* extents must follow the task table's order */
		struct lzb_extent *sorted = malloc((ne ? ne : 1) * sizeof(*ex));
		uint64_t k = 0;

		if (!sorted) {
			free(ex);
			free(it);
			return lzb_errf(pk->err, "out of memory");
		}
		for (size_t t = 0; t < pk->nr_tasks; t++) {
			memcpy(sorted + k, ex + it[t].first,
			       it[t].count * sizeof(*ex));
			it[t].first = k;
			k += it[t].count;
		}
		free(ex);
		ex = sorted;
	}
	r = lzb_index_encode(&pk->res->st, it, (uint32_t)pk->nr_tasks,
			     pk->chunks, lzb_nr_chunks(pk->nr_objs), ex, ne, out,
			     out_len);
	free(ex);
	free(it);
	return r ? lzb_errf(pk->err, "index: too many tasks, chunks or "
			    "extents") : 0;
}

/* Keep the image id of an existing image and move its version forward. */
static int previous_manifest(struct packer *pk, struct lzb_manifest *m)
{
	char path[4200];
	uint8_t *buf;
	size_t len;
	struct lzb_manifest old;
	struct lzb_err e2;

	m->version = pk->o->version ? pk->o->version : 1;
	randombytes_buf(m->image_id, sizeof(m->image_id));
	snprintf(path, sizeof(path), "%s/manifest", pk->o->out_dir);
	if (access(path, F_OK))
		return 0;
	if (lzb_read_file(path, LZB_MANIFEST_MAX, &buf, &len, &e2) ||
	    lzb_manifest_parse(path, buf, len, &old, &e2)) {
		free(buf);
		return lzb_errf(pk->err, "%s exists but is not readable (%s); "
				"remove it or choose another --out", path,
				e2.msg);
	}
	free(buf);
	memcpy(m->image_id, old.image_id, sizeof(m->image_id));
	lzb_manifest_free(&old);
	if (!pk->o->version)
		m->version = old.version + 1;
	else if (pk->o->version <= old.version)
		return lzb_errf(pk->err, "%s: version %llu is not newer than the "
				"image's %llu", path,
				(unsigned long long)pk->o->version,
				(unsigned long long)old.version);
	return 0;
}

static double now_clock(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int lzb_pack(const struct lzb_pack_opts *o, struct lzb_pack_result *res,
	     struct lzb_err *err)
{
	struct packer pk = { .o = o, .res = res, .err = err };
	struct lzb_manifest m = { 0 };
	uint8_t sk[LZB_SIGN_SEC_BYTES], *obj = NULL, *mf = NULL;
	size_t len, mflen;
	uint32_t idx;
	char path[4200];
	double t0 = now_clock(CLOCK_MONOTONIC);
	double c0 = now_clock(CLOCK_PROCESS_CPUTIME_ID);
	int r = -1;

	memset(res, 0, sizeof(*res));
	if (lzb_crypto_init(err))
		return -1;
	if (o->chunk_size && (o->chunk_size < LZB_MIN_CHUNK ||
			      o->chunk_size > LZB_MAX_CHUNK ||
			      o->chunk_size % LZB_PAGE_SIZE))
		return lzb_errf(err, "--chunk-size %u: want a multiple of 4096 "
				"from %u to %u", o->chunk_size, LZB_MIN_CHUNK,
				LZB_MAX_CHUNK);
	pk.chunk_pages = (o->chunk_size ? o->chunk_size : LZB_DEFAULT_CHUNK) /
			 LZB_PAGE_SIZE;
	if (o->sign_key && lzb_load_sign_secret(o->sign_key, sk, err))
		return -1;
	if (o->encrypt_key) {
		if (lzb_load_encrypt_key(o->encrypt_key, pk.enc_key, err))
			goto out;
		pk.key = pk.enc_key;
	}
	/* read the dump first: bad input must not leave an output dir */
	if (lzb_criu_dump_open(o->criu_dir, &pk.dump, err))
		goto out;
	if (lzb_mkdir(o->out_dir, err))
		goto out;
	snprintf(pk.objdir, sizeof(pk.objdir), "%s/obj", o->out_dir);
	if (lzb_mkdir(pk.objdir, err) || previous_manifest(&pk, &m))
		goto out;
	pk.tasks = calloc(pk.dump.nr_tasks ? pk.dump.nr_tasks : 1,
			  sizeof(*pk.tasks));
	if (!pk.tasks) {
		lzb_errf(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < pk.dump.nr_tasks; i++) {
		if (!pk.dump.tasks[i].has_memory)
			continue;
		pk.tasks[pk.nr_tasks].t = &pk.dump.tasks[i];
		if (load_task_pages(&pk, &pk.tasks[pk.nr_tasks++]))
			goto out;
	}
	if (apply_profile(&pk))
		goto out;
	for (size_t t = 0; t < pk.nr_tasks; t++)
		for (size_t i = 0; i < pk.tasks[t].nr; i++) {
			uint8_t k = pk.tasks[t].pg[i].kind;

			res->st.pages_total++;
			res->st.pages_hot += k == K_HOT;
			res->st.pages_zero += k == K_ZERO;
			pk.tasks[t].hot += k == K_HOT;
		}
	res->st.raw_bytes = res->st.pages_total * LZB_PAGE_SIZE;
	res->nr_tasks = (uint32_t)pk.nr_tasks;

	/* the bundle and index slots are filled in last */
	pk.nr_objs = LZB_SLOT_CHUNK0;
	if (LZB_VEC_RESERVE(pk.objs, 0, pk.cap_objs, pk.nr_objs)) {
		lzb_errf(err, "out of memory");
		goto out;
	}
	memset(pk.objs, 0, pk.nr_objs * sizeof(*pk.objs));
	if (pack_cold(&pk))
		goto out;
	res->nr_chunks = lzb_nr_chunks(pk.nr_objs);
	if (!o->no_stream && write_stream(&pk))
		goto out;

	if (build_bundle(&pk, &obj, &len))
		goto out;
	idx = pk.nr_objs;
	if (add_object(&pk, LZB_OBJ_BUNDLE, pk.key ? LZB_OBJF_ENCRYPTED : 0,
		       obj, len, &idx))
		goto out;
	pk.objs[LZB_SLOT_BUNDLE] = pk.objs[--pk.nr_objs];
	res->bundle_bytes = len;
	free(obj);
	obj = NULL;

	if (build_index(&pk, &obj, &len) ||
	    add_object(&pk, LZB_OBJ_INDEX, 0, obj, len, &idx))
		goto out;
	pk.objs[LZB_SLOT_INDEX] = pk.objs[--pk.nr_objs];
	res->index_bytes = len;

	/* objects are written without fsync; one syncfs before the manifest */
	if (!o->no_sync && lzb_syncfs(pk.objdir, err))
		goto out;
	m.created = (uint64_t)time(NULL);
	m.valid_until = o->valid_until;
	m.page_size = LZB_PAGE_SIZE;
	m.chunk_size = pk.chunk_pages * LZB_PAGE_SIZE;
	m.zstd_level = (uint32_t)o->level;
	m.flags = pk.key ? LZB_MF_ENCRYPTED : 0;
	m.nr_objects = pk.nr_objs;
	m.objects = pk.objs;
	if (lzb_manifest_encode(&m, o->sign_key ? sk : NULL, &mf, &mflen)) {
		lzb_errf(err, "manifest: encoding failed");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/manifest", o->out_dir);
	if ((o->no_sync ? lzb_write_file_nosync : lzb_write_file)(path, mf, mflen,
								0644, err))
		goto out;
	res->version = m.version;
	res->seconds = now_clock(CLOCK_MONOTONIC) - t0;
	res->cpu_seconds = now_clock(CLOCK_PROCESS_CPUTIME_ID) - c0;
	r = 0;
out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(pk.enc_key, sizeof(pk.enc_key));
	free(mf);
	free(obj);
	for (size_t i = 0; i < pk.nr_tasks; i++) {
		if (pk.tasks[i].pages)
			munmap((void *)pk.tasks[i].pages, pk.tasks[i].pages_len);
		free(pk.tasks[i].pg);
	}
	free(pk.tasks);
	free(pk.objs);
	free(pk.chunks);
	free(pk.dd);
	free(pk.cbuf);
	lzb_criu_dump_close(&pk.dump);
	return r;
}
