// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * http:// and https:// through libcurl's multi_socket interface, driven by
 * the fetcher's epoll set: one multi handle per fetcher (so its connection
 * cache gives keep-alive reuse and HTTP/2 multiplexing), one easy handle per
 * try.  Responses are checked by http_resp.c before a byte is delivered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "fetch/fetch_internal.h"
#include "fetch/http_resp.h"
#include "fetch/http_window.h"

/* The fetcher-wide state, in the transport's slot: made by the first try. */
struct lzb_http {
	CURLM *multi;
	/* the socket libcurl is reading in sock_event, else
	 * CURL_SOCKET_BAD: write_cb's bytes came from it */
	curl_socket_t reading;
};

struct http_sock {
	struct lzb_watch w;
	struct lzb_fetcher *f;
	curl_socket_t fd;
	bool added;
};

struct http_try {
	struct lzb_fetch *r;
	CURL *easy;
	struct lzb_http_resp resp;
	bool full_body;		/* 200 for a Range request, cut it out */
	uint64_t pos;		/* bytes of the body seen */
	bool range_complete;	/* full_body: have all we wanted */
	uint64_t last_ns;	/* when the last byte (header or body) came */
	struct lzb_window window;	/* opts.http_bound_window */
	bool window_off;	/* no TCP_INFO for this connection */
	curl_socket_t window_fd;	/* its connection, once bounded */
	bool held;		/* window closed by lzb_fetcher_hold */
	int err;		/* our own verdict, set before aborting */
	char range[48];
	char errbuf[CURL_ERROR_SIZE];
};

static void check_done(struct lzb_fetcher *f);

static struct lzb_transport_slot *slot_of(struct lzb_fetcher *f)
{
	return lzb_fetcher_slot(f, &lzb_transport_http);
}

/* The fetcher's multi handle; NULL before its first HTTP try. */
static CURLM *multi_of(struct lzb_fetcher *f)
{
	struct lzb_http *h = slot_of(f)->state;

	return h ? h->multi : NULL;
}

static void sock_event(struct lzb_watch *w, uint32_t events)
{
	struct http_sock *s = (struct http_sock *)w;
	struct lzb_fetcher *f = s->f;
	struct lzb_http *h = slot_of(f)->state;
	int flags = 0, running;

	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	h->reading = s->fd;
	curl_multi_socket_action(h->multi, s->fd, flags, &running);
	h->reading = CURL_SOCKET_BAD;
	check_done(f);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
		     void *socketp)
{
	struct lzb_fetcher *f = userp;
	struct http_sock *s = socketp;
	uint32_t events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			lzb_watch_del(f, fd, &s->w);
			lzb_defer_free(f, s);
			curl_multi_assign(multi_of(f), fd, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		s->w.fn = sock_event;
		s->f = f;
		s->fd = fd;
		if (lzb_watch_add(f, fd, events, &s->w)) {
			free(s);
			return -1;
		}
		curl_multi_assign(multi_of(f), fd, s);
		return 0;
	}
	return lzb_watch_mod(f, fd, events, &s->w) ? -1 : 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct lzb_fetcher *f = userp;

	(void)multi;
	slot_of(f)->timer_ns = timeout_ms < 0 ? LZB_NO_TIMER :
		lzb_now_ns() + (uint64_t)timeout_ms * LZB_NS_PER_MS;
	if (!f->in_process)
		lzb_fetcher_rearm(f);
	return 0;
}

/* The fetcher-wide timer libcurl asked for (timer_cb) passed. */
static void http_fetcher_timer(struct lzb_fetcher *f)
{
	int running;

	if (!multi_of(f))
		return;
	curl_multi_socket_action(multi_of(f), CURL_SOCKET_TIMEOUT, 0,
				 &running);
	check_done(f);
}

/*
 * The multi handle, made by the first try rather than with the fetcher, so
 * a fetcher that never speaks HTTP never initialises libcurl.
 */
static int http_setup(struct lzb_fetcher *f)
{
	static bool global_done;
	struct lzb_transport_slot *slot = slot_of(f);
	struct lzb_http *h;

	if (slot->state)
		return 0;
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT))
			return -ENOMEM;
		global_done = true;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->reading = CURL_SOCKET_BAD;
	h->multi = curl_multi_init();
	if (!h->multi) {
		free(h);
		return -ENOMEM;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, f);
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING,
			  (long)CURLPIPE_MULTIPLEX);
	slot->state = h;
	return 0;
}

