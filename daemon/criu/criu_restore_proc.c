// SPDX-License-Identifier: LGPL-2.1-or-later
/* Starting criu restore for a pager, and ending it (criu_restore_proc.h). */
#include "criu/criu_restore_proc.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/capture.h"
#include "criu/plugin_link.h"
#include "util/file_util.h"
#include "util/unix_listen.h"

static pid_t spawn(char *const argv[], const char *log, bool thp_off)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (log) {
			int fd = lzb_open_append(log);

			if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
			    dup2(STDOUT_FILENO, STDERR_FILENO) < 0)
				_exit(126);
			if (fd > STDERR_FILENO)
				close(fd);
		}
		if (thp_off && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)) {
			fprintf(stderr, "lazyboot: cannot turn transparent huge "
				"pages off for criu: %s\n", strerror(errno));
			_exit(125);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "lazyboot: cannot run criu (%s): %s\n",
			argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

pid_t lzb_spawn(char *const argv[], const char *log)
{
	return spawn(argv, log, false);
}

pid_t lzb_criu_restore_start(const struct lzb_criu_restore *r,
			     struct lzb_err *err)
{
	char **argv = calloc(20 + r->nr_extra, sizeof(char *));
	char pidfile[4200], log[4200];
	size_t n = 0;
	pid_t pid;

	if (!argv)
		return lzb_errf(err, "out of memory");
	snprintf(pidfile, sizeof(pidfile), "%s/restore.pid", r->workdir);
	snprintf(log, sizeof(log), "%s/criu-restore.out", r->workdir);
	unlink(pidfile);
	argv[n++] = (char *)(r->criu ? r->criu : "criu");
	argv[n++] = "restore";
	argv[n++] = "--images-dir";
	argv[n++] = (char *)r->images_dir;
	argv[n++] = "--work-dir";
	argv[n++] = (char *)r->workdir;
	argv[n++] = "--lazy-pages";
	argv[n++] = "--restore-detached";
	argv[n++] = "--pidfile";
	argv[n++] = pidfile;
	argv[n++] = "--log-file";
	argv[n++] = "restore.log";
	argv[n++] = "-v4";
	if (r->plugin_dir) {
		argv[n++] = "--libdir";
		argv[n++] = (char *)r->plugin_dir;
	}
	for (size_t i = 0; i < r->nr_extra; i++)
		argv[n++] = r->extra[i];
	/* Only criu is started after this: it inherits the pager's name. */
	if (r->pager_socket)
		setenv(LZB_PLUGIN_SOCKET_ENV, r->pager_socket, 1);
	else
		unsetenv(LZB_PLUGIN_SOCKET_ENV);
	/*
	 * Transparent huge pages off for criu and so for the tasks it forks:
	 * CRIU writes a task's eager pages before it registers the memory
	 * with userfaultfd, and with THP on, such a write can make the kernel
	 * back the whole 2 MiB block with a huge page, so the block's lazy
	 * pages would be present zeros the pager can no longer fill (EEXIST).
	 * CRIU's restorer sets the task's own dumped THP setting again after
	 * the memory is registered, where a missing page always goes to the
	 * pager.  CRIU's kernel probe (no /run/criu.kdat yet) turns THP back
	 * on in criu itself, so the plugin turns it off again at restore
	 * init (criu-plugin/lazyboot_plugin.c, thp_off()).
	 */
	pid = spawn(argv, log, true);
	free(argv);
	if (pid < 0)
		return lzb_errf(err, "cannot start criu: %s", strerror(errno));
	return pid;
}

const char *lzb_default_plugin_dir(char *buf, size_t len)
{
	char self[4096], path[4200];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/lazyboot_plugin.so", self);
	if (access(path, R_OK) || (size_t)snprintf(buf, len, "%s", self) >= len)
		return NULL;
	return buf;
}

int lzb_criu_restore_root(const char *workdir)
{
	char path[4200];
	FILE *f;
	int pid = 0;

	snprintf(path, sizeof(path), "%s/restore.pid", workdir);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%d", &pid) != 1 || pid < 0)
		pid = 0;
	fclose(f);
	return pid;
}

/* The first line of PATH that contains NEEDLE, from NEEDLE on, in BUF. */
static int first_line_with(const char *path, const char *needle, char *buf,
			   size_t len)
{
	char line[1024];
	FILE *f = fopen(path, "re");
	int ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *at = strstr(line, needle);

		if (!at)
			continue;
		at[strcspn(at, "\r\n")] = '\0';
		snprintf(buf, len, "%s", at);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

int lzb_criu_restore_why(const char *workdir, char *buf, size_t len)
{
	static const char *const plugin_says[] = {
		"lazyboot plugin: refusing", "lazyboot plugin: pid ",
		"cannot run criu (",
	};
	char path[4200];

	snprintf(path, sizeof(path), "%s/criu-restore.out", workdir);
	for (size_t i = 0; i < sizeof(plugin_says) / sizeof(*plugin_says); i++)
		if (!first_line_with(path, plugin_says[i], buf, len))
			return 0;
	/* "(00.031539)      1: Error (criu/files-reg.c:2126): File ..." */
	snprintf(path, sizeof(path), "%s/restore.log", workdir);
	return first_line_with(path, "Error (", buf, len);
}

/* ERR says why criu failed; without a reason in its logs, only if ANYHOW. */
static void criu_failed(int status, const char *workdir, bool anyhow,
			struct lzb_err *err)
{
	char why[900];

	if (!lzb_criu_restore_why(workdir, why, sizeof(why)))
		lzb_errf(err, "criu restore failed: %s (see %s/restore.log)",
			 why, workdir);
	else if (anyhow)
		lzb_errf(err, "criu restore failed (status 0x%x); see "
			 "%s/restore.log and criu-restore.out", status,
			 workdir);
}

int lzb_criu_restore_reap(pid_t *criu, const char *workdir, int *root_pid,
			  struct lzb_err *err)
{
	int status;

	if (*criu <= 0 || waitpid(*criu, &status, WNOHANG) != *criu)
		return 0;
	*criu = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		*root_pid = lzb_criu_restore_root(workdir);
		return 1;
	}
	if (!err->msg[0])
		criu_failed(status, workdir, true, err);
	return -1;
}

void lzb_criu_restore_blame(pid_t *criu, const char *workdir, int timeout_ms,
			    struct lzb_err *err)
{
	int pidfd, status;

	if (*criu <= 0)
		return;
	pidfd = (int)syscall(SYS_pidfd_open, *criu, 0);
	if (pidfd >= 0) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

		while (poll(&pfd, 1, timeout_ms) < 0 && errno == EINTR)
			;
		close(pidfd);
	}
	if (waitpid(*criu, &status, WNOHANG) != *criu)
		return;
	*criu = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status))
		criu_failed(status, workdir, false, err);
}

