/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The most tasks (processes) one restore or profile run handles.  The
 * restore record, the uffd keepers (module sessions, holder) and the plugin
 * link keep one entry per task in tables of this size, so an image or dump
 * with more tasks is refused when it is loaded, with an error naming both
 * numbers, rather than restored with some tasks left out.
 */
#ifndef LAZYBOOT_TASK_LIMIT_H
#define LAZYBOOT_TASK_LIMIT_H

#include <stdint.h>

#include "util/lzb_error.h"

#define LZB_TASK_LIMIT 256u

/*
 * 0 when NR_TASKS fits the limit, else -1 with ERR "WHAT: NR_TASKS tasks,
 * more than the limit of LZB_TASK_LIMIT ...".
 */
int lzb_task_limit_check(const char *what, uint64_t nr_tasks,
			 struct lzb_err *err);

#endif