static void http_fini(struct lzb_fetcher *f)
{
	struct lzb_transport_slot *slot = slot_of(f);
	struct lzb_http *h = slot->state;

	if (!h)
		return;
	curl_multi_cleanup(h->multi);
	free(h);
	slot->state = NULL;
}

static size_t header_cb(char *line, size_t size, size_t n, void *arg)
{
	struct http_try *t = arg;
	struct lzb_fetch *r = t->r;
	size_t len = size * n;
	char why[200];
	int rc;

	t->last_ns = lzb_now_ns();
	rc = lzb_http_resp_line(&t->resp, line, len);
	if (rc < 0) {
		lzb_fetch_msg(r, "malformed HTTP status line");
		t->err = -EPROTO;
		return 0;
	}
	/* End of a header block; 1xx and redirects are not final. */
	if (rc == 1 && t->resp.status >= 200) {
		rc = lzb_http_resp_check(&t->resp, r->s.offset, r->s.length,
					 r->limit, r->f->o.accept_full_for_range,
					 &t->full_body, why, sizeof(why));
		if (rc) {
			lzb_fetch_msg(r, "%s", why);
			t->err = rc;
			return 0;
		}
		if (t->full_body)
			r->f->st.range_ignored++;
		if (!r->s.length && t->resp.have_length)
			lzb_fetch_set_total(r, t->resp.content_length);
	}
	return len;
}

/* TCP_INFO of FD into TI, holding at least its first LEN bytes. */
static bool tcp_info_of(curl_socket_t fd, struct tcp_info *ti, size_t len)
{
	socklen_t got = sizeof(*ti);

	return !getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &got) && got >= len;
}

/*
 * lzb_fetcher_hold: close (HOLD) or reopen the window of try T, once its
 * window is bounded.  Not reading would not stop the server: a TCP window
 * counts from the bytes the kernel received, read or not, so the server
 * goes on until the whole receive buffer is full (megabytes, once
 * autotuned).  A clamp of two segments does: the window already offered
 * is never taken back, so the server stops after at most the bounded
 * window, and then sends two segments per round trip until the clamp is
 * set back.  Not less: a window under one segment is advertised as zero
 * (silly window avoidance), and then the server would only find the
 * window open again by its zero-window probes, hundreds of ms apart.
 */
static void hold_try(struct http_try *t, bool hold)
{
	struct tcp_info ti;
	int clamp = (int)t->window.clamp;

	if (t->window_fd == CURL_SOCKET_BAD || t->held == hold)
		return;
	if (hold) {
		if (!tcp_info_of(t->window_fd, &ti,
				 offsetof(struct tcp_info, tcpi_advmss) +
				 sizeof(ti.tcpi_advmss)))
			return;
		clamp = 2 * (int)(ti.tcpi_rcv_mss > ti.tcpi_advmss ?
				  ti.tcpi_rcv_mss : ti.tcpi_advmss);
	}
	if (setsockopt(t->window_fd, IPPROTO_TCP, TCP_WINDOW_CLAMP, &clamp,
		       sizeof(clamp)))
		return;
	t->held = hold;
	t->last_ns = lzb_now_ns();	/* the stall clock restarts */
	t->r->f->st.http_window_holds += hold;
}

static void http_hold(struct lzb_fetcher *f)
{
	for (struct lzb_fetch *r = f->all; r; r = r->next)
		if (r->tp == &lzb_transport_http && r->tp_state)
			hold_try(r->tp_state, f->held);
}

/*
 * opts.http_bound_window: LEN more bytes came; bound the window if due.
 * The socket is the one sock_event has libcurl read (CURLINFO_ACTIVESOCKET
 * names none while a transfer runs); bytes libcurl hands over from its
 * timer instead are counted, and the window is bounded at the next read.
 */
