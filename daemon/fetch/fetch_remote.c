// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The parent's side of the sandboxed fetcher (opts.sandbox): a transport
 * like the others to the fetch core, whose tries of http(s):// and
 * tftp:// URLs run in the child (fetch_child.c, sandboxed by
 * fetch_sandbox.c).  Priorities and admission, mirrors and failover,
 * retries, deadlines, size checks and the caller's check of the bytes
 * stay in the core, in this process: a fault still starts at once while
 * background tries wait for a slot, and promote needs no message.  What
 * the child sends is bytes and a verdict; it can refuse to work (the
 * request's deadline and the next mirror cover that) but every byte it
 * hands over goes through the same checks as a local transport's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fetch/fetch_internal.h"
#include "fetch/fetch_sandbox.h"
#include "util/file_util.h"
#include "util/log.h"
#include "util/lzb_error.h"

#define CA_MAX (4u << 20)
#define RX_SIZE (sizeof(struct lzb_wire_end) + LZB_WIRE_DATA_MAX)

struct remote_try {
	struct remote_try *next;
	uint64_t id;
	struct lzb_fetch *r;
};

struct lzb_remote {
	struct lzb_fetcher *f;
	struct lzb_watch w;
	int sock;
	pid_t pid;
	uint64_t next_id;
	struct remote_try *tries;
	bool dead;
	char dead_why[256];
	uint8_t rx[RX_SIZE + 1];
};

static struct lzb_remote *remote_of(struct lzb_fetcher *f)
{
	return lzb_fetcher_slot(f, &lzb_transport_remote)->state;
}

int lzb_fetcher_sandbox_pid(const struct lzb_fetcher *f)
{
	struct lzb_remote *rm = remote_of((struct lzb_fetcher *)f);

	return rm && !rm->dead ? (int)rm->pid : 0;
}

static struct remote_try *take_try(struct lzb_remote *rm, uint64_t id)
{
	struct remote_try **pp, *t;

	for (pp = &rm->tries; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id) {
			t = *pp;
			*pp = t->next;
			return t;
		}
	return NULL;
}

static struct remote_try *find_try(struct lzb_remote *rm, uint64_t id)
{
	for (struct remote_try *t = rm->tries; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

static void send_stop(struct lzb_remote *rm, uint64_t id)
{
	struct lzb_wire_stop m = { .type = LZB_WIRE_STOP, .id = id };

	if (!rm->dead)
		send(rm->sock, &m, sizeof(m), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* The child's words, made printable and kept to one line. */
static void clean_text(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

/* An errno the core knows what to do with; anything else is -EIO. */
static int clean_err(int32_t err)
{
	switch (err) {
	case -ENOENT: case -EACCES: case -EPROTO: case -ETIMEDOUT:
	case -ECONNREFUSED: case -ECONNRESET: case -EHOSTUNREACH:
	case -ENETUNREACH: case -EFBIG: case -EBADMSG: case -EIO:
	case -ENOMEM: case -EAGAIN: case -EPROTONOSUPPORT: case -EINVAL:
	case -ENOTSUP:
		return err;
	default:
		return -EIO;
	}
}

/* The child is gone or spoke out of turn: every try fails over. */
static void remote_died(struct lzb_remote *rm, const char *why)
{
	struct remote_try *t;
	int status;

	if (!rm->dead) {
		rm->dead = true;
		lzb_watch_del(rm->f, rm->sock, &rm->w);
		kill(rm->pid, SIGKILL);
		if (waitpid(rm->pid, &status, 0) == rm->pid &&
		    WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
			snprintf(rm->dead_why, sizeof(rm->dead_why),
				 "the sandboxed fetcher (pid %d) was killed "
				 "by signal %d%s", (int)rm->pid,
				 WTERMSIG(status), WTERMSIG(status) == SIGSYS ?
				 " (SIGSYS: a call its seccomp filter forbids)"
				 : "");
		else
			snprintf(rm->dead_why, sizeof(rm->dead_why),
				 "the sandboxed fetcher (pid %d) %s",
				 (int)rm->pid, why);
		lzb_log(LZB_LOG_ERR, "lazyboot: %s", rm->dead_why);
	}
	while ((t = rm->tries)) {
		rm->tries = t->next;
		lzb_fetch_msg(t->r, "%s", rm->dead_why);
		t->r->tp_state = NULL;
		lzb_fetch_try_done(t->r, -ECHILD);
		free(t);
	}
}

static void on_data(struct lzb_remote *rm, size_t n)
{
	struct lzb_wire_data h;
	struct remote_try *t;
	int err;

	memcpy(&h, rm->rx, sizeof(h));
	t = find_try(rm, h.id);
	if (!t)
		return;		/* a try we stopped */
	err = lzb_fetch_deliver(t->r, h.offset, rm->rx + sizeof(h),
				n - sizeof(h));
	if (!err)
		return;
	take_try(rm, h.id);
	send_stop(rm, h.id);
	t->r->tp_state = NULL;
	lzb_fetch_try_done(t->r, err);
	free(t);
}

static void on_end(struct lzb_remote *rm, size_t n)
{
	struct lzb_fetch_stats *st = &rm->f->st;
	struct lzb_wire_end h;
	struct remote_try *t;
	int err;

	memcpy(&h, rm->rx, sizeof(h));
	t = take_try(rm, h.id);
	if (!t)
		return;
	st->http_new_connections = h.http_new_connections;
	st->http2_transfers = h.http2_transfers;
	st->range_ignored = h.range_ignored;
	st->http_window_clamps = h.http_window_clamps;
	st->http_window_holds = h.http_window_holds;
	st->tftp_retransmits = h.tftp_retransmits;
	st->tftp_gaps = h.tftp_gaps;
	st->tftp_option_fallbacks = h.tftp_option_fallbacks;
	st->tftp_strays = h.tftp_strays;
	st->tftp_windows_cut = h.tftp_windows_cut;
	err = h.err ? clean_err(h.err) : 0;
	if (h.total)
		lzb_fetch_set_total(t->r, h.total);
	if (!err && n > sizeof(h)) {	/* the try's last bytes */
		err = lzb_fetch_deliver(t->r, h.offset, rm->rx + sizeof(h),
					n - sizeof(h));
	} else if (err) {
		char *why = (char *)rm->rx + sizeof(h);

		if (n > sizeof(h) + LZB_WIRE_TEXT_MAX)
			n = sizeof(h) + LZB_WIRE_TEXT_MAX;
		why[n - sizeof(h)] = '\0';
		clean_text(why);
		lzb_fetch_msg(t->r, "%s", *why ? why : strerror(-err));
	}
	t->r->tp_state = NULL;
	lzb_fetch_try_done(t->r, err);
	free(t);
}

static void remote_event(struct lzb_watch *w, uint32_t events)
{
	struct lzb_remote *rm = (struct lzb_remote *)
		((char *)w - offsetof(struct lzb_remote, w));
	uint32_t type;

	(void)events;
	/* A bounded batch per round: the pager's loop has other work. */
	for (int i = 0; i < 64 && !rm->dead; i++) {
		ssize_t n = recv(rm->sock, rm->rx, RX_SIZE, MSG_DONTWAIT |
				 MSG_TRUNC);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			remote_died(rm, n ? "cannot be read from" : "ended");
			return;
		}
		if ((size_t)n > RX_SIZE || n < (ssize_t)sizeof(type)) {
			remote_died(rm, "sent a malformed message");
			return;
		}
		memcpy(&type, rm->rx, sizeof(type));
		if (type == LZB_WIRE_DATA &&
		    (size_t)n >= sizeof(struct lzb_wire_data))
			on_data(rm, (size_t)n);
		else if (type == LZB_WIRE_END &&
			 (size_t)n >= sizeof(struct lzb_wire_end))
			on_end(rm, (size_t)n);
		else
			remote_died(rm, "sent a malformed message");
	}
}

static int remote_init(struct lzb_fetcher *f)
{
	struct lzb_transport_slot *slot = lzb_fetcher_slot(f,
						&lzb_transport_remote);
	struct lzb_sandbox_child c = {
		.user = f->o.sandbox_user,
		.prepare = lzb_fetch_child_prepare,
		.setup = lzb_fetch_child_setup,
		.main = lzb_fetch_child_main, .arg = f,
	};
	struct lzb_err err = { { 0 } };
	struct lzb_remote *rm;
	uint8_t *pem;
	int ret;

	if (!f->o.sandbox)
		return 0;
	/* The child may not be allowed to open it: read it as we are. */
	if (f->o.ca_file && !lzb_read_file(f->o.ca_file, CA_MAX, &pem,
					   &f->ca_pem_len, &err)) {
		f->ca_pem = pem;
	}
	err.msg[0] = '\0';
	rm = calloc(1, sizeof(*rm));
	if (!rm)
		return -ENOMEM;
	rm->f = f;
	rm->w.fn = remote_event;
	if (lzb_sandbox_spawn(&c, &rm->pid, &rm->sock, &err)) {
		lzb_log(LZB_LOG_ERR, "lazyboot: %s", err.msg);
		free(rm);
		free(f->ca_pem);
		f->ca_pem = NULL;
		return -EPERM;
	}
	ret = lzb_watch_add(f, rm->sock, EPOLLIN, &rm->w);
	if (ret) {
		close(rm->sock);
		kill(rm->pid, SIGKILL);
		waitpid(rm->pid, NULL, 0);
		free(rm);
		free(f->ca_pem);
		f->ca_pem = NULL;
		return ret;
	}
	slot->state = rm;
	return 0;
}

static void remote_fini(struct lzb_fetcher *f)
{
	struct lzb_remote *rm = remote_of(f);

	free(f->ca_pem);
	f->ca_pem = NULL;
	if (!rm)
		return;
	if (!rm->dead) {
		lzb_watch_del(f, rm->sock, &rm->w);
		kill(rm->pid, SIGKILL);
		waitpid(rm->pid, NULL, 0);
	}
	close(rm->sock);
	while (rm->tries) {
		struct remote_try *t = rm->tries;

		rm->tries = t->next;
		free(t);
	}
	free(rm);
	lzb_fetcher_slot(f, &lzb_transport_remote)->state = NULL;
}

static int remote_start(struct lzb_fetch *r)
{
	struct lzb_remote *rm = remote_of(r->f);
	uint8_t msg[sizeof(struct lzb_wire_try) + LZB_WIRE_TEXT_MAX];
	struct lzb_wire_try h = {
		.type = LZB_WIRE_TRY, .prio = r->s.prio, .offset = r->s.offset,
		.length = r->s.length, .expected_size = r->s.expected_size,
		.limit = r->limit,
	};
	size_t ul = strlen(r->url);
	struct remote_try *t;

	if (rm->dead) {	/* not started again: see fetch.c error_is_final */
		lzb_fetch_msg(r, "%s", rm->dead_why);
		return -ECHILD;
	}
	if (ul > LZB_WIRE_TEXT_MAX) {
		lzb_fetch_msg(r, "URL longer than %d bytes", LZB_WIRE_TEXT_MAX);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		lzb_fetch_msg(r, "out of memory");
		return -ENOMEM;
	}
	t->id = h.id = ++rm->next_id;
	t->r = r;
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), r->url, ul);
	if (send(rm->sock, msg, sizeof(h) + ul, MSG_DONTWAIT |
		 MSG_NOSIGNAL) < 0) {
		int e = errno;

		free(t);
		lzb_fetch_msg(r, "cannot hand the try to the sandboxed "
			      "fetcher: %s", strerror(e));
		return e == EAGAIN ? -EAGAIN : -EIO;
	}
	t->next = rm->tries;
	rm->tries = t;
	r->tp_state = t;
	return 0;
}

static void remote_stop(struct lzb_fetch *r)
{
	struct lzb_remote *rm = remote_of(r->f);
	struct remote_try *t = r->tp_state;

	if (!t)
		return;
	take_try(rm, t->id);
	send_stop(rm, t->id);
	free(t);
	r->tp_state = NULL;
}

static void remote_timer(struct lzb_fetch *r)
{
	(void)r;	/* stalls are timed in the child */
}

/* lzb_fetcher_hold: the child holds or resumes its tries. */
static void remote_hold(struct lzb_fetcher *f)
{
	struct lzb_remote *rm = remote_of(f);
	struct lzb_wire_hold m = { .type = LZB_WIRE_HOLD, .hold = f->held };

	if (!rm->dead)
		send(rm->sock, &m, sizeof(m), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Never picked by scheme: fetch.c routes to it when sandboxed. */
static const char *const remote_schemes[] = { NULL };

const struct lzb_transport lzb_transport_remote = {
	.schemes = remote_schemes,
	.init = remote_init,
	.fini = remote_fini,
	.start = remote_start,
	.stop = remote_stop,
	.timer = remote_timer,
	.hold = remote_hold,
};
