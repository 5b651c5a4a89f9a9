/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the fetch core (fetch.c) shares with its transports (fetch_*.c). */
#ifndef LAZYBOOT_FETCH_INTERNAL_H
#define LAZYBOOT_FETCH_INTERNAL_H

#include <stdarg.h>

#include "fetch/fetch.h"
#include "fetch/tftp_socket.h"

#include "util/clock.h"

#define LZB_NS_PER_MS 1000000ULL
#define LZB_NO_TIMER UINT64_MAX

/* Something in the fetcher's epoll set. */
struct lzb_watch {
	void (*fn)(struct lzb_watch *w, uint32_t events);
	bool dead;	/* removed; may still be in this round's events */
};

struct lzb_err;
struct lzb_fetch;
struct lzb_fetcher;

/*
 * One transport.  A "try" is one attempt at one URL.  The core knows a
 * transport only through these hooks; what a transport keeps for the
 * whole fetcher (a libcurl multi handle, say) lives in its slot.
 */
struct lzb_transport {
	/* The URL schemes it serves ("http", "https"), NULL-terminated. */
	const char *const *schemes;

	/* Fetcher-wide hooks, each optional. */
	/* lzb_fetcher_new: check and default this transport's options in
	 * f->o.  -errno (-EINVAL: a bad option) fails the fetcher. */
	int (*init)(struct lzb_fetcher *f);
	/* lzb_fetcher_free, every request ended: free the slot's state. */
	void (*fini)(struct lzb_fetcher *f);
	/* The slot's timer_ns passed (it was reset to LZB_NO_TIMER first). */
	void (*fetcher_timer)(struct lzb_fetcher *f);
	/* lzb_fetcher_hold changed f->held: hold or resume the tries. */
	void (*hold)(struct lzb_fetcher *f);

	/* Per try. */
	/* Begin a try of r->url.  On error return -errno after lzb_fetch_msg. */
	int (*start)(struct lzb_fetch *r);
	/* Abandon the try in flight (cancel, deadline); free its state. */
	void (*stop)(struct lzb_fetch *r);
	/* r->tp_timer_ns passed. */
	void (*timer)(struct lzb_fetch *r);
};

/* What a fetcher keeps for one transport. */
struct lzb_transport_slot {
	void *state;		/* the transport's own, NULL until it sets it */
	uint64_t timer_ns;	/* fetcher_timer is due; LZB_NO_TIMER = none */
};

#define LZB_NR_TRANSPORTS 4	/* file, http(s), tftp, remote */

/*
 * Mirror choice (mirror_choice.c), the one place that decides which mirror
 * an object is asked of next, for every request:
 *
 *  - a mirror set keeps its mirrors in an order, best first; a failed try
 *    (any error, and bytes the caller's check refused: wrong size, bad
 *    magic, hash mismatch, bad signature, decompression failure) moves
 *    that mirror to the end, so every later request tries it last;
 *  - a request tries each mirror at most once per round, in the set's
 *    order as it is when the try starts, and keeps what each one said;
 *  - when every mirror failed for the object, the request ends with one
 *    line naming each mirror and its error.
 */
struct lzb_mirrors {
	char **base;		/* base URLs as given */
	size_t n;
	size_t *order;		/* mirror numbers, best first */
};

/* What one request's tries of one object said, per mirror. */
struct lzb_mirror_tries {
	size_t n;		/* 1 for a request on a single URL */
	size_t current;		/* mirror of the try in flight */
	bool *tried;		/* this round */
	char **why;		/* each mirror's last failure, or NULL */
};

/* For a request on M (NULL: a single URL).  0 or -ENOMEM. */
int lzb_mirror_tries_init(struct lzb_mirror_tries *t,
			  const struct lzb_mirrors *m);
void lzb_mirror_tries_free(struct lzb_mirror_tries *t);
/*
 * Pick the mirror to try next this round: the first in M's order not
 * tried yet (into t->current, marked tried).  false when every mirror was
 * tried this round.
 */
