// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tftp:// client of the project's own (libcurl's has no windowsize): RRQ
 * with blksize/tsize/timeout/windowsize options (RFC 2347/2348/2349/7440),
 * retried plain (RFC 1350) when the server refuses options; windowed receive
 * with go-back-N recovery (ACK the last in-order block on a gap), block
 * numbers wrapping past 65535, and an adaptive retransmission timeout
 * (RFC 6298 estimator, Karn's rule).  No Sorcerer's Apprentice: the client
 * re-ACKs only a repeat of the block it last acknowledged, and only when it
 * comes later than half an RTO after that ACK (a server retransmission, not
 * a network duplicate), so duplicates never multiply.  Each transfer has its own UDP socket
 * in the fetcher's epoll set, so many run concurrently on one loop.
 *
 * Host names are resolved with a blocking getaddrinfo(); PXE setups use
 * addresses, which are parsed without a lookup.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fetch/fetch_internal.h"
#include "fetch/tftp_proto.h"
#include "fetch/tftp_quarantine.h"
#include "fetch/tftp_rx.h"
#include "fetch/tftp_socket.h"
#include "util/log.h"

#define RTO_INITIAL_NS (1000 * LZB_NS_PER_MS)
#define RTO_MIN_NS (40 * LZB_NS_PER_MS)
#define RTO_MAX_NS (4000 * LZB_NS_PER_MS)

struct tftp_try {
	struct lzb_watch w;
	struct lzb_fetch *r;
	int fd;
	int rcvbuf;			/* its receive buffer, as SO_RCVBUF says */
	struct sockaddr_storage server, peer;
	socklen_t server_len, peer_len;
	bool have_tid;
	char *file;
	/* An ERROR from the server's host before the transfer id is known:
	 * maybe the server's, maybe anyone's.  Acted on only if no OACK or
	 * DATA 1 has come by the timer (early_error_wait). */
	bool early_error;
	uint16_t early_code;
	char early_text[128];

	struct lzb_tftp_rx rx;		/* what came, what is due */

	uint8_t last_sent[600];	/* RRQ or ACK */
	size_t last_sent_len;
	unsigned int tries;		/* timeouts in a row */
	uint64_t sample_ns;		/* an RTT sample is running since */
	uint64_t ack_sent_ns;		/* when the last ACK went out */
	uint64_t srtt, rttvar, rto;

	uint8_t pkt[LZB_TFTP_MAX_PACKET + 1];
};

static void send_raw(struct tftp_try *t, const uint8_t *p, size_t len)
{
	const struct sockaddr_storage *to = t->have_tid ? &t->peer : &t->server;
	socklen_t tl = t->have_tid ? t->peer_len : t->server_len;

	sendto(t->fd, p, len, 0, (const struct sockaddr *)to, tl);
}

/* Send and keep for retransmission. */
static void send_kept(struct tftp_try *t, const uint8_t *p, size_t len,
		      bool sample)
{
	memcpy(t->last_sent, p, len);
	t->last_sent_len = len;
	send_raw(t, p, len);
	t->sample_ns = sample ? lzb_now_ns() : 0;
	t->r->tp_timer_ns = lzb_now_ns() + t->rto;
}

static void send_ack(struct tftp_try *t, uint16_t block, bool sample)
{
	uint8_t p[4];

	lzb_tftp_build_ack(p, sizeof(p), block);
	send_kept(t, p, 4, sample);
	t->ack_sent_ns = lzb_now_ns();
}

static void send_error(struct tftp_try *t, uint16_t code, const char *msg)
{
	uint8_t p[128];
	size_t n = lzb_tftp_build_error(p, sizeof(p), code, msg);

	if (n && t->have_tid)
		send_raw(t, p, n);
}

static void rtt_sample(struct tftp_try *t)
{
	uint64_t now = lzb_now_ns(), m, d;

	if (!t->sample_ns)
		return;
	m = now - t->sample_ns;
	t->sample_ns = 0;
	if (!t->srtt) {
		t->srtt = m;
		t->rttvar = m / 2;
	} else {
		d = t->srtt > m ? t->srtt - m : m - t->srtt;
		t->rttvar = (3 * t->rttvar + d) / 4;
		t->srtt = (7 * t->srtt + m) / 8;
	}
	t->rto = t->srtt + 4 * t->rttvar;
	if (t->rto < RTO_MIN_NS)
		t->rto = RTO_MIN_NS;
	if (t->rto > RTO_MAX_NS)
		t->rto = RTO_MAX_NS;
}

/*
 * End the try's state.  An abandoned try (HOLD) keeps its port a while
 * (tftp_quarantine.h): its server may still be sending.
 */
static void free_try(struct lzb_fetch *r, bool hold)
{
	struct tftp_try *t = r->tp_state;

	if (!t)
		return;
	lzb_watch_del(r->f, t->fd, &t->w);
	if (hold)
		lzb_tftp_hold(r->f, lzb_fetcher_slot(r->f, &lzb_transport_tftp),
			      t->fd);
	else
		close(t->fd);
	free(t->file);
	lzb_defer_free(r->f, t);
	r->tp_state = NULL;
}

static void tftp_stop(struct lzb_fetch *r)
{
	struct tftp_try *t = r->tp_state;

	if (!t)
		return;
	send_error(t, 0, "transfer cancelled by the client");
	free_try(r, true);
}

static void end_try(struct lzb_fetch *r, int err)
{
	free_try(r, err != 0);
	lzb_fetch_try_done(r, err);
}

/* tftp://host[:port]/file, host may be [v6]. */
static int parse_url(struct lzb_fetch *r, struct tftp_try *t)
{
	const char *h = r->url + 7, *slash = strchr(h, '/'), *port = NULL;
	char host[256];
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai = NULL;
	const char *hs = h, *he;
	int rc;

	if (!slash || !slash[1]) {
		lzb_fetch_msg(r, "no file name in the URL");
		return -EINVAL;
	}
	if (*h == '[') {
		hs = h + 1;
		he = memchr(hs, ']', slash - hs);
		if (!he) {
			lzb_fetch_msg(r, "unterminated [IPv6] host");
			return -EINVAL;
		}
		if (he[1] == ':')
			port = he + 2;
	} else {
		he = memchr(h, ':', slash - h);
		if (he)
			port = he + 1;
		else
			he = slash;
	}
	if (he - hs <= 0 || (size_t)(he - hs) >= sizeof(host)) {
		lzb_fetch_msg(r, "bad host in the URL");
		return -EINVAL;
	}
	memcpy(host, hs, he - hs);
	host[he - hs] = 0;
	{
		char portbuf[8] = "69";

		if (port) {
			size_t pl = slash - port;

			if (!pl || pl >= sizeof(portbuf)) {
				lzb_fetch_msg(r, "bad port in the URL");
				return -EINVAL;
			}
			memcpy(portbuf, port, pl);
			portbuf[pl] = 0;
		}
		hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
		rc = getaddrinfo(host, portbuf, &hints, &ai);
		if (rc == EAI_NONAME) {
			hints.ai_flags = AI_NUMERICSERV;
			rc = getaddrinfo(host, portbuf, &hints, &ai);
		}
		if (rc) {
			lzb_fetch_msg(r, "cannot resolve '%s': %s", host,
				      gai_strerror(rc));
			return -EHOSTUNREACH;
		}
	}
	memcpy(&t->server, ai->ai_addr, ai->ai_addrlen);
	t->server_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	if (strlen(slash + 1) > 400) {
		lzb_fetch_msg(r, "file name longer than 400 bytes");
		return -EINVAL;
	}
	t->file = strdup(slash + 1);	/* RFC 3617: the path after the / */
	return t->file ? 0 : -ENOMEM;
}

static void send_rrq(struct tftp_try *t)
{
	uint8_t p[600];
	struct lzb_tftp_ask none = { 0 };
	size_t n = lzb_tftp_build_rrq(p, sizeof(p), t->file,
				      t->r->f->o.tftp_no_options ? &none :
				      &t->rx.ask);

	send_kept(t, p, n, true);
}

static void tftp_event(struct lzb_watch *w, uint32_t events);

/* Blocks the transfer takes, as far as it is known: a range is read from
 * the file's start (TFTP cannot seek), an object of a known size whole. */
static uint64_t blocks_to_come(const struct lzb_fetch *r, unsigned int blksize)
{
	uint64_t end;

	if (r->s.length)
		end = r->s.offset + r->s.length;
	else if (r->s.expected_size >= 0)
		end = (uint64_t)r->s.expected_size;
	else
		return UINT64_MAX;
	return end / blksize + 1;
}

/* The window a try over a socket with a receive buffer of RCVBUF may ask
 * for, if it wants WANT: less only if the transfer could fill more. */
static unsigned int window_for(const struct lzb_fetch *r, unsigned int want,
			       int rcvbuf)
{
	unsigned int blksize = r->f->o.tftp_blksize;
	unsigned int fit = lzb_tftp_window_fit(want, blksize, rcvbuf);

	return fit < blocks_to_come(r, blksize) ? fit : want;
}

/*
 * The try's socket, for a window of WANT blocks: a new one, or a spare
 * made before the sandbox dropped CAP_NET_ADMIN where the new one's
 * buffer would cut that window (tftp_socket.h).
 */
static int open_socket(struct lzb_fetch *r, struct tftp_try *t,
		       unsigned int want)
{
	const struct lzb_fetcher_opts *o = &r->f->o;
	int err, spare;

	t->fd = lzb_tftp_socket(t->server.ss_family,
				lzb_tftp_rcvbuf_for(o->tftp_blksize, want));
	if (t->fd < 0) {
		err = t->fd;
		lzb_fetch_msg(r, "socket: %s", strerror(-err));
		return err;
	}
	t->rcvbuf = lzb_tftp_rcvbuf(t->fd);
	if (window_for(r, want, t->rcvbuf) < want) {
		spare = lzb_tftp_spare_take(&r->f->tftp_spares,
					    t->server.ss_family);
		if (spare >= 0) {
			close(t->fd);
			t->fd = spare;
			t->rcvbuf = lzb_tftp_rcvbuf(spare);
		}
	}
	t->w.fn = tftp_event;
	err = lzb_watch_add(r->f, t->fd, EPOLLIN, &t->w);
	if (err) {
		close(t->fd);
		lzb_fetch_msg(r, "epoll: %s", strerror(-err));
	}
	return err;
}

/*
 * The window to ask for: the fetcher's, or what the try's receive buffer
 * holds if that is less and the transfer is long enough to fill more;
 * said once per fetcher.
 */
static unsigned int window_to_ask(struct tftp_try *t)
{
	struct lzb_fetcher *f = t->r->f;
	unsigned int want = f->o.tftp_windowsize;
	unsigned int ask = window_for(t->r, want, t->rcvbuf);

	if (ask == want)
		return want;
	f->st.tftp_windows_cut++;
	if (!f->tftp_told_cut) {
		f->tftp_told_cut = true;
		lzb_log(LZB_LOG_WARNING, "lazyboot: tftp: a receive buffer of "
			"%d bytes holds %u blocks of %u, not the window of %u "
			"asked for: asking for %u (raise net.core.rmem_max to "
			"%d for the whole window; docs/transports.md)",
			t->rcvbuf, ask, f->o.tftp_blksize, want, ask,
			lzb_tftp_rcvbuf_for(f->o.tftp_blksize, want));
	}
	return ask;
}

static void reset_transfer(struct tftp_try *t, bool with_options)
{
	const struct lzb_fetcher_opts *o = &t->r->f->o;
	struct lzb_tftp_ask ask = { 0 };

	if (with_options && !o->tftp_no_options) {
		ask.blksize = o->tftp_blksize == 512 ? 0 : o->tftp_blksize;
		ask.windowsize = window_to_ask(t);
		ask.timeout_s = o->tftp_timeout_s ? o->tftp_timeout_s : 1;
		ask.tsize = true;
	}
	lzb_tftp_rx_reset(&t->rx, &ask);
	t->have_tid = false;
	t->early_error = false;
	t->tries = 0;
	t->rto = t->srtt ? t->rto : RTO_INITIAL_NS;
}

static int tftp_start(struct lzb_fetch *r)
{
	struct tftp_try *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return -ENOMEM;
	t->r = r;
	t->fd = -1;
	err = parse_url(r, t);
	if (!err)
		err = open_socket(r, t, r->f->o.tftp_no_options ? 1 :
				  r->f->o.tftp_windowsize);
	if (err) {
		free(t->file);
		free(t);
		return err;
	}
	r->tp_state = t;
	reset_transfer(t, true);
	send_rrq(t);
	return 0;
}

/* The server refused our options: start over with a plain RRQ. */
static int fall_back(struct lzb_fetch *r, struct tftp_try *t)
{
	int err;

	lzb_watch_del(r->f, t->fd, &t->w);
	close(t->fd);
	err = open_socket(r, t, 1);	/* no options: lock-step */
	if (err) {
		t->fd = -1;
		return err;
	}
	r->f->st.tftp_option_fallbacks++;
	reset_transfer(t, false);
	send_rrq(t);
	return 0;
}

static bool same_addr(const struct sockaddr_storage *a,
		      const struct sockaddr_storage *b, bool port)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_addr.s_addr == y->sin_addr.s_addr &&
		       (!port || x->sin_port == y->sin_port);
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return !memcmp(&x->sin6_addr, &y->sin6_addr, 16) &&
		       (!port || x->sin6_port == y->sin6_port);
	}
	return false;
}

