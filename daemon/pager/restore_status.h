/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * WORKDIR/status: where a running restore says how far it got, for
 * `lazyboot status`, monitoring and people.  One `key=value` per line,
 * replaced atomically (written to a temporary file, then renamed), at
 * every state change and at most about four times a second otherwise.
 * The format is described in docs/pager.md; it is the stable interface
 * of `lazyboot status`: keys are only ever added.
 */
#ifndef LAZYBOOT_RESTORE_STATUS_H
#define LAZYBOOT_RESTORE_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lzb_error.h"

#define LZB_STATUS_FILE "status"
#define LZB_STATUS_VERSION 1
#define LZB_STATUS_INTERVAL_MS 250

/* The guarantee a restore offers when nothing but the pager holds it. */
#define LZB_GUARANTEE_PAGER_ONLY \
	"pager-only: the lazyboot process alone holds the userfaultfds"

struct lzb_restore_status {
	/* fetching-image, restoring, streaming, ready, resident, failed,
	 * done; coldstart (lazybootd's fallback: failure holds the cause,
	 * root_pid the cold-started app): see docs/pager.md */
	char state[24];
	char url[1024];
	char failure[512];
	char guarantee[256];
	int pager_pid;
	uint64_t pager_start;		/* pager's start time, clock ticks
					 * after boot (/proc/PID/stat) */
	int root_pid;			/* 0 until CRIU reported it */
	char root_exit[32];		/* "exit N" / "signal N" once known */
	uint64_t pages_resident, pages_total;
	uint64_t bytes_fetched;
	double mb_per_s;		/* bytes fetched / time fetching */
	uint64_t faults;
	uint64_t latency_p50_us, latency_p99_us, latency_max_us;
	/* of them, the faults read after the background began */
	uint64_t bg_faults, bg_latency_p99_us, bg_latency_max_us;
	/* TFTP's recoveries, over both fetchers (as their sandboxed
	 * children last reported): timeouts, go-back-N gaps, and tries
	 * whose window was cut to their receive buffer */
	uint64_t tftp_retransmits, tftp_gaps, tftp_windows_cut;
	uint64_t started_unix;		/* wall clock at the start, seconds */
	uint64_t updated_unix;
	/* ms after the start; 0: not reached */
	uint64_t ms_elapsed, ms_bundle, ms_restored, ms_ready, ms_resident;
	/* The image, once its manifest was verified ("" and 0 before). */
	char image_id[33];		/* 32 hex digits */
	uint64_t image_version;
	uint64_t image_bytes;		/* manifest and every object, stored */
	uint64_t page_size;
};

/* The start time of PID in clock ticks after boot, 0 if unknown. */
uint64_t lzb_proc_start_time(int pid);

/* Say st in WORKDIR/status, atomically. */
int lzb_status_write(const char *workdir, const struct lzb_restore_status *st,
		     struct lzb_err *err);

/*
 * Read a status file's text.  Unknown keys are ignored (newer writers);
 * a line that is not key=value, a bad number, a missing or newer version,
 * or no state is an error naming the line.
 */
int lzb_status_parse(const char *where, const char *text, size_t len,
		     struct lzb_restore_status *st, struct lzb_err *err);

/*
 * Read and parse WORKDIR/status: 0; -ENOENT when there is none (or it
 * cannot be read); -EINVAL when it does not parse (err says why).
 */
int lzb_status_read(const char *workdir, struct lzb_restore_status *st,
		    struct lzb_err *err);

/* Is the pager that wrote st still running (same pid, same start)? */
bool lzb_status_pager_alive(const struct lzb_restore_status *st);

/* A final state: nothing will change it but a new restore. */
bool lzb_status_final(const char *state);

/*
 * A throttle for writers: is a write due at now_ms for state?  Always on
 * a state change, else once LZB_STATUS_INTERVAL_MS passed.
 */
struct lzb_status_throttle {
	char state[24];
	uint64_t last_ms;
	bool written;
};

bool lzb_status_due(struct lzb_status_throttle *th, const char *state,
		    uint64_t now_ms);

#endif
