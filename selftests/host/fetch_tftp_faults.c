// SPDX-License-Identifier: GPL-2.0
/*
 * The TFTP client against a fault-injecting TFTP peer of our own (a thread
 * on 127.0.0.6): drops, duplicates, reorders, lost ACKs, truncation,
 * stalls, wrong sizes, refused/ignored/bad options, errors, oversized
 * blocks and block-number rollover both ways.  Each case says whether the
 * client must recover (and how: go-back-N, retransmission, fallback) or
 * fail with a clear message.  And the window a sandboxed client asks for:
 * what its receive buffer holds, or the whole of it on a spare socket.
 */
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "fetch_helpers.h"
#include "fetch/tftp_proto.h"
#include "fetch/tftp_rx.h"
#include "fetch/tftp_socket.h"

#define PEER_IP "127.0.0.6"

enum fault {
	F_NONE,
	F_DROP,		/* first send of every param-th block is lost */
	F_DUP,		/* every DATA sent twice */
	F_REORDER,	/* pairs inside a window swapped */
	F_DROP_ACK,	/* every param-th ACK ignored (once) */
	F_TRUNCATE,	/* ends early at byte param, tsize says all */
	F_STALL,	/* silence after block param */
	F_TSIZE_HUGE,	/* OACK tsize far beyond the file */
	F_REFUSE_OPTS,	/* ERROR 8 to an RRQ with options */
	F_IGNORE_OPTS,	/* DATA at once, RFC 1350 defaults */
	F_BAD_OACK,	/* blksize larger than asked */
	F_NOT_FOUND,	/* ERROR 1 */
	F_OVERSIZE,	/* block 2 longer than blksize */
	F_WRAP1,	/* after 65535 comes 1, not 0 */
	F_FOREIGN_TID,	/* a stranger's DATA from another port mid-transfer */
	F_SPOOF_FIRST,	/* a stranger on the server's host answers the RRQ
			 * first, from another port: ERROR 1 and DATA 2 */
	F_STALE_OACK,	/* first, from another port, another file's OACK:
			 * a server of an abandoned try on the same port */
	F_STALE_DATA,	/* the first try's server falls silent after block
			 * param; once the client retried, it sends DATA
			 * again to the first try's port */
};

struct peer {
	int lfd;
	unsigned int port;
	pthread_t thread;
	volatile int stop;
	enum fault fault;
	unsigned int param;
	size_t size;
	uint32_t seed;
	/* counters */
	unsigned int rrqs, data_sent, acks;
	unsigned int asked_window;	/* the last RRQ's windowsize, 1: none */
	/* DATA resent because the peer's own 100 ms ACK timer ran out: a
	 * busy host, not the client asking for it */
	unsigned int data_on_timer;
	int foreign_error;	/* error code the stranger got back, or -1 */
	/* F_STALE_DATA: the first try's transfer, and what became of its
	 * port once the client had moved on to a second try */
	int stale_fd;		/* connected to the first try's port */
	struct sockaddr_in stale_client;
	bool stale_new_port;	/* the second try came from another port */
	bool stale_port_held;	/* the first try's port was still bound */
	int stale_error;	/* error code the stale DATA got back, or -1 */
};

static uint16_t num(const struct peer *p, uint64_t n)
{
	if (p->fault == F_WRAP1 && n)
		return (uint16_t)((n - 1) % 65535 + 1);
	return (uint16_t)n;
}

static int wait_ack(struct peer *p, int s, int ms, uint16_t *ack)
{
	uint8_t buf[600];
	struct lzb_tftp_pkt pkt;
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	char why[96];

	while (!p->stop) {
		ssize_t n;

		if (poll(&pfd, 1, ms) <= 0)
			return -1;
		n = recv(s, buf, sizeof(buf), 0);
		if (n < 0 || lzb_tftp_parse(buf, n, &pkt, why, sizeof(why)))
			continue;
		if (pkt.op == LZB_TFTP_ERROR)
			return -2;
		if (pkt.op != LZB_TFTP_ACK)
			continue;
		p->acks++;
		*ack = pkt.block;
		return 0;
	}
	return -1;
}

static void send_block(struct peer *p, int s, uint64_t k, unsigned int blksize,
		       size_t size, bool oversize)
{
	static uint8_t data[LZB_TFTP_MAX_BLKSIZE + 16];
	static uint8_t pkt[LZB_TFTP_MAX_PACKET + 16];
	uint64_t off = (k - 1) * blksize;
	size_t len = off >= size ? 0 : size - off < blksize ? size - off :
							      blksize;
	size_t n;

	if (oversize)
		len = blksize + 1;
	pattern_fill(data, len, p->seed, off);
	n = lzb_tftp_build_data(pkt, sizeof(pkt), num(p, k), data, len);
	send(s, pkt, n, 0);
	p->data_sent++;
}

