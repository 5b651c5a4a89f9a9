// SPDX-License-Identifier: LGPL-2.1-or-later
/* The task limit (task_limit.h). */
#include "util/task_limit.h"

#include <inttypes.h>

int lzb_task_limit_check(const char *what, uint64_t nr_tasks,
			 struct lzb_err *err)
{
	if (nr_tasks <= LZB_TASK_LIMIT)
		return 0;
	return lzb_errf(err, "%s: %" PRIu64 " tasks, more than the limit of "
			"%u tasks lazyboot restores: refused", what, nr_tasks,
			LZB_TASK_LIMIT);
}
