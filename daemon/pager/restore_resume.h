/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Taking over a restore whose pager died, as `lazyboot restore --resume`,
 * `lazybootd restore --resume` and `lazybootd run NAME` do: is there one
 * in a workdir, and the restore's options from its record.
 */
#ifndef LAZYBOOT_RESTORE_RESUME_H
#define LAZYBOOT_RESTORE_RESUME_H

#include <stdbool.h>

#include "pager/restore.h"
#include "pager/restore_record.h"
#include "util/lzb_error.h"

/*
 * Does WORKDIR hold a restore its pager left unfinished, for a successor
 * to take over: a status in no final state, written by a pager that is
 * gone, and a record (pager.record) with at least one of its tasks still
 * running (the same pid and start time)?  False for anything else: no
 * status, a finished or failed restore, a pager still running, a record
 * marked unresumable, or tasks that are all gone (killed with the pager,
 * e.g. by the unit's KillMode).  Read only; *why says which it was.
 */
bool lzb_resume_wanted(const char *workdir, const char **why);

/*
 * Fill o for a resume of o->workdir: the image (mirrors, keys, the
 * manifest accepted) and settings on record in REC, which must live as
 * long as o is used (lzb_record_free after).  What o has of its own
 * (--ready, --quiet, the fallback) stays.  -1 with ERR if the record
 * cannot be read or is marked unresumable.
 */
int lzb_resume_opts(struct lzb_restore_opts *o, struct lzb_record *rec,
		    struct lzb_err *err);

#endif
