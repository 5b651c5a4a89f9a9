// SPDX-License-Identifier: LGPL-2.1-or-later
#include "service/unit_query.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cgroup_procs.h"

#ifndef LZBD_SYSTEMCTL
#define LZBD_SYSTEMCTL "systemctl"
#endif

int lzbd_unit_name(char *buf, size_t len)
{
	char cg[4096];
	const char *last;
	int ret = lzb_cgroup_self(cg, sizeof(cg));
	size_t n;

	if (ret)
		return ret;
	last = strrchr(cg, '/') + 1;
	n = strlen(last);
	if (n < 9 || strcmp(last + n - 8, ".service"))
		return -ENOENT;
	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(buf, last, n + 1);
	return 0;
}

/* Run systemctl ARGV (ARGV[0] unused) and read its stdout into OUT. */
static int systemctl(char *const argv[], char *out, size_t len)
{
	int p[2], status;
	size_t have = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (!pid) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		dup2(null, 0);
		dup2(p[1], 1);
		dup2(null, 2);
		execvp(LZBD_SYSTEMCTL, argv);
		_exit(127);
	}
	close(p[1]);
	while (have + 1 < len &&
	       ((n = read(p[0], out + have, len - 1 - have)) > 0 ||
		(n < 0 && errno == EINTR)))
		have += n > 0 ? (size_t)n : 0;
	out[have] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
}

long lzbd_unit_fdstore_max(const char *unit)
{
	char *argv[] = { "systemctl", "show", "--property",
			 "FileDescriptorStoreMax", "--value", (char *)unit,
			 NULL };
	char out[64], *end;
	long v;
	int ret = systemctl(argv, out, sizeof(out));

	if (ret)
		return ret;
	errno = 0;
	v = strtol(out, &end, 10);
	if (errno || end == out || (*end && *end != '\n') || v < 0)
		return -EINVAL;
	return v;
}

int lzbd_unit_job(const char *unit, char *buf, size_t len)
{
	char *argv[] = { "systemctl", "list-jobs", "--no-legend", "--plain",
			 "--full", (char *)unit, NULL };
	char out[4096], *line, *save = NULL;
	int ret = systemctl(argv, out, sizeof(out));

	if (ret)
		return ret;
	buf[0] = '\0';
	/* "ID UNIT TYPE STATE" per line */
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[512], type[32];

		if (sscanf(line, "%*u %511s %31s", name, type) == 2 &&
		    !strcmp(name, unit)) {
			snprintf(buf, len, "%s", type);
			break;
		}
	}
	return 0;
}
