// SPDX-License-Identifier: LGPL-2.1-or-later
/* Generic netlink client for lazyboot.ko, through libnl-genl-3. */
#include "pager/module_client.h"

#include <errno.h>
#include <string.h>

#include <linux/lazyboot.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

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
	    !tb[LAZYBOOT_A_INFO_FEATURES]) {
		parse->err = -EPROTO;
		return NL_STOP;
	}

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
	return NL_OK;
}

int lzb_nl_to_errno(int nlerr)
{
	switch (-nlerr) {
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_AGAIN:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

int lzb_module_get_info(struct lzb_module_info *info)
{
	struct info_parse parse = { .info = info, .err = -ENODATA };
	struct nl_sock *sock;
	struct nl_msg *msg = NULL;
	int family, err;

	memset(info, 0, sizeof(*info));
	sock = nl_socket_alloc();
	if (!sock)
		return -ENOMEM;
	err = genl_connect(sock);
	if (err < 0)
		goto out;

	family = genl_ctrl_resolve(sock, LAZYBOOT_FAMILY_NAME);
	if (family < 0) {
		err = family;
		goto out;
	}

	msg = nlmsg_alloc();
	if (!msg) {
		err = -NLE_NOMEM;
		goto out;
	}
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
			 LAZYBOOT_CMD_GET_INFO, LAZYBOOT_FAMILY_VERSION)) {
		err = -NLE_NOMEM;
		goto out;
	}

	err = nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM,
				  parse_info_reply, &parse);
	if (err < 0)
		goto out;
	err = nl_send_auto(sock, msg);
	if (err < 0)
		goto out;
	err = nl_wait_for_ack(sock);
	if (err < 0)
		goto out;
	nlmsg_free(msg);
	nl_socket_free(sock);
	return parse.err;

out:
	nlmsg_free(msg);
	nl_socket_free(sock);
	return lzb_nl_to_errno(err);
}
