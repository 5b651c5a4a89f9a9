// SPDX-License-Identifier: LGPL-2.1-or-later
/* The pager's end of the CRIU plugin link (plugin_link.h). */
#include "criu/plugin_link.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capture/capture.h"
#include "util/lzb_error.h"
#include "util/task_limit.h"
#include "util/unix_listen.h"

struct lzb_plugin_link {
	int listen_fd, conn_fd;
	char path[108];
	char buf[512];
	size_t len;
	bool hello, have_result;
	int result;
	size_t nr;
	struct lzb_plugin_task tasks[LZB_TASK_LIMIT];
	lzb_plugin_verify_fn *verify;
	void *verify_ctx;
	bool refused;
	struct lzb_err refusal;
	pid_t criu;		/* who may connect: it or a descendant */
};

int lzb_plugin_link_listen(const char *dir, struct lzb_plugin_link **out)
{
	struct lzb_plugin_link *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->conn_fd = -1;
	l->listen_fd = lzb_unix_listen(dir, LZB_PLUGIN_SOCKET_NAME,
				       SOCK_STREAM | SOCK_NONBLOCK, l->path,
				       sizeof(l->path));
	if (l->listen_fd < 0) {
		int err = l->listen_fd;

		free(l);
		return err;
	}
	*out = l;
	return 0;
}

void lzb_plugin_link_close(struct lzb_plugin_link *l)
{
	if (!l)
		return;
	if (l->conn_fd >= 0)
		close(l->conn_fd);
	if (l->listen_fd >= 0) {
		close(l->listen_fd);
		unlink(l->path);
	}
	for (size_t i = 0; i < l->nr; i++)
		if (l->tasks[i].pidfd >= 0)
			close(l->tasks[i].pidfd);
	free(l);
}

void lzb_plugin_link_allow(struct lzb_plugin_link *l, pid_t criu)
{
	l->criu = criu;
}

const char *lzb_plugin_link_path(const struct lzb_plugin_link *l)
{
	return l->path;
}

int lzb_plugin_link_fd(const struct lzb_plugin_link *l)
{
	return l->conn_fd == -1 ? l->listen_fd : l->conn_fd;
}

void lzb_plugin_link_set_verify(struct lzb_plugin_link *l,
				lzb_plugin_verify_fn *verify, void *ctx)
{
	l->verify = verify;
	l->verify_ctx = ctx;
}

const char *lzb_plugin_link_refusal(const struct lzb_plugin_link *l)
{
	return l->refused ? l->refusal.msg : NULL;
}

/* Answer the plugin's task line: it waits for this before the task runs. */
static int give_verdict(struct lzb_plugin_link *l, int real_pid, int img_pid,
			const struct lzb_err *refused)
{
	struct lzb_err why = { { 0 } };
	char line[LZB_PLUGIN_VERDICT_MAX];
	int ok = !refused && (!l->verify ||
		 !l->verify(l->verify_ctx, real_pid, img_pid, &why));
	int len;

	if (refused)
		why = *refused;
	if (ok)
		len = snprintf(line, sizeof(line), "ok\n");
	else
		len = snprintf(line, sizeof(line), "refuse %.*s\n",
			       (int)sizeof(line) - 9, why.msg);
	if (!ok && !l->refused) {
		l->refused = true;
		l->refusal = why;
	}
	/* A short line on a fresh stream socket: all of it or an error. */
	if (write(l->conn_fd, line, (size_t)len) != len && ok)
		return -errno;
	return ok ? 0 : -EPERM;
}

static int handle_line(struct lzb_plugin_link *l, const char *line)
{
	int v;
	char end;

	if (sscanf(line, "hello %d%c", &v, &end) == 1) {
		l->hello = true;
		return 0;
	}
	if (sscanf(line, "exit %d%c", &v, &end) == 1) {
		l->have_result = true;
		l->result = v;
		return 0;
	}
	if (sscanf(line, "task %d%c", &v, &end) == 1 && v > 0) {
		int img = lzb_ns_pid(v);
		/* A task criu restores descends from it; held by a pidfd. */
		int pidfd = lzb_pidfd_of_descendant(v, l->criu);

		if (pidfd < 0) {
			struct lzb_err why;

			lzb_errf(&why, "pid %d, reported by the CRIU plugin, "
				 "is not a task of our criu (pid %d)", v,
				 (int)l->criu);
			return give_verdict(l, v, 0, &why);
		}
		if (l->nr == LZB_TASK_LIMIT) {
			close(pidfd);
			return -E2BIG;
		}
		l->tasks[l->nr++] = (struct lzb_plugin_task){
			.real_pid = v, .img_pid = img > 0 ? img : 0,
			.pidfd = pidfd };
		return give_verdict(l, v, img > 0 ? img : 0, NULL);
	}
	return -EPROTO;
}

int lzb_plugin_link_process(struct lzb_plugin_link *l)
{
	ssize_t n;

	if (l->conn_fd == -1) {
		/* One criu per link: a second connection is not accepted. */
		l->conn_fd = accept4(l->listen_fd, NULL, NULL,
				     SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (l->conn_fd < 0)
			return errno == EAGAIN ? 0 : -errno;
		/* Only our criu: anyone else is hung up on at once. */
		if (l->criu <= 0 ||
		    lzb_peer_check(l->conn_fd, l->criu, NULL)) {
			close(l->conn_fd);
			l->conn_fd = -1;
			return 0;
		}
		close(l->listen_fd);
		unlink(l->path);
		l->listen_fd = -1;
		return 0;
	}
	if (l->conn_fd < 0)
		return 0;
	n = read(l->conn_fd, l->buf + l->len, sizeof(l->buf) - 1 - l->len);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		/* criu is gone: keep what it said, stop listening to it. */
		close(l->conn_fd);
		l->conn_fd = -2;
		return 0;
	}
	if (n < 0)
		return 0;
	l->len += (size_t)n;
	l->buf[l->len] = '\0';
	for (char *nl; (nl = strchr(l->buf, '\n'));) {
		int err;

		*nl = '\0';
		err = handle_line(l, l->buf);
		l->len -= (size_t)(nl + 1 - l->buf);
		memmove(l->buf, nl + 1, l->len + 1);
		if (err)
			return err;
	}
	return l->len == sizeof(l->buf) - 1 ? -EPROTO : 0;
}

bool lzb_plugin_link_hello(const struct lzb_plugin_link *l)
{
	return l->hello;
}

size_t lzb_plugin_link_tasks(const struct lzb_plugin_link *l,
			     const struct lzb_plugin_task **tasks)
{
	*tasks = l->tasks;
	return l->nr;
}

int lzb_plugin_link_result(const struct lzb_plugin_link *l, int *ret)
{
	if (l->have_result)
		*ret = l->result;
	return l->have_result;
}
