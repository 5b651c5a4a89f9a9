// SPDX-License-Identifier: LGPL-2.1-or-later
/* Pages for the engine straight from a CRIU dump (criu_page_source.h). */
#include "criu/criu_page_source.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/file_util.h"
#include "util/page.h"
#include "util/task_limit.h"

/* One pagemap entry with data: where its pages lie in the pages image. */
struct src_extent {
	uint64_t vaddr, end;
	uint64_t file_off;
	bool lazy;
};

struct src_task {
	int pid;
	int fd;				/* pages-<id>.img */
	const char *pages_name;
	size_t nr;
	struct src_extent *x;		/* ascending by vaddr */
};

struct lzb_criu_source {
	const struct lzb_criu_dump *dump;
	size_t nr;
	struct src_task *t;
	uint64_t lazy_pages;
	char error[512];
};

static int lazy_entry(const struct lzb_criu_task *t,
		      const struct lzb_criu_pagemap_entry *e)
{
	const struct lzb_criu_vma *v = lzb_criu_mm_find(&t->mm, e->vaddr);

	return (e->flags & CRIU_PE_LAZY) && v && lzb_criu_vma_can_be_lazy(v);
}

static int load_task(struct lzb_criu_source *s, const struct lzb_criu_task *ct,
		     struct src_task *st, struct lzb_err *err)
{
	char path[4200];
	uint64_t off = 0;

	st->pid = (int)ct->ps->pid;
	st->fd = -1;
	st->pages_name = ct->pages_name;
	if (!ct->has_memory)
		return 0;
	st->x = calloc(ct->pm.nr ? ct->pm.nr : 1, sizeof(*st->x));
	if (!st->x)
		return lzb_errf(err, "%s: out of memory", ct->pagemap_name);
	for (size_t i = 0; i < ct->pm.nr; i++) {
		const struct lzb_criu_pagemap_entry *e = &ct->pm.e[i];

		if (e->flags & CRIU_PE_PARENT)
			return lzb_errf(err, "%s/%s: entry %zu is in a parent "
					"image (incremental dumps are not "
					"supported)", s->dump->dir,
					ct->pagemap_name, i);
		if (!(e->flags & CRIU_PE_PRESENT))
			continue;
		st->x[st->nr++] = (struct src_extent){
			.vaddr = e->vaddr,
			.end = e->vaddr + e->nr_pages * LZB_PAGE_SIZE,
			.file_off = off, .lazy = lazy_entry(ct, e),
		};
		if (st->x[st->nr - 1].lazy)
			s->lazy_pages += e->nr_pages;
		off += e->nr_pages * LZB_PAGE_SIZE;
	}
	if (lzb_path(path, sizeof(path), s->dump->dir, ct->pages_name))
		return lzb_errf(err, "%s: path too long", s->dump->dir);
	st->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (st->fd < 0)
		return lzb_errf(err, "%s: %s", path, strerror(errno));
	if (lseek(st->fd, 0, SEEK_END) < (off_t)off)
		return lzb_errf(err, "%s: shorter than its pagemap's %" PRIu64
				" pages", path, off / LZB_PAGE_SIZE);
	return 0;
}

int lzb_criu_source_new(const struct lzb_criu_dump *dump,
			struct lzb_criu_source **out, struct lzb_err *err)
{
	struct lzb_criu_source *s;

	if (lzb_task_limit_check(dump->dir, dump->nr_tasks, err))
		return -1;
	s = calloc(1, sizeof(*s));
	if (!s)
		return lzb_errf(err, "out of memory");
	s->dump = dump;
	s->t = calloc(dump->nr_tasks ? dump->nr_tasks : 1, sizeof(*s->t));
	if (!s->t) {
		free(s);
		return lzb_errf(err, "out of memory");
	}
	for (size_t i = 0; i < dump->nr_tasks; i++) {
		s->nr++;
		if (load_task(s, &dump->tasks[i], &s->t[i], err)) {
			lzb_criu_source_free(s);
			return -1;
		}
	}
	*out = s;
	return 0;
}

