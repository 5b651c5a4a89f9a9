// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pager/uffd_keeper.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pager/module_session.h"
#include "pager/restore_record.h"
#include "pager/restore_status.h"
#include "pager/uffd_fdstore.h"
#include "pager/uffd_holder.h"
#include "util/cgroup_procs.h"
#include "util/log.h"
#include "util/task_limit.h"
#include "util/unix_listen.h"

enum kind { KEEP_NONE, KEEP_MODULE, KEEP_HOLDER, KEEP_FDSTORE };

struct lzb_keeper {
	enum kind kind;
	uint32_t deadline_ms;
	struct lzb_module *module;
	uint32_t sessions[LZB_TASK_LIMIT];
	unsigned int nr_sessions;
	int holder_conn;
	pid_t holder_pid;
	char record_id[LZB_RECORD_ID_LEN + 1];	/* names in the fd store */
	int stored[LZB_TASK_LIMIT];		/* pids whose uffd is there */
	unsigned int nr_stored;
	char guarantee[160];
};

static const char *const kind_names[] = { "none", "module", "holder",
					  "fdstore" };

static void describe(struct lzb_keeper *k)
{
	switch (k->kind) {
	case KEEP_MODULE:
		snprintf(k->guarantee, sizeof(k->guarantee),
			 "kernel: lazyboot.ko session, deadline %u ms",
			 k->deadline_ms);
		break;
	case KEEP_HOLDER:
		snprintf(k->guarantee, sizeof(k->guarantee),
			 "holder process pid %d, deadline %u ms",
			 (int)k->holder_pid, k->deadline_ms);
		break;
	case KEEP_FDSTORE:
		snprintf(k->guarantee, sizeof(k->guarantee),
			 "systemd fd store; a pager that does not come back: "
			 "the unit stops the tasks, its next start resumes "
			 "or kills them");
		break;
	default:
		snprintf(k->guarantee, sizeof(k->guarantee), "none");
	}
}

static struct lzb_keeper *keeper_new(uint32_t deadline_ms)
{
	struct lzb_keeper *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->deadline_ms = deadline_ms ? deadline_ms : LZB_KEEPER_DEADLINE_MS;
	k->holder_conn = -1;
	return k;
}

int lzb_keeper_start(const char *workdir, uint32_t deadline_ms,
		     const char *record_id, struct lzb_keeper **keeper)
{
	struct lzb_keeper *k = keeper_new(deadline_ms);
	int err;

	if (!k)
		return -ENOMEM;
	snprintf(k->record_id, sizeof(k->record_id), "%s", record_id);
	err = lzb_module_open(&k->module);
	if (!err) {
		k->kind = KEEP_MODULE;
	} else if (lzb_fdstore_usable() && k->record_id[0]) {
		lzb_log(LZB_LOG_INFO, "lazyboot: lazyboot.ko %s (%s): systemd's "
			"fd store keeps the uffds",
			err == -ENOENT ? "is not loaded" : "cannot be used",
			strerror(-err));
		k->kind = KEEP_FDSTORE;
	} else {
		lzb_log(LZB_LOG_WARNING, "lazyboot: lazyboot.ko %s (%s): a holder "
			"process keeps the uffds instead",
			err == -ENOENT ? "is not loaded" : "cannot be used",
			strerror(-err));
		err = lzb_holder_start(workdir, k->deadline_ms, &k->holder_pid,
				       &k->holder_conn);
		if (!err)
			k->kind = KEEP_HOLDER;
		else
			lzb_log(LZB_LOG_WARNING, "lazyboot: cannot start the holder "
				"process (%s): NOTHING keeps the uffds if the "
				"pager dies", strerror(-err));
	}
	describe(k);
	*keeper = k;
	return 0;
}

const char *lzb_keeper_kind(const struct lzb_keeper *k)
{
	return kind_names[k->kind];
}

const char *lzb_keeper_guarantee(const struct lzb_keeper *k)
{
	return k->guarantee;
}

int lzb_keeper_keep(struct lzb_keeper *k, int img_pid, int pid, int pidfd,
		    int uffd, uint32_t *session)
{
	int err = 0;

	*session = 0;
	if (k->kind == KEEP_MODULE) {
		if (k->nr_sessions == LZB_TASK_LIMIT)
			return -E2BIG;
		err = lzb_session_new(k->module, pid, uffd, k->deadline_ms,
				      session);
		if (!err)
			k->sessions[k->nr_sessions++] = *session;
	} else if (k->kind == KEEP_HOLDER) {
		err = lzb_holder_keep(k->holder_conn, img_pid, pid, pidfd,
				      uffd);
	} else if (k->kind == KEEP_FDSTORE) {
		if (k->nr_stored == LZB_TASK_LIMIT)
			return -E2BIG;
		err = lzb_fdstore_keep(k->record_id, pid, uffd);
		if (!err)
			k->stored[k->nr_stored++] = pid;
	}
	return err;
}

