/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One generic netlink socket to lazyboot.ko's "lazyboot" family, through
 * libnl-genl-3: opening it, building a request, and a request's exchange
 * (send, then read the replies up to the ACK, the end of a dump or the
 * kernel's error).  module_client (the info query) and module_session
 * (the restore sessions and their events) both talk through it.  Errors
 * are negative errnos, the kernel's own where it gave one.
 */
#ifndef LAZYBOOT_MODULE_GENL_H
#define LAZYBOOT_MODULE_GENL_H

#include <stdint.h>

struct nl_msg;
struct nl_sock;

struct lzb_genl {
	struct nl_sock *sock;
	int family;		/* the family's id, resolved at open */
};

/*
 * A reply (one message) for the caller: 0 to go on, or a negative errno
 * that ends the exchange and is returned from it.
 */
typedef int (*lzb_genl_reply_fn)(struct nl_msg *msg, void *arg);

/* Connect and resolve the family: -ENOENT when lazyboot.ko is not loaded. */
int lzb_genl_open(struct lzb_genl *g);
void lzb_genl_close(struct lzb_genl *g);

/* A request for CMD with FLAGS (NLM_F_DUMP), or NULL when out of memory. */
struct nl_msg *lzb_genl_request(const struct lzb_genl *g, uint8_t cmd,
				int flags);

/*
 * Send MSG (consumed) and pass each reply to FN until the ACK, the end of
 * a dump or an error.  nl_recvmsgs() reads one datagram at a time, and a
 * reply and its ACK are two: it keeps reading, or the ACK would answer the
 * next request.
 */
int lzb_genl_transact(struct lzb_genl *g, struct nl_msg *msg,
		      lzb_genl_reply_fn fn, void *arg);

/* Read what is waiting (multicast events) and pass each message to FN. */
int lzb_genl_receive(struct lzb_genl *g, lzb_genl_reply_fn fn, void *arg);

/* A (negative) libnl error as the negative errno callers act on. */
int lzb_nl_to_errno(int nlerr);

#endif