static void bound_window(struct http_try *t, size_t len)
{
	struct lzb_http *h = slot_of(t->r->f)->state;
	curl_socket_t fd = h->reading;
	struct tcp_info ti;
	int clamp;

	if (t->window_off || !lzb_window_add(&t->window, t->last_ns, len) ||
	    fd == CURL_SOCKET_BAD || t->held)
		return;
	if (!tcp_info_of(fd, &ti, offsetof(struct tcp_info, tcpi_min_rtt) +
			 sizeof(ti.tcpi_min_rtt))) {
		t->window_off = true;
		return;
	}
	clamp = (int)lzb_window_clamp(&t->window, t->last_ns, ti.tcpi_min_rtt);
	if (clamp && !setsockopt(fd, IPPROTO_TCP, TCP_WINDOW_CLAMP, &clamp,
				 sizeof(clamp))) {
		t->window_fd = fd;
		t->r->f->st.http_window_clamps++;
		if (t->r->f->held)	/* it started while held */
			hold_try(t, true);
	}
}

static size_t write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_try *t = arg;
	struct lzb_fetch *r = t->r;
	struct lzb_http_body_piece piece;
	size_t len = size * n;
	int err;

	t->last_ns = lzb_now_ns();
	if (!t->resp.headers_done) {	/* cannot happen with libcurl */
		lzb_fetch_msg(r, "body before headers");
		t->err = -EPROTO;
		return 0;
	}
	lzb_http_body_place(t->full_body, r->s.offset, r->s.length, t->pos,
			    len, &piece);
	t->pos += len;
	if (r->f->o.http_bound_window)
		bound_window(t, len);
	if (piece.len) {
		err = lzb_fetch_deliver(r, piece.to, data + piece.skip,
					piece.len);
		if (err) {
			t->err = err;
			return 0;
		}
	}
	if (piece.complete) {	/* the rest is of no use: stop reading */
		t->range_complete = true;
		return 0;
	}
	return len;
}

static void http_close(struct lzb_fetch *r)
{
	struct http_try *t = r->tp_state;

	if (!t)
		return;
	curl_multi_remove_handle(multi_of(r->f), t->easy);
	curl_easy_cleanup(t->easy);
	free(t);
	r->tp_state = NULL;
}

static int map_curl_error(struct http_try *t, CURLcode rc)
{
	struct lzb_fetch *r = t->r;
	const char *detail = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);

	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		lzb_fetch_msg(r, "cannot resolve host: %s", detail);
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		lzb_fetch_msg(r, "cannot connect: %s", detail);
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		lzb_fetch_msg(r, "stalled or timed out: %s", detail);
		return -ETIMEDOUT;
	case CURLE_PARTIAL_FILE:
		lzb_fetch_msg(r, "truncated: connection closed after %llu "
			      "bytes of the body (%s)",
			      (unsigned long long)t->pos, detail);
		return -EPROTO;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		/* -EACCES: not retried in later rounds (fetch.c) */
		lzb_fetch_msg(r, "TLS verification failed: %s", detail);
		return -EACCES;
	case CURLE_SSL_CACERT_BADFILE:
		lzb_fetch_msg(r, "TLS verification failed, cannot use the CA "
			      "file: %s", detail);
		return -EACCES;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:	/* what 7.88 says for a bad status */
		lzb_fetch_msg(r, "malformed HTTP response: %s", detail);
		return -EPROTO;
	case CURLE_SSL_CONNECT_ERROR:
		lzb_fetch_msg(r, "TLS handshake failed: %s", detail);
		return -ECONNABORTED;
	default:
		lzb_fetch_msg(r, "%s", detail);
		return -EIO;
	}
}

static void finish(struct lzb_fetch *r, CURLcode rc)
{
	struct http_try *t = r->tp_state;
	long ver = 0, conns = 0;
	int err = 0;

	curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &ver);
	curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &conns);
	r->f->st.http_new_connections += conns;
	if (ver == CURL_HTTP_VERSION_2_0)
		r->f->st.http2_transfers++;
	if (t->err)
		err = t->err;
	else if (rc == CURLE_WRITE_ERROR && t->range_complete)
		err = 0;
	else if (rc != CURLE_OK)
		err = map_curl_error(t, rc);
	else if (!t->resp.headers_done || t->resp.status < 200) {
		lzb_fetch_msg(r, "no final HTTP response");
		err = -EPROTO;
	} else if (t->full_body && !t->range_complete) {
		lzb_fetch_msg(r, "full body (200) ended before the range");
		err = -EPROTO;
	}
	http_close(r);
	lzb_fetch_try_done(r, err);
}

static void check_done(struct lzb_fetcher *f)
{
	CURLMsg *m;
	int left;

	while (multi_of(f) && (m = curl_multi_info_read(multi_of(f), &left))) {
		struct lzb_fetch *r = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &r);
		if (r && r->tp_state)
			finish(r, m->data.result);
	}
}

