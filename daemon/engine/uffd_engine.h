/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The userfaultfd side of a lazy restore: one engine serves every task of
 * a restore.  It reads each task's userfaultfd, turns faults into requests
 * to a page source (urgent), streams the rest of the lazy memory in the
 * background (bounded, always behind faults), installs what the source
 * delivers into every task that still lacks it, and follows the tasks'
 * fork, mremap, madvise(DONTNEED) and munmap.
 *
 * Pages are keyed by the task they were dumped from (img_pid) and their
 * dump-time address: a forked child shares its parent's img_pid, and a
 * moved range keeps its dump-time address.
 *
 * Nothing unverified or zero-filled stands in for image data: a fault on
 * lazy memory waits for the source; a source failure stops the engine
 * with an error (the caller must then kill the tasks, not resume them).
 */
#ifndef LAZYBOOT_UFFD_ENGINE_H
#define LAZYBOOT_UFFD_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/lazy_ranges.h"
#include "util/lzb_error.h"

struct uffd_msg;

struct lzb_engine;

struct lzb_page_source {
	/*
	 * Ask for the image bytes of img_pid at [img_addr, img_addr + len).
	 * urgent: a thread is blocked on the first page.  The source answers,
	 * now or later, with lzb_engine_install() (it may deliver more than
	 * was asked, e.g. a whole chunk) or lzb_engine_fail().
	 */
	int (*request)(void *ctx, struct lzb_engine *engine, int img_pid,
		       uint64_t img_addr, uint64_t len, bool urgent);
	/*
	 * Optional: a source that streams the background itself (the
	 * image's stream, pager/image_stream.c).  Called by the pager's
	 * loop once streaming has started, between polls: do at most one
	 * unit of work (one chunk installed) so a fault read next is served
	 * after it.  Returns LZB_PUMP_* flags, or a negative errno that
	 * stops the restore.  The engine then makes no background requests
	 * of its own (config.max_background 0).
	 */
	int (*pump)(void *ctx, struct lzb_engine *engine);
	/* Optional with pump: an fd to poll, readable when pump has work
	 * that came from elsewhere (a worker thread); -1: none. */
	int (*pump_fd)(void *ctx);
	void *ctx;
};

#define LZB_PUMP_MORE	1	/* more is ready now: poll without sleeping */

/*
 * Told of every event that changes a task's lazy memory (UFFD_EVENT_REMAP,
 * _REMOVE, _UNMAP) as soon as it is read, before it is applied: a pager
 * that dies can only be succeeded if these are on record (uffd_keeper.h).
 */
struct lzb_engine_journal {
	void (*event)(void *ctx, int img_pid, const struct uffd_msg *msg);
	void *ctx;
};

struct lzb_engine_config {
	struct lzb_page_source source;
	struct lzb_engine_journal journal;	/* optional */
	unsigned int max_background;	/* background requests in flight;
					 * 0 serves faults only */
	uint64_t stream_bytes;		/* size of one background request */
	/*
	 * Optional: told of every fault on lazy memory (dump-time address of
	 * the page), before it is served.  lazyboot profile records first
	 * touches with it.
	 */
	void (*on_fault)(void *ctx, int img_pid, uint64_t img_addr);
	void *on_fault_ctx;
};

/* Fault latency histogram: bucket b counts [2^b, 2^(b+1)) us (b 0: < 2 us). */
#define LZB_LATENCY_BUCKETS 32

/* From reading a fault to the copy, zero page or wake that ends it. */
struct lzb_latency {
	uint64_t log2_us[LZB_LATENCY_BUCKETS];
	uint64_t count, max_us;
	uint64_t sum_us;		/* the faults' summed wait */
};

struct lzb_engine_stats {
	uint64_t faults;		/* page faults read */
	uint64_t fault_requests;	/* faults that needed a request */
	uint64_t zero_pages;		/* faults served with a zero page */
	uint64_t pages_installed;	/* pages copied into tasks */
	uint64_t bytes_lazy;		/* still to install, all tasks */
	uint64_t forks, remaps, removes, unmaps;
	uint64_t pages_unmapped;	/* lazy pages found gone at copy time */
	unsigned int tasks, tasks_gone;
	/* Lazy pages of the image's tasks, and how many of them no task
	 * waits for any more (installed, or dropped by the task). */
	uint64_t pages_lazy_total, pages_resident;
	/*
	 * Every fault's wait, and the waits of the faults read after the
	 * background began (lzb_engine_background_began): those a stream
	 * of the rest of the image may hold up.
	 */
	struct lzb_latency latency, latency_background;
};

