// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lazyboot_plugin.so: loaded by `criu dump` and `criu restore --libdir`.
 *
 * At restore init, before CRIU opens or maps anything, it checks that every
 * file the dumped tasks mapped or held open (lazyboot-filedeps.txt, written
 * by `lazyboot capture` into the images directory) is still the same on
 * this node: same size, and same mtime or same BLAKE2b-256 content.  A
 * restore on a node whose copy differs is refused, naming the file: CRIU
 * itself would map the new file under the old memory image (only a size
 * change is caught by CRIU, and only for some files).
 *
 * Why the list is written by capture and not by a dump hook: CRIU 3.17's
 * hooks fire only for what CRIU cannot handle itself (DUMP_EXT_FILE for
 * unsupported fds, HANDLE_DEVICE_VMA for device mappings); regular files
 * and file-backed mappings never reach a plugin.  Reading them back from
 * the images would need a parser of CRIU's reg-files and mm images.
 * `lazyboot capture` dumps with --leave-stopped and reads /proc of the
 * stopped tasks instead: the same files, in the same state.
 *
 * LAZYBOOT_SKIP_FILE_CHECK=1 in criu's environment turns the check off.
 *
 * The hand-off to the pager (daemon/criu/plugin_link.h): a lazy restore
 * (`criu restore --lazy-pages`) is served by the lazyboot pager that
 * started criu and named its control socket in LAZYBOOT_PAGER_SOCKET.  At
 * restore init the plugin connects to it and refuses the restore when it
 * cannot: without a pager the restored tasks would block on their first
 * fault.  RESUME_DEVICES_LATE(pid) sends the real pid of each restored
 * process (CRIU calls it in the criu master for every live task, with the
 * pid in criu's namespace) and waits for the pager's verdict on its
 * memory, and exit sends criu's result.
 *
 * Installed in /usr/lib/criu, CRIU loads this plugin for every run, also
 * for checkpoints that have nothing to do with lazyboot.  It then stays
 * out of the way: dumps are not touched, and a restore is lazyboot's only
 * when a pager named its socket or the images are a lazyboot capture
 * (lazyboot-filedeps.txt) or boot bundle (lazyboot-orig-pagemap-*.img).
 * Any other restore, lazy or not, goes ahead without a word from here.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <criu/criu-plugin.h>

#include "capture/filedeps.h"
#include "criu/plugin_link.h"

static int pager_fd = -1;
/* This restore is lazyboot's (pager socket or lazyboot images). */
static int lazyboot_restore;

static const char *stage_name(int stage)
{
	switch (stage) {
	case CR_PLUGIN_STAGE__DUMP:
		return "dump";
	case CR_PLUGIN_STAGE__PRE_DUMP:
		return "pre-dump";
	case CR_PLUGIN_STAGE__RESTORE:
		return "restore";
	default:
		return "unknown";
	}
}

/* 0 when every file matches (or there is no list), -1 to refuse. */
static int check_filedeps(void)
{
	char line[3 * 4096 + 256], msg[4600];
	int dirfd, fd, lineno = 0, checked = 0, bad = 0;
	const char *skip = getenv("LAZYBOOT_SKIP_FILE_CHECK");
	FILE *f;

	if (skip && !strcmp(skip, "1")) {
		fprintf(stderr, "lazyboot plugin: LAZYBOOT_SKIP_FILE_CHECK=1: "
			"not checking the node's files\n");
		return 0;
	}
	dirfd = criu_get_image_dir();
	fd = openat(dirfd, LZB_FILEDEPS_NAME, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "lazyboot plugin: no %s in the images (not a "
			"lazyboot capture?): files not checked\n",
			LZB_FILEDEPS_NAME);
		return 0;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct lzb_filedep d;
		int r;

		lineno++;
		if (lineno == 1 && strncmp(line, LZB_FILEDEPS_HEADER,
					   strlen(LZB_FILEDEPS_HEADER))) {
			fprintf(stderr, "lazyboot plugin: %s: unknown format "
				"(first line is not '%s')\n", LZB_FILEDEPS_NAME,
				LZB_FILEDEPS_HEADER);
			bad = 1;
			break;
		}
		r = lzb_filedep_parse(line, &d);
		if (r == 1)
			continue;
		if (r < 0) {
			fprintf(stderr, "lazyboot plugin: %s:%d: malformed "
				"line\n", LZB_FILEDEPS_NAME, lineno);
			bad = 1;
			break;
		}
		checked++;
		if (lzb_filedep_check(&d, msg, sizeof(msg))) {
			fprintf(stderr, "lazyboot plugin: refusing to restore: "
				"the node's file differs from the one the image "
				"was captured with: %s\n", msg);
			bad = 1;
			break;
		}
	}
	fclose(f);
	if (!bad)
		fprintf(stderr, "lazyboot plugin: %d files match the "
			"capture\n", checked);
	return bad ? -1 : 0;
}

