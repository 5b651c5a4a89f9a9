/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * lazyboot: the generic netlink contract between lazyboot.ko and userspace.
 *
 * Kept in step by hand with uapi/lazyboot.yaml (netlink-spec style); the
 * selftest uapi_spec checks that the two agree.
 */
#ifndef _UAPI_LINUX_LAZYBOOT_H
#define _UAPI_LINUX_LAZYBOOT_H

#define LAZYBOOT_FAMILY_NAME		"lazyboot"
#define LAZYBOOT_FAMILY_VERSION		1

/*
 * Feature bits reported in LAZYBOOT_A_INFO_FEATURES.  Userspace must treat
 * unknown bits as absent features it cannot use.  No feature is defined yet:
 * the first module version answers the info query only.
 */

/**
 * enum lazyboot_info_attrs - attributes of LAZYBOOT_CMD_GET_INFO replies
 * @LAZYBOOT_A_INFO_FAMILY_VERSION: u32, LAZYBOOT_FAMILY_VERSION of the module
 * @LAZYBOOT_A_INFO_MODULE_VERSION: string, the module's release version
 * @LAZYBOOT_A_INFO_KERNEL_RELEASE: string, the running kernel's release
 * @LAZYBOOT_A_INFO_FEATURES: u64, bitmask of supported features
 * @LAZYBOOT_A_INFO_PAD: padding for 64-bit attributes
 */
enum lazyboot_info_attrs {
	LAZYBOOT_A_INFO_UNSPEC,
	LAZYBOOT_A_INFO_FAMILY_VERSION,
	LAZYBOOT_A_INFO_MODULE_VERSION,
	LAZYBOOT_A_INFO_KERNEL_RELEASE,
	LAZYBOOT_A_INFO_FEATURES,
	LAZYBOOT_A_INFO_PAD,

	__LAZYBOOT_A_INFO_MAX,
	LAZYBOOT_A_INFO_MAX = (__LAZYBOOT_A_INFO_MAX - 1)
};

/**
 * enum lazyboot_cmds - generic netlink commands
 * @LAZYBOOT_CMD_GET_INFO: do; no request attributes; replies with the
 *	lazyboot_info_attrs.  Requires CAP_NET_ADMIN.
 */
enum lazyboot_cmds {
	LAZYBOOT_CMD_UNSPEC,
	LAZYBOOT_CMD_GET_INFO,

	__LAZYBOOT_CMD_MAX,
	LAZYBOOT_CMD_MAX = (__LAZYBOOT_CMD_MAX - 1)
};

#endif /* _UAPI_LINUX_LAZYBOOT_H */