/* A block's bytes, at object offset AT (lzb_tftp_rx_data says where). */
static int take_block(struct lzb_fetch *r, uint64_t at, const uint8_t *data,
		      size_t len, bool *range_full)
{
	uint64_t end = at + len;

	*range_full = false;
	if (!r->s.length)
		return lzb_fetch_deliver(r, at, data, len);
	{
		uint64_t a = r->s.offset, b = r->s.offset + r->s.length;
		int err = 0;

		if (end > a && at < b) {
			uint64_t s = at > a ? at : a, e = end < b ? end : b;

			err = lzb_fetch_deliver(r, s - a, data + (s - at),
						e - s);
		}
		*range_full = end >= b;
		return err;
	}
}

static int error_to_errno(unsigned int code)
{
	switch (code) {
	case 1:
		return -ENOENT;
	case 2:
		return -EACCES;
	case 3:
		return -ENOSPC;
	case 8:
		return -EPROTO;
	default:
		return -EIO;
	}
}

/* The server said no: fall back to a plain RRQ if it was our options,
 * else end the try with its error. */
static void server_error(struct lzb_fetch *r, struct tftp_try *t,
			 uint16_t code, const char *text)
{
	int err;

	if (lzb_tftp_rx_refuses_options(&t->rx, code)) {
		err = fall_back(r, t);
		if (err)
			end_try(r, err);
		return;
	}
	lzb_fetch_msg(r, "server error %u (%s)%s%s%s", code,
		      lzb_tftp_error_name(code), text[0] ? ": \"" : "", text,
		      text[0] ? "\"" : "");
	t->have_tid = false;	/* never answer an ERROR */
	end_try(r, error_to_errno(code));
}

