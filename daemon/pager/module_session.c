// SPDX-License-Identifier: LGPL-2.1-or-later
/* Restore sessions held by lazyboot.ko, through libnl-genl-3. */
#include "pager/module_session.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <linux/lazyboot.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "pager/module_genl.h"

struct lzb_module {
	struct lzb_genl g;
};

/* What one request collects from its answers. */
struct request {
	int (*parse)(struct nlattr **tb, struct request *req);
	struct lzb_session_info *info;
	int (*fn)(const struct lzb_session_info *, void *);
	void *arg;
	int count;
	int stop;		/* non-zero return of fn */
	int fd;			/* SESSION_ATTACH */
	uint32_t id;		/* SESSION_NEW */
	struct lzb_session_event *event;
	uint8_t cmd;		/* of the message being parsed */
	int got;
	uint64_t kernel_ts_ns;	/* MILESTONE */
};

static struct nla_policy session_policy[LAZYBOOT_A_SESSION_MAX + 1] = {
	[LAZYBOOT_A_SESSION_ID] = { .type = NLA_U32 },
	[LAZYBOOT_A_SESSION_PID] = { .type = NLA_U32 },
	[LAZYBOOT_A_SESSION_UFFD] = { .type = NLA_U32 },
	[LAZYBOOT_A_SESSION_DEADLINE_MS] = { .type = NLA_U32 },
	[LAZYBOOT_A_SESSION_STATE] = { .type = NLA_U32 },
	[LAZYBOOT_A_SESSION_OWNER] = { .type = NLA_U32 },
	[LAZYBOOT_A_SESSION_REMAINING_MS] = { .type = NLA_U32 },
	[LAZYBOOT_A_SESSION_END] = { .type = NLA_U32 },
	[LAZYBOOT_A_SESSION_STALL_COUNT] = { .type = NLA_U64 },
	[LAZYBOOT_A_SESSION_STALL_TOTAL_NS] = { .type = NLA_U64 },
	[LAZYBOOT_A_SESSION_STALL_MAX_NS] = { .type = NLA_U64 },
	[LAZYBOOT_A_SESSION_STALL_HIST] = {
		.type = NLA_UNSPEC,
		.minlen = LAZYBOOT_STALL_HIST_BUCKETS * sizeof(uint64_t),
	},
	[LAZYBOOT_A_SESSION_MILESTONE] = { .type = NLA_U32 },
	[LAZYBOOT_A_SESSION_USER_TS_NS] = { .type = NLA_U64 },
	[LAZYBOOT_A_SESSION_KERNEL_TS_NS] = { .type = NLA_U64 },
	[LAZYBOOT_A_SESSION_MILESTONE_TIMES] = {
		.type = NLA_UNSPEC,
		.minlen = LAZYBOOT_MILESTONE_COUNT * sizeof(uint64_t),
	},
};

static uint64_t get_u64(struct nlattr **tb, int type)
{
	return tb[type] ? nla_get_u64(tb[type]) : 0;
}

static uint32_t get_u32(struct nlattr **tb, int type)
{
	return tb[type] ? nla_get_u32(tb[type]) : 0;
}

/* Each reply of a request, or an event: parsed by the request's parser. */
static int on_reply(struct nl_msg *msg, void *arg)
{
	struct request *req = arg;
	struct nlattr *tb[LAZYBOOT_A_SESSION_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, LAZYBOOT_A_SESSION_MAX,
			  session_policy) < 0)
		return -EPROTO;
	if (req->stop)
		return 0;
	req->cmd = genlmsg_hdr(nlmsg_hdr(msg))->cmd;
	return req->parse(tb, req);
}

static void fill_info(struct nlattr **tb, struct lzb_session_info *info)
{
	memset(info, 0, sizeof(*info));
	info->id = get_u32(tb, LAZYBOOT_A_SESSION_ID);
	info->pid = get_u32(tb, LAZYBOOT_A_SESSION_PID);
	info->deadline_ms = get_u32(tb, LAZYBOOT_A_SESSION_DEADLINE_MS);
	info->state = get_u32(tb, LAZYBOOT_A_SESSION_STATE);
	info->owner = get_u32(tb, LAZYBOOT_A_SESSION_OWNER);
	info->remaining_ms = get_u32(tb, LAZYBOOT_A_SESSION_REMAINING_MS);
	if (tb[LAZYBOOT_A_SESSION_MILESTONE_TIMES])
		memcpy(info->milestone_times,
		       nla_data(tb[LAZYBOOT_A_SESSION_MILESTONE_TIMES]),
		       sizeof(info->milestone_times));
	info->has_stalls = tb[LAZYBOOT_A_SESSION_STALL_COUNT] &&
			   tb[LAZYBOOT_A_SESSION_STALL_TOTAL_NS] &&
			   tb[LAZYBOOT_A_SESSION_STALL_MAX_NS] &&
			   tb[LAZYBOOT_A_SESSION_STALL_HIST];
	if (!info->has_stalls)
		return;
	info->stall_count = nla_get_u64(tb[LAZYBOOT_A_SESSION_STALL_COUNT]);
	info->stall_total_ns =
		nla_get_u64(tb[LAZYBOOT_A_SESSION_STALL_TOTAL_NS]);
	info->stall_max_ns = nla_get_u64(tb[LAZYBOOT_A_SESSION_STALL_MAX_NS]);
	memcpy(info->stall_hist, nla_data(tb[LAZYBOOT_A_SESSION_STALL_HIST]),
	       sizeof(info->stall_hist));
}