bool lzb_mirror_pick(const struct lzb_mirrors *m, struct lzb_mirror_tries *t);
/* Is a mirror left to try this round? */
bool lzb_mirror_untried(const struct lzb_mirror_tries *t);
/* A new round: every mirror may be tried again. */
void lzb_mirror_new_round(struct lzb_mirror_tries *t);
/*
 * The try on t->current failed saying WHY (one line, without the URL):
 * kept for the final message; with M, that mirror goes to the end of M's
 * order for every later request.
 */
void lzb_mirror_failed(struct lzb_mirrors *m, struct lzb_mirror_tries *t,
		       const char *why);
/*
 * One line for an object every mirror failed: "PATH: every mirror
 * failed: BASE1: WHY1; BASE2: WHY2" (each mirror that said something).
 */
void lzb_mirror_summary(const struct lzb_mirrors *m,
			const struct lzb_mirror_tries *t, const char *path,
			char *out, size_t size);

enum lzb_fetch_state { LZB_QUEUED, LZB_RUNNING, LZB_BACKOFF, LZB_ENDED };

struct lzb_fetch {
	struct lzb_fetcher *f;
	struct lzb_fetch_spec s;
	char *path;		/* owned copies */
	char *single_url;
	char *url;		/* this try's URL */

	enum lzb_fetch_state state;
	struct lzb_mirror_tries tries;	/* which mirrors, what they said */
	unsigned int round;
	bool round_all_final;	/* every try this round: a final error */

	uint64_t deadline_ns;	/* LZB_NO_TIMER = none */
	uint64_t backoff_ns;
	uint64_t tp_timer_ns;	/* transport's own timer */

	uint64_t limit;		/* most bytes that may be delivered */
	uint64_t got;		/* bytes delivered by this try (high mark) */
	uint64_t total;		/* size announced by the server, 0 unknown */

	const struct lzb_transport *tp;
	void *tp_state;

	int err;
	char msg[1024];

	struct lzb_fetch *prev, *next;	/* f->all */
	struct lzb_fetch *qnext;	/* f->queue (background waiting) */
	struct lzb_fetch *znext;	/* f->zombies */
};

struct lzb_fetcher {
	struct lzb_fetcher_opts o;
	int epfd, tfd;
	struct lzb_watch timer_watch;
	uint64_t armed_ns;

	struct lzb_fetch *all;
	struct lzb_fetch *queue, *queue_tail;
	struct lzb_fetch *zombies;
	void **deferred;
	size_t n_deferred, cap_deferred;
	unsigned int n_pending, n_bg_running;
	int in_process;
	bool held;			/* lzb_fetcher_hold */

	struct lzb_transport_slot slots[LZB_NR_TRANSPORTS];

	struct lzb_fetch_stats st;

	/* opts.sandbox: a copy of the pinned CA file, read while still
	 * root, for the child (which may not be allowed to open it) */
	void *ca_pem;
	size_t ca_pem_len;
	/* the child: the fetcher it serves tries with (fetch_child.c) */
	struct lzb_fetcher *child_core;
	/* tftp: sockets made before the child dropped its capabilities */
	struct lzb_tftp_spares tftp_spares;
	bool tftp_told_cut;		/* the rmem_max warning was logged */
};

/* Register / change / remove an fd in the fetcher's epoll set. */
int lzb_watch_add(struct lzb_fetcher *f, int fd, uint32_t events,
		  struct lzb_watch *w);
int lzb_watch_mod(struct lzb_fetcher *f, int fd, uint32_t events,
		  struct lzb_watch *w);
void lzb_watch_del(struct lzb_fetcher *f, int fd, struct lzb_watch *w);
/* Free p once the current processing round is over. */
void lzb_defer_free(struct lzb_fetcher *f, void *p);
/* Re-arm the timerfd after a timer changed. */
void lzb_fetcher_rearm(struct lzb_fetcher *f);
/* The slot f keeps for transport tp. */
struct lzb_transport_slot *lzb_fetcher_slot(struct lzb_fetcher *f,
					    const struct lzb_transport *tp);

