/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Talking to lazyboot.ko over its generic netlink family. */
#ifndef LAZYBOOT_MODULE_CLIENT_H
#define LAZYBOOT_MODULE_CLIENT_H

#include <stdint.h>

struct lzb_module_info {
	uint32_t family_version;
	char module_version[32];
	char kernel_release[65];
	uint64_t features;
};

/*
 * Ask the module for its versions and features.  Returns 0 and fills *info,
 * -ENOENT when the "lazyboot" family is not registered (module not loaded),
 * -EPERM without CAP_NET_ADMIN, -EPROTO on a reply that lacks a required
 * attribute, or another negative errno.
 */
int lzb_module_get_info(struct lzb_module_info *info);

#endif