/*
 * An OACK whose tsize is not the object's size answers another transfer:
 * a server still sending to the port an abandoned try of this node had,
 * which this try's socket got again (seen in a 16-node boot storm: the
 * try fetched the wrong object whole).  Ignored, as a stranger's packet;
 * the server's own OACK follows.
 */
static bool oack_names_another_size(const struct lzb_fetch *r,
				    const struct tftp_try *t,
				    const struct lzb_tftp_pkt *p)
{
	struct lzb_tftp_neg neg;
	char why[96];

	if (p->op != LZB_TFTP_OACK || r->s.length || r->s.expected_size < 0)
		return false;	/* a range's expected size is the range's */
	lzb_tftp_neg_defaults(&neg);
	if (lzb_tftp_apply_oack(p, &t->rx.ask, &neg, why, sizeof(why)) ||
	    !neg.have_tsize)
		return false;
	return neg.tsize != (uint64_t)r->s.expected_size;
}

/*
 * A packet from the server's host, any port, before the transfer id is
 * set: does it start the transfer?  Only an OACK or DATA block 1 does
 * (what a server answers an RRQ with).  An ERROR may be the server's or a
 * stranger's from another port of that host: it is kept, the try goes on,
 * and the timer acts on it if nothing starts the transfer by then
 * (early_error_wait); anything else is ignored.
 */