static int parse_info(struct nlattr **tb, struct request *req)
{
	if (!tb[LAZYBOOT_A_SESSION_ID])
		return -EPROTO;
	if (req->info)
		fill_info(tb, req->info);
	req->id = get_u32(tb, LAZYBOOT_A_SESSION_ID);
	req->got = 1;
	return 0;
}

static int parse_list(struct nlattr **tb, struct request *req)
{
	struct lzb_session_info info;

	if (!tb[LAZYBOOT_A_SESSION_ID])
		return -EPROTO;
	fill_info(tb, &info);
	req->count++;
	req->stop = req->fn(&info, req->arg);
	return 0;	/* keep reading to the end of the dump */
}

static int parse_milestone(struct nlattr **tb, struct request *req)
{
	if (!tb[LAZYBOOT_A_SESSION_KERNEL_TS_NS])
		return -EPROTO;
	req->kernel_ts_ns = nla_get_u64(tb[LAZYBOOT_A_SESSION_KERNEL_TS_NS]);
	req->got = 1;
	return 0;
}

static int parse_attach(struct nlattr **tb, struct request *req)
{
	if (!tb[LAZYBOOT_A_SESSION_UFFD])
		return -EPROTO;
	req->fd = (int)nla_get_u32(tb[LAZYBOOT_A_SESSION_UFFD]);
	req->got = 1;
	return 0;
}

static int parse_event(struct nlattr **tb, struct request *req)
{
	req->event->cmd = req->cmd;
	req->event->id = get_u32(tb, LAZYBOOT_A_SESSION_ID);
	req->event->pid = get_u32(tb, LAZYBOOT_A_SESSION_PID);
	req->event->deadline_ms = get_u32(tb, LAZYBOOT_A_SESSION_DEADLINE_MS);
	req->event->end = get_u32(tb, LAZYBOOT_A_SESSION_END);
	req->event->milestone = get_u32(tb, LAZYBOOT_A_SESSION_MILESTONE);
	req->event->kernel_ts_ns = get_u64(tb, LAZYBOOT_A_SESSION_KERNEL_TS_NS);
	req->event->user_ts_ns = get_u64(tb, LAZYBOOT_A_SESSION_USER_TS_NS);
	req->got = 1;
	return 0;
}

static int open_socket(struct lzb_module **out)
{
	struct lzb_module *m;
	int err;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	err = lzb_genl_open(&m->g);
	if (err) {
		free(m);
		return err;
	}
	*out = m;
	return 0;
}

int lzb_module_open(struct lzb_module **out)
{
	return open_socket(out);
}

int lzb_module_open_events(struct lzb_module **out)
{
	int err, grp;

	err = open_socket(out);
	if (err)
		return err;
	grp = genl_ctrl_resolve_grp((*out)->g.sock, LAZYBOOT_FAMILY_NAME,
				    LAZYBOOT_MCGRP_EVENTS);
	err = grp < 0 ? grp : nl_socket_add_membership((*out)->g.sock, grp);
	if (err < 0) {
		lzb_module_close(*out);
		*out = NULL;
		return lzb_nl_to_errno(err);
	}
	nl_socket_disable_seq_check((*out)->g.sock);
	return 0;
}

void lzb_module_close(struct lzb_module *m)
{
	if (!m)
		return;
	lzb_genl_close(&m->g);
	free(m);
}

int lzb_module_fd(const struct lzb_module *m)
{
	return nl_socket_get_fd(m->g.sock);
}

static int transact(struct lzb_module *m, struct nl_msg *msg,
		    struct request *req)
{
	return lzb_genl_transact(&m->g, msg, on_reply, req);
}

static struct nl_msg *new_request(struct lzb_module *m, uint8_t cmd,
				  int flags)
{
	return lzb_genl_request(&m->g, cmd, flags);
}