/* DATA for the next block from another port: the client must answer it
 * with ERROR 5 and go on with the real server. */
static void foreign_data(struct peer *p, const struct sockaddr_in *client,
			 uint64_t k)
{
	struct sockaddr_in me = { .sin_family = AF_INET };
	struct pollfd pfd = { .events = POLLIN };
	uint8_t pkt[600], junk[512] = { 0 };
	struct lzb_tftp_pkt e;
	char why[96];
	ssize_t n;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, PEER_IP, &me.sin_addr);
	bind(s, (struct sockaddr *)&me, sizeof(me));
	n = lzb_tftp_build_data(pkt, sizeof(pkt), (uint16_t)k, junk, 512);
	sendto(s, pkt, n, 0, (const struct sockaddr *)client, sizeof(*client));
	pfd.fd = s;
	p->foreign_error = 0;
	if (poll(&pfd, 1, 2000) == 1) {
		n = recv(s, pkt, sizeof(pkt), 0);
		if (n > 0 && !lzb_tftp_parse(pkt, n, &e, why, sizeof(why)) &&
		    e.op == LZB_TFTP_ERROR)
			p->foreign_error = e.err_code;
	}
	close(s);
}

/* A stranger on the server's address, another port, answers the RRQ
 * before the server does: an ERROR, and DATA that is not block 1. */
static void spoof_first(const struct sockaddr_in *client)
{
	struct sockaddr_in me = { .sin_family = AF_INET };
	uint8_t pkt[600], junk[512] = { 0 };
	size_t n;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, PEER_IP, &me.sin_addr);
	bind(s, (struct sockaddr *)&me, sizeof(me));
	n = lzb_tftp_build_error(pkt, sizeof(pkt), 1, "File not found");
	sendto(s, pkt, n, 0, (const struct sockaddr *)client, sizeof(*client));
	n = lzb_tftp_build_data(pkt, sizeof(pkt), 2, junk, sizeof(junk));
	sendto(s, pkt, n, 0, (const struct sockaddr *)client, sizeof(*client));
	close(s);
}

/* The OACK a server of an earlier try, for another file, still resends:
 * the same options, a tsize 1000 bytes larger, from another port.  Its
 * sender answers nothing, as a server that has moved on would not. */
static void stale_oack(const struct peer *p, const struct sockaddr_in *client,
		       const struct lzb_tftp_pkt *rrq)
{
	struct sockaddr_in me = { .sin_family = AF_INET };
	const char *names[4], *values[4];
	char vb[4][24];
	uint8_t pkt[600];
	unsigned int i, nopt = 0;
	size_t n;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	for (i = 0; i < rrq->n_opts && nopt < 4; i++) {
		if (!strcmp(rrq->opts[i].name, "tsize"))
			snprintf(vb[nopt], 24, "%zu", p->size + 1000);
		else if (!strcmp(rrq->opts[i].name, "timeout"))
			continue;
		else
			snprintf(vb[nopt], 24, "%s", rrq->opts[i].value);
		names[nopt] = rrq->opts[i].name;
		values[nopt] = vb[nopt];
		nopt++;
	}
	inet_pton(AF_INET, PEER_IP, &me.sin_addr);
	bind(s, (struct sockaddr *)&me, sizeof(me));
	n = lzb_tftp_build_oack(pkt, sizeof(pkt), names, values, nopt);
	sendto(s, pkt, n, 0, (const struct sockaddr *)client, sizeof(*client));
	close(s);
}

/*
 * The server of an abandoned try resends DATA to that try's port while the
 * client is on its next try.  The port must still be the abandoned try's
 * (not free for the kernel to hand to the new try), and the DATA must be
 * answered with ERROR 5, which ends the old transfer.
 */