int lzb_record_task_pidfd(const struct lzb_record_task *t)
{
	int pidfd = lzb_pidfd_open(t->pid);

	if (pidfd < 0)
		return -1;
	if (!t->start || lzb_proc_start_time(t->pid) != t->start) {
		close(pidfd);
		return -1;
	}
	return pidfd;
}

static int resume_module(struct lzb_keeper *k, const struct lzb_record *rec,
			 int (*fn)(void *, int, int, int, int), void *ctx,
			 struct lzb_err *err)
{
	int ret = lzb_module_open(&k->module);

	if (ret)
		return lzb_errf(err, "the restore's uffds are held by "
				"lazyboot.ko, which cannot be reached: %s",
				strerror(-ret));
	for (unsigned int i = 0; i < rec->nr_tasks; i++) {
		const struct lzb_record_task *t = &rec->tasks[i];
		int fd = lzb_session_attach(k->module, t->session);

		if (fd == -ENOENT) {
			fd = -1;	/* closed: the task exited */
		} else if (fd < 0) {
			return lzb_errf(err, "session %u (task %d): cannot "
					"attach: %s", t->session, t->pid,
					strerror(-fd));
		} else {
			k->sessions[k->nr_sessions++] = t->session;
		}
		ret = fn(ctx, t->img_pid, t->pid, fd >= 0 ?
			 lzb_record_task_pidfd(t) : -1, fd);
		if (ret)
			return lzb_errf(err, "task %d: cannot take over its "
					"uffd: %s", t->pid, strerror(-ret));
	}
	return 0;
}

static int resume_holder(struct lzb_keeper *k, const char *workdir,
			 const struct lzb_record *rec,
			 int (*fn)(void *, int, int, int, int), void *ctx,
			 struct lzb_err *err)
{
	struct lzb_held_task *held = calloc(LZB_TASK_LIMIT,
					    sizeof(*held));
	int n, ret = 0;

	if (!held)
		return lzb_errf(err, "out of memory");
	ret = lzb_holder_connect(workdir, &k->holder_conn);
	n = ret ? ret : lzb_holder_take(k->holder_conn, held,
					LZB_TASK_LIMIT);
	if (n < 0) {
		free(held);
		return lzb_errf(err, "the holder process of %s: %s (it kills "
				"the tasks at its deadline and exits)", workdir,
				n == -ESTALE ? "sealed: the restore's journal "
				"could not be written, no pager may take over" :
				strerror(-n));
	}
	/* Tasks on record the holder no longer has are gone. */
	for (unsigned int i = 0; i < rec->nr_tasks && !ret; i++) {
		int fd = -1, pidfd = -1;

		for (int j = 0; j < n; j++)
			if (held[j].img_pid == rec->tasks[i].img_pid &&
			    held[j].uffd >= 0) {
				fd = held[j].uffd;
				pidfd = held[j].pidfd;
				held[j].uffd = held[j].pidfd = -1;
				break;
			}
		ret = fn(ctx, rec->tasks[i].img_pid, rec->tasks[i].pid, pidfd,
			 fd);
		if (ret)
			lzb_errf(err, "task %d: cannot take over its uffd: %s",
				 rec->tasks[i].pid, strerror(-ret));
	}
	for (int j = 0; j < n; j++) {
		if (held[j].uffd >= 0)
			close(held[j].uffd);
		if (held[j].pidfd >= 0)
			close(held[j].pidfd);
	}
	free(held);
	return ret ? -1 : 0;
}

/*
 * The uffds systemd handed back, by name; a task that lives on but has
 * none cannot be served, and refuses the resume (the caller then ends
 * the tasks: nothing else would).  Once all are taken over, the tasks
 * the unit stopped when the dead pager's lazybootd ended go on.
 */
static int resume_fdstore(struct lzb_keeper *k, const struct lzb_record *rec,
			  int (*fn)(void *, int, int, int, int), void *ctx,
			  struct lzb_err *err)
{
	int uffd[LZB_TASK_LIMIT], ret = 0, cont;
	unsigned int n = lzb_fdstore_take(rec, uffd), i;

