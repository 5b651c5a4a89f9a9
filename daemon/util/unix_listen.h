/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pager's local sockets: listening unix sockets at DIR/NAME that only
 * their owner can connect to, and the check of who did connect.
 */
#ifndef LAZYBOOT_UNIX_LISTEN_H
#define LAZYBOOT_UNIX_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/lzb_error.h"

/*
 * Replace whatever is at DIR/NAME with a listening socket of TYPE
 * (SOCK_STREAM or SOCK_SEQPACKET; SOCK_CLOEXEC is added, flags such as
 * SOCK_NONBLOCK may be or'ed in), backlog 4, mode 0600 whatever the umask
 * (bound under umask 0177).  DIR must be private already (owned by our
 * uid, mode 0700: lzb_private_dir()), else -EPERM.  Its path
 * goes to PATH if not NULL.  The fd, or -errno (-ENAMETOOLONG when the
 * path does not fit).
 */
int lzb_unix_listen(const char *dir, const char *name, int type, char *path,
		    size_t pathlen);

/*
 * Make DIR (created 0700 if missing) the private home of the sockets and
 * a restore's files: a directory, not a symlink, owned by this process's
 * effective uid, mode 0700.  One that only its owner could write is made
 * 0700 (said on stderr); one that is another uid's or that group or other
 * may write is refused, never chmod'ed: whatever another user put in it
 * would stay.  0, or -1 with ERR naming DIR, its owner and mode.
 */
int lzb_private_dir(const char *dir, struct lzb_err *err);

/*
 * The peer of the connected unix socket FD passes when it runs as this
 * process's effective uid (root, for the pager) and, if ANCESTOR > 0, is
 * ANCESTOR or one of its descendants.  0 with *PID the peer's pid (in our
 * PID namespace), or -EACCES, or -errno.
 */
int lzb_peer_check(int fd, pid_t ancestor, pid_t *pid);

/*
 * Is PID ANCESTOR or its descendant?  The parent chain in /proc (our PID
 * namespace's view: a task whose parent we cannot see ends the chain).
 */
bool lzb_pid_descends_from(pid_t pid, pid_t ancestor);

/*
 * A pidfd for PID taken only while it is ANCESTOR or a descendant (the
 * check is made with the pidfd open, and the task is still alive after
 * it: the pid was not reused in between).  The pidfd, or -EACCES, or
 * -errno (-ESRCH: gone).
 */
int lzb_pidfd_of_descendant(pid_t pid, pid_t ancestor);

/* pidfd_open(2) and pidfd_send_signal(2), through syscall(2). */
int lzb_pidfd_open(pid_t pid);
int lzb_pidfd_kill(int pidfd, int sig);

#endif
