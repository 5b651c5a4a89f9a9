// SPDX-License-Identifier: LGPL-2.1-or-later
/* The sandboxed child: fork, drop everything, filter, run (fetch_sandbox.h). */
#include "fetch/fetch_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fetch/fetch_internal.h"
#include "util/lzb_error.h"

#define SANDBOX_FD 3
#define NOBODY_ID 65534
#define READY_TIMEOUT_MS 10000

/* Which uid and gid the child runs as. */
static int pick_user(const char *user, uid_t *uid, gid_t *gid,
		     struct lzb_err *err)
{
	struct passwd *pw = getpwnam(user ? user : LZB_SANDBOX_USER);

	if (!pw && !user)
		pw = getpwnam("nobody");
	if (!pw) {
		if (user)
			return lzb_errf(err, "fetch sandbox: no user '%s'",
					user);
		*uid = NOBODY_ID;
		*gid = NOBODY_ID;
		return 0;
	}
	if (!pw->pw_uid || !pw->pw_gid)
		return lzb_errf(err, "fetch sandbox: user '%s' is root's uid "
				"or gid; it must be unprivileged", pw->pw_name);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* Every fd but the socket (as fd 3) and stderr; stdin, stdout /dev/null. */
static int close_fds(int sock, struct lzb_err *err)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0)
		return lzb_errf(err, "fetch sandbox: /dev/null: %s",
				strerror(errno));
	if (sock != SANDBOX_FD && dup2(sock, SANDBOX_FD) < 0)
		return lzb_errf(err, "fetch sandbox: dup2: %s",
				strerror(errno));
	if (syscall(SYS_close_range, SANDBOX_FD + 1, ~0U, 0)) {
		long max = sysconf(_SC_OPEN_MAX);

		for (int fd = SANDBOX_FD + 1; fd < max; fd++)
			close(fd);
	}
	return 0;
}

/* No capability left in any set, then the unprivileged ids. */
static int drop_privileges(uid_t uid, gid_t gid, struct lzb_err *err)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = { { 0 } };
	bool root = geteuid() == 0;

	if (root) {
		if (setgroups(0, NULL) || setresgid(gid, gid, gid))
			return lzb_errf(err, "fetch sandbox: gid %u: %s",
					(unsigned int)gid, strerror(errno));
		for (int cap = 0; cap <= 63; cap++)
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) &&
			    errno != EINVAL)
				return lzb_errf(err, "fetch sandbox: cannot "
						"drop capability %d from the "
						"bounding set: %s", cap,
						strerror(errno));
		if (setresuid(uid, uid, uid))
			return lzb_errf(err, "fetch sandbox: uid %u: %s",
					(unsigned int)uid, strerror(errno));
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capset, &hdr, data))
		return lzb_errf(err, "fetch sandbox: capset: %s",
				strerror(errno));
	if (root && (!getuid() || !geteuid()))
		return lzb_errf(err, "fetch sandbox: still root");
	return 0;
}

/*
 * C's PREPARE, still privileged, with the child's uid and gid as the fs
 * ids: what it makes is owned by them.  A socket's owner is the fs uid at
 * its making, and is what a firewall rule on the uid (nft meta skuid)
 * matches: made as root, it would pass a rule meant for the child.  A
 * non-zero fs uid takes away only the file capabilities, none PREPARE
 * needs.
 */
static int prepare(const struct lzb_sandbox_child *c, uid_t uid, gid_t gid,
		   struct lzb_err *err)
{
	bool root = geteuid() == 0;
	uid_t fsuid = 0;
	gid_t fsgid = 0;
	int ret;

	if (root) {
		fsgid = (gid_t)setfsgid(gid);
		fsuid = (uid_t)setfsuid(uid);
		if ((uid_t)setfsuid((uid_t)-1) != uid)
			return lzb_errf(err, "fetch sandbox: setfsuid %u "
					"failed", (unsigned int)uid);
	}
	ret = c->prepare(c->arg, err);
	if (root) {
		setfsuid(fsuid);
		setfsgid(fsgid);
	}
	return ret;
}