	lzb_log(LZB_LOG_INFO, "lazyboot: systemd's fd store handed back the "
		"uffds of %u of the %u tasks on record", n, rec->nr_tasks);
	for (i = 0; i < rec->nr_tasks && !ret; i++) {
		const struct lzb_record_task *t = &rec->tasks[i];
		int pidfd = lzb_record_task_pidfd(t);

		if (uffd[i] < 0 && pidfd >= 0) {
			close(pidfd);
			ret = lzb_errf(err, "task %d lives on, but systemd's fd "
				       "store has no uffd for it (the store "
				       "was released or is too small)",
				       t->pid);
			break;
		}
		if (uffd[i] >= 0)
			k->stored[k->nr_stored++] = t->pid;
		ret = fn(ctx, t->img_pid, t->pid, pidfd, uffd[i]);
		uffd[i] = -1;	/* fn owns it */
		if (ret)
			ret = lzb_errf(err, "task %d: cannot take over its "
				       "uffd: %s", t->pid, strerror(-ret));
	}
	for (; i < rec->nr_tasks; i++)
		if (uffd[i] >= 0)
			close(uffd[i]);
	if (ret)
		return ret;
	/* Under the unit (the store usable) its cgroup is the restore's;
	 * run by hand, only the tasks on record are ours to touch. */
	if (lzb_fdstore_usable()) {
		cont = lzb_cgroup_signal_others(SIGCONT);
	} else {
		cont = 0;
		for (i = 0; i < rec->nr_tasks; i++) {
			int pidfd = lzb_record_task_pidfd(&rec->tasks[i]);

			if (pidfd >= 0) {
				cont += !lzb_pidfd_kill(pidfd, SIGCONT);
				close(pidfd);
			}
		}
	}
	if (cont > 0)
		lzb_log(LZB_LOG_INFO, "lazyboot: let the %d stopped processes "
			"of the unit go on", cont);
	return 0;
}

int lzb_keeper_resume(const char *workdir, const struct lzb_record *rec,
		      struct lzb_keeper **keeper,
		      int (*fn)(void *ctx, int img_pid, int pid, int pidfd,
				int uffd),
		      void *ctx, struct lzb_err *err)
{
	struct lzb_keeper *k = keeper_new(rec->deadline_ms);
	int ret;

	if (!k)
		return lzb_errf(err, "out of memory");
	*keeper = k;
	if (!strcmp(rec->keeper, "module")) {
		k->kind = KEEP_MODULE;
		ret = resume_module(k, rec, fn, ctx, err);
	} else if (!strcmp(rec->keeper, "holder")) {
		k->kind = KEEP_HOLDER;
		ret = resume_holder(k, workdir, rec, fn, ctx, err);
	} else if (!strcmp(rec->keeper, "fdstore") && rec->id[0]) {
		k->kind = KEEP_FDSTORE;
		snprintf(k->record_id, sizeof(k->record_id), "%s", rec->id);
		ret = resume_fdstore(k, rec, fn, ctx, err);
	} else {
		ret = lzb_errf(err, "%s: nothing kept the uffds of that "
			       "restore (keeper \"%s\"): there is nothing to "
			       "resume", workdir, rec->keeper);
	}
	describe(k);
	if (k->kind == KEEP_HOLDER)
		snprintf(k->guarantee, sizeof(k->guarantee),
			 "holder process, deadline %u ms", k->deadline_ms);
	return ret;
}

void lzb_keeper_milestone(struct lzb_keeper *k, uint32_t milestone)
{
	struct timespec ts;
	uint64_t now;

	if (!k || k->kind != KEEP_MODULE)
		return;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	if (!k->nr_sessions)
		lzb_milestone(k->module, 0, milestone, now, NULL);
	for (unsigned int i = 0; i < k->nr_sessions; i++)
		lzb_milestone(k->module, k->sessions[i], milestone, now, NULL);
}

int lzb_keeper_stalls(struct lzb_keeper *k, uint64_t *count,
		      uint64_t *total_ns)
{
	bool any = false;

	*count = *total_ns = 0;
	if (!k || k->kind != KEEP_MODULE)
		return -ENOENT;
	for (unsigned int i = 0; i < k->nr_sessions; i++) {
		struct lzb_session_info info;

		if (lzb_session_get(k->module, k->sessions[i], &info) ||
		    !info.has_stalls)
			continue;
		*count += info.stall_count;
		*total_ns += info.stall_total_ns;
		any = true;
	}
	return any ? 0 : -ENOENT;
}

void lzb_keeper_seal(struct lzb_keeper *k)
{
	if (k && k->kind == KEEP_HOLDER && k->holder_conn >= 0)
		lzb_holder_seal(k->holder_conn);
}

void lzb_keeper_release(struct lzb_keeper *k)
{
	if (!k)
		return;
	for (unsigned int i = 0; i < k->nr_sessions; i++)
		lzb_session_close(k->module, k->sessions[i]);
	k->nr_sessions = 0;
	for (unsigned int i = 0; i < k->nr_stored; i++)
		lzb_fdstore_forget(k->record_id, k->stored[i]);
	k->nr_stored = 0;
	if (k->holder_conn >= 0) {
		lzb_holder_done(k->holder_conn);
		close(k->holder_conn);
		k->holder_conn = -1;
	}
}

void lzb_keeper_free(struct lzb_keeper *k)
{
	if (!k)
		return;
	if (k->module)
		lzb_module_close(k->module);
	if (k->holder_conn >= 0)
		close(k->holder_conn);
	free(k);
}
