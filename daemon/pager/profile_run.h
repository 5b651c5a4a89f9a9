/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One profiling run of `lazyboot profile`: restore a capture with
 * `criu restore --lazy-pages` from its local images (the CRIU page
 * source), serving faults only (no background streaming, so every first
 * touch of a lazy page is a fault), record each fault's page and time,
 * ask the app set's readiness probes until all pass, run the warm-up
 * commands and keep recording for the warm-up window, then kill the
 * restored tree: it ran on partial memory and must never be left running.
 */
#ifndef LAZYBOOT_PROFILE_RUN_H
#define LAZYBOOT_PROFILE_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/appset.h"
#include "util/lzb_error.h"
#include "capture/profile_touches.h"

struct lzb_profile_run_opts {
	const char *dump_dir;		/* the capture */
	const char *workdir;		/* this run's lazy socket and logs */
	const char *criu;		/* NULL: "criu" */
	const char *plugin_dir;		/* criu --libdir, or NULL */
	char *const *criu_args;
	size_t nr_criu_args;
	const struct lzb_appset *appset;	/* probes and warm-up */
	const char *probe_dir;		/* cwd of probes and warm-up commands */
	unsigned int warmup_ms;		/* recorded after the warm-up commands */
	unsigned int timeout_s;		/* for restore + ready + warm-up */
	bool quiet;
};

struct lzb_profile_run_result {
	uint64_t ready_us;		/* every probe passed */
	uint64_t restored_us;		/* CRIU sent restore-finished */
	uint64_t lazy_pages;		/* what CRIU restored lazily */
	uint64_t faults;
	int root_pid;			/* real pid of the restored root */
	size_t plugin_tasks;		/* real pids the plugin handed over */
};

/* TOUCHES gets every fault (not deduplicated).  0, or -1 with ERR. */
int lzb_profile_run(const struct lzb_profile_run_opts *o,
		    struct lzb_touches *touches,
		    struct lzb_profile_run_result *res, struct lzb_err *err);

#endif
