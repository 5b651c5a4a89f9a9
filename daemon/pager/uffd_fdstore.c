// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pager/uffd_fdstore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pager/restore_record.h"
#include "util/log.h"
#include "util/task_limit.h"

static bool usable;
static struct lzb_listen_fd offered[LZB_TASK_LIMIT];
static unsigned int nr_offered;

void lzb_fdstore_offer(bool store_usable, const struct lzb_listen_fd *fds,
		       unsigned int n)
{
	usable = store_usable;
	nr_offered = 0;
	for (unsigned int i = 0; i < n; i++) {
		if (nr_offered < LZB_TASK_LIMIT)
			offered[nr_offered++] = fds[i];
		else
			close(fds[i].fd);
	}
}

bool lzb_fdstore_usable(void)
{
	return usable;
}

unsigned int lzb_fdstore_offered(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nr_offered; i++)
		n += offered[i].fd >= 0 &&
		     !strncmp(offered[i].name, LZB_FDSTORE_PREFIX,
			      strlen(LZB_FDSTORE_PREFIX));
	return n;
}

void lzb_fdstore_name(char *buf, size_t len, const char *record_id, int pid)
{
	snprintf(buf, len, "%s%s.%d", LZB_FDSTORE_PREFIX, record_id, pid);
}

int lzb_fdstore_keep(const char *record_id, int pid, int uffd)
{
	char msg[64 + LZB_FDNAME_MAX], name[LZB_FDNAME_MAX + 1];
	int flags = fcntl(uffd, F_GETFL), ret;

	/*
	 * systemd polls stored fds and drops one that reports EPOLLHUP or
	 * EPOLLERR, and a blocking uffd polls as EPOLLERR: FDPOLL=0 asks it
	 * not to poll this one (systemd >= 246), and O_NONBLOCK keeps it
	 * from erring where that is not honoured.
	 */
	if (flags < 0 || fcntl(uffd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	lzb_fdstore_name(name, sizeof(name), record_id, pid);
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDPOLL=0\nFDNAME=%s", name);
	ret = lzb_sd_notify_fds(msg, &uffd, 1);
	return ret > 0 ? -ENOTCONN : ret;
}

static void forget_name(const char *name)
{
	char msg[64 + LZB_FDNAME_MAX];

	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
	lzb_sd_notify_fds(msg, NULL, 0);
}

void lzb_fdstore_forget(const char *record_id, int pid)
{
	char name[LZB_FDNAME_MAX + 1];

	lzb_fdstore_name(name, sizeof(name), record_id, pid);
	forget_name(name);
}

bool lzb_is_uffd(int fd)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return !strcmp(link, "anon_inode:[userfaultfd]");
}

/* "lzb-uffd.<id>.<pid>": the pid, if the id is ID; else why not. */
static int name_pid(const char *name, const char *id, const char **why)
{
	size_t plen = strlen(LZB_FDSTORE_PREFIX), ilen = strlen(id);
	const char *p = name + plen + ilen + 1;
	long v = 0;

	*why = "not lazyboot's";
	if (strncmp(name, LZB_FDSTORE_PREFIX, plen))
		return -1;
	*why = "another restore's";
	if (!ilen || strncmp(name + plen, id, ilen) || name[plen + ilen] != '.')
		return -1;
	*why = "names no pid";
	if (*p < '1' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9' && v < (1L << 30); p++)
		v = v * 10 + (*p - '0');
	return *p ? -1 : (int)v;
}

unsigned int lzb_fdstore_match(const struct lzb_record *rec,
			       const struct lzb_listen_fd *fds, unsigned int n,
			       bool (*is_uffd)(int fd), int *task_fd)
{
	bool twice[LZB_TASK_LIMIT] = { false };
	unsigned int matched = 0;

	for (unsigned int t = 0; t < rec->nr_tasks; t++)
		task_fd[t] = -1;
	for (unsigned int i = 0; i < n; i++) {
		const char *why;
		int pid = fds[i].fd >= 0 ? name_pid(fds[i].name, rec->id, &why)
					 : -1;
		unsigned int t;

		if (fds[i].fd < 0)
			continue;
		if (pid < 0) {
			lzb_log(LZB_LOG_WARNING, "lazybootd: fd store: \"%.80s\": "
				"%s: not used", fds[i].name, why);
			continue;
		}
		for (t = 0; t < rec->nr_tasks && rec->tasks[t].pid != pid; t++)
			;
		if (t == rec->nr_tasks) {
			lzb_log(LZB_LOG_WARNING, "lazybootd: fd store: \"%.80s\": "
				"pid %d is not on record: not used",
				fds[i].name, pid);
			continue;
		}
		if (!is_uffd(fds[i].fd)) {
			lzb_log(LZB_LOG_WARNING, "lazybootd: fd store: \"%.80s\" "
				"is not a userfaultfd: not used", fds[i].name);
			continue;
		}
		if (task_fd[t] >= 0 || twice[t]) {
			lzb_log(LZB_LOG_WARNING, "lazybootd: fd store: two fds "
				"named \"%.80s\": neither is used", fds[i].name);
			if (task_fd[t] >= 0)
				matched--;
			task_fd[t] = -1;
			twice[t] = true;
			continue;
		}
		task_fd[t] = (int)i;
		matched++;
	}
	return matched;
}

unsigned int lzb_fdstore_take(const struct lzb_record *rec, int *task_uffd)
{
	int idx[LZB_TASK_LIMIT];
	unsigned int n = lzb_fdstore_match(rec, offered, nr_offered,
					   lzb_is_uffd, idx);

	for (unsigned int t = 0; t < rec->nr_tasks; t++) {
		task_uffd[t] = idx[t] >= 0 ? offered[idx[t]].fd : -1;
		if (idx[t] >= 0)
			offered[idx[t]].fd = -1;
	}
	lzb_fdstore_drop_unused();
	return n;
}

void lzb_fdstore_drop_unused(void)
{
	for (unsigned int i = 0; i < nr_offered; i++) {
		if (offered[i].fd < 0)
			continue;
		forget_name(offered[i].name);
		close(offered[i].fd);
		offered[i].fd = -1;
	}
}
