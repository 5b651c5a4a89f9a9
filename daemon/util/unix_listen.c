// SPDX-License-Identifier: LGPL-2.1-or-later
/* The pager's local sockets and who may use them (unix_listen.h). */
#include "util/unix_listen.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

/* How many parents a chain may have before we give up (a loop). */
#define MAX_DEPTH 4096

static int dir_is_private(int dfd)
{
	struct stat st;

	if (fstat(dfd, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077))
		return -EPERM;
	return 0;
}

int lzb_private_dir(const char *dir, struct lzb_err *err)
{
	int dfd;
	struct stat st;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return lzb_errf(err, "%s: cannot create directory: %s", dir,
				strerror(errno));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return lzb_errf(err, "%s: %s", dir, strerror(errno == ELOOP ?
				ENOTDIR : errno));
	if (fstat(dfd, &st)) {
		close(dfd);
		return lzb_errf(err, "%s: %s", dir, strerror(errno));
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022)) {
		close(dfd);
		return lzb_errf(err, "%s: owned by uid %u with mode %04o: the "
				"restore's directory must be owned by uid %u "
				"and writable by no one else (it is then made "
				"0700)", dir, (unsigned int)st.st_uid,
				(unsigned int)(st.st_mode & 07777),
				(unsigned int)geteuid());
	}
	if ((st.st_mode & 077) && fchmod(dfd, 0700)) {
		close(dfd);
		return lzb_errf(err, "%s: cannot make it 0700: %s", dir,
				strerror(errno));
	}
	if (st.st_mode & 077)
		fprintf(stderr, "lazyboot: %s: mode %04o made 0700\n", dir,
			(unsigned int)(st.st_mode & 07777));
	close(dfd);
	return 0;
}

int lzb_unix_listen(const char *dir, const char *name, int type, char *path,
		    size_t pathlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int n, fd, dfd, err;
	mode_t old;

	n = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(addr.sun_path) ||
	    (path && (size_t)n >= pathlen))
		return -ENAMETOOLONG;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	err = dir_is_private(dfd);
	close(dfd);
	if (err)
		return err;
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(addr.sun_path);
	/* The socket file's mode comes from the umask at bind(2). */
	old = umask(0177);
	err = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ? -errno : 0;
	umask(old);
	if (!err && listen(fd, 4))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	if (path)
		snprintf(path, pathlen, "%s", addr.sun_path);
	return fd;
}

/* The parent of PID from /proc/PID/stat (field 4), or -errno. */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	int ppid = -1;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* The name may hold spaces and parentheses: after the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -EPROTO;
	return ppid;
}

bool lzb_pid_descends_from(pid_t pid, pid_t ancestor)
{
	for (int depth = 0; pid > 0 && depth < MAX_DEPTH; depth++) {
		if (pid == ancestor)
			return true;
		pid = parent_of(pid);
	}
	return false;
}

int lzb_peer_check(int fd, pid_t ancestor, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return -errno;
	if (len != sizeof(cred) || cred.uid != geteuid() || cred.pid <= 0)
		return -EACCES;
	if (ancestor > 0 && !lzb_pid_descends_from(cred.pid, ancestor))
		return -EACCES;
	if (pid)
		*pid = cred.pid;
	return 0;
}

int lzb_pidfd_open(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : fd;
}

int lzb_pidfd_kill(int pidfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) ? -errno : 0;
}

int lzb_pidfd_of_descendant(pid_t pid, pid_t ancestor)
{
	int pidfd = lzb_pidfd_open(pid);
	struct pollfd p;

	if (pidfd < 0)
		return pidfd;
	if (!lzb_pid_descends_from(pid, ancestor)) {
		close(pidfd);
		return -EACCES;
	}
	/* Still alive: the tree just read was this task's. */
	p = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	if (poll(&p, 1, 0) != 0) {
		close(pidfd);
		return -ESRCH;
	}
	return pidfd;
}
