/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lazybootd's fallback: when the restore cannot start or finish, the app
 * set's cold-start command runs instead (`--fallback coldstart`), as
 * lazybootd's child so the unit lives as long as the app.  The restored
 * tree must be gone first: two copies of the app never run.
 */
#ifndef LAZYBOOT_SERVICE_COLDSTART_H
#define LAZYBOOT_SERVICE_COLDSTART_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "pager/restore.h"

/* Does o's policy ask for a cold start (coldstart, or a command given)? */
bool lzbd_coldstart_wanted(const struct lzb_restore_opts *o);

/*
 * Make sure nothing restored still runs: the root (ROOT, 0 if none) is
 * waited for, killed orphans of the tree are reaped.  Returns -1 if
 * restored tasks were left running (rep->tasks_left), which rules a cold
 * start out.
 */
int lzbd_coldstart_tree_gone(const struct lzb_restore_report *rep);

/* Start `sh -c CMD` with default signal handling; -1 and errno if not. */
pid_t lzbd_coldstart_spawn(const char *cmd);

/*
 * Run `sh -c READY` (output to WORKDIR/probe.out) until it passes, while
 * APP lives; a signal caught into *FORWARD is passed on to APP.  Returns
 * true once the probe passed, false if APP ended first (not reaped).
 */
bool lzbd_coldstart_wait_ready(pid_t app, const char *ready,
			       const char *workdir,
			       volatile sig_atomic_t *forward);

#endif
