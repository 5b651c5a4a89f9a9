// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lazyboot version`: this tool's version and what lazyboot.ko answers. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <linux/lazyboot.h>

#include "cli/commands.h"
#include "pager/module_client.h"
#include "util/version.h"

static const char usage[] =
	"usage: lazyboot version\n"
	"\n"
	"Print the version of the lazyboot tools and query lazyboot.ko over\n"
	"generic netlink for its version, the kernel it runs on and its feature\n"
	"bits.  Exit status: 0 when the module answered, 1 when it is not\n"
	"loaded, 2 when the query failed (for example without CAP_NET_ADMIN).\n";

int cmd_version(int argc, char **argv)
{
	struct lzb_module_info info;
	int err;

	(void)argv;
	if (argc > 1) {
		fputs(usage, argc == 2 && !strcmp(argv[1], "--help") ?
			     stdout : stderr);
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}

	printf("lazyboot %s (netlink family version %d)\n", LAZYBOOT_VERSION,
	       LAZYBOOT_FAMILY_VERSION);

	err = lzb_module_get_info(&info);
	if (err == -ENOENT) {
		printf("lazyboot.ko: not loaded\n");
		return 1;
	}
	if (err) {
		fprintf(stderr, "lazyboot: querying lazyboot.ko failed: %s\n",
			strerror(-err));
		return 2;
	}
	printf("lazyboot.ko: %s on %s (netlink family version %" PRIu32
	       ", features 0x%" PRIx64 ")\n",
	       info.module_version, info.kernel_release, info.family_version,
	       info.features);
	if (info.family_version != LAZYBOOT_FAMILY_VERSION)
		printf("warning: module and tools speak different netlink "
		       "family versions\n");
	return 0;
}
