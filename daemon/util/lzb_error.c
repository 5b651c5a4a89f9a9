// SPDX-License-Identifier: LGPL-2.1-or-later
/* One-line error reports (see lzb_error.h). */
#include <stdarg.h>
#include <stdio.h>

#include "util/lzb_error.h"

int lzb_errf(struct lzb_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}