/* Whether the images directory holds files only lazyboot writes. */
static int images_are_lazyboot(void)
{
	int fd = openat(criu_get_image_dir(), ".", O_RDONLY | O_DIRECTORY |
			O_CLOEXEC), found = 0;
	struct dirent *de;
	DIR *dir;

	if (fd < 0)
		return 0;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return 0;
	}
	while (!found && (de = readdir(dir)))
		found = !strcmp(de->d_name, LZB_FILEDEPS_NAME) ||
			!strncmp(de->d_name, "lazyboot-orig-pagemap-", 22);
	closedir(dir);
	return found;
}

/* Whether this criu was started with --lazy-pages (its command line). */
static int restore_is_lazy(void)
{
	char buf[8192];
	ssize_t n;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC), lazy = 0;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
		if (!strcmp(buf + i, "--lazy-pages"))
			lazy = 1;
	}
	return lazy;
}

/* One line to the pager; never SIGPIPE, if it died the write just fails. */
static void pager_send(const char *fmt, int v)
{
	char line[64];
	int len = snprintf(line, sizeof(line), fmt, v);

	if (pager_fd >= 0 &&
	    send(pager_fd, line, (size_t)len, MSG_NOSIGNAL) != len)
		fprintf(stderr, "lazyboot plugin: cannot write to the pager: "
			"%s\n", strerror(errno));
}

/* The parent of PID (/proc/PID/stat field 4), or 0. */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	int ppid = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

/*
 * The socket named in our environment is served by the pager that started
 * this criu: an ancestor (criu's parent, or above a wrapper that forked
 * it), running as our uid (root).  Anyone else could answer "ok" for
 * tasks whose memory nobody serves.
 */
static bool pager_started_us(const char *path)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	pid_t p = getppid();

	if (getsockopt(pager_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
	    len != sizeof(cred)) {
		fprintf(stderr, "lazyboot plugin: refusing a lazy restore: "
			"cannot tell who serves %s (%s)\n", path,
			strerror(errno));
		return false;
	}
	for (int depth = 0; p > 1 && p != cred.pid && depth < 64; depth++)
		p = parent_of(p);
	if (cred.uid != geteuid() || cred.pid <= 1 || p != cred.pid) {
		fprintf(stderr, "lazyboot plugin: refusing a lazy restore: "
			"%s is served by pid %d (uid %u), not by the pager "
			"that started criu (an ancestor of pid %d, uid %u)\n",
			path, (int)cred.pid, (unsigned int)cred.uid,
			(int)getpid(), (unsigned int)geteuid());
		return false;
	}
	return true;
}

/* A lazy restore needs the pager that started this criu: connect to it. */
static int connect_pager(void)
{
	const char *path = getenv(LZB_PLUGIN_SOCKET_ENV);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (!restore_is_lazy())
		return 0;
	if (!path || !*path) {
		fprintf(stderr, "lazyboot plugin: refusing a lazy restore: no "
			"lazyboot pager serves it (%s is not set; run it "
			"through `lazyboot restore` or `lazyboot profile`)\n",
			LZB_PLUGIN_SOCKET_ENV);
		return -1;
	}
	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "lazyboot plugin: %s: path too long\n", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	pager_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (pager_fd < 0 ||
	    connect(pager_fd, (struct sockaddr *)&addr, sizeof(addr))) {
		fprintf(stderr, "lazyboot plugin: refusing a lazy restore: the "
			"lazyboot pager at %s does not answer (%s)\n", path,
			strerror(errno));
		if (pager_fd >= 0)
			close(pager_fd);
		pager_fd = -1;
		return -1;
	}
	if (!pager_started_us(path)) {
		close(pager_fd);
		pager_fd = -1;
		return -1;
	}
	pager_send("hello %d\n", (int)getpid());
	fprintf(stderr, "lazyboot plugin: the lazyboot pager at %s serves "
		"this restore\n", path);
	return 0;
}

enum verdict { RUN, KILL, PAGER_GONE };

