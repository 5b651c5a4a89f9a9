// SPDX-License-Identifier: LGPL-2.1-or-later
#include "engine/uffd_engine.h"

#include "engine/lazy_check.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/page.h"
#include "util/vec.h"

#define PAGE_ALIGN_DOWN(a) ((a) & ~((uint64_t)LZB_PAGE_SIZE - 1))

struct lzb_task {
	int img_pid;
	int uffd;		/* -1 until attached, and once released */
	bool attached;
	bool gone;
	bool forked;		/* a child: its pages count in its parent's */
	bool blind;		/* reattached without its pagemap: pages
				 * the dead pager installed are still in
				 * lazy, so finding one present is no harm */
	struct lzb_ranges lazy;
	struct lzb_task *next;
};

/* Requests in flight, per image task, in dump-time addresses. */
struct lzb_pending {
	int img_pid;
	struct lzb_ranges requested;	/* start == img_start */
	unsigned int background;	/* background requests among them */
	struct lzb_pending *next;
};

/*
 * Image bytes a task could not take yet: UFFDIO_COPY says EAGAIN while the
 * task's memory map is changing (a fork, mremap or munmap whose event is
 * still unread).  Kept by dump-time address and retried once the events
 * are read, so a move is honoured and a removal is never undone.
 */
struct lzb_deferred {
	struct lzb_task *task;
	uint64_t img_addr;
	uint64_t len;
	struct lzb_deferred *next;
	unsigned char data[];
};

/* A thread blocked on a page fault, for the latency it waits. */
struct lzb_waiter {
	const struct lzb_task *task;
	uint64_t page;		/* current address */
	uint64_t since_ns;	/* when its fault was read */
};

/*
 * A fault outside the image's lazy memory whose zero page the kernel
 * would not take yet (the task's map was changing): retried until it is
 * in, since the faulting thread sleeps until then.
 */
struct lzb_zero_retry {
	struct lzb_task *task;
	uint64_t page;
	uint64_t since_ns;
};

struct lzb_engine {
	struct lzb_engine_config config;
	int epoll_fd;
	int error;
	struct lzb_task *tasks;
	struct lzb_pending *pending;
	unsigned int background_in_flight;
	bool streaming;
	struct lzb_deferred *deferred;
	struct lzb_waiter *waiters;
	size_t nr_waiters, cap_waiters;
	struct lzb_zero_retry *zero_retries;
	size_t nr_zero_retries, cap_zero_retries;
	struct lzb_engine_stats stats;
	uint64_t background_ns;		/* when the background began; 0: not */
	char why[256];			/* what stopped it, when known */
};

static void add_latency(struct lzb_latency *lat, uint64_t us)
{
	unsigned int b = 0;

	while (b + 1 < LZB_LATENCY_BUCKETS && us >> (b + 1))
		b++;
	lat->log2_us[b]++;
	lat->count++;
	lat->sum_us += us;
	if (us > lat->max_us)
		lat->max_us = us;
}

static void record_latency(struct lzb_engine *e, uint64_t since_ns)
{
	uint64_t us = (lzb_now_ns() - since_ns) / 1000;

	add_latency(&e->stats.latency, us);
	if (e->background_ns && since_ns >= e->background_ns)
		add_latency(&e->stats.latency_background, us);
}

void lzb_engine_background_began(struct lzb_engine *e)
{
	if (!e->background_ns)
		e->background_ns = lzb_now_ns();
}

uint64_t lzb_latency_percentile_us(const struct lzb_latency *lat,
				   unsigned int pct)
{
	uint64_t want, seen = 0;
	unsigned int b;

	if (!lat->count)
		return 0;
	want = (lat->count * pct + 99) / 100;
	if (!want)
		want = 1;
	for (b = 0; b < LZB_LATENCY_BUCKETS; b++) {
		seen += lat->log2_us[b];
		if (seen >= want)
			break;
	}
	if (b >= LZB_LATENCY_BUCKETS || (2ULL << b) > lat->max_us)
		return lat->max_us;
	return 2ULL << b;
}

static int add_waiter(struct lzb_engine *e, const struct lzb_task *t,
		      uint64_t page, uint64_t since_ns)
{
	if (LZB_VEC_RESERVE(e->waiters, e->nr_waiters, e->cap_waiters, 1))
		return -ENOMEM;
	e->waiters[e->nr_waiters++] = (struct lzb_waiter){ t, page, since_ns };
	return 0;
}

