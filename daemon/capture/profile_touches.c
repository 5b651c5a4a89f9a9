// SPDX-License-Identifier: LGPL-2.1-or-later
/* First touches, their stability and the profile file (profile_touches.h). */
#include "capture/profile_touches.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/file_util.h"
#include "capture/profile.h"
#include "util/page.h"
#include "util/vec.h"

void lzb_touches_free(struct lzb_touches *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

int lzb_touches_add(struct lzb_touches *t, uint32_t pid, uint64_t vaddr,
		    uint64_t t_us, bool hot)
{
	if (LZB_VEC_RESERVE(t->v, t->nr, t->cap, 1))
		return -ENOMEM;
	t->v[t->nr++] = (struct lzb_touch){ .pid = pid, .vaddr = vaddr,
					    .t_us = t_us, .hot = hot };
	return 0;
}

static int cmp_page(const struct lzb_touch *a, const struct lzb_touch *b)
{
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->vaddr != b->vaddr)
		return a->vaddr < b->vaddr ? -1 : 1;
	return 0;
}

static int cmp_page_time(const void *pa, const void *pb)
{
	const struct lzb_touch *a = pa, *b = pb;
	int c = cmp_page(a, b);

	if (c)
		return c;
	return a->t_us < b->t_us ? -1 : a->t_us > b->t_us;
}

void lzb_touches_dedupe(struct lzb_touches *t)
{
	size_t k = 0;

	if (!t->nr)
		return;
	qsort(t->v, t->nr, sizeof(*t->v), cmp_page_time);
	for (size_t i = 1; i < t->nr; i++)
		if (cmp_page(&t->v[i], &t->v[k]))
			t->v[++k] = t->v[i];
	t->nr = k + 1;
}

double lzb_touches_jaccard(const struct lzb_touches *a,
			   const struct lzb_touches *b, bool hot_only)
{
	size_t i = 0, j = 0, both = 0, either = 0;

	while (i < a->nr || j < b->nr) {
		int c;

		if (i < a->nr && hot_only && !a->v[i].hot) {
			i++;
			continue;
		}
		if (j < b->nr && hot_only && !b->v[j].hot) {
			j++;
			continue;
		}
		if (i == a->nr)
			c = 1;
		else if (j == b->nr)
			c = -1;
		else
			c = cmp_page(&a->v[i], &b->v[j]);
		either++;
		if (c == 0) {
			both++;
			i++;
			j++;
		} else if (c < 0) {
			i++;
		} else {
			j++;
		}
	}
	return either ? (double)both / (double)either : 1.0;
}

static int cmp_u64(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return a < b ? -1 : a > b;
}

static int cmp_hot_time(const void *pa, const void *pb)
{
	const struct lzb_touch *a = pa, *b = pb;

	if (a->hot != b->hot)
		return a->hot ? -1 : 1;
	if (a->t_us != b->t_us)
		return a->t_us < b->t_us ? -1 : 1;
	return cmp_page(a, b);
}

int lzb_touches_merge(const struct lzb_touches *runs, size_t n,
		      unsigned int min_runs, struct lzb_touches *out)
{
	struct lzb_touches all = { 0 };
	uint64_t times[64];
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (n > 64)
		return -E2BIG;
	for (size_t r = 0; r < n && !err; r++)
		for (size_t i = 0; i < runs[r].nr && !err; i++)
			err = lzb_touches_add(&all, runs[r].v[i].pid,
					      runs[r].v[i].vaddr,
					      runs[r].v[i].t_us,
					      runs[r].v[i].hot);
	if (err) {
		lzb_touches_free(&all);
		return err;
	}
	/* Each run holds a page once, so a group's size is its run count. */
	qsort(all.v, all.nr, sizeof(*all.v), cmp_page_time);
	for (size_t i = 0, j; i < all.nr && !err; i = j) {
		unsigned int hot = 0;

		for (j = i; j < all.nr && !cmp_page(&all.v[i], &all.v[j]); j++) {
			times[j - i] = all.v[j].t_us;
			hot += all.v[j].hot;
		}
		if (j - i < min_runs)
			continue;
		qsort(times, j - i, sizeof(times[0]), cmp_u64);
		err = lzb_touches_add(out, all.v[i].pid, all.v[i].vaddr,
				      times[(j - i - 1) / 2], hot >= min_runs);
	}
	lzb_touches_free(&all);
	if (err) {
		lzb_touches_free(out);
		return err;
	}
	if (out->nr)
		qsort(out->v, out->nr, sizeof(*out->v), cmp_hot_time);
	return 0;
}

int lzb_touches_write_profile(const char *path, const struct lzb_touches *t,
			      const char *header, struct lzb_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	bool ready = false;
	FILE *f = open_memstream(&buf, &len);
	int ret;

	if (!f)
		return lzb_errf(err, "%s: out of memory", path);
	fprintf(f, "%s\n", LZB_PROFILE_MAGIC);
	for (const char *h = header; h && *h;) {
		const char *nl = strchr(h, '\n');
		int l = nl ? (int)(nl - h) : (int)strlen(h);

		fprintf(f, "# %.*s\n", l, h);
		h += l + (nl ? 1 : 0);
	}
	for (size_t i = 0, j; i < t->nr; i = j) {
		if (!t->v[i].hot && !ready) {
			fputs("ready\n", f);
			ready = true;
		}
		for (j = i + 1; j < t->nr && j - i < LZB_PROFILE_MAX_RUN &&
		     t->v[j].hot == t->v[i].hot && t->v[j].pid == t->v[i].pid &&
		     t->v[j].vaddr == t->v[i].vaddr + (j - i) * LZB_PAGE_SIZE; j++)
			;
		fprintf(f, "%" PRIu32 " 0x%" PRIx64 " %zu # +%" PRIu64 ".%03"
			PRIu64 " ms\n", t->v[i].pid, t->v[i].vaddr, j - i,
			t->v[i].t_us / 1000, t->v[i].t_us % 1000);
	}
	if (!ready)
		fputs("ready\n", f);
	if (fclose(f)) {
		free(buf);
		return lzb_errf(err, "%s: out of memory", path);
	}
	ret = lzb_write_file(path, buf, len, 0644, err);
	free(buf);
	return ret;
}