static bool opens_transfer(struct lzb_fetch *r, struct tftp_try *t,
			   size_t len)
{
	struct lzb_tftp_pkt p;
	char why[96];
	uint64_t wait, now;
	enum lzb_tftp_first first;

	if (len > sizeof(t->pkt) - 1)
		return false;
	first = lzb_tftp_first_packet(&p, lzb_tftp_parse(t->pkt, len, &p, why,
							 sizeof(why)));
	if (first == LZB_TFTP_FIRST_OPENS) {
		if (!oack_names_another_size(r, t, &p))
			return true;
		r->f->st.tftp_strays++;
		return false;
	}
	if (first == LZB_TFTP_FIRST_ERROR && !t->early_error) {
		t->early_error = true;
		t->early_code = p.err_code;
		snprintf(t->early_text, sizeof(t->early_text), "%s",
			 p.err_text);
		/* a quarter RTO for the real server to speak up */
		now = lzb_now_ns();
		wait = t->rto / 4 > RTO_MIN_NS ? t->rto / 4 : RTO_MIN_NS;
		if (r->tp_timer_ns > now + wait)
			r->tp_timer_ns = now + wait;
	}
	return false;
}

static void on_packet(struct lzb_fetch *r, struct tftp_try *t, size_t len)
{
	struct lzb_tftp_data_step step;
	struct lzb_tftp_pkt p;
	char why[96];
	bool full;
	int err;

	if (lzb_tftp_parse(t->pkt, len, &p, why, sizeof(why))) {
		send_error(t, 4, "malformed packet");
		lzb_fetch_msg(r, "malformed packet from the server: %s", why);
		end_try(r, -EPROTO);
		return;
	}
	switch (p.op) {
	case LZB_TFTP_ERROR:
		server_error(r, t, p.err_code, p.err_text);
		return;
	case LZB_TFTP_OACK:
		switch (lzb_tftp_rx_oack(&t->rx, &p, why, sizeof(why))) {
		case LZB_TFTP_OACK_UNEXPECTED:
			send_error(t, 4, "unexpected OACK");
			lzb_fetch_msg(r, "OACK without options asked or after "
				      "DATA");
			end_try(r, -EPROTO);
			return;
		case LZB_TFTP_OACK_REPEAT:	/* our ACK 0 was lost */
			send_ack(t, 0, false);
			return;
		case LZB_TFTP_OACK_BAD:
			send_error(t, 8, "bad option acknowledgement");
			lzb_fetch_msg(r, "%s", why);
			end_try(r, -EPROTO);
			return;
		case LZB_TFTP_OACK_TAKEN:
			break;
		}
		if (t->rx.neg.have_tsize) {
			if (r->s.length && (t->rx.neg.tsize < r->s.offset ||
			    t->rx.neg.tsize - r->s.offset < r->s.length)) {
				send_error(t, 0, "range past end of file");
				lzb_fetch_msg(r, "range %llu+%llu is past the "
					      "end of the %llu-byte file",
					      (unsigned long long)r->s.offset,
					      (unsigned long long)r->s.length,
					      (unsigned long long)t->rx.neg.tsize);
				end_try(r, -ERANGE);
				return;
			}
			if (!r->s.length && t->rx.neg.tsize > r->limit) {
				send_error(t, 3, "file too large for client");
				lzb_fetch_msg(r, "file is %llu bytes, more than "
					      "the %llu expected/available",
					      (unsigned long long)t->rx.neg.tsize,
					      (unsigned long long)r->limit);
				end_try(r, -EFBIG);
				return;
			}
			if (!r->s.length)
				lzb_fetch_set_total(r, t->rx.neg.tsize);
		}
		rtt_sample(t);
		t->tries = 0;
		send_ack(t, 0, true);
		return;
	case LZB_TFTP_DATA:
		break;
	default:
		send_error(t, 4, "unexpected opcode");
		lzb_fetch_msg(r, "unexpected packet (opcode %u) from the "
			      "server", p.op);
		end_try(r, -EPROTO);
		return;
	}

	lzb_tftp_rx_data(&t->rx, p.block, p.len, &step);
	switch (step.verdict) {
	case LZB_TFTP_DATA_TOO_LONG:
		send_error(t, 4, "block larger than blksize");
		lzb_fetch_msg(r, "DATA block %u of %zu bytes, blksize is %u",
			      p.block, p.len, t->rx.neg.blksize);
		end_try(r, -EPROTO);
		return;
	case LZB_TFTP_DATA_REPEAT:
		/*
		 * After half an RTO it is the server's retransmission (our
		 * ACK was lost): ACK again.  Sooner it is a duplicate from
		 * the network, and ACKing every duplicate is the receiver's
		 * half of the Sorcerer's Apprentice.
		 */
		if (lzb_now_ns() - t->ack_sent_ns > t->rto / 2)
			send_ack(t, step.ack_block, false);
		return;
	case LZB_TFTP_DATA_GAP:
		t->r->f->st.tftp_gaps++;
		if (step.ack)
			send_ack(t, step.ack_block, false);
		return;
	case LZB_TFTP_DATA_STALE:
		return;
	case LZB_TFTP_DATA_TAKE:
		break;
	}
	t->tries = 0;
	rtt_sample(t);
	err = take_block(r, step.offset, p.data, p.len, &full);
	if (err) {
		send_error(t, 3, "client cannot take more data");
		end_try(r, err);
		return;
	}
	if (step.last) {
		send_ack(t, p.block, false);
		end_try(r, 0);
		return;
	}
	if (full) {
		send_error(t, 0, "client has the range it wanted");
		end_try(r, 0);
		return;
	}
	if (step.ack)
		send_ack(t, p.block, true);
	else
		r->tp_timer_ns = lzb_now_ns() + t->rto;
}

