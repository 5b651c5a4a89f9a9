// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the pager's end of the link with the CRIU plugin
 * (daemon/criu/plugin_link.c): the text lines hello/task/exit, read from
 * a real connection made by this process (allowed as "criu").  Every '@'
 * in the input is replaced by this process's pid, so "task @" names a
 * task the link accepts; other pids are refused.  The connection is then
 * shut and the link processed until it stops.  The link may keep at
 * most LZB_TASK_LIMIT tasks, each with a pidfd, and no fd may outlive it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "criu/plugin_link.h"
#include "util/task_limit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const struct lzb_plugin_task *tasks;
	struct lzb_plugin_link *l;
	char pid[16], *text;
	size_t n = 0, pl, nr;
	int cfd, probe, ret;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/lzb-fuzz-plugin-XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	if (size > 8192)
		return 0;
	pl = (size_t)snprintf(pid, sizeof(pid), "%d", (int)getpid());
	text = malloc(size * pl + 1);
	if (!text)
		return 0;
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '@') {
			memcpy(text + n, pid, pl);
			n += pl;
		} else {
			text[n++] = (char)data[i];
		}
	}
	probe = dup(0);
	close(probe);
	if (lzb_plugin_link_listen(dir, &l))
		abort();
	lzb_plugin_link_allow(l, getpid());
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", lzb_plugin_link_path(l));
	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&sa, sizeof(sa)))
		abort();
	if (lzb_plugin_link_process(l))	/* the accept */
		abort();
	if (n && send(cfd, text, n, MSG_NOSIGNAL) != (ssize_t)n)
		abort();
	shutdown(cfd, SHUT_WR);
	free(text);
	for (int i = 0; i < 100000 && lzb_plugin_link_fd(l) >= 0; i++)
		if (lzb_plugin_link_process(l))
			break;
	nr = lzb_plugin_link_tasks(l, &tasks);
	if (nr > LZB_TASK_LIMIT)
		abort();
	for (size_t i = 0; i < nr; i++)
		if (tasks[i].real_pid != getpid() || tasks[i].pidfd < 0)
			abort();
	if (lzb_plugin_link_refusal(l) && !lzb_plugin_link_refusal(l)[0])
		abort();
	lzb_plugin_link_result(l, &ret);
	lzb_plugin_link_close(l);
	close(cfd);
	cfd = dup(0);
	close(cfd);
	if (cfd != probe)
		abort();
	return 0;
}
