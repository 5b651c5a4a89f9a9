// SPDX-License-Identifier: GPL-2.0
/*
 * The "lazyboot" generic netlink family (uapi/linux/lazyboot.h).
 *
 * Every operation is admin-only and validated strictly.  Operations carry
 * their own policies, so requests are checked the same way on every kernel
 * from 5.10 on, whatever the genetlink core of that kernel does by default.
 */

#include <linux/utsname.h>
#include <net/genetlink.h>

#include "lazyboot.h"

/* GET_INFO takes no attributes: name every one so the rejection says why. */
#define LAZYBOOT_REPLY_ONLY \
	{ .type = NLA_REJECT, .reject_message = "reply-only attribute" }

static const struct nla_policy lazyboot_get_info_policy[LAZYBOOT_A_INFO_MAX + 1] = {
	[LAZYBOOT_A_INFO_FAMILY_VERSION] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_INFO_MODULE_VERSION] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_INFO_KERNEL_RELEASE] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_INFO_FEATURES] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_INFO_PAD] = LAZYBOOT_REPLY_ONLY,
};

static struct genl_family lazyboot_genl_family;

static int lazyboot_fill_info(struct sk_buff *skb)
{
	if (nla_put_u32(skb, LAZYBOOT_A_INFO_FAMILY_VERSION,
			LAZYBOOT_FAMILY_VERSION) ||
	    nla_put_string(skb, LAZYBOOT_A_INFO_MODULE_VERSION,
			   LAZYBOOT_MODULE_VERSION) ||
	    nla_put_string(skb, LAZYBOOT_A_INFO_KERNEL_RELEASE,
			   utsname()->release) ||
	    nla_put_u64_64bit(skb, LAZYBOOT_A_INFO_FEATURES, 0,
			      LAZYBOOT_A_INFO_PAD))
		return -EMSGSIZE;
	return 0;
}

static int lazyboot_get_info_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *reply;
	void *hdr;
	int ret;

	reply = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;

	hdr = genlmsg_put_reply(reply, info, &lazyboot_genl_family, 0,
				LAZYBOOT_CMD_GET_INFO);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto err_free;
	}

	ret = lazyboot_fill_info(reply);
	if (ret)
		goto err_free;

	genlmsg_end(reply, hdr);
	return genlmsg_reply(reply, info);

err_free:
	nlmsg_free(reply);
	return ret;
}

static const struct genl_ops lazyboot_genl_ops[] = {
	{
		.cmd = LAZYBOOT_CMD_GET_INFO,
		.doit = lazyboot_get_info_doit,
		.policy = lazyboot_get_info_policy,
		.maxattr = LAZYBOOT_A_INFO_MAX,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family lazyboot_genl_family __ro_after_init = {
	.name = LAZYBOOT_FAMILY_NAME,
	.version = LAZYBOOT_FAMILY_VERSION,
	.netnsok = true,
	.module = THIS_MODULE,
	.ops = lazyboot_genl_ops,
	.n_ops = ARRAY_SIZE(lazyboot_genl_ops),
};

int __init lazyboot_genl_init(void)
{
	return genl_register_family(&lazyboot_genl_family);
}

void lazyboot_genl_exit(void)
{
	genl_unregister_family(&lazyboot_genl_family);
}

MODULE_ALIAS_GENL_FAMILY(LAZYBOOT_FAMILY_NAME);