static void tftp_event(struct lzb_watch *w, uint32_t events)
{
	struct tftp_try *t = (struct tftp_try *)w;
	struct lzb_fetch *r = t->r;
	int budget = 256;

	(void)events;
	while (budget-- > 0 && r->tp_state == t) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(t->fd, t->pkt, sizeof(t->pkt), 0,
				     (struct sockaddr *)&from, &fl);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			if (errno == ECONNREFUSED)
				continue;	/* ICMP; the timer retries */
			lzb_fetch_msg(r, "receive: %s", strerror(errno));
			end_try(r, -errno);
			return;
		}
		if (!t->have_tid) {
			if (!same_addr(&from, &t->server, false) ||
			    !opens_transfer(r, t, (size_t)n))
				continue;
			t->early_error = false;
			t->peer = from;
			t->peer_len = fl;
			t->have_tid = true;
		} else if (!same_addr(&from, &t->peer, true)) {
			uint8_t e[64];
			size_t el = lzb_tftp_build_error(e, sizeof(e), 5,
							 "unknown transfer ID");

			sendto(t->fd, e, el, 0, (struct sockaddr *)&from, fl);
			continue;
		}
		if ((size_t)n > sizeof(t->pkt) - 1) {
			send_error(t, 4, "packet too large");
			lzb_fetch_msg(r, "oversized packet from the server");
			end_try(r, -EPROTO);
			return;
		}
		on_packet(r, t, n);
	}
}