static void stale_data(struct peer *p, const struct sockaddr_in *client)
{
	struct sockaddr_in old = { .sin_family = AF_INET,
				   .sin_port = p->stale_client.sin_port };
	struct pollfd pfd = { .fd = p->stale_fd, .events = POLLIN };
	uint8_t pkt[600], junk[512] = { 0 };
	struct lzb_tftp_pkt e;
	char why[96];
	ssize_t n;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	p->stale_new_port = client->sin_port != p->stale_client.sin_port;
	p->stale_port_held = bind(s, (struct sockaddr *)&old, sizeof(old)) &&
			     errno == EADDRINUSE;
	close(s);
	/* what the first try sent before it gave up: its ACKs, its ERROR */
	while (recv(p->stale_fd, pkt, sizeof(pkt), MSG_DONTWAIT) >= 0)
		;
	n = lzb_tftp_build_data(pkt, sizeof(pkt), (uint16_t)(p->param + 1),
				junk, sizeof(junk));
	send(p->stale_fd, pkt, n, 0);
	/* a closed port: ICMP, and recv fails at once */
	if (poll(&pfd, 1, 5000) == 1) {
		n = recv(p->stale_fd, pkt, sizeof(pkt), 0);
		if (n > 0 && !lzb_tftp_parse(pkt, n, &e, why, sizeof(why)) &&
		    e.op == LZB_TFTP_ERROR)
			p->stale_error = e.err_code;
	}
	close(p->stale_fd);
	p->stale_fd = -1;
}

static void serve(struct peer *p, const struct sockaddr_in *client,
		  const struct lzb_tftp_pkt *rrq)
{
	struct sockaddr_in me = { .sin_family = AF_INET };
	unsigned int blksize = 512, window = 1, i;
	const char *names[4], *values[4];
	char vb[4][24];
	unsigned int nopt = 0;
	uint8_t out[700];
	size_t size = p->size, n;
	uint64_t base = 1, nblocks;
	uint8_t *dropped = NULL;
	unsigned int tries = 0, acks_seen = 0;
	bool resend_on_timer = false;
	uint16_t ack;
	int s;

	s = socket(AF_INET, SOCK_DGRAM, 0);
	inet_pton(AF_INET, PEER_IP, &me.sin_addr);
	bind(s, (struct sockaddr *)&me, sizeof(me));
	connect(s, (const struct sockaddr *)client, sizeof(*client));

	if (p->fault == F_SPOOF_FIRST && p->rrqs == 1)
		spoof_first(client);
	if (p->fault == F_STALE_OACK && p->rrqs == 1)
		stale_oack(p, client, rrq);
	if (p->fault == F_STALE_DATA && p->rrqs == 2)
		stale_data(p, client);
	if (p->fault == F_NOT_FOUND) {
		n = lzb_tftp_build_error(out, sizeof(out), 1, "File not found");
		send(s, out, n, 0);
		goto done;
	}
	if (rrq->n_opts && p->fault == F_REFUSE_OPTS) {
		n = lzb_tftp_build_error(out, sizeof(out), 8,
					 "options not supported");
		send(s, out, n, 0);
		goto done;
	}
	if (rrq->n_opts && p->fault != F_IGNORE_OPTS) {
		for (i = 0; i < rrq->n_opts; i++) {
			const char *nm = rrq->opts[i].name;
			unsigned long v = strtoul(rrq->opts[i].value, NULL, 10);

			if (!strcmp(nm, "blksize")) {
				blksize = v;
				snprintf(vb[nopt], 24, "%lu", p->fault ==
					 F_BAD_OACK ? v + 1 : v);
			} else if (!strcmp(nm, "windowsize")) {
				window = v;
				snprintf(vb[nopt], 24, "%lu", v);
			} else if (!strcmp(nm, "tsize")) {
				snprintf(vb[nopt], 24, "%zu", p->fault ==
					 F_TSIZE_HUGE ? size * 1000 + 1000000 :
					 size);
			} else {
				continue;	/* timeout: not acknowledged */
			}
			names[nopt] = nm;
			values[nopt] = vb[nopt];
			nopt++;
		}
		n = lzb_tftp_build_oack(out, sizeof(out), names, values, nopt);
		for (tries = 0; tries < 5; tries++) {
			send(s, out, n, 0);
			if (!wait_ack(p, s, 200, &ack) && ack == 0)
				break;
		}
		if (tries == 5)
			goto done;
	}
	if (p->fault == F_TRUNCATE)
		size = p->param;
	nblocks = size / blksize + 1;
	dropped = calloc(nblocks + 2, 1);
	tries = 0;
	while (!p->stop && tries < 30) {
		uint64_t end = base + window - 1, k;
		unsigned int sent_before = p->data_sent;

		if (end > nblocks)
			end = nblocks;
		for (k = base; k <= end; k++) {
			uint64_t kk = k;

			if ((p->fault == F_STALL ||
			     (p->fault == F_STALE_DATA && p->rrqs == 1)) &&
			    k > p->param)
				goto stall;
			if (p->fault == F_REORDER && k % 2 == 1 && k < end)
				kk = k + 1;
			else if (p->fault == F_REORDER && k % 2 == 0 &&
				 k > base)
				kk = k - 1;
			if (p->fault == F_DROP && kk % p->param == 0 &&
			    !dropped[kk]) {
				dropped[kk] = 1;
				continue;
			}
			send_block(p, s, kk, blksize, size,
				   p->fault == F_OVERSIZE && kk == 2);
			if (p->fault == F_FOREIGN_TID && kk == 3 &&
			    p->foreign_error < 0)
				foreign_data(p, client, kk + 1);
			if (p->fault == F_DUP)
				send_block(p, s, kk, blksize, size, false);
		}
		if (resend_on_timer)
			p->data_on_timer += p->data_sent - sent_before;
		resend_on_timer = false;
again:
		if (wait_ack(p, s, 100, &ack)) {
			tries++;
			resend_on_timer = true;
			continue;	/* timeout: resend the window */
		}
		if (p->fault == F_DROP_ACK && ++acks_seen % p->param == 0)
			goto again;
		/* which absolute block does the ACK name? */
		for (k = base - 1; k <= end; k++)
			if (num(p, k) == ack)
				break;
		if (k > end)
			goto again;	/* stale */
		tries = 0;
		if (k == nblocks)
			goto done;
		base = k + 1;
	}
	goto done;
stall:
	if (p->fault == F_STALE_DATA) {
		/* silent now; it speaks again when the client retried */
		p->stale_fd = s;
		p->stale_client = *client;
		free(dropped);
		return;
	}
	while (!p->stop)
		usleep(10000);
done:
	free(dropped);
	close(s);
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	uint8_t buf[700];
	struct pollfd pfd = { .fd = p->lfd, .events = POLLIN };

	while (!p->stop) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		struct lzb_tftp_pkt rrq;
		char why[96];
		ssize_t n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recvfrom(p->lfd, buf, sizeof(buf), 0,
			     (struct sockaddr *)&from, &fl);
		if (n < 0 || lzb_tftp_parse(buf, n, &rrq, why, sizeof(why)) ||
		    rrq.op != LZB_TFTP_RRQ)
			continue;
		p->rrqs++;
		p->asked_window = 1;
		for (unsigned int i = 0; i < rrq.n_opts; i++)
			if (!strcmp(rrq.opts[i].name, "windowsize"))
				p->asked_window = (unsigned int)strtoul(
					rrq.opts[i].value, NULL, 10);
		serve(p, &from, &rrq);
	}
	return NULL;
}

