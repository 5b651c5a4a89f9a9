/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The restore side of CRIU's lazy-pages socket, served in place of
 * `criu lazy-pages`.  `criu restore --lazy-pages` connects to
 * WORKDIR/lazy-pages.socket and sends, per restored task, its pid in the
 * image (a plain int) followed by its userfaultfd (one byte carrying
 * SCM_RIGHTS); a zombie is sent as its negated pid with no fd; and once
 * all tasks are restored, the int 0x52535446 ("RSTF").  Faults arrive
 * before RSTF, so this is served from the same event loop as the faults.
 */
#ifndef LAZYBOOT_CRIU_LAZY_SOCKET_H
#define LAZYBOOT_CRIU_LAZY_SOCKET_H

#include <stdbool.h>
#include <sys/types.h>

#define LZB_LAZY_SOCKET_NAME "lazy-pages.socket"
#define LZB_RESTORE_FINISHED 0x52535446

struct lzb_lazy_socket;

struct lzb_lazy_socket_ops {
	/*
	 * A task's userfaultfd arrived; the callee owns uffd and pidfd,
	 * whatever it returns.  img_pid
	 * is the pid CRIU sent (the image's, virtual in a restored pid
	 * namespace), real_pid the sending task's pid in the caller's pid
	 * namespace (from the kernel's credentials, which every message
	 * must carry), pidfd a pidfd of that task taken once it was seen
	 * to descend from criu: signal it through that, never by pid.
	 */
	int (*task)(void *ctx, int img_pid, int real_pid, int pidfd, int uffd);
	/* A zombie of the image was restored (it has no memory). */
	int (*zombie)(void *ctx, int img_pid);
	/* CRIU sent the restore-finished marker. */
	int (*finished)(void *ctx);
};

/*
 * Listen on DIR/lazy-pages.socket (an existing file there is replaced;
 * DIR must be private: lzb_private_dir()); mode 0600.
 */
int lzb_lazy_socket_listen(const char *dir, struct lzb_lazy_socket **sock);
/*
 * The criu whose connection is taken: a peer that is not CRIU (running as
 * our uid, root) or its descendant is hung up on at once, and the socket
 * goes on listening; a task message whose sender is not one of them stops
 * the restore (-EACCES from lzb_lazy_socket_process()).  Until this is
 * called, every connection is hung up on.
 */
void lzb_lazy_socket_allow(struct lzb_lazy_socket *sock, pid_t criu);
void lzb_lazy_socket_close(struct lzb_lazy_socket *sock);

/* Readable when lzb_lazy_socket_process() has work. */
int lzb_lazy_socket_fd(const struct lzb_lazy_socket *sock);

/*
 * Accept CRIU's connection or read what it sent, calling ops for each
 * message; returns at once when nothing is queued.  Returns 0, or a
 * negative errno naming a protocol violation (-EPROTO, also for a task
 * message without credentials), a peer or sender that is not our criu's
 * (-EACCES), or a hang-up before the restore-finished marker (-EPIPE).
 */
int lzb_lazy_socket_process(struct lzb_lazy_socket *sock,
			    const struct lzb_lazy_socket_ops *ops, void *ctx);

bool lzb_lazy_socket_finished(const struct lzb_lazy_socket *sock);

#endif