static void tftp_timer(struct lzb_fetch *r)
{
	struct tftp_try *t = r->tp_state;
	uint16_t block;

	if (!t->have_tid && t->early_error) {
		/* nothing but that ERROR answered: take it as the server's */
		t->early_error = false;
		server_error(r, t, t->early_code, t->early_text);
		return;
	}
	if (++t->tries >= r->f->o.tftp_max_tries) {
		if (!t->rx.got_oack && !t->rx.got_data)
			lzb_fetch_msg(r, "no answer from the server after %u "
				      "tries", t->tries);
		else
			lzb_fetch_msg(r, "server stopped sending after block "
				      "%llu (%llu bytes); gave up after %u "
				      "tries", (unsigned long long)t->rx.blocks,
				      (unsigned long long)r->got, t->tries);
		send_error(t, 0, "client timed out");
		end_try(r, -ETIMEDOUT);
		return;
	}
	r->f->st.tftp_retransmits++;
	t->rto = t->rto * 2 > RTO_MAX_NS ? RTO_MAX_NS : t->rto * 2;
	if (lzb_tftp_rx_timeout(&t->rx, &block)) {
		/* mid-window silence: ask for what follows our last block */
		send_ack(t, block, false);
		return;
	}
	send_raw(t, t->last_sent, t->last_sent_len);
	t->sample_ns = 0;	/* Karn: no sample from a retransmission */
	r->tp_timer_ns = lzb_now_ns() + t->rto;
}

/* The fetcher's TFTP options: defaults, and the limits of the RFCs. */
static int tftp_init(struct lzb_fetcher *f)
{
	struct lzb_fetcher_opts *o = &f->o;

	if (!o->tftp_blksize)
		o->tftp_blksize = 1468;
	if (!o->tftp_windowsize)
		o->tftp_windowsize = 16;
	if (!o->tftp_max_tries)
		o->tftp_max_tries = 6;
	if (o->tftp_blksize < 8 || o->tftp_blksize > 65464 ||
	    o->tftp_windowsize > 65535 || o->tftp_timeout_s > 255)
		return -EINVAL;
	return 0;
}

static void tftp_fini(struct lzb_fetcher *f)
{
	lzb_tftp_release_all(f, lzb_fetcher_slot(f, &lzb_transport_tftp));
}

static void tftp_fetcher_timer(struct lzb_fetcher *f)
{
	lzb_tftp_release_due(f, lzb_fetcher_slot(f, &lzb_transport_tftp));
}

static const char *const tftp_schemes[] = { "tftp", NULL };

const struct lzb_transport lzb_transport_tftp = {
	.schemes = tftp_schemes,
	.init = tftp_init,
	.fini = tftp_fini,
	.fetcher_timer = tftp_fetcher_timer,
	.start = tftp_start,
	.stop = tftp_stop,
	.timer = tftp_timer,
};