int lzb_session_new(struct lzb_module *m, pid_t pid, int uffd,
		    uint32_t deadline_ms, uint32_t *id)
{
	struct request req = { .parse = parse_info };
	struct nl_msg *msg;
	int err;

	msg = new_request(m, LAZYBOOT_CMD_SESSION_NEW, 0);
	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, LAZYBOOT_A_SESSION_PID, (uint32_t)pid) ||
	    nla_put_u32(msg, LAZYBOOT_A_SESSION_UFFD, (uint32_t)uffd) ||
	    (deadline_ms &&
	     nla_put_u32(msg, LAZYBOOT_A_SESSION_DEADLINE_MS, deadline_ms))) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	err = transact(m, msg, &req);
	if (!err && !req.got)
		err = -EPROTO;
	if (!err)
		*id = req.id;
	return err;
}

static int id_request(struct lzb_module *m, uint8_t cmd, uint32_t id,
		      struct request *req)
{
	struct nl_msg *msg = new_request(m, cmd, 0);

	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, LAZYBOOT_A_SESSION_ID, id)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	return transact(m, msg, req);
}

int lzb_session_attach(struct lzb_module *m, uint32_t id)
{
	struct request req = { .parse = parse_attach, .fd = -1 };
	int err;

	err = id_request(m, LAZYBOOT_CMD_SESSION_ATTACH, id, &req);
	if (!err && !req.got)
		err = -EPROTO;
	return err ? err : req.fd;
}

int lzb_session_close(struct lzb_module *m, uint32_t id)
{
	struct request req = { .parse = parse_info };

	return id_request(m, LAZYBOOT_CMD_SESSION_CLOSE, id, &req);
}

int lzb_session_get(struct lzb_module *m, uint32_t id,
		    struct lzb_session_info *info)
{
	struct request req = { .parse = parse_info, .info = info };
	int err;

	err = id_request(m, LAZYBOOT_CMD_SESSION_GET, id, &req);
	if (!err && !req.got)
		err = -EPROTO;
	return err;
}

int lzb_session_list(struct lzb_module *m,
		     int (*fn)(const struct lzb_session_info *, void *),
		     void *arg)
{
	struct request req = { .parse = parse_list, .fn = fn, .arg = arg };
	struct nl_msg *msg;
	int err;

	msg = new_request(m, LAZYBOOT_CMD_SESSION_GET, NLM_F_DUMP);
	if (!msg)
		return -ENOMEM;
	err = transact(m, msg, &req);
	if (err)
		return err;
	return req.stop ? req.stop : req.count;
}

int lzb_milestone(struct lzb_module *m, uint32_t id, uint32_t milestone,
		  uint64_t user_ts_ns, uint64_t *kernel_ts_ns)
{
	struct request req = { .parse = parse_milestone };
	struct nl_msg *msg;
	int err;

	msg = new_request(m, LAZYBOOT_CMD_MILESTONE, 0);
	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, LAZYBOOT_A_SESSION_MILESTONE, milestone) ||
	    (id && nla_put_u32(msg, LAZYBOOT_A_SESSION_ID, id)) ||
	    (user_ts_ns &&
	     nla_put_u64(msg, LAZYBOOT_A_SESSION_USER_TS_NS, user_ts_ns))) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	err = transact(m, msg, &req);
	if (!err && !req.got)
		err = -EPROTO;
	if (!err && kernel_ts_ns)
		*kernel_ts_ns = req.kernel_ts_ns;
	return err;
}

int lzb_session_event_recv(struct lzb_module *m, struct lzb_session_event *ev,
			   int timeout_ms)
{
	struct request req = { .parse = parse_event, .event = ev };
	struct pollfd pfd = { .fd = lzb_module_fd(m), .events = POLLIN };
	int err;

	memset(ev, 0, sizeof(*ev));
	while (!req.got) {
		err = poll(&pfd, 1, timeout_ms);
		if (err < 0)
			return -errno;
		if (err == 0)
			return -ETIMEDOUT;
		err = lzb_genl_receive(&m->g, on_reply, &req);
		if (err)
			return err;
	}
	return 0;
}

const char *lzb_session_state_name(uint32_t state)
{
	switch (state) {
	case LAZYBOOT_SESSION_STATE_ATTACHED:
		return "attached";
	case LAZYBOOT_SESSION_STATE_ORPHANED:
		return "orphaned";
	case LAZYBOOT_SESSION_STATE_KILLED:
		return "killed";
	case LAZYBOOT_SESSION_STATE_CLOSED:
		return "closed";
	default:
		return "unknown";
	}
}
