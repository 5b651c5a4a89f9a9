// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lazybootd: the lazy-restore pager.
 *
 * `--check` reports which guarantee the node offers against losing a
 * restore session's userfaultfd (kernel-held through lazyboot.ko, or none
 * yet); `restore` runs a lazy restore as a systemd service's main process
 * (daemon_restore.c), `run NAME` the one /etc/lazyboot/NAME.conf names
 * (config.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/lazyboot.h>

#include "service/daemon_restore.h"
#include "service/stop_post.h"
#include "pager/module_client.h"
#include "util/version.h"

static const char usage[] =
	"usage: lazybootd --check | --version | --help\n"
	"       lazybootd run NAME [options]  (the restore /etc/lazyboot/NAME.conf\n"
	"                                      describes, in /run/lazyboot/NAME)\n"
	"       lazybootd restore URL [options]  (see lazybootd restore --help)\n"
	"       lazybootd restore --config FILE [--dry-run] [options]\n"
	"       lazybootd stop-post NAME  (the unit's ExecStopPost=)\n"
	"\n"
	"  --check    report whether lazyboot.ko is loaded and which guarantee\n"
	"             it gives restore sessions; exit 0 if it answered\n"
	"  --version  print the version\n"
	"  run        what lazybootd@NAME.service runs: restore --config\n"
	"             /etc/lazyboot/NAME.conf --workdir /run/lazyboot/NAME\n"
	"  restore    restore an image lazily as a systemd Type=notify service\n"
	"  stop-post  after lazybootd@NAME.service's main process ended: stop\n"
	"             the tasks of an unfinished restore kept in systemd's fd\n"
	"             store for the next lazybootd to resume, or end them when\n"
	"             the unit is being stopped (lazybootd(8))\n";

static int check_module(void)
{
	struct lzb_module_info info;
	int err = lzb_module_get_info(&info);

	if (err == -ENOENT) {
		printf("lazyboot.ko is not loaded: restore sessions would have "
		       "no kernel-held userfaultfd (a holder process keeps "
		       "them instead)\n");
		return 1;
	}
	if (err) {
		fprintf(stderr, "lazybootd: querying lazyboot.ko: %s\n",
			strerror(-err));
		return 2;
	}
	printf("lazyboot.ko %s answers on %s\n", info.module_version,
	       info.kernel_release);
	if (!(info.features & LAZYBOOT_FEATURE_SESSIONS)) {
		printf("lazyboot.ko has no restore sessions: no kernel-held "
		       "userfaultfd\n");
		return 1;
	}
	printf("restore sessions: the kernel holds each uffd; a task whose "
	       "pager does not come back is killed, never run on zero "
	       "pages\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("lazybootd %s\n", LAZYBOOT_VERSION);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--check"))
		return check_module();
	if (argc >= 2 && !strcmp(argv[1], "restore"))
		return lzbd_restore_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return lzbd_run_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "stop-post"))
		return lzbd_stop_post_main(argc - 1, argv + 1);

	fputs(usage, stderr);
	return 2;
}
