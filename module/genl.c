// SPDX-License-Identifier: GPL-2.0
/*
 * The "lazyboot" generic netlink family (uapi/linux/lazyboot.h).
 *
 * Every operation needs CAP_NET_ADMIN (GENL_ADMIN_PERM) and is validated
 * strictly.  Operations carry their own policies, so requests are checked
 * the same way on every kernel from 5.10 on, whatever the genetlink core of
 * that kernel does by default.  The session operations and MILESTONE check
 * CAP_SYS_ADMIN themselves (session.c): genetlink has no such flag, and the
 * pre_doit signature differs between 5.10 and 6.12.
 */

#include <linux/module.h>
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

/* Session requests: what each command takes; the rest is refused. */
static struct netlink_range_validation lazyboot_deadline_range = {
	.min = 1,
	.max = 24 * 3600 * 1000,	/* one day, in ms */
};

static const struct nla_policy lazyboot_session_new_policy[LAZYBOOT_A_SESSION_MAX + 1] = {
	[LAZYBOOT_A_SESSION_ID] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_PID] = NLA_POLICY_MIN(NLA_U32, 1),
	[LAZYBOOT_A_SESSION_UFFD] = { .type = NLA_U32 },
	[LAZYBOOT_A_SESSION_DEADLINE_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &lazyboot_deadline_range),
	[LAZYBOOT_A_SESSION_STATE] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_OWNER] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_REMAINING_MS] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_END] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_PAD] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_STALL_COUNT] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_STALL_TOTAL_NS] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_STALL_MAX_NS] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_STALL_HIST] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_MILESTONE] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_USER_TS_NS] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_KERNEL_TS_NS] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_MILESTONE_TIMES] = LAZYBOOT_REPLY_ONLY,
};

/* GET, ATTACH and CLOSE take the session id only. */
static const struct nla_policy lazyboot_session_id_policy[LAZYBOOT_A_SESSION_MAX + 1] = {
	[LAZYBOOT_A_SESSION_ID] = NLA_POLICY_MIN(NLA_U32, 1),
	[LAZYBOOT_A_SESSION_PID] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_UFFD] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_DEADLINE_MS] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_STATE] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_OWNER] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_REMAINING_MS] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_END] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_PAD] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_STALL_COUNT] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_STALL_TOTAL_NS] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_STALL_MAX_NS] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_STALL_HIST] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_MILESTONE] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_USER_TS_NS] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_KERNEL_TS_NS] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_MILESTONE_TIMES] = LAZYBOOT_REPLY_ONLY,
};

static int lazyboot_fill_info(struct sk_buff *skb)
{
	if (nla_put_u32(skb, LAZYBOOT_A_INFO_FAMILY_VERSION,
			LAZYBOOT_FAMILY_VERSION) ||
	    nla_put_string(skb, LAZYBOOT_A_INFO_MODULE_VERSION,
			   LAZYBOOT_MODULE_VERSION) ||
	    nla_put_string(skb, LAZYBOOT_A_INFO_KERNEL_RELEASE,
			   utsname()->release) ||
	    nla_put_u64_64bit(skb, LAZYBOOT_A_INFO_FEATURES,
			      LAZYBOOT_FEATURE_SESSIONS |
			      LAZYBOOT_FEATURE_MILESTONES |
			      (lazyboot_events_carry_pids() ?
			       LAZYBOOT_FEATURE_EVENT_PIDS : 0) |
			      (lazyboot_stall_stats_enabled() ?
			       LAZYBOOT_FEATURE_STALL_STATS : 0),
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

/* MILESTONE: which one, of which session (none: the boot), sender's time. */
static const struct nla_policy lazyboot_milestone_policy[LAZYBOOT_A_SESSION_MAX + 1] = {
	[LAZYBOOT_A_SESSION_ID] = NLA_POLICY_MIN(NLA_U32, 1),
	[LAZYBOOT_A_SESSION_PID] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_UFFD] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_DEADLINE_MS] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_STATE] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_OWNER] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_REMAINING_MS] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_END] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_PAD] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_STALL_COUNT] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_STALL_TOTAL_NS] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_STALL_MAX_NS] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_STALL_HIST] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_MILESTONE] =
		NLA_POLICY_MAX(NLA_U32, LAZYBOOT_MILESTONE_COUNT - 1),
	[LAZYBOOT_A_SESSION_USER_TS_NS] = { .type = NLA_U64 },
	[LAZYBOOT_A_SESSION_KERNEL_TS_NS] = LAZYBOOT_REPLY_ONLY,
	[LAZYBOOT_A_SESSION_MILESTONE_TIMES] = LAZYBOOT_REPLY_ONLY,
};

static const struct genl_ops lazyboot_genl_ops[] = {
	{
		.cmd = LAZYBOOT_CMD_GET_INFO,
		.doit = lazyboot_get_info_doit,
		.policy = lazyboot_get_info_policy,
		.maxattr = LAZYBOOT_A_INFO_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = LAZYBOOT_CMD_SESSION_NEW,
		.doit = lazyboot_session_new_doit,
		.policy = lazyboot_session_new_policy,
		.maxattr = LAZYBOOT_A_SESSION_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = LAZYBOOT_CMD_SESSION_GET,
		.doit = lazyboot_session_get_doit,
		.start = lazyboot_session_dump_start,
		.dumpit = lazyboot_session_get_dumpit,
		.policy = lazyboot_session_id_policy,
		.maxattr = LAZYBOOT_A_SESSION_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = LAZYBOOT_CMD_SESSION_ATTACH,
		.doit = lazyboot_session_attach_doit,
		.policy = lazyboot_session_id_policy,
		.maxattr = LAZYBOOT_A_SESSION_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = LAZYBOOT_CMD_SESSION_CLOSE,
		.doit = lazyboot_session_close_doit,
		.policy = lazyboot_session_id_policy,
		.maxattr = LAZYBOOT_A_SESSION_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = LAZYBOOT_CMD_MILESTONE,
		.doit = lazyboot_milestone_doit,
		.policy = lazyboot_milestone_policy,
		.maxattr = LAZYBOOT_A_SESSION_MAX,
		.flags = GENL_ADMIN_PERM,
	},
};

/*
 * Events name sessions and, where the group can be restricted, pids:
 * listeners need CAP_SYS_ADMIN (over the netns's user namespace) on
 * kernels that can ask for it (Kbuild probes for GENL_MCAST_CAP_SYS_ADMIN).
 * Older kernels let anybody listen, so there events carry no pid
 * (lazyboot_session_event()).
 */
static const struct genl_multicast_group lazyboot_mcgrps[] = {
	[LAZYBOOT_MCGRP_EVENTS_IDX] = {
		.name = LAZYBOOT_MCGRP_EVENTS,
#ifdef LAZYBOOT_HAVE_GENL_MCAST_CAP
		.flags = GENL_MCAST_CAP_SYS_ADMIN,
#endif
	},
};

struct genl_family lazyboot_genl_family __ro_after_init = {
	.name = LAZYBOOT_FAMILY_NAME,
	.version = LAZYBOOT_FAMILY_VERSION,
	.netnsok = true,
	.module = THIS_MODULE,
	.ops = lazyboot_genl_ops,
	.n_ops = ARRAY_SIZE(lazyboot_genl_ops),
	.mcgrps = lazyboot_mcgrps,
	.n_mcgrps = ARRAY_SIZE(lazyboot_mcgrps),
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
