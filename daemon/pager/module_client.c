// SPDX-License-Identifier: LGPL-2.1-or-later
/* Generic netlink client for lazyboot.ko, through libnl-genl-3. */
#include "pager/module_client.h"

#include <errno.h>
#include <string.h>

#include <linux/lazyboot.h>
#include <netlink/genl/genl.h>

#include "pager/module_genl.h"

/* What userspace accepts in a GET_INFO reply. */
static struct nla_policy info_reply_policy[LAZYBOOT_A_INFO_MAX + 1] = {
	[LAZYBOOT_A_INFO_FAMILY_VERSION] = { .type = NLA_U32 },
	[LAZYBOOT_A_INFO_MODULE_VERSION] = { .type = NLA_STRING },
	[LAZYBOOT_A_INFO_KERNEL_RELEASE] = { .type = NLA_STRING },
	[LAZYBOOT_A_INFO_FEATURES] = { .type = NLA_U64 },
};

struct info_parse {
	struct lzb_module_info *info;
	int err;
};

static void copy_string_attr(char *dst, size_t size, struct nlattr *attr)
{
	size_t len = (size_t)nla_len(attr);
	const char *src = nla_data(attr);

	if (len > 0 && src[len - 1] == '\0')
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static int parse_info_reply(struct nl_msg *msg, void *arg)
{
	struct info_parse *parse = arg;
	struct nlattr *tb[LAZYBOOT_A_INFO_MAX + 1];
	int err;

	err = genlmsg_parse(nlmsg_hdr(msg), 0, tb, LAZYBOOT_A_INFO_MAX,
			    info_reply_policy);
	if (err < 0 || !tb[LAZYBOOT_A_INFO_FAMILY_VERSION] ||
	    !tb[LAZYBOOT_A_INFO_MODULE_VERSION] ||
	    !tb[LAZYBOOT_A_INFO_KERNEL_RELEASE] ||
	    !tb[LAZYBOOT_A_INFO_FEATURES])
		return -EPROTO;

	parse->info->family_version =
		nla_get_u32(tb[LAZYBOOT_A_INFO_FAMILY_VERSION]);
	copy_string_attr(parse->info->module_version,
			 sizeof(parse->info->module_version),
			 tb[LAZYBOOT_A_INFO_MODULE_VERSION]);
	copy_string_attr(parse->info->kernel_release,
			 sizeof(parse->info->kernel_release),
			 tb[LAZYBOOT_A_INFO_KERNEL_RELEASE]);
	parse->info->features = nla_get_u64(tb[LAZYBOOT_A_INFO_FEATURES]);
	parse->err = 0;
	return 0;
}

int lzb_module_get_info(struct lzb_module_info *info)
{
	struct info_parse parse = { .info = info, .err = -ENODATA };
	struct lzb_genl g;
	struct nl_msg *msg;
	int err;

	memset(info, 0, sizeof(*info));
	err = lzb_genl_open(&g);
	if (err)
		return err;
	msg = lzb_genl_request(&g, LAZYBOOT_CMD_GET_INFO, 0);
	err = msg ? lzb_genl_transact(&g, msg, parse_info_reply, &parse) :
		    -ENOMEM;
	lzb_genl_close(&g);
	return err ? err : parse.err;
}
