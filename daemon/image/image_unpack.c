// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `lazyboot unpack`: rebuild an ordinary CRIU image directory.  The boot
 * bundle's files are written back as they were dumped; each process's
 * original pagemap (kept in the bundle) is restored and its pages image is
 * reassembled page by page from the hot pages, the chunks and zeros.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu/criu_image.h"
#include "util/file_util.h"
#include "image/image_reader.h"

#define CACHE_SLOTS 64

struct chunk_cache {
	uint32_t id[CACHE_SLOTS];
	uint8_t *raw[CACHE_SLOTS];
};

static const uint8_t *get_chunk(struct lzb_image *img, struct chunk_cache *cc,
				uint32_t c, struct lzb_err *err)
{
	unsigned int s = c % CACHE_SLOTS;
	size_t len;

	if (cc->raw[s] && cc->id[s] == c)
		return cc->raw[s];
	free(cc->raw[s]);
	cc->raw[s] = NULL;
	if (lzb_image_read_chunk(img, c, &cc->raw[s], &len, err))
		return NULL;
	cc->id[s] = c;
	return cc->raw[s];
}

struct out_file {
	struct lzb_out_file out;
	uint8_t buf[1 << 20];
	size_t fill;
};

static int out_flush(struct out_file *f, struct lzb_err *err)
{
	if (lzb_out_write(&f->out, f->buf, f->fill, err))
		return -1;
	f->fill = 0;
	return 0;
}

static int out_page(struct out_file *f, const uint8_t *p, struct lzb_err *err)
{
	if (f->fill + LZB_PAGE_SIZE > sizeof(f->buf) && out_flush(f, err))
		return -1;
	if (p)
		memcpy(f->buf + f->fill, p, LZB_PAGE_SIZE);
	else
		memset(f->buf + f->fill, 0, LZB_PAGE_SIZE);
	f->fill += LZB_PAGE_SIZE;
	return 0;
}

static int rebuild_pages(struct lzb_image *img, struct chunk_cache *cc,
			 uint32_t pid, const struct lzb_criu_pagemap *pm,
			 const struct lzb_bundle_file *hot, const char *out_dir,
			 struct lzb_err *err)
{
	static struct out_file f;
	struct lzb_index_task t;
	char path[4400];
	uint64_t k;
	int r = -1;

	if (lzb_index_find_task(&img->ix, pid, &t))
		return lzb_errf(err, "%s: index has no pid %u", img->dir, pid);
	snprintf(path, sizeof(path), "%s/pages-%u.img", out_dir, pm->pages_id);
	f.fill = 0;
	if (lzb_out_open(&f.out, path, 0644, err))
		return -1;
	k = t.first;
	for (size_t i = 0; i < pm->nr; i++) {
		const struct lzb_criu_pagemap_entry *e = &pm->e[i];

		if (!(e->flags & CRIU_PE_PRESENT))
			continue;
		for (uint64_t n = 0; n < e->nr_pages; n++) {
			uint64_t va = e->vaddr + n * LZB_PAGE_SIZE;
			struct lzb_extent x;
			const uint8_t *src = NULL;
			uint64_t pg;

			/* both lists ascend: move the extent cursor forward */
			for (;;) {
				if (k >= t.first + t.count) {
					lzb_errf(err, "%s: index has no page 0x%llx "
						 "of pid %u", img->dir,
						 (unsigned long long)va, pid);
					goto out;
				}
				lzb_index_extent(&img->ix, k, &x);
				if (va < x.vaddr) {
					lzb_errf(err, "%s: index has no page 0x%llx "
						 "of pid %u", img->dir,
						 (unsigned long long)va, pid);
					goto out;
				}
				if ((va - x.vaddr) / LZB_PAGE_SIZE < x.nr_pages)
					break;
				k++;
			}
			pg = (va - x.vaddr) / LZB_PAGE_SIZE;
			if (x.kind == LZB_EXT_HOT) {
				if (!hot || (x.offset + pg + 1) * LZB_PAGE_SIZE >
						    hot->size) {
					lzb_errf(err, "%s: hot page 0x%llx of pid %u "
						 "is missing from the bundle",
						 img->dir, (unsigned long long)va,
						 pid);
					goto out;
				}
				src = hot->data + (x.offset + pg) * LZB_PAGE_SIZE;
			} else if (x.kind == LZB_EXT_COLD) {
				const uint8_t *c = get_chunk(img, cc, x.chunk, err);

				if (!c)
					goto out;
				src = c + (x.offset + pg) * LZB_PAGE_SIZE;
			}
			if (out_page(&f, src, err))
				goto out;
		}
	}
	/* a working directory for criu restore: no fsync */
	r = out_flush(&f, err) ? -1 : lzb_out_commit(&f.out, false, err);
out:
	if (r)
		lzb_out_abort(&f.out);
	return r;
}

