// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lazyboot-init: PID 1 of a captured app set.
 *
 * `lazyboot capture` starts the services from the namespace's first process
 * and then execs this program in it, so the dump's root task is a small,
 * static, stable binary rather than a copy of the `lazyboot` tool (whose
 * libraries and version would otherwise become part of every image).  It
 * reaps orphans forever; a PID namespace's init ignores the signals it has
 * no handler for, so only SIGKILL from outside ends the app set.
 */
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	for (;;) {
		if (wait(NULL) < 0 && errno == ECHILD)
			pause();
	}
}
