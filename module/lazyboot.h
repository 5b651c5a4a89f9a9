/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LAZYBOOT_H
#define _LAZYBOOT_H

#include <linux/lazyboot.h>
#include <linux/types.h>

#define LAZYBOOT_MODULE_VERSION "0.1.0"

struct genl_info;
struct netlink_callback;
struct sk_buff;

/* Index of the "events" group in the family's mcgrps. */
#define LAZYBOOT_MCGRP_EVENTS_IDX	0

extern struct genl_family lazyboot_genl_family;

int lazyboot_genl_init(void);
void lazyboot_genl_exit(void);

int lazyboot_session_init(void);
bool lazyboot_stall_stats_enabled(void);
bool lazyboot_events_carry_pids(void);
void lazyboot_session_exit(void);
int lazyboot_session_new_doit(struct sk_buff *skb, struct genl_info *info);
int lazyboot_session_get_doit(struct sk_buff *skb, struct genl_info *info);
int lazyboot_session_dump_start(struct netlink_callback *cb);
int lazyboot_session_get_dumpit(struct sk_buff *skb,
				struct netlink_callback *cb);
int lazyboot_session_attach_doit(struct sk_buff *skb, struct genl_info *info);
int lazyboot_session_close_doit(struct sk_buff *skb, struct genl_info *info);
int lazyboot_milestone_doit(struct sk_buff *skb, struct genl_info *info);

#endif /* _LAZYBOOT_H */