static int http_start(struct lzb_fetch *r)
{
	struct lzb_fetcher *f = r->f;
	struct http_try *t;
	int err;

	err = http_setup(f);
	if (err) {
		lzb_fetch_msg(r, "cannot set up libcurl");
		return err;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->r = r;
	t->window_fd = CURL_SOCKET_BAD;
	lzb_http_resp_init(&t->resp);
	t->easy = curl_easy_init();
	if (!t->easy) {
		free(t);
		lzb_fetch_msg(r, "cannot set up libcurl");
		return -ENOMEM;
	}
	curl_easy_setopt(t->easy, CURLOPT_URL, r->url);
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(t->easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(t->easy, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(t->easy, CURLOPT_HTTP_VERSION,
			 (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(t->easy, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(t->easy, CURLOPT_STREAM_WEIGHT,
			 r->s.prio == LZB_PRIO_FAULT ? 256L : 16L);
	curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)f->o.connect_timeout_ms);
	/* Stalls are ours to detect (http_timer), to the millisecond:
	 * libcurl's LOW_SPEED_TIME counts whole seconds. */
	curl_easy_setopt(t->easy, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(t->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(t->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (f->ca_pem) {
		/* the sandboxed child: the pinned CA as its parent read it */
		struct curl_blob pem = { .data = f->ca_pem,
					 .len = f->ca_pem_len,
					 .flags = CURL_BLOB_COPY };

		curl_easy_setopt(t->easy, CURLOPT_CAINFO_BLOB, &pem);
		curl_easy_setopt(t->easy, CURLOPT_CAPATH, NULL);
	} else if (f->o.ca_file) {
		/* pinned CA: this file replaces the system trust store */
		curl_easy_setopt(t->easy, CURLOPT_CAINFO, f->o.ca_file);
		curl_easy_setopt(t->easy, CURLOPT_CAPATH, NULL);
	}
	if (f->o.pinned_pubkey)
		curl_easy_setopt(t->easy, CURLOPT_PINNEDPUBLICKEY,
				 f->o.pinned_pubkey);
	if (r->s.length) {
		snprintf(t->range, sizeof(t->range), "%llu-%llu",
			 (unsigned long long)r->s.offset,
			 (unsigned long long)(r->s.offset + r->s.length - 1));
		curl_easy_setopt(t->easy, CURLOPT_RANGE, t->range);
	}
	r->tp_state = t;
	t->last_ns = lzb_now_ns();
	r->tp_timer_ns = t->last_ns + (uint64_t)f->o.stall_ms * LZB_NS_PER_MS;
	if (curl_multi_add_handle(multi_of(f), t->easy) != CURLM_OK) {
		curl_easy_cleanup(t->easy);
		free(t);
		r->tp_state = NULL;
		lzb_fetch_msg(r, "cannot start the libcurl transfer");
		return -ENOMEM;
	}
	return 0;
}

/*
 * The stall timer: no byte (header or body) for stall_ms fails the try.
 * libcurl keeps its other timers itself.  The timer is not moved on every
 * byte; when it fires early it is set again from the last byte's time.
 */
static void http_timer(struct lzb_fetch *r)
{
	struct http_try *t = r->tp_state;
	uint64_t stall_ns = (uint64_t)r->f->o.stall_ms * LZB_NS_PER_MS;
	uint64_t now = lzb_now_ns();

	if (!t)
		return;
	if (t->held) {		/* a closed window: a trickle, not a stall */
		r->tp_timer_ns = now + stall_ns;
		return;
	}
	if (now - t->last_ns < stall_ns) {
		r->tp_timer_ns = t->last_ns + stall_ns;
		return;
	}
	lzb_fetch_msg(r, "stalled: no data for %u ms (after %llu bytes of "
		      "the body)", r->f->o.stall_ms,
		      (unsigned long long)t->pos);
	http_close(r);
	lzb_fetch_try_done(r, -ETIMEDOUT);
}

static const char *const http_schemes[] = { "http", "https", NULL };

const struct lzb_transport lzb_transport_http = {
	.schemes = http_schemes,
	.fini = http_fini,
	.fetcher_timer = http_fetcher_timer,
	.hold = http_hold,
	.start = http_start,
	.stop = http_close,
	.timer = http_timer,
};