FIXTURE(tftp_fault)
{
	struct peer peer;
	struct lzb_fetcher *f;
	uint8_t *buf;
	size_t buf_size;
	char url[128];
};

FIXTURE_VARIANT(tftp_fault)
{
	enum fault fault;
	unsigned int param;
	size_t size;
	unsigned int blksize, windowsize;
	bool no_options;
	bool retries;		/* the fetcher's retry rounds, not one try */
	int64_t expected_size;	/* 0: not given */
	int expect_err;
	const char *expect_msg;
	/* recovery that must be seen in the stats */
	bool want_gaps, want_retransmits, want_fallback;
	/* no Sorcerer's Apprentice: DATA sent <= this many per block, and
	 * (when set) no more than one ACK per window, duplicates or not */
	double max_data_per_block;
	bool one_ack_per_window;
	/* a sandboxed fetcher (with spare sockets) whose RRQ must ask for
	 * the window its receive buffer holds under net.core.rmem_max
	 * (cut), or the whole windowsize (whole) */
	bool sandbox;
	unsigned int spares;
	bool want_window_cut, want_window_whole;
};

FIXTURE_VARIANT_ADD(tftp_fault, clean_window8)
{
	.fault = F_NONE, .size = 100000, .blksize = 1024, .windowsize = 8,
	.max_data_per_block = 1.01,
};

FIXTURE_VARIANT_ADD(tftp_fault, drop_lockstep)
{
	.fault = F_DROP, .param = 7, .size = 40000, .blksize = 512,
	.windowsize = 1, .want_retransmits = true,
};

FIXTURE_VARIANT_ADD(tftp_fault, drop_window16)
{
	.fault = F_DROP, .param = 5, .size = 300000, .blksize = 1024,
	.windowsize = 16, .want_gaps = true,
};

FIXTURE_VARIANT_ADD(tftp_fault, duplicate_lockstep)
{
	.fault = F_DUP, .size = 60000, .blksize = 512, .windowsize = 1,
	.max_data_per_block = 2.05, .one_ack_per_window = true,
};

