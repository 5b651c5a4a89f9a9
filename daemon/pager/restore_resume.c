// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pager/restore_resume.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

#include "pager/restore_status.h"
#include "util/file_util.h"

/* Is the task on record still the process that was restored? */
static bool task_alive(const struct lzb_record_task *t)
{
	if (t->pid <= 0 || (kill(t->pid, 0) && errno != EPERM))
		return false;
	return t->start && lzb_proc_start_time(t->pid) == t->start;
}

bool lzb_resume_wanted(const char *workdir, const char **why)
{
	static struct lzb_record rec;
	struct lzb_restore_status st;
	struct lzb_err err;
	bool alive = false;
	int ret;

	ret = lzb_status_read(workdir, &st, &err);
	if (ret) {
		*why = ret == -ENOENT ? "no status of an earlier restore" :
			"the earlier restore's status cannot be read";
		return false;
	}
	if (lzb_status_final(st.state)) {
		*why = "the earlier restore ended";
		return false;
	}
	if (lzb_status_pager_alive(&st)) {
		*why = "the earlier restore's pager is still running";
		return false;
	}
	if (lzb_record_load(workdir, &rec, &err)) {
		*why = "the earlier restore left no record to resume from";
		return false;
	}
	for (unsigned int i = 0; i < rec.nr_tasks && !alive; i++)
		alive = task_alive(&rec.tasks[i]);
	lzb_record_free(&rec);
	*why = alive ? "its pager died with pages still missing" :
		       "none of the earlier restore's tasks is left";
	return alive;
}

int lzb_resume_opts(struct lzb_restore_opts *o, struct lzb_record *rec,
		    struct lzb_err *err)
{
	if (lzb_record_load(o->workdir, rec, err))
		return -1;
	o->resume = true;
	o->mirrors = (const char *const *)rec->mirrors;
	o->nr_mirrors = rec->nr_mirrors;
	o->pubkey = rec->pubkey;
	o->encrypt_key = rec->encrypt_key;
	o->allow_unsigned = rec->allow_unsigned;
	o->max_background = rec->max_background;
	o->tftp_blksize = rec->tftp_blksize;
	o->deadline_ms = rec->deadline_ms;
	o->resume_manifest = rec->manifest;
	return 0;
}
