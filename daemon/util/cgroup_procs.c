// SPDX-License-Identifier: LGPL-2.1-or-later
#include "util/cgroup_procs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/unix_listen.h"

static int cgroup_of(const char *proc, char *buf, size_t len)
{
	char path[64], line[4200];
	FILE *f;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%s/cgroup", proc);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, "\n");

		line[n] = '\0';
		if (strncmp(line, "0::/", 4) || !line[4])
			continue;
		if (n - 3 >= len) {
			ret = -ENAMETOOLONG;
			break;
		}
		memcpy(buf, line + 3, n - 2);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

int lzb_cgroup_self(char *buf, size_t len)
{
	return cgroup_of("self", buf, len);
}

/* Each other pid of our cgroup: fn(pid, arg); how many, or -errno. */
static int each_other(int (*fn)(pid_t, const char *, void *), void *arg)
{
	char self[4096], path[4200], line[32];
	pid_t me = getpid();
	FILE *f;
	int n = 0, ret;

	ret = lzb_cgroup_self(self, sizeof(self));
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cgroup.procs", self);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		long pid = strtol(line, NULL, 10);

		if (pid > 0 && pid != me)
			n += fn((pid_t)pid, self, arg);
	}
	fclose(f);
	return n;
}

static int signal_one(pid_t pid, const char *cgroup, void *arg)
{
	int sig = *(int *)arg, pidfd = lzb_pidfd_open(pid), ret = 0;
	char proc[16], now[4096];

	if (pidfd < 0)
		return 0;
	/* Still ours once the pidfd holds it: then it is the one listed. */
	snprintf(proc, sizeof(proc), "%d", (int)pid);
	if (!cgroup_of(proc, now, sizeof(now)) && !strcmp(now, cgroup) &&
	    !lzb_pidfd_kill(pidfd, 0))
		ret = !lzb_pidfd_kill(pidfd, sig);
	close(pidfd);
	return ret;
}

static int count_one(pid_t pid, const char *cgroup, void *arg)
{
	(void)pid;
	(void)cgroup;
	(void)arg;
	return 1;
}

int lzb_cgroup_signal_others(int sig)
{
	return each_other(signal_one, &sig);
}

int lzb_cgroup_count_others(void)
{
	return each_other(count_one, NULL);
}