/*
 * The pager's verdict on the task just sent: one line, "ok" or
 * "refuse REASON".  A refusal, or a pager that stays silent, is a task
 * that must not run; a pager that died is PAGER_GONE.
 */
static enum verdict pager_verdict(int pid)
{
	char line[LZB_PLUGIN_VERDICT_MAX];
	size_t len = 0;

	while (len < sizeof(line) - 1) {
		struct pollfd pfd = { .fd = pager_fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, LZB_PLUGIN_VERDICT_MS) <= 0) {
			fprintf(stderr, "lazyboot plugin: pid %d: the pager "
				"gave no verdict within %d s\n", pid,
				LZB_PLUGIN_VERDICT_MS / 1000);
			return KILL;
		}
		n = read(pager_fd, line + len, 1);
		if (n <= 0) {
			fprintf(stderr, "lazyboot plugin: pid %d: the pager "
				"died before its verdict; its keeper holds the "
				"task's uffd for a successor\n", pid);
			return PAGER_GONE;
		}
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	if (!strcmp(line, "ok"))
		return RUN;
	fprintf(stderr, "lazyboot plugin: pid %d must not run: %s\n", pid,
		strncmp(line, "refuse ", 7) ? line : line + 7);
	return KILL;
}

/*
 * Every restored task is stopped here, on its way out of the restorer:
 * the pager checks that its lazy memory is registered and still missing
 * (daemon/engine/lazy_check.h) before it may run.  CRIU 3.17 ignores
 * this hook's result, so a task that must not run is killed here, and
 * the pager, told why, fails the restore.  A pager that died meanwhile
 * cannot check: its keeper (lazyboot.ko or the holder) holds the task's
 * uffd, and the task runs as after any pager death, served by a
 * successor or killed at the keeper's deadline (docs/pager.md).
 */
static int lazyboot_resume_devices_late(int pid)
{
	if (pager_fd < 0)
		return 0;
	pager_send("task %d\n", pid);
	switch (pager_verdict(pid)) {
	case RUN:
		return 0;
	case PAGER_GONE:
		close(pager_fd);
		pager_fd = -1;
		return 0;
	default:
		kill(pid, SIGKILL);
		return -1;
	}
}

CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__RESUME_DEVICES_LATE,
			lazyboot_resume_devices_late)

/*
 * Transparent huge pages off in criu, so in every task it forks, before it
 * writes a task's eager pages: with THP on, such a write can fill the
 * whole 2 MiB block with a huge page, and the block's lazy pages are then
 * present zeros (docs/pager.md).  The pager starts criu with THP off, but
 * CRIU 3.17 turns it back on in its own process while it probes the
 * kernel (kerndat_has_thp_disable() ends with PR_SET_THP_DISABLE 0), which
 * it does whenever /run/criu.kdat is missing: on a node's first CRIU run
 * since boot.  Restore init comes after that probe and before any task is
 * forked.
 */
static int thp_off(void)
{
	if (!prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		return 0;
	fprintf(stderr, "lazyboot plugin: cannot turn transparent huge pages "
		"off for the restored tasks: %s\n", strerror(errno));
	return -1;
}

static int lazyboot_plugin_init(int stage)
{
	if (stage < 0 || stage >= CR_PLUGIN_STAGE_MAX) {
		fprintf(stderr, "lazyboot plugin: unknown CRIU stage %d\n",
			stage);
		return -1;
	}
	if (stage != CR_PLUGIN_STAGE__RESTORE)
		return 0;
	lazyboot_restore = getenv(LZB_PLUGIN_SOCKET_ENV) ||
			   images_are_lazyboot();
	if (!lazyboot_restore)
		return 0;
	fprintf(stderr, "lazyboot plugin: init for %s\n", stage_name(stage));
	if (getenv(LZB_PLUGIN_SOCKET_ENV) && thp_off())
		return -1;
	return connect_pager() || check_filedeps() ? -1 : 0;
}

static void lazyboot_plugin_exit(int stage, int ret)
{
	if (!lazyboot_restore)
		return;
	fprintf(stderr, "lazyboot plugin: %s finished with %d\n",
		stage_name(stage), ret);
	pager_send("exit %d\n", ret);
	if (pager_fd >= 0)
		close(pager_fd);
	pager_fd = -1;
}

CR_PLUGIN_REGISTER("lazyboot", lazyboot_plugin_init, lazyboot_plugin_exit)
