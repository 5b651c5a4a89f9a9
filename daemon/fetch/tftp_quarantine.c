// SPDX-License-Identifier: LGPL-2.1-or-later
/* The ports of abandoned TFTP tries, held a while: tftp_quarantine.h. */
#include "fetch/tftp_quarantine.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fetch/tftp_proto.h"

#define REPLIES_MAX 8		/* ERROR 5 answers per held port */

struct held {
	struct lzb_watch w;	/* first: on_stray casts back */
	struct lzb_fetcher *f;
	int fd;
	unsigned int replies;
	uint64_t until_ns;
};

struct quarantine {
	struct held *h[LZB_TFTP_HOLD_MAX];	/* oldest first */
	size_t n;
};

/* A packet on a held port: another transfer's, never a try's data. */
static void on_stray(struct lzb_watch *w, uint32_t events)
{
	struct held *h = (struct held *)w;
	uint8_t pkt[600], e[64];
	size_t el = lzb_tftp_build_error(e, sizeof(e), 5,
					 "unknown transfer ID");

	(void)events;
	for (int budget = 64; budget > 0; budget--) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(h->fd, pkt, sizeof(pkt), MSG_TRUNC,
				     (struct sockaddr *)&from, &fl);

		if (n < 0) {
			if (errno == EINTR || errno == ECONNREFUSED)
				continue;
			return;
		}
		h->f->st.tftp_strays++;
		/* never answer an ERROR: two such ports would ping-pong */
		if (n >= 2 && pkt[0] == 0 && pkt[1] == LZB_TFTP_ERROR)
			continue;
		if (h->replies < REPLIES_MAX && el) {
			h->replies++;
			sendto(h->fd, e, el, 0, (struct sockaddr *)&from, fl);
		}
	}
}

static void release(struct lzb_fetcher *f, struct held *h)
{
	lzb_watch_del(f, h->fd, &h->w);
	close(h->fd);
	lzb_defer_free(f, h);
}

static void drop_oldest(struct lzb_fetcher *f, struct quarantine *q)
{
	release(f, q->h[0]);
	memmove(q->h, q->h + 1, (q->n - 1) * sizeof(q->h[0]));
	q->n--;
}

static void set_timer(struct lzb_fetcher *f, struct lzb_transport_slot *slot)
{
	struct quarantine *q = slot->state;

	slot->timer_ns = q && q->n ? q->h[0]->until_ns : LZB_NO_TIMER;
	lzb_fetcher_rearm(f);
}

void lzb_tftp_hold(struct lzb_fetcher *f, struct lzb_transport_slot *slot,
		   int fd)
{
	struct quarantine *q = slot->state;
	struct held *h;
	int small = 4096;

	if (!q) {
		q = calloc(1, sizeof(*q));
		slot->state = q;
	}
	h = calloc(1, sizeof(*h));
	if (!q || !h) {
		free(h);
		close(fd);
		return;
	}
	/* no more than a few packets wait here, not a window of 8 MiB */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	h->f = f;
	h->fd = fd;
	h->w.fn = on_stray;
	h->until_ns = lzb_now_ns() + LZB_TFTP_HOLD_NS;
	if (lzb_watch_add(f, fd, EPOLLIN, &h->w)) {
		close(fd);
		free(h);
		return;
	}
	if (q->n == LZB_TFTP_HOLD_MAX)
		drop_oldest(f, q);
	q->h[q->n++] = h;
	set_timer(f, slot);
}

void lzb_tftp_release_due(struct lzb_fetcher *f,
			  struct lzb_transport_slot *slot)
{
	struct quarantine *q = slot->state;
	uint64_t now = lzb_now_ns();

	while (q && q->n && q->h[0]->until_ns <= now)
		drop_oldest(f, q);
	set_timer(f, slot);
}

void lzb_tftp_release_all(struct lzb_fetcher *f,
			  struct lzb_transport_slot *slot)
{
	struct quarantine *q = slot->state;

	while (q && q->n)
		drop_oldest(f, q);
	free(q);
	slot->state = NULL;
}
