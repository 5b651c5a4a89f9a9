/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pager's end of the link with the CRIU plugin (lazyboot_plugin.so)
 * running inside the `criu restore` the pager started.  The pager listens
 * on WORKDIR/lazyboot-pager.socket and names it in criu's environment
 * (LAZYBOOT_PAGER_SOCKET); the plugin connects at restore init (and
 * refuses a lazy restore when it cannot: no pager would serve its faults),
 * then sends text lines:
 *
 *   hello CRIU_PID          restore init: a pager serves this restore
 *   task REAL_PID           RESUME_DEVICES_LATE: a restored process, by
 *                           its pid in criu's (= the pager's) namespace
 *   exit RET                restore exit: 0 success, else CRIU's error
 *
 * and waits after each task line for the pager's verdict, one line:
 *
 *   ok                      the task may run
 *   refuse REASON           it must not (the plugin kills it)
 *
 * The pager maps each real pid to the pid the image knows it by (the
 * innermost NSpid: when CRIU restores into a new PID namespace, the lazy
 * socket's pids are that namespace's, not the pager's).
 */
#ifndef LAZYBOOT_PLUGIN_LINK_H
#define LAZYBOOT_PLUGIN_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define LZB_PLUGIN_SOCKET_ENV	"LAZYBOOT_PAGER_SOCKET"
#define LZB_PLUGIN_SOCKET_NAME	"lazyboot-pager.socket"
#define LZB_PLUGIN_VERDICT_MAX	512	/* bytes in a verdict line */
#define LZB_PLUGIN_VERDICT_MS	120000	/* the plugin's wait for one */

struct lzb_plugin_task {
	int real_pid;		/* in the pager's PID namespace */
	int img_pid;		/* in the image (innermost NSpid) */
	int pidfd;		/* taken when reported; owned by its holder */
};

struct lzb_plugin_link;
struct lzb_err;

/*
 * Decides whether restored task REAL_PID (IMG_PID in the image, 0 when
 * unknown) may run: 0, or -1 with ERR saying why not.
 */
typedef int lzb_plugin_verify_fn(void *ctx, int real_pid, int img_pid,
				 struct lzb_err *err);

/*
 * Listen on DIR/lazyboot-pager.socket (mode 0600; DIR must be private:
 * lzb_private_dir()); 0 or -errno.
 */
int lzb_plugin_link_listen(const char *dir, struct lzb_plugin_link **link);
/*
 * The criu whose plugin may connect: a peer that is not CRIU (running as
 * our uid, root) or its descendant is hung up on at once, and the link
 * goes on listening until criu's plugin connects (then it stops
 * listening).  A task line naming a pid that is not criu's descendant is
 * refused like a task that fails the verdict.  Until this is called,
 * every connection is hung up on.
 */
void lzb_plugin_link_allow(struct lzb_plugin_link *link, pid_t criu);
void lzb_plugin_link_close(struct lzb_plugin_link *link);

/* The socket's path, for LAZYBOOT_PAGER_SOCKET. */
const char *lzb_plugin_link_path(const struct lzb_plugin_link *link);

/* Readable when lzb_plugin_link_process() has work. */
int lzb_plugin_link_fd(const struct lzb_plugin_link *link);

/* Every task line from now on gets VERIFY's verdict (default: "ok"). */
void lzb_plugin_link_set_verify(struct lzb_plugin_link *link,
				lzb_plugin_verify_fn *verify, void *ctx);

/*
 * Accept the plugin or read its lines; 0, -EPROTO on a bad line, or
 * -EPERM once a task was refused (lzb_plugin_link_refusal() says why).
 */
int lzb_plugin_link_process(struct lzb_plugin_link *link);

/* Why the first refused task was refused, or NULL. */
const char *lzb_plugin_link_refusal(const struct lzb_plugin_link *link);

bool lzb_plugin_link_hello(const struct lzb_plugin_link *link);
/* The restored processes reported so far. */
size_t lzb_plugin_link_tasks(const struct lzb_plugin_link *link,
			     const struct lzb_plugin_task **tasks);
/* 1 with *ret once the plugin reported criu's result, else 0. */
int lzb_plugin_link_result(const struct lzb_plugin_link *link, int *ret);

#endif
