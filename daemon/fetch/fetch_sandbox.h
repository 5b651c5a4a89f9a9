/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A child process that may read hostile bytes without being able to hurt
 * its root parent (docs/security.md, "The sandboxed fetcher"):
 *
 *  - forked, every fd closed but its end of a SOCK_SEQPACKET socketpair
 *    (fd 3) and stderr; stdin and stdout are /dev/null;
 *  - an unprivileged uid and gid, no supplementary groups: USER, else
 *    `lazyboot-fetch` if that user exists, else `nobody` (65534);
 *  - every capability gone: effective, permitted, inheritable, ambient
 *    and the bounding set;
 *  - no_new_privs, not dumpable (so not ptrace-attachable, no core, its
 *    /proc files root's), killed when the parent dies;
 *  - a seccomp filter (fetch_seccomp.c) allowing what sockets, TLS, name
 *    resolution and the fetch loop need; any other syscall (ptrace,
 *    process_vm_readv, execve, ...) kills the process: SIGSYS.
 *
 * PREPARE runs first, with the parent's capabilities still and before
 * anything is read, only to make kernel objects the loop needs a
 * capability for (the TFTP sockets whose receive buffer is forced past
 * net.core.rmem_max: tftp_socket.h); the child's uid and gid are its fs
 * ids then, so what it makes is owned by them, not by root.
 * SETUP runs after the privileges are gone and before the filter (so
 * one-time initialisation may use more syscalls than the loop), MAIN
 * after; the parent gets READY (or the reason it failed) before this
 * returns.  The fetcher (opts.sandbox) is the one production user; the
 * sandbox test passes its own MAIN to try what a compromised child
 * would.
 */
#ifndef LAZYBOOT_FETCH_SANDBOX_H
#define LAZYBOOT_FETCH_SANDBOX_H

#include <sys/types.h>

struct lzb_err;

struct lzb_sandbox_child {
	const char *user;	/* NULL: lazyboot-fetch, else nobody */
	int (*prepare)(void *arg, struct lzb_err *err);	/* optional */
	int (*setup)(void *arg, struct lzb_err *err);	/* optional */
	int (*main)(int sock, void *arg);	/* its return: exit status */
	void *arg;
};

/* The sandbox's own user when it exists. */
#define LZB_SANDBOX_USER "lazyboot-fetch"

/*
 * Start C's child.  0 with *PID and *SOCK (the parent's end, close-on-
 * exec), or -1 with ERR (the child's own reason when it got that far).
 */
int lzb_sandbox_spawn(const struct lzb_sandbox_child *c, pid_t *pid,
		      int *sock, struct lzb_err *err);

/* Install the filter on the calling process (the child, last step). */
int lzb_sandbox_seccomp(struct lzb_err *err);

#endif
