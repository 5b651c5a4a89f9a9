// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The fetch core: request life cycle, priorities and admission, mirrors and
 * failover, retry backoff, deadlines, size checks, and the epoll set the
 * transports (fetch_file.c, fetch_http.c, fetch_tftp.c) register with.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "fetch/fetch_internal.h"
#include "util/lzb_error.h"
#include "util/vec.h"

/* Every transport; a fetcher keeps slots[i] for transports[i]. */
static const struct lzb_transport *const transports[LZB_NR_TRANSPORTS] = {
	&lzb_transport_file,
	&lzb_transport_http,
	&lzb_transport_tftp,
	&lzb_transport_remote,
};

/* The transport serving URL, and the scheme it matched (*scheme). */
static const struct lzb_transport *transport_scheme(const char *url,
						    const char **scheme)
{
	for (size_t i = 0; i < LZB_NR_TRANSPORTS; i++) {
		const char *const *sc;

		for (sc = transports[i]->schemes; *sc; sc++) {
			size_t n = strlen(*sc);

			if (!strncmp(url, *sc, n) &&
			    !strncmp(url + n, "://", 3)) {
				if (scheme)
					*scheme = *sc;
				return transports[i];
			}
		}
	}
	return NULL;
}

static const struct lzb_transport *transport_for(const char *url)
{
	return transport_scheme(url, NULL);
}

const char *lzb_fetch_scheme(const char *url)
{
	const char *scheme = NULL;

	if (url)
		transport_scheme(url, &scheme);
	return scheme;
}

struct lzb_transport_slot *lzb_fetcher_slot(struct lzb_fetcher *f,
					    const struct lzb_transport *tp)
{
	for (size_t i = 0; i < LZB_NR_TRANSPORTS; i++)
		if (transports[i] == tp)
			return &f->slots[i];
	abort();	/* a transport missing from transports[] */
}

/* ---- epoll set and deferred frees ---- */

int lzb_watch_add(struct lzb_fetcher *f, int fd, uint32_t events,
		  struct lzb_watch *w)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	w->dead = false;
	return epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int lzb_watch_mod(struct lzb_fetcher *f, int fd, uint32_t events,
		  struct lzb_watch *w)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(f->epfd, EPOLL_CTL_MOD, fd, &ev) ? -errno : 0;
}

void lzb_watch_del(struct lzb_fetcher *f, int fd, struct lzb_watch *w)
{
	epoll_ctl(f->epfd, EPOLL_CTL_DEL, fd, NULL);
	w->dead = true;
}

void lzb_defer_free(struct lzb_fetcher *f, void *p)
{
	if (!p)
		return;
	if (!f->in_process) {
		free(p);
		return;
	}
	if (LZB_VEC_RESERVE(f->deferred, f->n_deferred, f->cap_deferred, 1))
		abort();	/* cannot keep the promise safely */
	f->deferred[f->n_deferred++] = p;
}

static uint64_t next_timer(const struct lzb_fetcher *f)
{
	uint64_t t = LZB_NO_TIMER;
	const struct lzb_fetch *r;
	size_t i;

	for (i = 0; i < LZB_NR_TRANSPORTS; i++)
		if (f->slots[i].timer_ns < t)
			t = f->slots[i].timer_ns;
	for (r = f->all; r; r = r->next) {
		if (r->deadline_ns < t)
			t = r->deadline_ns;
		if (r->state == LZB_BACKOFF && r->backoff_ns < t)
			t = r->backoff_ns;
		if (r->state == LZB_RUNNING && r->tp_timer_ns < t)
			t = r->tp_timer_ns;
	}
	return t;
}