FIXTURE_VARIANT_ADD(tftp_fault, duplicate_window8)
{
	.fault = F_DUP, .size = 200000, .blksize = 1024, .windowsize = 8,
	.max_data_per_block = 2.05, .one_ack_per_window = true,
};

FIXTURE_VARIANT_ADD(tftp_fault, reorder_window8)
{
	.fault = F_REORDER, .size = 200000, .blksize = 1024, .windowsize = 8,
	.want_gaps = true,
};

FIXTURE_VARIANT_ADD(tftp_fault, lost_acks_window4)
{
	.fault = F_DROP_ACK, .param = 5, .size = 200000, .blksize = 1024,
	.windowsize = 4,
};

FIXTURE_VARIANT_ADD(tftp_fault, truncated_vs_tsize)
{
	.fault = F_TRUNCATE, .param = 50000, .size = 100000, .blksize = 1024,
	.windowsize = 4, .expect_err = -EPROTO, .expect_msg = "truncated",
};

FIXTURE_VARIANT_ADD(tftp_fault, truncated_vs_expected_size)
{
	.fault = F_TRUNCATE, .param = 50000, .size = 100000, .no_options = true,
	.expected_size = 100000, .expect_err = -EPROTO,
	.expect_msg = "expected 100000",
};

FIXTURE_VARIANT_ADD(tftp_fault, stall)
{
	.fault = F_STALL, .param = 10, .size = 100000, .blksize = 1024,
	.windowsize = 4, .expect_err = -ETIMEDOUT,
	.expect_msg = "server stopped sending after block",
};

FIXTURE_VARIANT_ADD(tftp_fault, tsize_too_big)
{
	.fault = F_TSIZE_HUGE, .size = 10000, .blksize = 1024, .windowsize = 4,
	.expect_err = -EFBIG, .expect_msg = "more than",
};

FIXTURE_VARIANT_ADD(tftp_fault, options_refused_fallback)
{
	.fault = F_REFUSE_OPTS, .size = 5000, .blksize = 1468,
	.windowsize = 16, .want_fallback = true,
};

FIXTURE_VARIANT_ADD(tftp_fault, options_ignored)
{
	.fault = F_IGNORE_OPTS, .size = 5000, .blksize = 1468,
	.windowsize = 16,
};

FIXTURE_VARIANT_ADD(tftp_fault, oack_blksize_larger)
{
	.fault = F_BAD_OACK, .size = 5000, .blksize = 1024, .windowsize = 4,
	.expect_err = -EPROTO, .expect_msg = "blksize=1025 is out of range",
};

FIXTURE_VARIANT_ADD(tftp_fault, foreign_tid_gets_error5)
{
	.fault = F_FOREIGN_TID, .size = 20000, .blksize = 512,
	.windowsize = 1,
};

FIXTURE_VARIANT_ADD(tftp_fault, spoofed_error_first_window4)
{
	.fault = F_SPOOF_FIRST, .size = 20000, .blksize = 1024,
	.windowsize = 4,
};

FIXTURE_VARIANT_ADD(tftp_fault, spoofed_error_first_no_options)
{
	.fault = F_SPOOF_FIRST, .size = 20000, .no_options = true,
};

FIXTURE_VARIANT_ADD(tftp_fault, stale_oack_of_another_file_ignored)
{
	.fault = F_STALE_OACK, .size = 20000, .blksize = 1024,
	.windowsize = 4, .expected_size = 20000,
};

FIXTURE_VARIANT_ADD(tftp_fault, abandoned_port_held_and_refused)
{
	.fault = F_STALE_DATA, .param = 5, .size = 20000, .blksize = 1024,
	.windowsize = 4, .retries = true,
};

FIXTURE_VARIANT_ADD(tftp_fault, not_found)
{
	.fault = F_NOT_FOUND, .size = 1, .blksize = 1024, .windowsize = 4,
	.expect_err = -ENOENT, .expect_msg = "server error 1 (file not found)",
};

FIXTURE_VARIANT_ADD(tftp_fault, oversized_block)
{
	.fault = F_OVERSIZE, .size = 5000, .blksize = 1024, .windowsize = 4,
	.expect_err = -EPROTO, .expect_msg = "blksize is 1024",
};

/* 138 blocks of 65464 in windows of 128: more than rmem_max lets the
 * sandboxed child's buffer hold (the test skips where it does not) */