/* Set r->msg ("URL: ..."). */
void lzb_fetch_msg(struct lzb_fetch *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Hand over bytes at `offset` of what was asked for.  Returns 0, or -EFBIG
 * (with msg) when they go past the buffer / range / expected size, or the
 * sink's error.
 */
int lzb_fetch_deliver(struct lzb_fetch *r, uint64_t offset, const void *data,
		      size_t len);
/* The server announced the size of the whole object. */
void lzb_fetch_set_total(struct lzb_fetch *r, uint64_t total);
/*
 * The try in flight ended (the transport freed its state first).  err 0 =
 * success (the request's check then runs on the bytes); otherwise msg was
 * set.  -ECANCELED and -ENOMEM end the request; every other error, and
 * bytes the check refused, fail over to the next mirror / retry round
 * (mirror_choice.c).
 */
void lzb_fetch_try_done(struct lzb_fetch *r, int err);

extern const struct lzb_transport lzb_transport_file;
extern const struct lzb_transport lzb_transport_http;
extern const struct lzb_transport lzb_transport_tftp;
/* http(s):// and tftp:// tries handed to the sandboxed child
 * (fetch_remote.c) when the fetcher was made with opts.sandbox. */
extern const struct lzb_transport lzb_transport_remote;

/*
 * The sandboxed fetcher's wire (fetch_remote.c <-> fetch_child.c), one
 * message per SOCK_SEQPACKET record, host byte order (both ends are one
 * build on one host).  Parent to child: TRY (start one try at one URL,
 * the URL's bytes follow the header), STOP (abandon it), HOLD (hold or
 * resume every try: lzb_fetcher_hold).  Child to
 * parent: READY once (sandbox in place; text after it = why not),
 * DATA (bytes of a try at an offset, the bytes follow), END (the try is
 * over; a one-line reason follows when err != 0, else the try's last
 * bytes, at `offset`, so a 64 KiB chunk takes one message).  Nothing the child
 * says is trusted: sizes are checked, unknown ids ignored, the text
 * cleaned, and every byte goes through the request's own size and
 * hash checks in the parent (fetch.c).
 */
enum lzb_wire_type {
	LZB_WIRE_READY = 1,
	LZB_WIRE_TRY,
	LZB_WIRE_STOP,
	LZB_WIRE_DATA,
	LZB_WIRE_END,
	LZB_WIRE_HOLD,
};

#define LZB_WIRE_DATA_MAX (64 * 1024)	/* bytes after a DATA header */
#define LZB_WIRE_TEXT_MAX 1024		/* a URL or a reason */

struct lzb_wire_try {
	uint32_t type;
	uint32_t prio;			/* enum lzb_fetch_prio */
	uint64_t id;
	uint64_t offset, length;	/* as in struct lzb_fetch_spec */
	int64_t expected_size;
	uint64_t limit;			/* most bytes the parent takes */
};

struct lzb_wire_stop {
	uint32_t type;
	uint32_t pad;
	uint64_t id;
};

struct lzb_wire_hold {
	uint32_t type;
	uint32_t hold;			/* 1: hold every try, 0: resume */
};

struct lzb_wire_data {
	uint32_t type;
	uint32_t pad;
	uint64_t id;
	uint64_t offset;
};

struct lzb_wire_end {
	uint32_t type;
	int32_t err;			/* 0 or a negative errno */
	uint64_t id;
	uint64_t total;			/* size the server announced, 0 */
	uint64_t offset;		/* err == 0: where the bytes after
					 * this header go */
	/* the child's counters so far (struct lzb_fetch_stats) */
	uint64_t http_new_connections, http2_transfers, range_ignored;
	uint64_t http_window_clamps, http_window_holds;
	uint64_t tftp_retransmits, tftp_gaps, tftp_option_fallbacks;
	uint64_t tftp_strays, tftp_windows_cut;
};

/* The child's side: serve tries on SOCK until it closes (fetch_child.c).
 * ARG is the parent's struct lzb_fetcher, as forked.  PREPARE, still
 * privileged, makes the spare TFTP sockets (opts.tftp_spare_sockets). */
int lzb_fetch_child_prepare(void *arg, struct lzb_err *err);
int lzb_fetch_child_setup(void *arg, struct lzb_err *err);
int lzb_fetch_child_main(int sock, void *arg);

#endif
