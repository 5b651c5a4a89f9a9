/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * WORKDIR/timeline: what a restore did when, for `lazyboot report`.  The
 * pager appends one text line per event (a few write(2)s per restore)
 * and one sample line at most every LZB_TIMELINE_INTERVAL_MS while it
 * serves, never from the fault path:
 *
 *   lazyboot-timeline 1
 *   start UNIX_MS                      a pager started (a resume adds one)
 *   m MS NAME                          a milestone (manifest, bundle, ...)
 *   t MS IMG_PID PID                   a task's userfaultfd was handed over
 *   s MS FAULT_BYTES BG_BYTES FAULTS STALL_US RESIDENT TOTAL KSTALLS KSTALL_US
 *
 * MS counts from the start line before it.  A sample's numbers are
 * cumulative for that pager: image bytes received for faults and in the
 * background, faults served and their summed wait as the pager measured
 * it (us), lazy pages resident and in all, and lazyboot.ko's stall count
 * and summed stall time (us) or "-" for both when the module keeps no
 * session.  Bounded: at most LZB_TIMELINE_MAX_SAMPLES samples per pager
 * (an hour at the interval; about 4 MB), then only milestones and tasks.
 * The format is described in docs/pager.md.
 */
#ifndef LAZYBOOT_RESTORE_TIMELINE_H
#define LAZYBOOT_RESTORE_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/lzb_error.h"

#define LZB_TIMELINE_FILE "timeline"
#define LZB_TIMELINE_VERSION 1
#define LZB_TIMELINE_INTERVAL_MS 100
#define LZB_TIMELINE_MAX_SAMPLES 36000
/* What a reader accepts: the writer's bound, with room for a resume. */
#define LZB_TIMELINE_MAX_BYTES (16u << 20)

struct lzb_tl_sample {
	uint64_t ms;
	uint64_t fault_bytes, bg_bytes;
	uint64_t faults, stall_us;
	uint64_t resident, total;	/* lazy pages */
	bool has_kstall;
	uint64_t kstalls, kstall_us;	/* lazyboot.ko's, when has_kstall */
};

struct lzb_tl_mark {
	uint64_t ms;
	char name[24];
};

struct lzb_tl_task {
	uint64_t ms;
	int img_pid, pid;
};

/* ---- writing (the pager) ---------------------------------------------- */

struct lzb_timeline_writer {
	int fd;			/* -1: not written (failed or closed) */
	uint64_t t0_ms;		/* lzb_now_ms() of the start line */
	uint64_t next_sample_ms;
	unsigned int samples;
};

/*
 * Open WORKDIR/timeline (a private directory) for appending; FRESH
 * replaces any file there (a new restore), else (a resume) it goes on
 * after the dead pager's lines.  Writes the start line, T0_MS being the
 * lzb_now_ms() the caller's times count from.  On failure w->fd is -1
 * and nothing is written later: the timeline is an aid, not the restore.
 */
int lzb_timeline_open(struct lzb_timeline_writer *w, const char *workdir,
		      bool fresh, uint64_t t0_ms, struct lzb_err *err);
void lzb_timeline_close(struct lzb_timeline_writer *w);

/* NAME: a word ([a-z0-9-]); MS as lzb_now_ms(). */
void lzb_timeline_mark(struct lzb_timeline_writer *w, uint64_t now_ms,
		       const char *name);
void lzb_timeline_task(struct lzb_timeline_writer *w, uint64_t now_ms,
		       int img_pid, int pid);
/* Is a sample due at NOW_MS (interval passed, bound not reached)? */
bool lzb_timeline_sample_due(const struct lzb_timeline_writer *w,
			     uint64_t now_ms);
/* S->ms is ignored: NOW_MS is written. */
void lzb_timeline_sample(struct lzb_timeline_writer *w, uint64_t now_ms,
			 const struct lzb_tl_sample *s);

/* ---- reading (lazyboot report) ---------------------------------------- */

/*
 * A timeline read back, times in ms from the first start line (a
 * resume's lines are moved by the difference of the start lines).
 */
struct lzb_timeline {
	uint64_t start_unix_ms;
	struct lzb_tl_sample *samples;
	size_t nr_samples;
	struct lzb_tl_mark *marks;
	size_t nr_marks;
	struct lzb_tl_task *tasks;
	size_t nr_tasks;
	unsigned int pagers;		/* start lines */
};

/* Parse TEXT; an error names WHERE and the line.  Free with _free. */
int lzb_timeline_parse(const char *where, const char *text, size_t len,
		       struct lzb_timeline *tl, struct lzb_err *err);
/* Read PATH (at most LZB_TIMELINE_MAX_BYTES) and parse it. */
int lzb_timeline_load(const char *path, struct lzb_timeline *tl,
		      struct lzb_err *err);
void lzb_timeline_free(struct lzb_timeline *tl);

#endif
