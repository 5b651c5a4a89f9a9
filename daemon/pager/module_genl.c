// SPDX-License-Identifier: LGPL-2.1-or-later
/* The generic netlink socket to lazyboot.ko (module_genl.h). */
#include "pager/module_genl.h"

#include <errno.h>

#include <linux/lazyboot.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

/* One exchange: the caller's reply handler and how it ended. */
struct exchange {
	lzb_genl_reply_fn fn;
	void *arg;
	int err;		/* the handler's or the kernel's, negative */
	int done;		/* ACK or end of dump seen */
};

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

int lzb_genl_open(struct lzb_genl *g)
{
	int err;

	g->sock = nl_socket_alloc();
	if (!g->sock)
		return -ENOMEM;
	err = genl_connect(g->sock);
	if (err >= 0)
		err = g->family = genl_ctrl_resolve(g->sock,
						    LAZYBOOT_FAMILY_NAME);
	if (err < 0) {
		lzb_genl_close(g);
		return lzb_nl_to_errno(err);
	}
	/* Dumps of many sessions: the size intro.rst recommends. */
	nl_socket_set_msg_buf_size(g->sock, 32768);
	return 0;
}

void lzb_genl_close(struct lzb_genl *g)
{
	nl_socket_free(g->sock);	/* NULL is fine */
	g->sock = NULL;
}

struct nl_msg *lzb_genl_request(const struct lzb_genl *g, uint8_t cmd,
				int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, g->family, 0,
				flags, cmd, LAZYBOOT_FAMILY_VERSION)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct exchange *x = arg;

	if (x->err)
		return NL_SKIP;
	x->err = x->fn(msg, x->arg);
	return x->err ? NL_STOP : NL_OK;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	struct exchange *x = arg;

	(void)nla;
	x->err = err->error;
	return NL_STOP;
}

static int on_done(struct nl_msg *msg, void *arg)
{
	struct exchange *x = arg;

	(void)msg;
	x->done = 1;
	return NL_STOP;
}

int lzb_genl_transact(struct lzb_genl *g, struct nl_msg *msg,
		      lzb_genl_reply_fn fn, void *arg)
{
	struct exchange x = { .fn = fn, .arg = arg };
	int err;

	nl_socket_modify_cb(g->sock, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &x);
	nl_socket_modify_cb(g->sock, NL_CB_ACK, NL_CB_CUSTOM, on_done, &x);
	nl_socket_modify_cb(g->sock, NL_CB_FINISH, NL_CB_CUSTOM, on_done, &x);
	nl_socket_modify_err_cb(g->sock, NL_CB_CUSTOM, on_error, &x);
	err = nl_send_auto(g->sock, msg);
	nlmsg_free(msg);
	if (err < 0)
		return lzb_nl_to_errno(err);
	do {
		err = nl_recvmsgs_default(g->sock);
		if (x.err)
			return x.err;
	} while (err >= 0 && !x.done);
	return err < 0 ? lzb_nl_to_errno(err) : 0;
}

int lzb_genl_receive(struct lzb_genl *g, lzb_genl_reply_fn fn, void *arg)
{
	struct exchange x = { .fn = fn, .arg = arg };
	int err;

	nl_socket_modify_cb(g->sock, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &x);
	err = nl_recvmsgs_default(g->sock);
	if (x.err)
		return x.err;
	return err < 0 ? lzb_nl_to_errno(err) : 0;
}