/*
 * SIGKILL the descendants of ANCESTOR listed in PIDS (ANCESTOR itself,
 * PIDS[0], is left out), each through a pidfd taken while it still
 * descends from ANCESTOR: a pid that was reused meanwhile is not hit.
 */
static int kill_listed(const pid_t *pids, int n, pid_t ancestor)
{
	int killed = 0;

	for (int i = 1; i < n; i++) {
		int pidfd = lzb_pidfd_of_descendant(pids[i], ancestor);

		if (pidfd < 0)
			continue;
		if (!lzb_pidfd_kill(pidfd, SIGKILL))
			killed++;
		close(pidfd);
	}
	return killed;
}

int lzb_kill_restored(pid_t criu, int root_pidfd, pid_t root,
		      const int *pidfds, size_t n)
{
	static pid_t pids[LZB_TREE_MAX];
	int m, killed = 0;

	/* Stop first, so nothing forks away while the tree is listed. */
	if (root_pidfd >= 0 && root > 0 &&
	    !lzb_pidfd_kill(root_pidfd, SIGSTOP)) {
		m = lzb_tree_pids(root, pids, LZB_TREE_MAX);
		if (m > 0)
			killed += kill_listed(pids, m, root);
		if (!lzb_pidfd_kill(root_pidfd, SIGKILL))
			killed++;
	}
	/* criu is our child, not reaped yet: its pid names it alone. */
	if (criu > 0) {
		m = lzb_tree_pids(criu, pids, LZB_TREE_MAX);
		if (m > 0)
			killed += kill_listed(pids, m, criu);
	}
	for (size_t i = 0; i < n; i++)
		if (pidfds[i] >= 0 && !lzb_pidfd_kill(pidfds[i], SIGKILL))
			killed++;
	/* criu itself last, once its tree is dead. */
	if (criu > 0)
		kill(criu, SIGKILL);
	return killed;
}