static void reset_signals(void)
{
	sigset_t all;

	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

static void say_ready(const char *why)
{
	uint32_t type = LZB_WIRE_READY;
	char msg[sizeof(type) + sizeof(((struct lzb_err *)0)->msg)];
	size_t n = why ? strnlen(why, sizeof(msg) - sizeof(type)) : 0;

	memcpy(msg, &type, sizeof(type));
	if (n)
		memcpy(msg + sizeof(type), why, n);
	send(SANDBOX_FD, msg, sizeof(type) + n, MSG_NOSIGNAL);
}

/* In the child: never returns. */
static void child(const struct lzb_sandbox_child *c, int sock, uid_t uid,
		  gid_t gid, pid_t parent)
{
	struct lzb_err err = { { 0 } };

	reset_signals();
	if (close_fds(sock, &err))
		goto fail;
	if (c->prepare && prepare(c, uid, gid, &err))
		goto fail;
	if (drop_privileges(uid, gid, &err))
		goto fail;
	/* Set after the uid change, which clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) || getppid() != parent)
		_exit(1);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) {
		lzb_errf(&err, "fetch sandbox: prctl: %s", strerror(errno));
		goto fail;
	}
	prctl(PR_SET_NAME, "lzb-fetcher", 0, 0, 0);
	if (chdir("/")) {
		lzb_errf(&err, "fetch sandbox: chdir /: %s", strerror(errno));
		goto fail;
	}
	if (c->setup && c->setup(c->arg, &err))
		goto fail;
	if (lzb_sandbox_seccomp(&err))
		goto fail;
	say_ready(NULL);
	/* _exit: no atexit handler (a sanitizer's leak check ptraces). */
	_exit(c->main(SANDBOX_FD, c->arg));
fail:
	say_ready(err.msg[0] ? err.msg : "fetch sandbox: set-up failed");
	_exit(1);
}

/* The child's first word: READY, or why it is not. */
static int wait_ready(int sock, pid_t pid, struct lzb_err *err)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	char msg[sizeof(uint32_t) + sizeof(err->msg)];
	uint32_t type;
	ssize_t n;
	int status;

	if (poll(&p, 1, READY_TIMEOUT_MS) <= 0)
		return lzb_errf(err, "fetch sandbox: the child (pid %d) did not "
				"start within %d ms", (int)pid,
				READY_TIMEOUT_MS);
	n = recv(sock, msg, sizeof(msg) - 1, 0);
	if (n < (ssize_t)sizeof(type)) {
		if (waitpid(pid, &status, 0) == pid && WIFSIGNALED(status))
			return lzb_errf(err, "fetch sandbox: the child (pid "
					"%d) was killed by signal %d while "
					"setting up", (int)pid,
					WTERMSIG(status));
		return lzb_errf(err, "fetch sandbox: the child (pid %d) ended "
				"while setting up", (int)pid);
	}
	memcpy(&type, msg, sizeof(type));
	if (type != LZB_WIRE_READY)
		return lzb_errf(err, "fetch sandbox: the child's first message "
				"is not READY");
	if (n > (ssize_t)sizeof(type)) {
		msg[n] = '\0';
		return lzb_errf(err, "%s", msg + sizeof(type));
	}
	return 0;
}

int lzb_sandbox_spawn(const struct lzb_sandbox_child *c, pid_t *pid,
		      int *sock, struct lzb_err *err)
{
	pid_t parent = getpid(), p;
	uid_t uid = NOBODY_ID;
	gid_t gid = NOBODY_ID;
	int sv[2];

	if (pick_user(c->user, &uid, &gid, err))
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return lzb_errf(err, "fetch sandbox: socketpair: %s",
				strerror(errno));
	/* Room for a few DATA messages in flight each way (as root). */
	for (int i = 0; i < 2; i++) {
		int sz = 4 << 20;

		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	}
	fflush(NULL);
	p = fork();
	if (p < 0) {
		close(sv[0]);
		close(sv[1]);
		return lzb_errf(err, "fetch sandbox: fork: %s",
				strerror(errno));
	}
	if (!p)
		child(c, sv[1], uid, gid, parent);
	close(sv[1]);
	if (wait_ready(sv[0], p, err)) {
		close(sv[0]);
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
		return -1;
	}
	*pid = p;
	*sock = sv[0];
	return 0;
}
