// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lazyboot_plugin.so: loaded by `criu dump` and `criu restore --libdir`.
 *
 * This version registers with CRIU and logs the stage it runs in; the
 * restore hand-off to lazybootd comes in later versions.
 */
#include <stdio.h>

#include <criu/criu-plugin.h>

static const char *stage_name(int stage)
{
	switch (stage) {
	case CR_PLUGIN_STAGE__DUMP:
		return "dump";
	case CR_PLUGIN_STAGE__PRE_DUMP:
		return "pre-dump";
	case CR_PLUGIN_STAGE__RESTORE:
		return "restore";
	default:
		return "unknown";
	}
}

static int lazyboot_plugin_init(int stage)
{
	if (stage < 0 || stage >= CR_PLUGIN_STAGE_MAX) {
		fprintf(stderr, "lazyboot plugin: unknown CRIU stage %d\n",
			stage);
		return -1;
	}
	fprintf(stderr, "lazyboot plugin: init for %s\n", stage_name(stage));
	return 0;
}

static void lazyboot_plugin_exit(int stage, int ret)
{
	fprintf(stderr, "lazyboot plugin: %s finished with %d\n",
		stage_name(stage), ret);
}

CR_PLUGIN_REGISTER("lazyboot", lazyboot_plugin_init, lazyboot_plugin_exit)
