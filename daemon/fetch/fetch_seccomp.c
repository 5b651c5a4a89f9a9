// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The sandboxed fetcher's seccomp filter (libseccomp): an allow-list of
 * what the fetch loop, libcurl, OpenSSL, glibc's resolver (its threads
 * included) and the TFTP client call.  Anything else kills the whole
 * process (SECCOMP_RET_KILL_PROCESS, seen by the parent as SIGSYS), as
 * does a call made for another architecture (x32, i386).  A few calls
 * are answered with an error instead, because libraries try them and
 * cope: clone3 (glibc falls back to clone, whose flags a filter can see),
 * an AF_UNIX socket (glibc's try of nscd), isatty()'s ioctl.  Sockets are
 * IPv4, IPv6 and NETLINK_ROUTE (getaddrinfo's AI_ADDRCONFIG) only.  Files open read-only (opening one to write,
 * create or truncate kills).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fetch/fetch_sandbox.h"
#include "util/lzb_error.h"

/* Allowed with any arguments. */
static const char *const allowed[] = {
	/* memory, threads, signals, time */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
	"futex", "set_robust_list", "get_robust_list", "rseq",
	"set_tid_address", "exit", "exit_group", "restart_syscall",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
	"clock_gettime", "clock_getres", "gettimeofday", "time",
	"nanosleep", "clock_nanosleep", "sched_yield", "sched_getaffinity",
	"getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
	"getegid", "getgroups", "getrandom", "uname", "sysinfo",
	/* fds: the socket to the parent, epoll, timers, wake-ups */
	"read", "readv", "pread64", "write", "writev", "close", "lseek",
	"fcntl", "dup", "dup2", "dup3", "pipe", "pipe2", "eventfd2",
	"socketpair", "epoll_create", "epoll_create1", "epoll_ctl",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll",
	"select", "pselect6", "timerfd_create", "timerfd_settime",
	"timerfd_gettime",
	/* network */
	"connect", "bind", "getsockname", "getpeername", "setsockopt",
	"getsockopt", "shutdown", "sendto", "recvfrom", "sendmsg",
	"recvmsg", "sendmmsg", "recvmmsg",
	/* reading configuration: CA store, resolv.conf, NSS modules */
	"fstat", "newfstatat", "stat", "lstat", "statx", "statfs",
	"fstatfs", "access", "faccessat", "faccessat2", "readlink",
	"readlinkat", "getdents64", "getcwd",
};

static int add(scmp_filter_ctx ctx, uint32_t action, const char *name,
	       unsigned int n, const struct scmp_arg_cmp *cmp,
	       struct lzb_err *err)
{
	int nr = seccomp_syscall_resolve_name(name);
	int ret;

	if (nr == __NR_SCMP_ERROR)
		return 0;	/* not a syscall on this architecture */
	ret = seccomp_rule_add_array(ctx, action, nr, n, cmp);
	if (ret)
		return lzb_errf(err, "fetch sandbox: seccomp rule for %s: %s",
				name, strerror(-ret));
	return 0;
}

/* The calls allowed only with some arguments, or answered with errors. */
static int add_conditional(scmp_filter_ctx ctx, struct lzb_err *err)
{
	const uint64_t rdonly_mask = O_ACCMODE | O_CREAT | O_TRUNC;
	struct scmp_arg_cmp thread = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD,
					     CLONE_THREAD);
	struct scmp_arg_cmp open_ro = SCMP_A1(SCMP_CMP_MASKED_EQ, rdonly_mask,
					      O_RDONLY);
	struct scmp_arg_cmp openat_ro = SCMP_A2(SCMP_CMP_MASKED_EQ,
						rdonly_mask, O_RDONLY);
	struct scmp_arg_cmp inet = SCMP_A0(SCMP_CMP_EQ, AF_INET);
	struct scmp_arg_cmp inet6 = SCMP_A0(SCMP_CMP_EQ, AF_INET6);
	struct scmp_arg_cmp route[2] = {
		SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
		SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE),
	};
	struct scmp_arg_cmp unix_sock = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
	struct scmp_arg_cmp fionread = SCMP_A1(SCMP_CMP_EQ, FIONREAD);
	struct scmp_arg_cmp fionbio = SCMP_A1(SCMP_CMP_EQ, FIONBIO);
	struct scmp_arg_cmp tcgets = SCMP_A1(SCMP_CMP_EQ, TCGETS);
	struct scmp_arg_cmp self = SCMP_A0(SCMP_CMP_EQ, (uint64_t)getpid());
	struct scmp_arg_cmp get_only = SCMP_A2(SCMP_CMP_EQ, 0);

	if (add(ctx, SCMP_ACT_ALLOW, "clone", 1, &thread, err) ||
	    add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL, err) ||
	    add(ctx, SCMP_ACT_ALLOW, "open", 1, &open_ro, err) ||
	    add(ctx, SCMP_ACT_ALLOW, "openat", 1, &openat_ro, err) ||
	    add(ctx, SCMP_ACT_ALLOW, "socket", 1, &inet, err) ||
	    add(ctx, SCMP_ACT_ALLOW, "socket", 1, &inet6, err) ||
	    add(ctx, SCMP_ACT_ALLOW, "socket", 2, route, err) ||
	    /* glibc asks nscd first, over AF_UNIX: "not there" */
	    add(ctx, SCMP_ACT_ERRNO(EACCES), "socket", 1, &unix_sock, err) ||
	    add(ctx, SCMP_ACT_ALLOW, "ioctl", 1, &fionread, err) ||
	    add(ctx, SCMP_ACT_ALLOW, "ioctl", 1, &fionbio, err) ||
	    /* isatty() */
	    add(ctx, SCMP_ACT_ERRNO(ENOTTY), "ioctl", 1, &tcgets, err) ||
	    /* abort() and raise(): a signal to itself only */
	    add(ctx, SCMP_ACT_ALLOW, "tgkill", 1, &self, err) ||
	    /* reading a limit, never setting one */
	    add(ctx, SCMP_ACT_ALLOW, "prlimit64", 1, &get_only, err))
		return -1;
	return 0;
}

int lzb_sandbox_seccomp(struct lzb_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int ret;

	if (!ctx)
		return lzb_errf(err, "fetch sandbox: seccomp_init failed");
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
			       SCMP_ACT_KILL_PROCESS);
	if (ret) {
		lzb_errf(err, "fetch sandbox: seccomp: %s", strerror(-ret));
		goto fail;
	}
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (add(ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL, err))
			goto fail;
	if (add_conditional(ctx, err))
		goto fail;
	ret = seccomp_load(ctx);
	if (ret) {
		lzb_errf(err, "fetch sandbox: cannot load the seccomp filter: "
			 "%s", strerror(-ret));
		goto fail;
	}
	seccomp_release(ctx);
	return 0;
fail:
	seccomp_release(ctx);
	return -1;
}