/*
 * The fault latency at or under which pct percent of the measured faults
 * were served, in us, to the histogram's resolution (the upper bound of
 * the bucket, capped at the largest seen); 0 with nothing measured.
 */
uint64_t lzb_latency_percentile_us(const struct lzb_latency *lat,
				   unsigned int pct);

int lzb_engine_new(const struct lzb_engine_config *config,
		   struct lzb_engine **engine);
void lzb_engine_free(struct lzb_engine *engine);

/* An image task and its lazy memory; its userfaultfd arrives later. */
int lzb_engine_add_task(struct lzb_engine *engine, int img_pid,
			const struct lzb_ranges *lazy);

/* The userfaultfd of img_pid arrived; the engine owns it from now on. */
int lzb_engine_attach(struct lzb_engine *engine, int img_pid, int uffd);

/*
 * A successor pager takes over img_pid's userfaultfd (a new fd for the
 * same uffd, from lazyboot.ko or the holder process) after replaying the
 * journal with lzb_engine_replay().  Threads blocked on requests the dead
 * pager had read stay blocked until woken: this wakes the task's whole
 * address space, so they fault again and this engine sees the faults.
 * pagemap_fd (the task's /proc/PID/pagemap, or -1): pages it shows present
 * are taken out of the lazy memory first, so what the dead pager installed
 * is not fetched again (without it, they are skipped when the stream
 * reaches them: UFFDIO_COPY answers EEXIST).
 * uffd < 0: the task is gone (its uffd is no longer held).
 */
int lzb_engine_reattach(struct lzb_engine *engine, int img_pid, int uffd,
			int pagemap_fd);

/* Apply a journaled REMAP/REMOVE/UNMAP to img_pid's lazy memory. */
int lzb_engine_replay(struct lzb_engine *engine, int img_pid,
		      const struct uffd_msg *msg);

/*
 * Background streaming waits for this: until CRIU's restore has finished
 * the tasks' memory is not at its final place (the restorer moves and
 * registers it after handing the uffd over), so only faults are served,
 * and copies that find no registered memory yet are kept and retried.
 */
void lzb_engine_start_streaming(struct lzb_engine *engine);

/* An fd that is readable when lzb_engine_run() has work. */
int lzb_engine_fd(const struct lzb_engine *engine);

/*
 * Serve what is ready, waiting up to timeout_ms for it, then top up the
 * background stream.  Returns 0, or the negative errno that stopped the
 * engine (a source failure, or a userfaultfd error).
 */
int lzb_engine_run(struct lzb_engine *engine, int timeout_ms);

int lzb_engine_install(struct lzb_engine *engine, int img_pid,
		       uint64_t img_addr, const void *data, uint64_t len);
void lzb_engine_fail(struct lzb_engine *engine, int img_pid,
		     uint64_t img_addr, uint64_t len, int err);

/*
 * Some page of image task img_pid in [img_addr, img_addr + len) is still
 * lazy in a live task: a source skips data nobody needs any more (a
 * successor's pages already resident, a chunk a fault brought first).
 */
bool lzb_engine_wants(const struct lzb_engine *engine, int img_pid,
		      uint64_t img_addr, uint64_t len);

/* Every lazy page of every live task is installed and nothing is pending. */
bool lzb_engine_done(const struct lzb_engine *engine);

void lzb_engine_get_stats(const struct lzb_engine *engine,
			  struct lzb_engine_stats *stats);

/*
 * The background (a stream of the rest of the image, or background
 * requests) began: faults read from now on count in latency_background
 * too.  The engine says it itself at its first background request; a
 * source that streams on its own says it when its stream starts.
 */
void lzb_engine_background_began(struct lzb_engine *engine);

/* Why the engine stopped, in words, when it knows more than an errno. */
const char *lzb_engine_error(const struct lzb_engine *engine);

/*
 * Before image task img_pid (real pid PID) runs: its lazy memory that the
 * engine has not installed yet must be registered and missing
 * (lazy_check.h).  0, or -1 with ERR.  A task the engine does not know
 * has no lazy memory: 0.
 */
int lzb_engine_check_task(const struct lzb_engine *engine, int img_pid,
			  int pid, struct lzb_err *err);

#endif