FIXTURE_VARIANT_ADD(tftp_fault, sandboxed_window_cut_to_the_buffer)
{
	.fault = F_NONE, .size = 9000000, .blksize = 65464, .windowsize = 128,
	.expected_size = 9000000, .sandbox = true, .want_window_cut = true,
};

FIXTURE_VARIANT_ADD(tftp_fault, sandboxed_window_whole_on_a_spare)
{
	.fault = F_NONE, .size = 9000000, .blksize = 65464, .windowsize = 128,
	.expected_size = 9000000, .sandbox = true, .spares = 1,
	.want_window_whole = true,
};

/* 65536 * 8 + 3 bytes: 65537 blocks of 8 bytes, past the 16-bit counter */
FIXTURE_VARIANT_ADD(tftp_fault, rollover_to0_lockstep)
{
	.fault = F_NONE, .size = 524291, .blksize = 8, .windowsize = 1,
};

FIXTURE_VARIANT_ADD(tftp_fault, rollover_to0_window16)
{
	.fault = F_NONE, .size = 524291, .blksize = 8, .windowsize = 16,
};

FIXTURE_VARIANT_ADD(tftp_fault, rollover_to1_lockstep)
{
	.fault = F_WRAP1, .size = 524291, .blksize = 8, .windowsize = 1,
};

FIXTURE_VARIANT_ADD(tftp_fault, rollover_to1_window4)
{
	.fault = F_WRAP1, .size = 524291, .blksize = 8, .windowsize = 4,
};

