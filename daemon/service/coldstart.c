// SPDX-License-Identifier: LGPL-2.1-or-later
#include "service/coldstart.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criu/criu_restore_proc.h"
#include "service/watchdog.h"

#define PROBE_INTERVAL_MS 100

bool lzbd_coldstart_wanted(const struct lzb_restore_opts *o)
{
	switch (o->fallback_policy) {
	case LZB_FALLBACK_COLDSTART:
		return o->coldstart_cmd != NULL;
	case LZB_FALLBACK_FAIL:
		return false;
	case LZB_FALLBACK_DEFAULT:
	default:
		return o->coldstart_cmd != NULL;
	}
}

/* Block until PID has ended (it was killed); reap it if it is ours. */
static void wait_ended(pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pidfd >= 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
		close(pidfd);
	}
	waitpid(pid, NULL, WNOHANG);
}

int lzbd_coldstart_tree_gone(const struct lzb_restore_report *rep)
{
	if (rep->tasks_left)
		return -1;
	if (rep->root_pid > 0)
		wait_ended(rep->root_pid);
	/* Killed tasks CRIU left to us, the subreaper. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return 0;
}

pid_t lzbd_coldstart_spawn(const char *cmd)
{
	pid_t pid = fork();

	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (int sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		fprintf(stderr, "lazybootd: cannot run /bin/sh for the cold "
			"start: %m\n");
		_exit(127);
	}
	return pid;
}

static void pass_on(pid_t app, volatile sig_atomic_t *forward)
{
	if (*forward) {
		kill(app, *forward);
		*forward = 0;
	}
}

bool lzbd_coldstart_wait_ready(pid_t app, const char *ready,
			       const char *workdir,
			       volatile sig_atomic_t *forward)
{
	char *argv[] = { "sh", "-c", (char *)ready, NULL };
	int pidfd = (int)syscall(SYS_pidfd_open, app, 0);
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	char log[4200];
	bool passed = false;

	snprintf(log, sizeof(log), "%s/probe.out", workdir);
	for (;;) {
		pid_t probe;
		int status;

		pass_on(app, forward);
		lzbd_watchdog_ping();
		probe = lzb_spawn(argv, log);
		if (probe > 0) {
			while (waitpid(probe, &status, 0) < 0 && errno == EINTR)
				pass_on(app, forward);
			if (WIFEXITED(status) && !WEXITSTATUS(status)) {
				passed = true;
				break;
			}
		}
		/* Between tries, wake up at once if the app ends. */
		if (pidfd < 0) {
			siginfo_t si = { .si_pid = 0 };

			if (waitid(P_PID, (id_t)app, &si,
				   WEXITED | WNOHANG | WNOWAIT) || si.si_pid)
				break;
			usleep(PROBE_INTERVAL_MS * 1000);
		} else if (poll(&p, 1, PROBE_INTERVAL_MS) > 0) {
			break;
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	return passed;
}