/*
 * Pages [start, end) of t are settled: the waiters on them are served
 * (record) or no longer wait for image data (!record).  Only blocked
 * threads wait, so the list stays short.
 */
static void settle_waiters(struct lzb_engine *e, const struct lzb_task *t,
			   uint64_t start, uint64_t end, bool record)
{
	size_t i = 0;

	while (i < e->nr_waiters) {
		struct lzb_waiter *w = &e->waiters[i];

		if (w->task == t && w->page >= start && w->page < end) {
			if (record)
				record_latency(e, w->since_ns);
			*w = e->waiters[--e->nr_waiters];
		} else {
			i++;
		}
	}
}

int lzb_engine_new(const struct lzb_engine_config *config,
		   struct lzb_engine **engine)
{
	struct lzb_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->config = *config;
	if (e->config.stream_bytes < LZB_PAGE_SIZE)
		e->config.stream_bytes = 64 * 1024;
	e->config.stream_bytes = PAGE_ALIGN_DOWN(e->config.stream_bytes);
	e->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epoll_fd < 0) {
		int err = -errno;

		free(e);
		return err;
	}
	*engine = e;
	return 0;
}

static void task_drop_uffd(struct lzb_engine *e, struct lzb_task *t)
{
	if (t->uffd >= 0) {
		epoll_ctl(e->epoll_fd, EPOLL_CTL_DEL, t->uffd, NULL);
		close(t->uffd);
		t->uffd = -1;
	}
}

void lzb_engine_free(struct lzb_engine *e)
{
	if (!e)
		return;
	while (e->tasks) {
		struct lzb_task *t = e->tasks;

		e->tasks = t->next;
		task_drop_uffd(e, t);
		lzb_ranges_free(&t->lazy);
		free(t);
	}
	while (e->deferred) {
		struct lzb_deferred *d = e->deferred;

		e->deferred = d->next;
		free(d);
	}
	while (e->pending) {
		struct lzb_pending *p = e->pending;

		e->pending = p->next;
		lzb_ranges_free(&p->requested);
		free(p);
	}
	free(e->waiters);
	free(e->zero_retries);
	close(e->epoll_fd);
	free(e);
}

static struct lzb_task *new_task(struct lzb_engine *e, int img_pid)
{
	struct lzb_task *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->img_pid = img_pid;
	t->uffd = -1;
	lzb_ranges_init(&t->lazy);
	t->next = e->tasks;
	e->tasks = t;
	e->stats.tasks++;
	return t;
}

static struct lzb_pending *pending_for(struct lzb_engine *e, int img_pid)
{
	struct lzb_pending *p;

	for (p = e->pending; p; p = p->next)
		if (p->img_pid == img_pid)
			return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->img_pid = img_pid;
	lzb_ranges_init(&p->requested);
	p->next = e->pending;
	e->pending = p;
	return p;
}

int lzb_engine_add_task(struct lzb_engine *e, int img_pid,
			const struct lzb_ranges *lazy)
{
	struct lzb_task *t;

	for (t = e->tasks; t; t = t->next)
		if (t->img_pid == img_pid)
			return -EEXIST;
	t = new_task(e, img_pid);
	if (!t)
		return -ENOMEM;
	e->stats.pages_lazy_total += lzb_ranges_bytes(lazy) / LZB_PAGE_SIZE;
	return lzb_ranges_copy(&t->lazy, lazy);
}

