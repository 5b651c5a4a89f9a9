/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One asynchronous fetch interface for every transport (file://, http://,
 * https://, tftp://), used by the pager and the CLI.
 *
 * A fetcher owns an internal epoll set (libcurl's sockets, TFTP sockets and a
 * timerfd).  The caller's event loop watches the single fd returned by
 * lzb_fetcher_fd() for EPOLLIN and calls lzb_fetcher_process() when it is
 * readable; nothing else is needed (timeouts arrive through the same fd).
 * lzb_fetcher_run() is a small blocking loop for callers without their own.
 *
 * Requests:
 *  - many in flight; each has a priority.  LZB_PRIO_FAULT requests start at
 *    once, always; LZB_PRIO_BACKGROUND requests start only while fewer than
 *    max_background of them are in flight, the rest wait in FIFO order.  So a
 *    fault never queues behind background transfers.
 *  - each has a deadline (ms from submission, 0 = none), covering every try
 *    on every mirror; when it passes the request ends with -ETIMEDOUT.
 *  - a list of mirrors (struct lzb_mirrors) plus a path, or one full URL.
 *    A failed try -- an error, or bytes the request's check refused --
 *    is that mirror's failure: the same object is asked of the next
 *    mirror, and the failed one is demoted to the end of the set's order
 *    for every later request (mirror_choice.c).  When all failed, a new
 *    round starts after a backoff, up to `retries` rounds (a request that
 *    asks for it, retry_until_deadline, instead goes on until its deadline,
 *    the backoff capped); the request fails with one line naming each
 *    mirror and its error.
 *  - whole-object (length 0) or byte-range (offset, length) into the
 *    caller's buffer, or streamed to a sink callback.
 *  - after a failed try, bytes may be delivered again from offset 0 by the
 *    next try (a sink must accept rewrites at the offsets it is given).
 *  - the done callback runs exactly once per submitted request, with 0 or a
 *    negative errno and a one-line message.  lzb_fetch_cancel() ends a request
 *    with -ECANCELED (the callback runs inside the cancel call).
 *
 * Not thread-safe: use one fetcher from one thread.
 */
#ifndef LAZYBOOT_FETCH_H
#define LAZYBOOT_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lzb_err;
struct lzb_fetcher;
struct lzb_fetch;
struct lzb_mirrors;

enum lzb_fetch_prio {
	LZB_PRIO_FAULT = 0,		/* a thread is blocked on this */
	LZB_PRIO_BACKGROUND = 1,	/* prefetch / streaming */
};

/* Fetcher-wide settings; zero fields take the defaults named here. */
struct lzb_fetcher_opts {
	unsigned int max_background;	/* background in flight; 4 */
	unsigned int retries;		/* extra rounds over the mirrors; 2 */
	bool no_retries;		/* one round only (tests, CLI --retries 0) */
	unsigned int backoff_ms;	/* first backoff, doubles; 100 */
	unsigned int connect_timeout_ms; /* TCP/TLS connect; 5000 */
	unsigned int stall_ms;		/* no byte for this long = failed try; 10000 */
	/* https: a PEM CA file to trust INSTEAD of the system store (pinned CA) */
	const char *ca_file;
	/* https: libcurl public-key pin, "sha256//BASE64[;sha256//...]" */
	const char *pinned_pubkey;
	/* HTTP: accept a 200 answer to a Range request by cutting the range
	 * out of the full body (slow, counted in stats.range_ignored).  Off by
	 * default: such a try fails and the next mirror is asked. */
	bool accept_full_for_range;
	/* HTTP: bound each transfer's receive window to what the link
	 * needs (http_window.h), so a long background transfer does not
	 * queue its bytes ahead of other connections' on a shared path:
	 * the image's stream, which faults' requests must overtake. */
	bool http_bound_window;
	/* tftp: options asked for.  blksize 1468 (8..65464), windowsize 16
	 * (1 = lock-step, no option sent), timeout 1 s (0 = not sent). */
	unsigned int tftp_blksize;
	unsigned int tftp_windowsize;
	unsigned int tftp_timeout_s;
	bool tftp_no_options;		/* plain RFC 1350 RRQ */
	unsigned int tftp_max_tries;	/* per packet; 6 */
	/* tftp, sandboxed: sockets per address family (at most 4) that the
	 * child makes before it drops CAP_NET_ADMIN, with a receive buffer
	 * that holds the whole window past net.core.rmem_max; tries too
	 * long for an ordinary socket's buffer take them
	 * (fetch/tftp_socket.h). */
	unsigned int tftp_spare_sockets;
	/*
	 * Run every http(s):// and tftp:// try -- sockets, TLS, HTTP and
	 * TFTP parsing -- in a child process sandboxed by fetch_sandbox.c
	 * (no capabilities, an unprivileged uid, seccomp, none of the
	 * caller's fds), which hands back only the bytes; priorities,
	 * mirrors, retries, deadlines and the caller's checks stay here.
	 * file:// is read here.  lzb_fetcher_new fails when the sandbox
	 * cannot be set up.  docs/security.md.
	 */
	bool sandbox;
	const char *sandbox_user;	/* NULL: lazyboot-fetch, else nobody */
};

struct lzb_fetch_stats {
	uint64_t started, succeeded, failed, cancelled, timed_out;
	uint64_t tries, failovers, retry_rounds;
	uint64_t bytes;
	uint64_t http_new_connections;	/* TCP connections libcurl opened */
	uint64_t http2_transfers;
	uint64_t range_ignored;		/* 200 seen for a Range request */
	uint64_t http_window_clamps;	/* receive window bounds set */
	uint64_t http_window_holds;	/* windows closed (lzb_fetcher_hold) */
	uint64_t tftp_retransmits;	/* ACK/RRQ resent after a timeout */
	uint64_t tftp_gaps;		/* out-of-order/missing block (go-back-N) */
	uint64_t tftp_option_fallbacks;	/* server refused options: retried plain */
	uint64_t tftp_strays;		/* another transfer's packets: an
					 * OACK of another size, or what
					 * reached an abandoned try's port */
	uint64_t tftp_windows_cut;	/* tries that asked for a smaller
					 * window, the one their receive
					 * buffer holds */
	unsigned int max_background_seen; /* peak background in flight */
};

/*
 * Called for each run of bytes, in order, `offset` relative to the start of
 * what was asked for (so 0 for the first byte of a range).  Return 0 to go on
 * or a negative errno to fail the request.
 */
typedef int (*lzb_fetch_sink_fn)(void *arg, uint64_t offset,
				 const void *data, size_t len);

/*
 * Called once when the request ends.  err is 0, or a negative errno and msg
 * a one-line explanation naming the URL (never NULL).  len is the number of
 * bytes delivered.  The request handle is freed after this returns.
 */
typedef void (*lzb_fetch_done_fn)(struct lzb_fetch *req, int err,
				  const char *msg, uint64_t len, void *arg);

/*
 * Called when a try has delivered everything asked for and its size
 * checked out, before the request ends: BUF is the request's buffer (NULL
 * for a sink), LEN the bytes.  0 takes them; -1 with a one-line ERR
 * refuses them as this mirror's failure (a hash mismatch, a bad
 * signature...), and the same object is asked of the next mirror.
 */
typedef int (*lzb_fetch_check_fn)(void *arg, const uint8_t *buf,
				  uint64_t len, struct lzb_err *err);

/* Called as bytes arrive: done so far and total (0 when unknown yet). */
typedef void (*lzb_fetch_progress_fn)(void *arg, uint64_t done,
				      uint64_t total);

struct lzb_fetch_spec {
	/* Either mirrors + path (path appended to each base URL), or url.
	 * The mirror set must outlive the requests that use it. */
	struct lzb_mirrors *mirrors;
	const char *path;
	const char *url;

	uint64_t offset;	/* byte range start */
	uint64_t length;	/* 0 = the whole object */
	/* whole objects: the exact expected size, or -1 when unknown */
	int64_t expected_size;

	/* Destination: a buffer (must hold the object/range) or a sink. */
	void *buf;
	size_t buf_size;
	lzb_fetch_sink_fn sink;
	void *sink_arg;

	/* Optional: a check of what a try delivered (see above). */
	lzb_fetch_check_fn check;
	void *check_arg;
	/* The path names the object by its hash: "not found" is then
	 * retried in later rounds like a server error (a mirror still being
	 * filled may have it soon), not final. */
	bool content_addressed;
	/* With a deadline: errors a later round could cure (timeouts, stalls,
	 * refused connections, 5xx) are retried in new rounds until the
	 * deadline, not only `retries` times.  For a request whose failure
	 * costs more than waiting: a chunk of a running restore, whose tasks
	 * are killed when it fails, while a busy server in a boot storm only
	 * delays it. */
	bool retry_until_deadline;

	enum lzb_fetch_prio prio;
	unsigned int deadline_ms;	/* 0 = none */

	lzb_fetch_done_fn done;
	void *done_arg;
	lzb_fetch_progress_fn progress;	/* optional */
	void *progress_arg;
};

/* Returns NULL and sets errno on failure. */
struct lzb_fetcher *lzb_fetcher_new(const struct lzb_fetcher_opts *opts);
/* Cancels what is still in flight (callbacks run) and frees everything. */
void lzb_fetcher_free(struct lzb_fetcher *f);

/* The fd to watch for EPOLLIN (level-triggered). */
int lzb_fetcher_fd(const struct lzb_fetcher *f);
/* Handle whatever is ready; never blocks.  Returns 0 or a negative errno. */
int lzb_fetcher_process(struct lzb_fetcher *f);
/* Milliseconds until the fetcher needs processing anyway (-1: never);
 * informational, as the fd also becomes readable then. */
int lzb_fetcher_timeout_ms(const struct lzb_fetcher *f);
/* Requests not yet ended. */
unsigned int lzb_fetcher_pending(const struct lzb_fetcher *f);
/* Block up to timeout_ms (-1: until no request is pending), processing. */
int lzb_fetcher_run(struct lzb_fetcher *f, int timeout_ms);
void lzb_fetcher_stats(const struct lzb_fetcher *f, struct lzb_fetch_stats *s);
/* opts.sandbox: the sandboxed child's pid while it lives, else 0. */
int lzb_fetcher_sandbox_pid(const struct lzb_fetcher *f);

/*
 * Hold (HOLD true) or resume this fetcher's HTTP(S) transfers, in this
 * process or in the sandboxed child: their TCP receive window is clamped
 * to two segments (fetch_http.c hold_try), so the server stops after at
 * most the bounded window (opts.http_bound_window) and then sends two
 * segments per round trip.  The pager holds the image's
 * stream while a fault's chunk is on its way, so that chunk has the path
 * to itself.  A held transfer is not timed for stalls.  Only transfers
 * with opts.http_bound_window are held, from their first bytes on (also
 * those started while held); TFTP and file:// ones are not.
 */
void lzb_fetcher_hold(struct lzb_fetcher *f, bool hold);

/*
 * Start a request.  Returns the handle, or NULL with errno set (EINVAL with
 * no callback/destination or a bad URL scheme, ENOMEM); the done callback is
 * not called then.
 */
struct lzb_fetch *lzb_fetch_submit(struct lzb_fetcher *f,
				   const struct lzb_fetch_spec *spec);
/* End a pending request with -ECANCELED; its callback runs before this
 * returns.  The handle must be one whose callback has not run yet.  Call
 * it from the loop or from a done callback, not from a sink or progress
 * callback (those run inside libcurl). */
void lzb_fetch_cancel(struct lzb_fetch *req);

/*
 * Raise a pending background request to LZB_PRIO_FAULT (a thread now waits
 * for what it is prefetching): a queued one starts at once, a running one
 * stops counting against max_background.  No-op for a fault request.
 */
void lzb_fetch_promote(struct lzb_fetch *req);

/* One object to get whole (lzb_fetch_whole). */
struct lzb_fetch_whole_spec {
	const char *path;
	int64_t size;		/* exactly this many bytes; -1: at most max */
	size_t max;
	bool content_addressed;	/* as in struct lzb_fetch_spec */
	lzb_fetch_check_fn check;	/* optional; buf is the whole object */
	void *check_arg;
};

/*
 * Fetch W->path whole from mirror set M at fault priority, blocking (for
 * callers with no loop of their own yet, such as an image's metadata),
 * each mirror's bytes passed to W->check before they are taken.  0 with
 * *BUF malloc'd (never NULL, even for an empty object) and *LEN, or -1
 * with ERR.
 */
int lzb_fetch_whole(struct lzb_fetcher *f, struct lzb_mirrors *m,
		    const struct lzb_fetch_whole_spec *w, uint8_t **buf,
		    size_t *len, struct lzb_err *err);

/*
 * The mirror set of one image: base URLs tried in the order given, a
 * mirror that failed a try moved to the end (mirror_choice.c).  Share one
 * set between every request of a restore so a bad mirror stays demoted.
 */
struct lzb_mirrors *lzb_mirrors_new(const char *const *base_urls, size_t n);
void lzb_mirrors_free(struct lzb_mirrors *m);

/* The scheme of a URL this fetcher can serve, or NULL. */
const char *lzb_fetch_scheme(const char *url);

#endif
