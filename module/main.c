// SPDX-License-Identifier: GPL-2.0
/*
 * lazyboot: kernel side of lazy CRIU restore over userfaultfd.
 *
 * Registers the "lazyboot" generic netlink family: the info query and the
 * restore sessions of session.c.
 */

#include <linux/module.h>

#include "lazyboot.h"

static int __init lazyboot_init(void)
{
	int ret;

	ret = lazyboot_session_init();
	if (ret)
		return ret;
	ret = lazyboot_genl_init();
	if (ret) {
		lazyboot_session_exit();
		return ret;
	}

	pr_info("version %s loaded\n", LAZYBOOT_MODULE_VERSION);
	return 0;
}

static void __exit lazyboot_exit(void)
{
	lazyboot_genl_exit();
	lazyboot_session_exit();
	pr_info("unloaded\n");
}

module_init(lazyboot_init);
module_exit(lazyboot_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lazyboot: kernel-held lazy restore sessions");
MODULE_AUTHOR("The lazyboot authors");
MODULE_VERSION(LAZYBOOT_MODULE_VERSION);