FIXTURE_SETUP(tftp_fault)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct lzb_fetcher_opts o = {
		.tftp_blksize = variant->blksize ? variant->blksize : 512,
		.tftp_windowsize = variant->windowsize ? variant->windowsize : 1,
		.tftp_no_options = variant->no_options,
		.tftp_max_tries = 4,
		.no_retries = !variant->retries,	/* one try: its own error */
		.sandbox = variant->sandbox,
		.tftp_spare_sockets = variant->spares,
	};
	socklen_t al = sizeof(a);

	memset(&self->peer, 0, sizeof(self->peer));
	self->peer.fault = variant->fault;
	self->peer.param = variant->param;
	self->peer.size = variant->size;
	self->peer.seed = 0x7f7f + variant->fault;
	self->peer.foreign_error = -1;
	self->peer.stale_fd = -1;
	self->peer.stale_error = -1;
	self->peer.lfd = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_LE(0, self->peer.lfd);
	inet_pton(AF_INET, PEER_IP, &a.sin_addr);
	ASSERT_EQ(0, bind(self->peer.lfd, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, getsockname(self->peer.lfd, (struct sockaddr *)&a, &al));
	self->peer.port = ntohs(a.sin_port);
	snprintf(self->url, sizeof(self->url), "tftp://%s:%u/file", PEER_IP,
		 self->peer.port);
	ASSERT_EQ(0, pthread_create(&self->peer.thread, NULL, peer_main,
				    &self->peer));
	self->f = lzb_fetcher_new(&o);
	ASSERT_NE(NULL, self->f);
	self->buf_size = variant->size + 4096;
	self->buf = malloc(self->buf_size);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(tftp_fault)
{
	self->peer.stop = 1;
	pthread_join(self->peer.thread, NULL);
	close(self->peer.lfd);
	if (self->peer.stale_fd >= 0)
		close(self->peer.stale_fd);
	lzb_fetcher_free(self->f);
	free(self->buf);
}

TEST_F_TIMEOUT(tftp_fault, transfer, 60)
{
	struct lzb_fetch_spec spec = {
		.url = self->url, .buf = self->buf, .buf_size = self->buf_size,
		.expected_size = variant->expected_size ?
				 variant->expected_size : -1,
		.deadline_ms = 40000,
	};
	struct lzb_fetch_stats st;
	struct sync_result res;
	long rmem_max = read_rmem_max();
	int err;

	if (variant->sandbox && geteuid())
		SKIP(return, "not root: the sandbox needs root");
	if (variant->sandbox && (rmem_max < 0 || rmem_max >=
	    lzb_tftp_rcvbuf_for(variant->blksize, variant->windowsize)))
		SKIP(return, "net.core.rmem_max is %ld: the window fits "
		     "without CAP_NET_ADMIN", rmem_max);
	err = fetch_sync(self->f, &spec, &res);
	lzb_fetcher_stats(self->f, &st);
	TH_LOG("%s -> %d %s; peer: %u RRQ, %u DATA (%u on its timer), %u ACK; "
	       "client: %llu retransmits, %llu gaps, %llu fallbacks", self->url,
	       err, res.msg, self->peer.rrqs, self->peer.data_sent,
	       self->peer.data_on_timer, self->peer.acks, (unsigned long long)st.tftp_retransmits,
	       (unsigned long long)st.tftp_gaps,
	       (unsigned long long)st.tftp_option_fallbacks);
	ASSERT_EQ(variant->expect_err, err);
	if (variant->expect_msg)
		ASSERT_NE(NULL, strstr(res.msg, variant->expect_msg));
	if (err) {
		/* the message names the URL */
		ASSERT_NE(NULL, strstr(res.msg, self->url));
		return;
	}
	ASSERT_EQ(variant->size, res.len);
	ASSERT_EQ(-1, pattern_check(self->buf, res.len, self->peer.seed, 0));
	if (variant->want_gaps)
		ASSERT_LT(0, st.tftp_gaps);
	if (variant->want_retransmits)
		ASSERT_LT(0, st.tftp_retransmits);
	if (variant->want_fallback)
		ASSERT_EQ(1, st.tftp_option_fallbacks);
	if (variant->want_window_cut) {
		/* SO_RCVBUF reads back twice what rmem_max lets it set */
		ASSERT_EQ(lzb_tftp_window_fit(variant->windowsize,
					      variant->blksize, 2 * rmem_max),
			  self->peer.asked_window);
		ASSERT_GT(variant->windowsize, self->peer.asked_window);
		ASSERT_EQ(1, st.tftp_windows_cut);
	}
	if (variant->want_window_whole) {
		ASSERT_EQ(variant->windowsize, self->peer.asked_window);
		ASSERT_EQ(0, st.tftp_windows_cut);
	}
	if (variant->fault == F_FOREIGN_TID)
		ASSERT_EQ(5, self->peer.foreign_error);	/* unknown TID */
	if (variant->fault == F_SPOOF_FIRST)
		ASSERT_EQ(1, self->peer.rrqs);	/* no retry: one transfer */
	if (variant->fault == F_STALE_DATA) {
		ASSERT_EQ(2, self->peer.rrqs);	/* the retry */
		ASSERT_TRUE(self->peer.stale_new_port);
		ASSERT_TRUE(self->peer.stale_port_held);
		ASSERT_EQ(5, self->peer.stale_error);	/* unknown TID */
		ASSERT_LE(1, st.tftp_strays);
	}
	if (variant->fault == F_STALE_OACK) {
		ASSERT_EQ(1, self->peer.rrqs);	/* no retry: one transfer */
		ASSERT_EQ(1, st.tftp_strays);
	}
	if (variant->max_data_per_block > 0) {
		unsigned int bs = variant->blksize ? variant->blksize : 512;
		double blocks = variant->size / bs + 1;

		/* what the client's ACKs made the peer send */
		ASSERT_GE(variant->max_data_per_block * blocks,
			  (double)(self->peer.data_sent -
				   self->peer.data_on_timer));
		/* +2: ACK of the OACK, and a last partial window */
		if (variant->one_ack_per_window)
			ASSERT_GE(blocks / variant->windowsize + 2,
				  (double)self->peer.acks);
	}
}

/*
 * The receive state machine alone (tftp_rx.c), blksize 8, a window of 4
 * and the file's size (TSIZE) agreed by OACK, brought to block 65535 in
 * order.
 */
static void rx_to_65535(struct __test_metadata *_metadata,
			struct lzb_tftp_rx *rx, const char *tsize)
{
	const struct lzb_tftp_ask ask = { .blksize = 8, .windowsize = 4,
					  .tsize = true };
	const char *const names[] = { "blksize", "windowsize", "tsize" };
	const char *const values[] = { "8", "4", tsize };
	struct lzb_tftp_data_step st;
	struct lzb_tftp_pkt oack;
	uint8_t buf[64];
	size_t n;
	char why[96];

	lzb_tftp_rx_reset(rx, &ask);
	n = lzb_tftp_build_oack(buf, sizeof(buf), names, values, 3);
	ASSERT_EQ(0, lzb_tftp_parse(buf, n, &oack, why, sizeof(why)));
	ASSERT_EQ(LZB_TFTP_OACK_TAKEN, lzb_tftp_rx_oack(rx, &oack, why,
							sizeof(why)));
	for (uint64_t k = 1; k <= 65535; k++) {
		lzb_tftp_rx_data(rx, (uint16_t)k, 8, &st);
		if (st.verdict != LZB_TFTP_DATA_TAKE)
			break;
	}
	ASSERT_EQ(65535, rx->blocks);
}

/*
 * A server that goes on with 0 after 65535, windowed: 0 is lost, 1 comes
 * (a gap: go-back ACK of 65535); the server sends 0 1 2 3 again and 0 is
 * lost again.  That 1 is block 65537: taken as 65536 (as a server going
 * on with 1 would mean it) its bytes land a block too early.  (The file
 * has 65546 blocks, so its last would be numbered 11 by a server going on
 * with 1.)
 */
TEST(rx_window_wrap_to0_block0_lost_twice)
{
	struct lzb_tftp_data_step st;
	struct lzb_tftp_rx rx;

	rx_to_65535(_metadata, &rx, "524363");
	lzb_tftp_rx_data(&rx, 1, 8, &st);
	ASSERT_EQ(LZB_TFTP_DATA_GAP, st.verdict);
	ASSERT_TRUE(st.ack);
	ASSERT_EQ(65535, st.ack_block);
	/* the window again, its 0 lost again */
	lzb_tftp_rx_data(&rx, 1, 8, &st);
	EXPECT_NE(LZB_TFTP_DATA_TAKE, st.verdict) TH_LOG("block 65537 (1) taken as 65536");
	lzb_tftp_rx_data(&rx, 2, 8, &st);
	EXPECT_NE(LZB_TFTP_DATA_TAKE, st.verdict);
	/* and when 0 comes through, it is 65536, then 1 is 65537 */
	lzb_tftp_rx_data(&rx, 0, 8, &st);
	ASSERT_EQ(LZB_TFTP_DATA_TAKE, st.verdict);
	EXPECT_EQ(65535ull * 8, st.offset);
	lzb_tftp_rx_data(&rx, 1, 8, &st);
	ASSERT_EQ(LZB_TFTP_DATA_TAKE, st.verdict);
	EXPECT_EQ(65536ull * 8, st.offset);
}

/*
 * A server that goes on with 1, windowed: its window after our ACK of
 * 65535 is 1 2 3 4.  Block 4 can only be its (a server going on with 0
 * sends no further than 3 there), so the client switches, asks for the
 * window again, and takes 1 as 65536.
 */
TEST(rx_window_wrap_to1)
{
	struct lzb_tftp_data_step st;
	struct lzb_tftp_rx rx;
	bool asked_again = false;

	rx_to_65535(_metadata, &rx, "524363");
	for (uint16_t b = 1; b <= 4; b++) {
		lzb_tftp_rx_data(&rx, b, 8, &st);
		ASSERT_NE(LZB_TFTP_DATA_TAKE, st.verdict);
		if (st.ack) {
			EXPECT_EQ(65535, st.ack_block);
			asked_again = b == 4;
		}
	}
	EXPECT_TRUE(asked_again);
	for (uint16_t b = 1; b <= 4; b++) {
		lzb_tftp_rx_data(&rx, b, 8, &st);
		ASSERT_EQ(LZB_TFTP_DATA_TAKE, st.verdict);
		EXPECT_EQ((65535ull + b - 1) * 8, st.offset);
	}
	EXPECT_EQ(65539, rx.blocks);
}

/*
 * The same server, with the file ending before block 4 of that window
 * (65537 blocks): its last block's number (2) is the proof.
 */
TEST(rx_window_wrap_to1_short_end)
{
	struct lzb_tftp_data_step st;
	struct lzb_tftp_rx rx;

	rx_to_65535(_metadata, &rx, "524291");
	lzb_tftp_rx_data(&rx, 1, 8, &st);
	ASSERT_EQ(LZB_TFTP_DATA_GAP, st.verdict);
	lzb_tftp_rx_data(&rx, 1, 8, &st);
	ASSERT_NE(LZB_TFTP_DATA_TAKE, st.verdict);
	lzb_tftp_rx_data(&rx, 2, 3, &st);
	ASSERT_EQ(LZB_TFTP_DATA_GAP, st.verdict);
	ASSERT_TRUE(st.ack);
	EXPECT_EQ(65535, st.ack_block);
	lzb_tftp_rx_data(&rx, 1, 8, &st);
	ASSERT_EQ(LZB_TFTP_DATA_TAKE, st.verdict);
	EXPECT_EQ(65535ull * 8, st.offset);
	lzb_tftp_rx_data(&rx, 2, 3, &st);
	ASSERT_EQ(LZB_TFTP_DATA_TAKE, st.verdict);
	EXPECT_TRUE(st.last);
	EXPECT_EQ(65536ull * 8, st.offset);
}

TEST_HARNESS_MAIN
