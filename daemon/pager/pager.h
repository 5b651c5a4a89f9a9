/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pager: one lazy restore served from one poll loop.  It runs
 * `criu restore --lazy-pages` with its two sockets named (CRIU's
 * lazy-pages socket, served in place of `criu lazy-pages`, and the CRIU
 * plugin's link), hands every task's userfaultfd to the engine, which
 * serves faults (and streams the rest) from a page source, logs the real
 * pids the plugin reports, reaps criu, and goes on until the caller's
 * hooks say the work is done or an error stops it.  A pager that stops
 * before every page is in must end what CRIU restored:
 * lzb_pager_kill_tree().
 *
 * `lazyboot restore` serves a served image this way (restore.c: status,
 * keeper, record, resume, readiness probe); `lazyboot profile` a local
 * CRIU dump, faults only (profile_run.c: touches, probes, warm-up).
 */
#ifndef LAZYBOOT_PAGER_H
#define LAZYBOOT_PAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "criu/criu_restore_proc.h"
#include "engine/uffd_engine.h"
#include "util/lzb_error.h"

struct lzb_fetcher;
struct lzb_pager;

struct lzb_pager_hooks {
	void *ctx;
	/*
	 * Optional: a task's userfaultfd arrived (img_pid as CRIU sent it,
	 * pid the task's real pid, pidfd the pager's pidfd of it, lent),
	 * before the engine gets it: e.g. to give it to a keeper first.  A
	 * negative errno refuses it: the pager closes the uffd and stops.
	 */
	int (*on_task)(void *ctx, int img_pid, int pid, int pidfd, int uffd);
	/* Optional: CRIU sent the restore-finished marker (RSTF). */
	void (*on_restored)(void *ctx);
	/*
	 * Optional: once per turn of the loop, after what was ready was
	 * served (probes, progress, status).  An error put in ERR stops the
	 * loop.
	 */
	void (*tick)(void *ctx, struct lzb_err *err);
	/* The pager's work is done: lzb_pager_serve() returns 0. */
	bool (*done)(void *ctx);
};

struct lzb_pager_config {
	const char *workdir;		/* the sockets; criu's work dir, logs */
	struct lzb_page_source source;
	/* Optional: the source's first error (one line), for the message
	 * when it stops the engine; ctx is source.ctx. */
	const char *(*source_error)(void *ctx);
	struct lzb_engine_journal journal;	/* optional */
	/* Optional: told of every fault on lazy memory (lzb_engine_config). */
	void (*on_fault)(void *ctx, int img_pid, uint64_t img_addr);
	void *on_fault_ctx;
	/*
	 * Background requests in flight once CRIU's restore has finished;
	 * 0 serves faults only (the engine never leaves its restore-time
	 * mode, so every first touch is a fault).
	 */
	unsigned int max_background;
	uint64_t stream_bytes;		/* one background request */
	struct lzb_fetcher *fetcher;	/* served by the loop too, or NULL */
	/* Tasks come from lzb_pager_adopt(), not from CRIU (a successor):
	 * no lazy-pages socket. */
	bool no_lazy_socket;
	struct lzb_pager_hooks hooks;
	uint64_t t0_us;			/* progress lines' zero */
	bool quiet;
};

struct lzb_pager_state {
	bool restored;		/* RSTF came, or lzb_pager_resumed() */
	bool criu_done;		/* criu restore exited 0 (or resumed) */
	int root_pid;		/* real pid of the restored root, 0: unknown */
	int tasks;		/* userfaultfds handed over or adopted */
	size_t plugin_tasks;	/* real pids the CRIU plugin reported */
};

/*
 * The engine and the sockets in C->workdir (made private if it is not:
 * lzb_private_dir(), which may refuse it).  The sockets hear only the
 * criu that lzb_pager_start_criu() starts.  The caller then declares the
 * source's tasks to lzb_pager_engine().
 */
int lzb_pager_new(const struct lzb_pager_config *c, struct lzb_pager **p,
		  struct lzb_err *err);
/*
 * SIGKILL and reap a criu still running, close the sockets, free the
 * engine: after the page source, which may still tell the engine of
 * requests it cancels.
 */
void lzb_pager_free(struct lzb_pager *p);

struct lzb_engine *lzb_pager_engine(struct lzb_pager *p);
const struct lzb_pager_state *lzb_pager_state(const struct lzb_pager *p);

/*
 * Start `criu restore --lazy-pages` as CR says (lzb_criu_restore_start);
 * the pager fills in the work dir and its plugin socket.
 */
int lzb_pager_start_criu(struct lzb_pager *p,
			 const struct lzb_criu_restore *cr,
			 struct lzb_err *err);

/*
 * Take over a restore whose pager died: CRIU is done with it, the root
 * is read from WORKDIR/restore.pid, streaming may start, and the tasks
 * come through lzb_pager_adopt() (their uffds reattached by the caller).
 */
void lzb_pager_resumed(struct lzb_pager *p);
/*
 * A task taken over: counted, its real pid known and its PIDFD (owned by
 * the pager from now on; -1: none, the task is not signalled) used by the
 * kill path.
 */
int lzb_pager_adopt(struct lzb_pager *p, int img_pid, int pid, int pidfd);

/* Serve until the done hook says so (0) or an error (-1, ERR says it). */
int lzb_pager_serve(struct lzb_pager *p, struct lzb_err *err);

/*
 * SIGKILL what the restore brought up (lzb_kill_restored(): criu's
 * descendants, the root and its descendants, every task handed over or
 * reported by the plugin, through the pidfds taken then; never an image
 * pid, never a bare pid that may have been reused), reap criu, and wait a
 * while for the root to be gone (reaped, if it is our child).  Returns
 * how many signals were sent.
 */
int lzb_pager_kill_tree(struct lzb_pager *p);

#endif
