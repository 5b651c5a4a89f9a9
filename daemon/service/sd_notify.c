// SPDX-License-Identifier: LGPL-2.1-or-later
#include "service/sd_notify.h"

#include "util/sd_fds.h"

int lzb_sd_notify(const char *state)
{
	int ret = lzb_sd_notify_fds(state, NULL, 0);

	return ret > 0 ? 0 : ret;	/* 1: not under systemd */
}