static int watch_uffd(struct lzb_engine *e, struct lzb_task *t, int uffd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = t };
	int flags = fcntl(uffd, F_GETFL);

	if (flags < 0 || fcntl(uffd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	if (epoll_ctl(e->epoll_fd, EPOLL_CTL_ADD, uffd, &ev) < 0)
		return -errno;
	t->uffd = uffd;
	t->attached = true;
	return 0;
}

int lzb_engine_attach(struct lzb_engine *e, int img_pid, int uffd)
{
	struct lzb_task *t;

	for (t = e->tasks; t; t = t->next)
		if (t->img_pid == img_pid && t->uffd < 0 && !t->gone)
			return watch_uffd(e, t, uffd);
	return -ESRCH;
}

void lzb_engine_start_streaming(struct lzb_engine *e)
{
	e->streaming = true;
}

int lzb_engine_fd(const struct lzb_engine *e)
{
	return e->epoll_fd;
}

static void task_gone(struct lzb_engine *e, struct lzb_task *t)
{
	if (t->gone)
		return;
	t->gone = true;
	settle_waiters(e, t, 0, UINT64_MAX, false);
	task_drop_uffd(e, t);
	lzb_ranges_free(&t->lazy);
	e->stats.tasks_gone++;
}

/*
 * Copy [dst, dst + len) from src into the task, skipping pages that are
 * already there.  *copied tells how far it got.  Returns 0, -EAGAIN when
 * the task's memory map is changing, or -ESRCH when the task is gone.
 */
static int copy_into(struct lzb_engine *e, struct lzb_task *t, uint64_t dst,
		     const unsigned char *src, uint64_t len, uint64_t *copied)
{
	bool one_page = false;

	*copied = 0;
	while (len) {
		/*
		 * One UFFDIO_COPY must stay inside one VMA (else ENOENT for
		 * all of it): after an ENOENT the run is tried page by page,
		 * so a run that spans two VMAs still goes in, and only a page
		 * with no registered VMA at all counts as missing.
		 */
		uint64_t n = one_page ? LZB_PAGE_SIZE : len;
		struct uffdio_copy copy = {
			.dst = dst, .src = (uintptr_t)src, .len = n,
		};
		int64_t done;

		if (ioctl(t->uffd, UFFDIO_COPY, &copy) == 0) {
			e->stats.pages_installed += n / LZB_PAGE_SIZE;
			*copied += n;
			dst += n;
			src += n;
			len -= n;
			one_page = false;
			continue;
		}
		done = copy.copy > 0 ? copy.copy : 0;
		e->stats.pages_installed += done / LZB_PAGE_SIZE;
		*copied += done;
		dst += done;
		src += done;
		len -= done;
		if (errno == EEXIST && !done && !t->blind) {
			/*
			 * A lazy page is there already, and not from us: the
			 * task may have run on it.  Never restore on it.
			 */
			snprintf(e->why, sizeof(e->why),
				 "image pid %d: lazy page 0x%llx was present "
				 "before the pager installed it (UFFDIO_COPY: "
				 "EEXIST): the task may have run on bytes "
				 "that are not the image's", t->img_pid,
				 (unsigned long long)dst);
			return -EEXIST;
		} else if (errno == EEXIST && !done) {
			/* Installed by the pager this one took over from:
			 * leave it and make sure nobody waits on it. */
			struct uffdio_range wake = { dst, LZB_PAGE_SIZE };

			ioctl(t->uffd, UFFDIO_WAKE, &wake);
			*copied += LZB_PAGE_SIZE;
			dst += LZB_PAGE_SIZE;
			src += LZB_PAGE_SIZE;
			len -= LZB_PAGE_SIZE;
		} else if (errno == ESRCH || errno == ENOSPC) {
			return -ESRCH;
		} else if (errno == ENOENT && !done && !one_page &&
			   len > LZB_PAGE_SIZE) {
			one_page = true;
		} else if (errno == ENOENT && !e->streaming) {
			/* During restore the restorer has not yet moved and
			 * registered this memory: try again later, never
			 * drop it (it would read as zeros). */
			return -EAGAIN;
		} else if (errno == ENOENT && !done) {
			/* After restore: no registered VMA there any more
			 * (the task unmapped it and the event went with its
			 * exit): nothing to fill. */
			e->stats.pages_unmapped++;
			*copied += LZB_PAGE_SIZE;
			dst += LZB_PAGE_SIZE;
			src += LZB_PAGE_SIZE;
			len -= LZB_PAGE_SIZE;
			one_page = false;
		} else if (errno != EEXIST && errno != ENOENT) {
			return -errno;
		}
	}
	return 0;
}

static int defer(struct lzb_engine *e, struct lzb_task *t, uint64_t img_addr,
		 const unsigned char *data, uint64_t len)
{
	struct lzb_deferred *d = malloc(sizeof(*d) + len);

	if (!d)
		return -ENOMEM;
	d->task = t;
	d->img_addr = img_addr;
	d->len = len;
	memcpy(d->data, data, len);
	d->next = e->deferred;
	e->deferred = d;
	return 0;
}

struct piece {
	uint64_t start, end, img_start;
};

/* Install image bytes into one task wherever it still lacks them. */
static int install_task(struct lzb_engine *e, struct lzb_task *t,
			uint64_t img_addr, const unsigned char *data,
			uint64_t len)
{
	struct piece *pieces = NULL;
	size_t i, n = 0, cap = 0;
	int err = 0;

	if (t->gone || t->uffd < 0 || !t->lazy.n)
		return 0;
	/* In dump-time order (no mremap moved things around) the pieces
	 * are found by binary search, not by a walk over every range. */
	for (i = lzb_ranges_first_img(&t->lazy, img_addr); i < t->lazy.n; i++) {
		const struct lzb_range *r = &t->lazy.v[i];
		uint64_t img_end = r->img_start + (r->end - r->start);
		uint64_t s = r->img_start > img_addr ? r->img_start : img_addr;
		uint64_t end = img_end < img_addr + len ? img_end :
							   img_addr + len;

		if (!t->lazy.img_unordered && r->img_start >= img_addr + len)
			break;
		if (s >= end)
			continue;
		if (LZB_VEC_RESERVE(pieces, n, cap, 1)) {
			free(pieces);
			return -ENOMEM;
		}
		pieces[n].start = r->start + (s - r->img_start);
		pieces[n].end = pieces[n].start + (end - s);
		pieces[n].img_start = s;
		n++;
	}
	for (i = 0; i < n && !err; i++) {
		const unsigned char *src = data + (pieces[i].img_start - img_addr);
		uint64_t copied;

		err = copy_into(e, t, pieces[i].start, src,
				pieces[i].end - pieces[i].start, &copied);
		if (copied) {
			lzb_ranges_remove(&t->lazy, pieces[i].start,
					  pieces[i].start + copied);
			settle_waiters(e, t, pieces[i].start,
				       pieces[i].start + copied, true);
		}
		if (err == -EAGAIN)
			err = defer(e, t, pieces[i].img_start + copied,
				    src + copied,
				    pieces[i].end - pieces[i].start - copied);
	}
	free(pieces);
	if (err == -ESRCH) {
		task_gone(e, t);
		return 0;
	}
	return err;
}

/* Count a background request done once nothing of it is still asked. */
static void recount_background(struct lzb_engine *e)
{
	struct lzb_pending *p;
	unsigned int n = 0;

	for (p = e->pending; p; p = p->next) {
		if (p->background > p->requested.n)
			p->background = p->requested.n;
		n += p->background;
	}
	e->background_in_flight = n;
}

static void settle_request(struct lzb_engine *e, int img_pid,
			   uint64_t img_addr, uint64_t len)
{
	struct lzb_pending *p;

	for (p = e->pending; p; p = p->next)
		if (p->img_pid == img_pid)
			lzb_ranges_remove(&p->requested, img_addr,
					  img_addr + len);
	recount_background(e);
}

int lzb_engine_install(struct lzb_engine *e, int img_pid, uint64_t img_addr,
		       const void *data, uint64_t len)
{
	struct lzb_task *t;
	int err;

	if ((img_addr | len) & (LZB_PAGE_SIZE - 1))
		return -EINVAL;
	settle_request(e, img_pid, img_addr, len);
	for (t = e->tasks; t; t = t->next) {
		if (t->img_pid != img_pid)
			continue;
		err = install_task(e, t, img_addr, data, len);
		if (err) {
			e->error = err;
			return err;
		}
	}
	return 0;
}

void lzb_engine_fail(struct lzb_engine *e, int img_pid, uint64_t img_addr,
		     uint64_t len, int err)
{
	settle_request(e, img_pid, img_addr, len);
	if (!e->error)
		e->error = err < 0 ? err : -EIO;
}

static int request(struct lzb_engine *e, int img_pid, uint64_t img_addr,
		   uint64_t len, bool urgent)
{
	struct lzb_pending *p = pending_for(e, img_pid);
	int err;

	if (!p)
		return -ENOMEM;
	err = lzb_ranges_add(&p->requested, img_addr, img_addr + len,
			     img_addr);
	if (err)
		return err;
	if (!urgent)
		p->background++;
	err = e->config.source.request(e->config.source.ctx, e, img_pid,
				       img_addr, len, urgent);
	if (err)
		lzb_engine_fail(e, img_pid, img_addr, len, err);
	recount_background(e);
	return err;
}

/*
 * Bytes asked for, or delivered and waiting for a task's map to settle:
 * if img lies in such a block, returns the block's end, else img; *next is
 * where the next such block above img starts (UINT64_MAX: none).  Costs a
 * binary search per task of the image and a look at the deferred copies,
 * which only exist while a task's memory map changes.
 */
static uint64_t requested_span(const struct lzb_engine *e, int img_pid,
			       uint64_t img, uint64_t *next)
{
	const struct lzb_deferred *d;
	const struct lzb_pending *p;
	uint64_t end = img;
	bool again = true;

	*next = UINT64_MAX;
	while (again) {
		again = false;
		for (d = e->deferred; d; d = d->next) {
			if (d->task->img_pid != img_pid)
				continue;
			if (end >= d->img_addr && end < d->img_addr + d->len) {
				end = d->img_addr + d->len;
				again = true;
			}
		}
		for (p = e->pending; p; p = p->next) {
			const struct lzb_range *r;

			if (p->img_pid != img_pid)
				continue;
			r = lzb_ranges_find(&p->requested, end);
			if (r) {
				end = r->end;
				again = true;
			}
		}
	}
	for (d = e->deferred; d; d = d->next)
		if (d->task->img_pid == img_pid && d->img_addr > end &&
		    d->img_addr < *next)
			*next = d->img_addr;
	for (p = e->pending; p; p = p->next) {
		size_t i;

		if (p->img_pid != img_pid)
			continue;
		i = lzb_ranges_first_after(&p->requested, end);
		if (i < p->requested.n && p->requested.v[i].start < *next)
			*next = p->requested.v[i].start;
	}
	return end;
}

static bool is_requested(const struct lzb_engine *e, int img_pid, uint64_t img)
{
	uint64_t next;

	return requested_span(e, img_pid, img, &next) > img;
}

/*
 * Give the page at addr a zero page and wake its waiters.  Returns 0 when
 * it is in (or was already), -EAGAIN when the task's memory map is
 * changing (or, during restore, not yet registered there) and the caller
 * must try again, another negative errno on failure.
 */
static int zero_fill(struct lzb_engine *e, struct lzb_task *t, uint64_t page,
		     uint64_t since_ns)
{
	struct uffdio_zeropage zero = {
		.range = { page, LZB_PAGE_SIZE },
	};

	if (ioctl(t->uffd, UFFDIO_ZEROPAGE, &zero) == 0) {
		e->stats.zero_pages++;
		record_latency(e, since_ns);
		return 0;
	}
	if (errno == EEXIST) {
		ioctl(t->uffd, UFFDIO_WAKE, &zero.range);
		record_latency(e, since_ns);
		return 0;
	}
	if (errno == ESRCH || errno == ENOSPC) {
		task_gone(e, t);
		return 0;
	}
	if (errno == EAGAIN || (errno == ENOENT && !e->streaming))
		return -EAGAIN;
	return -errno;
}

static int keep_zero_retry(struct lzb_engine *e, struct lzb_task *t,
			   uint64_t page, uint64_t since_ns)
{
	if (LZB_VEC_RESERVE(e->zero_retries, e->nr_zero_retries,
			    e->cap_zero_retries, 1))
		return -ENOMEM;
	e->zero_retries[e->nr_zero_retries++] =
		(struct lzb_zero_retry){ t, page, since_ns };
	return 0;
}

/* Zero pages the kernel refused while a task's map was changing. */
static int retry_zero_pages(struct lzb_engine *e)
{
	size_t i, kept = 0;
	int err = 0;

	for (i = 0; i < e->nr_zero_retries; i++) {
		struct lzb_zero_retry z = e->zero_retries[i];
		int ret = 0;

		if (!err && !z.task->gone && z.task->uffd >= 0)
			ret = zero_fill(e, z.task, z.page, z.since_ns);
		if (ret == -EAGAIN)
			e->zero_retries[kept++] = z;
		else if (ret)
			err = ret;
	}
	e->nr_zero_retries = kept;
	return err;
}

static int handle_fault(struct lzb_engine *e, struct lzb_task *t,
			uint64_t addr, uint64_t since_ns)
{
	uint64_t page = PAGE_ALIGN_DOWN(addr);
	const struct lzb_range *r = lzb_ranges_find(&t->lazy, page);
	uint64_t img;

	e->stats.faults++;
	if (!r) {
		/* Nothing of the image lies here: a zero page, or a page
		 * installed since the fault was raised. */
		int err = zero_fill(e, t, page, since_ns);

		return err == -EAGAIN ? keep_zero_retry(e, t, page, since_ns) :
					err;
	}
	img = r->img_start + (page - r->start);
	if (add_waiter(e, t, page, since_ns))
		return -ENOMEM;
	if (e->config.on_fault)
		e->config.on_fault(e->config.on_fault_ctx, t->img_pid, img);
	if (is_requested(e, t->img_pid, img))
		return 0;
	e->stats.fault_requests++;
	return request(e, t->img_pid, img, LZB_PAGE_SIZE, true);
}

static int handle_fork(struct lzb_engine *e, struct lzb_task *parent,
		       int child_uffd)
{
	struct lzb_task *child = new_task(e, parent->img_pid);
	int err;

	if (!child) {
		close(child_uffd);
		return -ENOMEM;
	}
	e->stats.forks++;
	child->forked = true;
	child->blind = parent->blind;
	err = lzb_ranges_copy(&child->lazy, &parent->lazy);
	if (!err)
		err = watch_uffd(e, child, child_uffd);
	if (err)
		close(child_uffd);
	return err;
}

static int handle_message(struct lzb_engine *e, struct lzb_task *t,
			  const struct uffd_msg *msg, uint64_t since_ns)
{
	const struct lzb_engine_journal *j = &e->config.journal;

	if (j->event && (msg->event == UFFD_EVENT_REMAP ||
			 msg->event == UFFD_EVENT_REMOVE ||
			 msg->event == UFFD_EVENT_UNMAP))
		j->event(j->ctx, t->img_pid, msg);
	switch (msg->event) {
	case UFFD_EVENT_PAGEFAULT:
		return handle_fault(e, t, msg->arg.pagefault.address, since_ns);
	case UFFD_EVENT_FORK:
		return handle_fork(e, t, (int)msg->arg.fork.ufd);
	case UFFD_EVENT_REMAP:
		e->stats.remaps++;
		return lzb_ranges_move(&t->lazy, msg->arg.remap.from,
				       msg->arg.remap.to, msg->arg.remap.len);
	case UFFD_EVENT_REMOVE:
		e->stats.removes++;
		settle_waiters(e, t, msg->arg.remove.start, msg->arg.remove.end,
			       false);
		return lzb_ranges_remove(&t->lazy, msg->arg.remove.start,
					 msg->arg.remove.end);
	case UFFD_EVENT_UNMAP:
		e->stats.unmaps++;
		settle_waiters(e, t, msg->arg.remove.start, msg->arg.remove.end,
			       false);
		return lzb_ranges_remove(&t->lazy, msg->arg.remove.start,
					 msg->arg.remove.end);
	default:
		return 0;
	}
}

static int drain_uffd(struct lzb_engine *e, struct lzb_task *t)
{
	struct uffd_msg msgs[32];
	uint64_t since_ns;
	ssize_t n;
	int i, err;

	while (t->uffd >= 0) {
		n = read(t->uffd, msgs, sizeof(msgs));
		since_ns = lzb_now_ns();
		if (n < 0) {
			if (errno == EAGAIN)
				return 0;
			if (errno == EINTR)
				continue;
			task_gone(e, t);
			return 0;
		}
		if (n == 0 || n % sizeof(msgs[0])) {
			task_gone(e, t);
			return 0;
		}
		for (i = 0; i < n / (ssize_t)sizeof(msgs[0]); i++) {
			err = handle_message(e, t, &msgs[i], since_ns);
			if (err)
				return err;
		}
	}
	return 0;
}

int lzb_engine_replay(struct lzb_engine *e, int img_pid,
		      const struct uffd_msg *msg)
{
	const struct lzb_engine_journal saved = e->config.journal;
	struct lzb_task *t;
	int err = -ESRCH;

	if (msg->event != UFFD_EVENT_REMAP && msg->event != UFFD_EVENT_REMOVE &&
	    msg->event != UFFD_EVENT_UNMAP)
		return -EINVAL;
	e->config.journal.event = NULL;	/* on record already */
	for (t = e->tasks; t; t = t->next)
		if (t->img_pid == img_pid && !t->gone)
			err = handle_message(e, t, msg, lzb_now_ns());
	e->config.journal = saved;
	return err;
}

/*
 * Wake every thread of the task waiting on its uffd: from the lowest
 * address a mapping may have to the top of the x86-64/arm64 (47/48-bit)
 * user address space; where the kernel's limit is lower, wake what the
 * lazy ranges cover.
 */
static void wake_all(struct lzb_task *t)
{
	struct uffdio_range all = { 0x10000, 0x7ffffffff000ULL - 0x10000 };
	size_t i;

	if (ioctl(t->uffd, UFFDIO_WAKE, &all) == 0)
		return;
	for (i = 0; i < t->lazy.n; i++) {
		struct uffdio_range r = {
			t->lazy.v[i].start, t->lazy.v[i].end - t->lazy.v[i].start,
		};

		ioctl(t->uffd, UFFDIO_WAKE, &r);
	}
}

#define PAGEMAP_PRESENT (1ULL << 63)

/*
 * Take the pages pagemap shows present out of t's lazy memory.  Only
 * installed pages can be present there: the journal replay took out what
 * the task removed or unmapped, and zero pages go only where nothing is
 * lazy.
 */
static int trim_resident(struct lzb_task *t, int pagemap_fd)
{
	struct lzb_ranges present;
	uint64_t entries[512];
	size_t i;
	int err = 0;

	lzb_ranges_init(&present);
	for (i = 0; i < t->lazy.n && !err; i++) {
		uint64_t a = t->lazy.v[i].start, end = t->lazy.v[i].end;

		while (a < end && !err) {
			uint64_t n = (end - a) / LZB_PAGE_SIZE;
			ssize_t got;

			if (n > 512)
				n = 512;
			got = pread(pagemap_fd, entries, n * sizeof(entries[0]),
				    (off_t)(a / LZB_PAGE_SIZE * sizeof(entries[0])));
			if (got <= 0)
				break;
			n = (uint64_t)got / sizeof(entries[0]);
			for (uint64_t k = 0, run = 0; k <= n && !err; k++) {
				if (k < n && entries[k] & PAGEMAP_PRESENT)
					continue;
				if (k > run)	/* present: [run, k) */
					err = lzb_ranges_add(&present,
						a + run * LZB_PAGE_SIZE,
						a + k * LZB_PAGE_SIZE, 0);
				run = k + 1;
			}
			a += n * LZB_PAGE_SIZE;
		}
	}
	for (i = 0; i < present.n && !err; i++)
		err = lzb_ranges_remove(&t->lazy, present.v[i].start,
					present.v[i].end);
	lzb_ranges_free(&present);
	return err;
}

int lzb_engine_reattach(struct lzb_engine *e, int img_pid, int uffd,
			int pagemap_fd)
{
	struct lzb_task *t;
	int err;

	for (t = e->tasks; t; t = t->next)
		if (t->img_pid == img_pid && !t->attached && !t->gone)
			break;
	if (!t)
		return -ESRCH;
	if (uffd < 0) {
		t->attached = true;
		task_gone(e, t);
		return 0;
	}
	err = pagemap_fd >= 0 ? trim_resident(t, pagemap_fd) : 0;
	t->blind = pagemap_fd < 0;
	if (!err)
		err = watch_uffd(e, t, uffd);
	if (!err)
		wake_all(t);
	return err;
}

/*
 * The first lazy bytes of t that nobody has asked for yet, at most
 * stream_bytes.  Jumps over requested blocks instead of walking pages;
 * installed pages have left t->lazy, so the walk starts at the stream's
 * front and passes only what is in flight.
 */
static bool next_unrequested(struct lzb_engine *e, struct lzb_task *t,
			     uint64_t *img_addr, uint64_t *len)
{
	size_t i;

	for (i = 0; i < t->lazy.n; i++) {
		const struct lzb_range *r = &t->lazy.v[i];
		uint64_t img = r->img_start;
		uint64_t img_end = r->img_start + (r->end - r->start);

		while (img < img_end) {
			uint64_t next, run;

			run = requested_span(e, t->img_pid, img, &next);
			if (run > img) {
				img = run;
				continue;
			}
			run = img + e->config.stream_bytes;
			if (run > img_end)
				run = img_end;
			if (run > next)
				run = next;
			*img_addr = img;
			*len = run - img;
			return true;
		}
	}
	return false;
}

static int stream_more(struct lzb_engine *e)
{
	struct lzb_task *t;
	uint64_t img, len;
	int err;

	for (t = e->tasks; t; t = t->next) {
		if (t->gone || t->uffd < 0)
			continue;
		while (e->background_in_flight < e->config.max_background &&
		       !e->error && !t->gone && !e->deferred &&
		       next_unrequested(e, t, &img, &len)) {
			lzb_engine_background_began(e);
			err = request(e, t->img_pid, img, len, false);
			if (err)
				return err;
		}
	}
	return 0;
}

/* Retry what tasks could not take while their memory map was changing. */
static int retry_deferred(struct lzb_engine *e)
{
	struct lzb_deferred *list = e->deferred;
	int err = 0;

	e->deferred = NULL;
	while (list) {
		struct lzb_deferred *d = list;

		list = d->next;
		if (!err)
			err = install_task(e, d->task, d->img_addr, d->data,
					   d->len);
		free(d);
	}
	return err;
}

int lzb_engine_run(struct lzb_engine *e, int timeout_ms)
{
	struct epoll_event events[16];
	int i, n, err;

	if (e->error)
		return e->error;
	n = epoll_wait(e->epoll_fd, events, 16, timeout_ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	for (i = 0; i < n; i++) {
		err = drain_uffd(e, events[i].data.ptr);
		if (err && !e->error)
			e->error = err;
	}
	if (!e->error && e->nr_zero_retries) {
		err = retry_zero_pages(e);
		if (err)
			e->error = err;
	}
	if (!e->error && e->deferred) {
		err = retry_deferred(e);
		if (err)
			e->error = err;
	}
	if (!e->error && e->streaming)
		stream_more(e);
	if (e->streaming && lzb_engine_done(e)) {
		struct lzb_task *t;

		/*
		 * Everything is resident: let the kernel have the uffds.  Not
		 * before CRIU's restore has finished: until then the restorer
		 * still faults (on holes too), and the caller's keeper may
		 * hold the uffds, so no fault would get an answer.
		 */
		for (t = e->tasks; t; t = t->next)
			task_drop_uffd(e, t);
	}
	return e->error;
}

bool lzb_engine_wants(const struct lzb_engine *e, int img_pid,
		      uint64_t img_addr, uint64_t len)
{
	const struct lzb_task *t;

	for (t = e->tasks; t; t = t->next) {
		size_t i;

		if (t->img_pid != img_pid || t->gone)
			continue;
		for (i = lzb_ranges_first_img(&t->lazy, img_addr);
		     i < t->lazy.n; i++) {
			const struct lzb_range *r = &t->lazy.v[i];
			uint64_t img_end = r->img_start + (r->end - r->start);

			if (!t->lazy.img_unordered &&
			    r->img_start >= img_addr + len)
				break;
			if (r->img_start < img_addr + len && img_end > img_addr)
				return true;
		}
	}
	return false;
}

bool lzb_engine_done(const struct lzb_engine *e)
{
	const struct lzb_task *t;
	const struct lzb_pending *p;

	for (t = e->tasks; t; t = t->next)
		if (!t->gone && (t->lazy.n || !t->attached))
			return false;
	for (p = e->pending; p; p = p->next)
		if (p->requested.n)
			return false;
	return !e->deferred && !e->nr_zero_retries;
}

void lzb_engine_get_stats(const struct lzb_engine *e,
			  struct lzb_engine_stats *stats)
{
	const struct lzb_task *t;

	uint64_t left = 0;

	*stats = e->stats;
	stats->bytes_lazy = 0;
	for (t = e->tasks; t; t = t->next) {
		uint64_t bytes = lzb_ranges_bytes(&t->lazy);

		stats->bytes_lazy += bytes;
		if (!t->forked)
			left += bytes / LZB_PAGE_SIZE;
	}
	stats->pages_resident = left < stats->pages_lazy_total ?
				stats->pages_lazy_total - left : 0;
}

const char *lzb_engine_error(const struct lzb_engine *e)
{
	return e->why[0] ? e->why : NULL;
}

int lzb_engine_check_task(const struct lzb_engine *e, int img_pid, int pid,
			  struct lzb_err *err)
{
	const struct lzb_task *t;

	for (t = e->tasks; t; t = t->next)
		if (t->img_pid == img_pid && !t->forked && !t->gone)
			return lzb_lazy_check(&t->lazy, pid, err);
	return 0;
}
