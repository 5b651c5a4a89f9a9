/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Readiness probes: "is this service up?" asked the way a client would ask
 * it.  Used by `lazyboot capture` before it dumps, and by the daemon after a
 * restore to measure time to ready.
 *
 *   tcp HOST:PORT              a TCP connect succeeds
 *   http URL [STATUS]          GET URL (http:// only) answers STATUS (200)
 *   redis-ping HOST:PORT       "PING" answers "+PONG"
 *   command ARGV...            the command exits 0
 *
 * Every network probe is bounded by a timeout; a command probe's process
 * group is killed when its time is up.
 */
#ifndef LAZYBOOT_PROBE_H
#define LAZYBOOT_PROBE_H

#include <stddef.h>

#include "util/lzb_error.h"

#define LZB_ARGV_MAX 128

/* A command line split like a shell would, without any expansion. */
struct lzb_argv {
	int argc;
	char **argv;		/* argc strings and a NULL */
};

/*
 * Split S into words: blanks separate, '...' is literal, "..." takes \" \\
 * escapes, \c outside quotes is c.  0 or -EINVAL with a message in ERR.
 */
int lzb_argv_split(const char *s, struct lzb_argv *out, struct lzb_err *err);
void lzb_argv_free(struct lzb_argv *a);
int lzb_argv_copy(struct lzb_argv *dst, const struct lzb_argv *src);

enum lzb_probe_kind {
	LZB_PROBE_TCP,
	LZB_PROBE_HTTP,
	LZB_PROBE_REDIS,
	LZB_PROBE_COMMAND,
};

struct lzb_probe {
	enum lzb_probe_kind kind;
	char host[256];		/* tcp, http, redis-ping; no [] for IPv6 */
	char port[8];
	char path[1024];	/* http: the request target, "/..." */
	int status;		/* http: the status expected */
	struct lzb_argv cmd;	/* command */
	char spec[512];		/* as written, for messages */
};

/* Parse one probe as written after "ready =".  0 or -EINVAL with ERR. */
int lzb_probe_parse(const char *spec, struct lzb_probe *p, struct lzb_err *err);
void lzb_probe_free(struct lzb_probe *p);

/*
 * Ask once, within TIMEOUT_MS.  0 when ready; otherwise a negative errno
 * (-ETIMEDOUT, -ECONNREFUSED, -EPROTO for a wrong answer...) with what was
 * seen in ERR.
 */
int lzb_probe_once(const struct lzb_probe *p, int timeout_ms, struct lzb_err *err);

/*
 * Ask every INTERVAL_MS until ready or TOTAL_MS have passed.  0, or the
 * last failure (ERR says what it was).
 */
int lzb_probe_wait(const struct lzb_probe *p, int total_ms, int interval_ms,
		   struct lzb_err *err);

#endif