int lzb_unpack(struct lzb_image *img, const char *out_dir,
	       struct lzb_err *err)
{
	struct chunk_cache cc = { 0 };
	const size_t plen = strlen(LZB_ORIG_PAGEMAP_PREFIX);
	char **skip = NULL;
	size_t nskip = 0;
	int r = -1;

	if (lzb_image_load_index(img, err) || lzb_image_load_bundle(img, err) ||
	    lzb_mkdir(out_dir, err))
		return -1;
	skip = calloc(2 * (size_t)img->bundle.nr + 1, sizeof(*skip));
	if (!skip)
		return lzb_errf(err, "out of memory");
	/* first pass: processes whose memory the image re-laid out */
	for (uint32_t i = 0; i < img->bundle.nr; i++) {
		const struct lzb_bundle_file *bf = &img->bundle.files[i];
		const char *orig = bf->name + plen;
		struct lzb_criu_pagemap pm;
		char path[4400], pages[64];
		unsigned int pid;
		int end = 0;

		if (strncmp(bf->name, LZB_ORIG_PAGEMAP_PREFIX, plen))
			continue;
		if (sscanf(orig, "pagemap-%u.img%n", &pid, &end) != 1 ||
		    orig[end]) {
			lzb_errf(err, "%s: bundle file %s has a bad name", img->dir,
				 bf->name);
			goto out;
		}
		snprintf(path, sizeof(path), "%s (bundle)/%s", img->dir, bf->name);
		if (lzb_criu_parse_pagemap(path, bf->data, (size_t)bf->size, &pm, err))
			goto out;
		snprintf(pages, sizeof(pages), "pages-%u.img", pm.pages_id);
		skip[nskip++] = strdup(orig);
		skip[nskip++] = strdup(pages);
		snprintf(path, sizeof(path), "%s/%s", out_dir, orig);
		r = lzb_write_file_nosync(path, bf->data, (size_t)bf->size, 0644, err);
		if (!r)
			r = rebuild_pages(img, &cc, pid, &pm,
					  lzb_bundle_find(&img->bundle, pages),
					  out_dir, err);
		lzb_criu_pagemap_free(&pm);
		if (r)
			goto out;
		r = -1;
	}
	for (uint32_t i = 0; i < img->bundle.nr; i++) {
		const struct lzb_bundle_file *bf = &img->bundle.files[i];
		char path[4400];
		bool skipped = !strncmp(bf->name, LZB_ORIG_PAGEMAP_PREFIX, plen);

		for (size_t s = 0; s < nskip && !skipped; s++)
			skipped = skip[s] && !strcmp(skip[s], bf->name);
		if (skipped)
			continue;
		snprintf(path, sizeof(path), "%s/%s", out_dir, bf->name);
		if (lzb_write_file_nosync(path, bf->data, (size_t)bf->size, 0644, err))
			goto out;
	}
	r = 0;	/* a working directory for criu restore: no fsync */
out:
	for (size_t s = 0; s < nskip; s++)
		free(skip[s]);
	free(skip);
	for (int s = 0; s < CACHE_SLOTS; s++)
		free(cc.raw[s]);
	return r;
}
