// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The sandboxed fetcher's loop (fetch_sandbox.c made the process): a
 * fetcher of its own, the same core and transports as in-process, runs
 * each try the parent asks for (one URL, one round, no deadline: those
 * are the parent's) and sends back its bytes and how it ended
 * (fetch_internal.h, "the sandboxed fetcher's wire").  Bytes are sent in
 * runs of up to LZB_WIRE_DATA_MAX, coalesced from what the transports
 * deliver.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fetch/fetch_internal.h"
#include "util/lzb_error.h"

struct child_try {
	struct child_try *next;
	uint64_t id;
	struct lzb_fetch *req;
	uint64_t limit;
	bool stopped;		/* the parent abandoned it: say nothing */
	uint64_t buf_off;	/* where buf's bytes go */
	size_t buf_len;
	/* the bytes at PAYLOAD, after room for either header: a DATA
	 * header goes just before them, an END header at the start */
	uint8_t msg[sizeof(struct lzb_wire_end) + LZB_WIRE_DATA_MAX];
};

#define PAYLOAD sizeof(struct lzb_wire_end)

struct child {
	int sock;
	struct lzb_fetcher *core;
	struct child_try *tries;
	/* ended tries kept for the next (their 64 KiB buffer is warm:
	 * a fresh one per try cost a page fault per 4 KiB) */
	struct child_try *spare;
	unsigned int n_spare;
	bool lost;		/* the parent is gone */
};

#define MAX_SPARE 64

static struct child_try *new_try(struct child *c)
{
	struct child_try *t = c->spare;

	if (!t)
		return malloc(sizeof(*t));
	c->spare = t->next;
	c->n_spare--;
	return t;
}

static void free_try(struct child *c, struct child_try *t)
{
	if (c->n_spare >= MAX_SPARE) {
		free(t);
		return;
	}
	t->next = c->spare;
	c->spare = t;
	c->n_spare++;
}

static struct child the_child;

/* Blocking: the parent reads as its loop turns; it never blocks on us. */
static void send_msg(struct child *c, const void *msg, size_t len)
{
	while (!c->lost && send(c->sock, msg, len, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			c->lost = true;
}

static void flush(struct child *c, struct child_try *t)
{
	struct lzb_wire_data h = { .type = LZB_WIRE_DATA, .id = t->id,
				   .offset = t->buf_off };

	if (!t->buf_len)
		return;
	memcpy(t->msg + PAYLOAD - sizeof(h), &h, sizeof(h));
	send_msg(c, t->msg + PAYLOAD - sizeof(h), sizeof(h) + t->buf_len);
	t->buf_off += t->buf_len;
	t->buf_len = 0;
}

static int try_sink(void *arg, uint64_t offset, const void *data, size_t len)
{
	struct child_try *t = arg;
	uint8_t *buf = t->msg + PAYLOAD;

	if (offset > t->limit || len > t->limit - offset)
		return -EFBIG;
	if (offset != t->buf_off + t->buf_len) {
		flush(&the_child, t);
		t->buf_off = offset;
	}
	while (len) {
		size_t n = LZB_WIRE_DATA_MAX - t->buf_len;

		if (n > len)
			n = len;
		memcpy(buf + t->buf_len, data, n);
		t->buf_len += n;
		data = (const uint8_t *)data + n;
		len -= n;
		if (t->buf_len == LZB_WIRE_DATA_MAX)
			flush(&the_child, t);
	}
	return 0;
}

static void unlink_try(struct child *c, struct child_try *t)
{
	struct child_try **pp;

	for (pp = &c->tries; *pp && *pp != t; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = t->next;
}

/* A reason without the URL the parent knows already. */
static const char *why_of(const struct lzb_fetch *req, const char *msg)
{
	size_t ul = req->url ? strlen(req->url) : 0;

	if (ul && !strncmp(msg, req->url, ul) && !strncmp(msg + ul, ": ", 2))
		return msg + ul + 2;
	return msg;
}

static void try_done(struct lzb_fetch *req, int err, const char *msg,
		     uint64_t len, void *arg)
{
	struct child_try *t = arg;
	struct child *c = &the_child;
	uint8_t text[sizeof(struct lzb_wire_end) + LZB_WIRE_TEXT_MAX];
	struct lzb_wire_end h = { .type = LZB_WIRE_END, .id = t->id,
				  .err = err, .total = req->total };
	uint8_t *out = text;
	size_t n = 0;

	(void)len;
	unlink_try(c, t);
	if (!t->stopped) {
		struct lzb_fetch_stats st;

		if (!err) {	/* the last bytes ride in the END */
			h.offset = t->buf_off;
			n = t->buf_len;
			out = t->msg;
		}
		lzb_fetcher_stats(c->core, &st);
		h.http_new_connections = st.http_new_connections;
		h.http2_transfers = st.http2_transfers;
		h.range_ignored = st.range_ignored;
		h.http_window_clamps = st.http_window_clamps;
		h.http_window_holds = st.http_window_holds;
		h.tftp_retransmits = st.tftp_retransmits;
		h.tftp_gaps = st.tftp_gaps;
		h.tftp_option_fallbacks = st.tftp_option_fallbacks;
		h.tftp_strays = st.tftp_strays;
		h.tftp_windows_cut = st.tftp_windows_cut;
		memcpy(out, &h, sizeof(h));
		if (err) {
			msg = why_of(req, msg);
			n = strnlen(msg, LZB_WIRE_TEXT_MAX);
			memcpy(out + sizeof(h), msg, n);
		}
		send_msg(c, out, sizeof(h) + n);
	}
	free_try(c, t);
}

static void start(struct child *c, const uint8_t *msg, size_t n)
{
	struct lzb_wire_try h;
	char url[LZB_WIRE_TEXT_MAX + 1];
	struct child_try *t;
	struct lzb_fetch_spec spec = { 0 };

	memcpy(&h, msg, sizeof(h));
	if (n - sizeof(h) > LZB_WIRE_TEXT_MAX)
		return;
	memcpy(url, msg + sizeof(h), n - sizeof(h));
	url[n - sizeof(h)] = '\0';
	t = new_try(c);
	if (!t)
		goto fail;
	t->stopped = false;
	t->buf_off = 0;
	t->buf_len = 0;
	t->id = h.id;
	t->limit = h.limit;
	spec.url = url;
	spec.offset = h.offset;
	spec.length = h.length;
	spec.expected_size = h.expected_size;
	spec.sink = try_sink;
	spec.sink_arg = t;
	spec.prio = h.prio == LZB_PRIO_FAULT ? LZB_PRIO_FAULT :
		    LZB_PRIO_BACKGROUND;
	spec.done = try_done;
	spec.done_arg = t;
	t->next = c->tries;
	c->tries = t;
	t->req = lzb_fetch_submit(c->core, &spec);
	if (t->req)
		return;
	unlink_try(c, t);
	free_try(c, t);
fail: {
		struct lzb_wire_end e = { .type = LZB_WIRE_END, .id = h.id,
					  .err = -EINVAL };

		send_msg(c, &e, sizeof(e));
	}
}

static void stop(struct child *c, uint64_t id)
{
	for (struct child_try *t = c->tries; t; t = t->next)
		if (t->id == id) {
			t->stopped = true;
			lzb_fetch_cancel(t->req);
			return;
		}
}

/* Read what the parent asks; false when it is gone. */
static bool read_parent(struct child *c)
{
	static uint8_t msg[sizeof(struct lzb_wire_try) + LZB_WIRE_TEXT_MAX];

	for (;;) {
		ssize_t n = recv(c->sock, msg, sizeof(msg), MSG_DONTWAIT);
		uint32_t type;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (n < (ssize_t)sizeof(type))
			return false;
		memcpy(&type, msg, sizeof(type));
		if (type == LZB_WIRE_TRY &&
		    (size_t)n >= sizeof(struct lzb_wire_try))
			start(c, msg, (size_t)n);
		else if (type == LZB_WIRE_STOP &&
			 (size_t)n == sizeof(struct lzb_wire_stop)) {
			struct lzb_wire_stop s;

			memcpy(&s, msg, sizeof(s));
			stop(c, s.id);
		} else if (type == LZB_WIRE_HOLD &&
			   (size_t)n == sizeof(struct lzb_wire_hold)) {
			struct lzb_wire_hold h;

			memcpy(&h, msg, sizeof(h));
			lzb_fetcher_hold(c->core, h.hold != 0);
		}
	}
}

int lzb_fetch_child_prepare(void *arg, struct lzb_err *err)
{
	struct lzb_fetcher *parent = arg;
	const struct lzb_fetcher_opts *o = &parent->o;

	(void)err;
	lzb_tftp_spares_make(&parent->tftp_spares, o->tftp_spare_sockets,
			     lzb_tftp_rcvbuf_for(o->tftp_blksize,
						 o->tftp_windowsize));
	return 0;
}

int lzb_fetch_child_setup(void *arg, struct lzb_err *err)
{
	struct lzb_fetcher *parent = arg;
	struct lzb_fetcher_opts o = parent->o;

	o.sandbox = false;
	o.no_retries = true;		/* one try: rounds are the parent's */
	o.max_background = 1u << 30;	/* admission is the parent's */
	the_child.core = lzb_fetcher_new(&o);
	if (!the_child.core)
		return lzb_errf(err, "fetch sandbox: cannot make the child's "
				"fetcher: %s", strerror(errno));
	the_child.core->tftp_spares = parent->tftp_spares;
	memset(&parent->tftp_spares, 0, sizeof(parent->tftp_spares));
	the_child.core->ca_pem = parent->ca_pem;
	the_child.core->ca_pem_len = parent->ca_pem_len;
	return 0;
}

int lzb_fetch_child_main(int sock, void *arg)
{
	struct child *c = &the_child;

	(void)arg;
	c->sock = sock;
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = sock, .events = POLLIN },
			{ .fd = lzb_fetcher_fd(c->core), .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 1;
		if (p[0].revents && !read_parent(c))
			return 0;
		if (p[1].revents)
			lzb_fetcher_process(c->core);
		if (c->lost)
			return 0;
	}
}