void lzb_criu_source_free(struct lzb_criu_source *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nr; i++) {
		if (s->t[i].fd >= 0)
			close(s->t[i].fd);
		free(s->t[i].x);
	}
	free(s->t);
	free(s);
}

static const struct src_extent *find_extent(const struct src_task *t,
					    uint64_t addr)
{
	size_t lo = 0, hi = t->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < t->x[mid].vaddr)
			hi = mid;
		else if (addr >= t->x[mid].end)
			lo = mid + 1;
		else
			return &t->x[mid];
	}
	return NULL;
}

static int fail(struct lzb_criu_source *s, struct lzb_engine *engine,
		int pid, uint64_t addr, uint64_t len, int e, const char *msg)
{
	if (!s->error[0])
		snprintf(s->error, sizeof(s->error), "pid %d at 0x%" PRIx64
			 ": %s", pid, addr, msg);
	lzb_engine_fail(engine, pid, addr, len, e);
	return 0;
}

int lzb_criu_source_request(void *ctx, struct lzb_engine *engine,
			    int img_pid, uint64_t img_addr, uint64_t len,
			    bool urgent)
{
	struct lzb_criu_source *s = ctx;
	const struct src_task *t = NULL;
	const struct src_extent *x;
	uint8_t page[LZB_PAGE_SIZE];

	(void)urgent;
	for (size_t i = 0; i < s->nr && !t; i++)
		if (s->t[i].pid == img_pid)
			t = &s->t[i];
	if (!t)
		return fail(s, engine, img_pid, img_addr, len, -ESRCH,
			    "no such task in the dump");
	/* Page by page: requests are one page (faults) or within an entry. */
	for (uint64_t a = img_addr; a < img_addr + len; a += LZB_PAGE_SIZE) {
		ssize_t n;
		int r;

		x = find_extent(t, a);
		if (!x || !x->lazy)
			return fail(s, engine, img_pid, a, len, -EINVAL,
				    "asked for a page the dump has no lazy "
				    "data for");
		n = pread(t->fd, page, sizeof(page),
			  (off_t)(x->file_off + (a - x->vaddr)));
		if (n != (ssize_t)sizeof(page))
			return fail(s, engine, img_pid, a, len,
				    n < 0 ? -errno : -EIO,
				    n < 0 ? strerror(errno) :
				    "short read of the pages image");
		r = lzb_engine_install(engine, img_pid, a, page, sizeof(page));
		if (r)
			return r;
	}
	return 0;
}

int lzb_criu_source_add_tasks(struct lzb_criu_source *s,
			      struct lzb_engine *engine)
{
	int err = 0;

	for (size_t i = 0; i < s->nr && !err; i++) {
		const struct src_task *t = &s->t[i];
		struct lzb_ranges lazy;

		if (!t->x)
			continue;	/* zombie */
		lzb_ranges_init(&lazy);
		for (size_t k = 0; k < t->nr && !err; k++) {
			if (!t->x[k].lazy)
				continue;
			if (lazy.n && lazy.v[lazy.n - 1].end == t->x[k].vaddr)
				lazy.v[lazy.n - 1].end = t->x[k].end;
			else
				err = lzb_ranges_add(&lazy, t->x[k].vaddr,
						     t->x[k].end, t->x[k].vaddr);
		}
		if (!err)
			err = lzb_engine_add_task(engine, t->pid, &lazy);
		lzb_ranges_free(&lazy);
	}
	return err;
}

uint64_t lzb_criu_source_lazy_pages(const struct lzb_criu_source *s)
{
	return s->lazy_pages;
}

const char *lzb_criu_source_error(const struct lzb_criu_source *s)
{
	return s->error[0] ? s->error : NULL;
}