void lzb_fetcher_rearm(struct lzb_fetcher *f)
{
	struct itimerspec its = { 0 };
	uint64_t t = next_timer(f);

	if (t == f->armed_ns)
		return;
	f->armed_ns = t;
	if (t != LZB_NO_TIMER) {
		if (!t)
			t = 1;
		its.it_value.tv_sec = t / 1000000000ULL;
		its.it_value.tv_nsec = t % 1000000000ULL;
	}
	timerfd_settime(f->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

int lzb_fetcher_timeout_ms(const struct lzb_fetcher *f)
{
	uint64_t t = next_timer(f), now = lzb_now_ns();

	if (t == LZB_NO_TIMER)
		return -1;
	if (t <= now)
		return 0;
	return (int)((t - now + LZB_NS_PER_MS - 1) / LZB_NS_PER_MS);
}

static void timer_fired(struct lzb_watch *w, uint32_t events)
{
	struct lzb_fetcher *f = (struct lzb_fetcher *)
		((char *)w - offsetof(struct lzb_fetcher, timer_watch));
	uint64_t n;

	(void)events;
	if (read(f->tfd, &n, sizeof(n)) < 0)
		return;
	f->armed_ns = 0;	/* force a re-arm */
}

/* ---- fetcher ---- */

/* The fini hooks of the first n transports. */
static void fini_transports(struct lzb_fetcher *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (transports[i]->fini)
			transports[i]->fini(f);
}

struct lzb_fetcher *lzb_fetcher_new(const struct lzb_fetcher_opts *opts)
{
	struct lzb_fetcher *f = calloc(1, sizeof(*f));
	size_t i;
	int err;

	if (!f)
		return NULL;
	if (opts)
		f->o = *opts;
	if (!f->o.max_background)
		f->o.max_background = 4;
	if (f->o.no_retries)
		f->o.retries = 0;
	else if (!f->o.retries)
		f->o.retries = 2;
	if (!f->o.backoff_ms)
		f->o.backoff_ms = 100;
	if (!f->o.connect_timeout_ms)
		f->o.connect_timeout_ms = 5000;
	if (!f->o.stall_ms)
		f->o.stall_ms = 10000;
	for (i = 0; i < LZB_NR_TRANSPORTS; i++)
		f->slots[i].timer_ns = LZB_NO_TIMER;
	f->armed_ns = LZB_NO_TIMER;
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	f->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (f->epfd < 0 || f->tfd < 0)
		goto fail;
	f->timer_watch.fn = timer_fired;
	err = lzb_watch_add(f, f->tfd, EPOLLIN, &f->timer_watch);
	if (err) {
		errno = -err;
		goto fail;
	}
	for (i = 0; i < LZB_NR_TRANSPORTS; i++) {
		err = transports[i]->init ? transports[i]->init(f) : 0;
		if (err) {
			fini_transports(f, i);
			errno = -err;
			goto fail;
		}
	}
	return f;
fail:
	err = errno;
	if (f->epfd >= 0)
		close(f->epfd);
	if (f->tfd >= 0)
		close(f->tfd);
	free(f);
	errno = err;
	return NULL;
}

int lzb_fetcher_fd(const struct lzb_fetcher *f)
{
	return f->epfd;
}

unsigned int lzb_fetcher_pending(const struct lzb_fetcher *f)
{
	return f->n_pending;
}

void lzb_fetcher_hold(struct lzb_fetcher *f, bool hold)
{
	if (f->held == hold)
		return;
	f->held = hold;
	for (int i = 0; i < LZB_NR_TRANSPORTS; i++)
		if (transports[i]->hold && f->slots[i].state)
			transports[i]->hold(f);
}

void lzb_fetcher_stats(const struct lzb_fetcher *f, struct lzb_fetch_stats *s)
{
	*s = f->st;
}

static void free_request(struct lzb_fetch *r)
{
	lzb_mirror_tries_free(&r->tries);
	free(r->path);
	free(r->single_url);
	free(r->url);
	free(r);
}

static void flush_deferred(struct lzb_fetcher *f)
{
	size_t i;

	while (f->zombies) {
		struct lzb_fetch *r = f->zombies;

		f->zombies = r->znext;
		free_request(r);
	}
	for (i = 0; i < f->n_deferred; i++)
		free(f->deferred[i]);
	f->n_deferred = 0;
}

void lzb_fetcher_free(struct lzb_fetcher *f)
{
	if (!f)
		return;
	f->in_process++;
	while (f->all)
		lzb_fetch_cancel(f->all);
	fini_transports(f, LZB_NR_TRANSPORTS);
	lzb_tftp_spares_close(&f->tftp_spares);
	f->in_process--;
	flush_deferred(f);
	free(f->deferred);
	close(f->epfd);
	close(f->tfd);
	free(f);
}

/* ---- requests ---- */

void lzb_fetch_msg(struct lzb_fetch *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(r->msg, sizeof(r->msg), "%s: ",
		     r->url ? r->url : r->single_url ? r->single_url : "?");
	if (n < 0 || (size_t)n >= sizeof(r->msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(r->msg + n, sizeof(r->msg) - n, fmt, ap);
	va_end(ap);
}

void lzb_fetch_set_total(struct lzb_fetch *r, uint64_t total)
{
	r->total = total;
}

int lzb_fetch_deliver(struct lzb_fetch *r, uint64_t offset, const void *data,
		      size_t len)
{
	int err = 0;

	if (!len)
		return 0;
	if (offset > r->limit || len > r->limit - offset) {
		lzb_fetch_msg(r, "more data than %s %llu bytes",
			      r->s.length ? "the requested range of" :
			      r->s.expected_size >= 0 ? "the expected size of" :
			      "the buffer of",
			      (unsigned long long)r->limit);
		return -EFBIG;
	}
	if (r->s.buf)
		memcpy((char *)r->s.buf + offset, data, len);
	else
		err = r->s.sink(r->s.sink_arg, offset, data, len);
	if (err) {
		lzb_fetch_msg(r, "the receiver refused the data: %s",
			      strerror(-err));
		return err;
	}
	if (offset + len > r->got) {
		r->f->st.bytes += offset + len - r->got;
		r->got = offset + len;
	}
	if (r->s.progress)
		r->s.progress(r->s.progress_arg, r->got,
			      r->s.length ? r->s.length :
			      r->s.expected_size >= 0 ?
			      (uint64_t)r->s.expected_size : r->total);
	return 0;
}

static void admit(struct lzb_fetcher *f);
static void start_try(struct lzb_fetch *r);

static void end_request(struct lzb_fetch *r, int err)
{
	struct lzb_fetcher *f = r->f;

	if (r->state == LZB_ENDED)
		return;
	if (r->state == LZB_QUEUED) {
		struct lzb_fetch **pp = &f->queue;

		while (*pp && *pp != r)
			pp = &(*pp)->qnext;
		if (*pp)
			*pp = r->qnext;
		f->queue_tail = NULL;
		for (pp = &f->queue; *pp; pp = &(*pp)->qnext)
			f->queue_tail = *pp;
	} else if (r->s.prio == LZB_PRIO_BACKGROUND) {
		f->n_bg_running--;
	}
	r->state = LZB_ENDED;
	if (r->prev)
		r->prev->next = r->next;
	else
		f->all = r->next;
	if (r->next)
		r->next->prev = r->prev;
	f->n_pending--;
	r->err = err;
	if (!err)
		f->st.succeeded++;
	else if (err == -ECANCELED)
		f->st.cancelled++;
	else if (err == -ETIMEDOUT)
		f->st.timed_out++;
	else
		f->st.failed++;
	if (!err)
		r->msg[0] = 0;
	f->in_process++;
	r->s.done(r, err, err ? r->msg : "ok", r->got, r->s.done_arg);
	admit(f);
	f->in_process--;
	r->znext = f->zombies;
	f->zombies = r;
	if (!f->in_process)
		flush_deferred(f);
}

static void admit(struct lzb_fetcher *f)
{
	while (f->queue && f->n_bg_running < f->o.max_background) {
		struct lzb_fetch *r = f->queue;

		f->queue = r->qnext;
		if (!f->queue)
			f->queue_tail = NULL;
		f->n_bg_running++;
		if (f->n_bg_running > f->st.max_background_seen)
			f->st.max_background_seen = f->n_bg_running;
		start_try(r);
	}
}

static char *url_for(const struct lzb_fetch *r)
{
	const char *base, *sep = "";
	size_t bl;
	char *u;

	if (!r->s.mirrors)
		return strdup(r->single_url);
	base = r->s.mirrors->base[r->tries.current];
	bl = strlen(base);
	if (!r->path[0])
		;	/* the base is the whole URL */
	else if (bl && base[bl - 1] != '/' && r->path[0] != '/')
		sep = "/";
	else if (bl && base[bl - 1] == '/' && r->path[0] == '/')
		bl--;
	u = malloc(bl + strlen(sep) + strlen(r->path) + 1);
	if (u)
		sprintf(u, "%.*s%s%s", (int)bl, base, sep, r->path);
	return u;
}

/* A try that could not even start: handle it from the timer, not here. */
static void start_failed_later(struct lzb_fetch *r, int err)
{
	r->err = err;
	r->state = LZB_BACKOFF;
	r->backoff_ns = 0;	/* now */
}

/* Start a try on the next mirror of this round (there must be one). */
static void start_try(struct lzb_fetch *r)
{
	int err;

	if (!lzb_mirror_pick(r->s.mirrors, &r->tries))
		abort();	/* every caller checked there is one */
	free(r->url);
	r->url = url_for(r);
	r->got = 0;
	r->total = 0;
	r->err = 0;
	r->tp_timer_ns = LZB_NO_TIMER;
	r->state = LZB_RUNNING;
	r->f->st.tries++;
	if (!r->url) {
		lzb_fetch_msg(r, "out of memory");
		start_failed_later(r, -ENOMEM);
		return;
	}
	r->tp = transport_for(r->url);
	/* Sandboxed: every network try runs in the child (fetch_remote.c) */
	if (r->tp && r->tp != &lzb_transport_file &&
	    lzb_fetcher_slot(r->f, &lzb_transport_remote)->state)
		r->tp = &lzb_transport_remote;
	if (!r->tp) {
		lzb_fetch_msg(r, "unsupported URL scheme");
		start_failed_later(r, -EPROTONOSUPPORT);
		return;
	}
	err = r->tp->start(r);
	if (err)
		start_failed_later(r, err);
}

static int check_size(struct lzb_fetch *r)
{
	if (r->s.length && r->got != r->s.length) {
		lzb_fetch_msg(r, "short range: %llu of %llu bytes",
			      (unsigned long long)r->got,
			      (unsigned long long)r->s.length);
		return -EPROTO;
	}
	if (!r->s.length && r->total && r->got != r->total) {
		lzb_fetch_msg(r, "truncated: %llu of the %llu bytes the "
			      "server announced", (unsigned long long)r->got,
			      (unsigned long long)r->total);
		return -EPROTO;
	}
	if (!r->s.length && r->s.expected_size >= 0 &&
	    r->got != (uint64_t)r->s.expected_size) {
		lzb_fetch_msg(r, "size is %llu bytes, expected %lld",
			      (unsigned long long)r->got,
			      (long long)r->s.expected_size);
		return -EPROTO;
	}
	return 0;
}

/* The caller's check of what a try delivered: -EBADMSG refuses it. */
static int check_bytes(struct lzb_fetch *r)
{
	struct lzb_err err = { { 0 } };
	int ret;

	if (!r->s.check)
		return 0;
	r->f->in_process++;
	ret = r->s.check(r->s.check_arg, r->s.buf, r->got, &err);
	r->f->in_process--;
	if (!ret)
		return 0;
	lzb_fetch_msg(r, "%s", err.msg[0] ? err.msg : "refused by the caller");
	return -EBADMSG;
}

/*
 * Would asking the same mirrors again after a backoff change the answer?
 * Not for access denied or TLS verification (-EACCES), nor for bytes that
 * were refused (-EBADMSG) or too large (-EFBIG); not for "not found"
 * either, unless the object is content-addressed (a mirror still being
 * filled may have it soon).
 */
static bool error_is_final(const struct lzb_fetch *r, int err)
{
	if (err == -ENOENT)
		return !r->s.content_addressed;
	/* -ECHILD: the sandboxed fetcher died (fetch_remote.c); it is not
	 * started again, so no later round reaches a network mirror */
	return err == -EACCES || err == -EBADMSG || err == -EFBIG ||
	       err == -ECHILD;
}

/* Rounds go on past `retries` only for a request that asked for it and
 * has a deadline to end them. */
static bool until_deadline(const struct lzb_fetch *r)
{
	return r->s.retry_until_deadline && r->deadline_ns != LZB_NO_TIMER;
}

/* This try's failure, as the mirror's own words (r->msg without the URL). */
static const char *try_why(const struct lzb_fetch *r)
{
	size_t ul = r->url ? strlen(r->url) : 0;

	if (ul && !strncmp(r->msg, r->url, ul) && !strncmp(r->msg + ul, ": ", 2))
		return r->msg + ul + 2;
	return r->msg;
}

/* Every mirror failed: the request's message names each. */
static void every_mirror_failed(struct lzb_fetch *r)
{
	char *line;

	if (r->tries.n < 2)
		return;		/* r->msg already names the one URL */
	line = malloc(sizeof(r->msg));
	if (!line)
		return;
	lzb_mirror_summary(r->s.mirrors, &r->tries, r->path, line,
			   sizeof(r->msg));
	memcpy(r->msg, line, sizeof(r->msg));
	free(line);
}

/* The deadline passed after mirrors failed: say what each said, too. */
static void deadline_names_mirrors(struct lzb_fetch *r)
{
	size_t len = strlen(r->msg), i;

	for (i = 0; i < r->tries.n && !r->tries.why[i]; i++)
		;
	if (r->tries.n < 2 || i == r->tries.n || len + 3 >= sizeof(r->msg))
		return;
	strcpy(r->msg + len, "; ");
	lzb_mirror_summary(r->s.mirrors, &r->tries, r->path, r->msg + len + 2,
			   sizeof(r->msg) - len - 2);
}

void lzb_fetch_try_done(struct lzb_fetch *r, int err)
{
	struct lzb_fetcher *f = r->f;
	unsigned int shift;

	r->tp_state = NULL;
	r->tp_timer_ns = LZB_NO_TIMER;
	if (!err)
		err = check_size(r);
	if (!err)
		err = check_bytes(r);
	if (!err) {
		end_request(r, 0);
		return;
	}
	if (err == -ECANCELED || err == -ENOMEM) {
		end_request(r, err);
		return;
	}
	r->err = err;
	lzb_mirror_failed(r->s.mirrors, &r->tries, try_why(r));
	if (!error_is_final(r, err))
		r->round_all_final = false;
	if (lzb_mirror_untried(&r->tries)) {
		f->st.failovers++;
		start_try(r);
		return;
	}
	if (r->round_all_final || (r->round >= f->o.retries &&
				   !until_deadline(r))) {
		every_mirror_failed(r);
		end_request(r, err);
		return;
	}
	r->round++;
	f->st.retry_rounds++;
	lzb_mirror_new_round(&r->tries);
	r->round_all_final = true;
	r->err = err;
	r->state = LZB_BACKOFF;
	shift = r->round - 1 < 6 ? r->round - 1 : 6;
	r->backoff_ns = lzb_now_ns() +
			((uint64_t)f->o.backoff_ms << shift) * LZB_NS_PER_MS;
}

struct lzb_fetch *lzb_fetch_submit(struct lzb_fetcher *f,
				   const struct lzb_fetch_spec *spec)
{
	struct lzb_fetch *r;

	if (!spec->done || !spec->buf == !spec->sink ||
	    !spec->mirrors == !spec->url || (spec->mirrors && !spec->path) ||
	    (spec->url && !transport_for(spec->url)) ||
	    (spec->buf && spec->length && spec->buf_size < spec->length) ||
	    (spec->buf && spec->expected_size >= 0 && !spec->length &&
	     (uint64_t)spec->expected_size > spec->buf_size)) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->f = f;
	r->s = *spec;
	if (spec->path)
		r->path = strdup(spec->path);
	if (spec->url)
		r->single_url = strdup(spec->url);
	if ((spec->path && !r->path) || (spec->url && !r->single_url)) {
		free_request(r);
		errno = ENOMEM;
		return NULL;
	}
	r->s.path = r->path;
	r->s.url = r->single_url;
	if (spec->length)
		r->limit = spec->length;
	else if (spec->expected_size >= 0)
		r->limit = spec->expected_size;
	else
		r->limit = spec->buf ? spec->buf_size : UINT64_MAX;
	if (lzb_mirror_tries_init(&r->tries, spec->mirrors)) {
		free_request(r);
		errno = ENOMEM;
		return NULL;
	}
	r->round_all_final = true;
	r->deadline_ns = spec->deadline_ms ?
		lzb_now_ns() + spec->deadline_ms * LZB_NS_PER_MS : LZB_NO_TIMER;
	r->tp_timer_ns = LZB_NO_TIMER;
	r->next = f->all;
	if (f->all)
		f->all->prev = r;
	f->all = r;
	f->n_pending++;
	f->st.started++;

	f->in_process++;
	if (spec->prio == LZB_PRIO_FAULT) {
		start_try(r);
	} else {
		r->state = LZB_QUEUED;
		if (f->queue_tail)
			f->queue_tail->qnext = r;
		else
			f->queue = r;
		f->queue_tail = r;
		admit(f);
	}
	f->in_process--;
	if (!f->in_process)
		flush_deferred(f);
	lzb_fetcher_rearm(f);
	return r;
}

void lzb_fetch_promote(struct lzb_fetch *r)
{
	struct lzb_fetcher *f = r->f;
	struct lzb_fetch **pp;

	if (r->state == LZB_ENDED || r->s.prio == LZB_PRIO_FAULT)
		return;
	f->in_process++;
	r->s.prio = LZB_PRIO_FAULT;
	if (r->state == LZB_QUEUED) {
		for (pp = &f->queue; *pp && *pp != r; pp = &(*pp)->qnext)
			;
		if (*pp)
			*pp = r->qnext;
		f->queue_tail = NULL;
		for (pp = &f->queue; *pp; pp = &(*pp)->qnext)
			f->queue_tail = *pp;
		start_try(r);
	} else {
		f->n_bg_running--;	/* it no longer holds a background slot */
		admit(f);
	}
	f->in_process--;
	if (!f->in_process)
		flush_deferred(f);
	lzb_fetcher_rearm(f);
}

void lzb_fetch_cancel(struct lzb_fetch *r)
{
	struct lzb_fetcher *f = r->f;

	if (r->state == LZB_ENDED)
		return;
	f->in_process++;
	if (r->state == LZB_RUNNING && r->tp_state)
		r->tp->stop(r);
	r->tp_state = NULL;
	lzb_fetch_msg(r, "cancelled");
	end_request(r, -ECANCELED);
	f->in_process--;
	if (!f->in_process) {
		flush_deferred(f);
		lzb_fetcher_rearm(f);
	}
}

static void run_timers(struct lzb_fetcher *f)
{
	uint64_t now = lzb_now_ns();
	struct lzb_fetch *r;
	size_t i;

	for (i = 0; i < LZB_NR_TRANSPORTS; i++) {
		if (f->slots[i].timer_ns <= now &&
		    transports[i]->fetcher_timer) {
			f->slots[i].timer_ns = LZB_NO_TIMER;
			transports[i]->fetcher_timer(f);
		}
	}
again:
	for (r = f->all; r; r = r->next) {
		if (r->deadline_ns <= now) {
			if (r->state == LZB_RUNNING && r->tp_state)
				r->tp->stop(r);
			r->tp_state = NULL;
			if (r->err)
				lzb_fetch_msg(r, "deadline of %u ms passed "
					      "(last error: %s)",
					      r->s.deadline_ms,
					      strerror(-r->err));
			else
				lzb_fetch_msg(r, "deadline of %u ms passed",
					      r->s.deadline_ms);
			deadline_names_mirrors(r);
			end_request(r, -ETIMEDOUT);
			goto again;
		}
		if (r->state == LZB_BACKOFF && r->backoff_ns <= now) {
			if (r->backoff_ns == 0) {
				/* a try that failed to start */
				r->state = LZB_RUNNING;
				lzb_fetch_try_done(r, r->err);
			} else {
				start_try(r);
			}
			goto again;
		}
		if (r->state == LZB_RUNNING && r->tp_timer_ns <= now) {
			r->tp_timer_ns = LZB_NO_TIMER;
			r->tp->timer(r);
			goto again;
		}
	}
}

int lzb_fetcher_process(struct lzb_fetcher *f)
{
	struct epoll_event ev[64];
	int n, i;

	f->in_process++;
	n = epoll_wait(f->epfd, ev, 64, 0);
	for (i = 0; i < n; i++) {
		struct lzb_watch *w = ev[i].data.ptr;

		if (!w->dead)
			w->fn(w, ev[i].events);
	}
	run_timers(f);
	f->in_process--;
	if (!f->in_process)
		flush_deferred(f);
	lzb_fetcher_rearm(f);	/* a no-op unless the next timer moved */
	return n < 0 && errno != EINTR ? -errno : 0;
}

int lzb_fetcher_run(struct lzb_fetcher *f, int timeout_ms)
{
	uint64_t end = timeout_ms < 0 ? LZB_NO_TIMER :
		       lzb_now_ns() + (uint64_t)timeout_ms * LZB_NS_PER_MS;
	struct pollfd pfd = { .fd = f->epfd, .events = POLLIN };
	int err;

	while (f->n_pending) {
		uint64_t now = lzb_now_ns();
		int wait = -1;

		if (end != LZB_NO_TIMER) {
			if (now >= end)
				return -ETIMEDOUT;
			wait = (int)((end - now) / LZB_NS_PER_MS) + 1;
		}
		if (poll(&pfd, 1, wait) < 0 && errno != EINTR)
			return -errno;
		err = lzb_fetcher_process(f);
		if (err)
			return err;
	}
	return 0;
}
