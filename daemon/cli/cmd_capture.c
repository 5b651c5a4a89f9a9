// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `lazyboot capture APPSET --out DIR`: start an app set under one root
 * process in fresh namespaces, wait until every service answers its
 * readiness probes, and `criu dump` it (docs/appset.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture/appset.h"
#include "capture/capture.h"
#include "cli/commands.h"
#include "capture/filedeps.h"
#include "util/clock.h"
#include "util/file_util.h"

static const char usage[] =
	"usage: lazyboot capture [--criu PATH] [--init PATH] [--keep-running]\n"
	"                        APPSET --out DIR [-- CRIU-DUMP-ARGS...]\n"
	"\n"
	"Start the services of the app-set description APPSET (docs/appset.md)\n"
	"under one root process, wait until each answers its readiness probes,\n"
	"and checkpoint the whole tree with `criu dump` into DIR.\n"
	"\n"
	"The root process is created in new PID, UTS and IPC namespaces (the\n"
	"[appset] 'namespaces' key changes the set; pid is required): in a\n"
	"fresh PID namespace the dumped process ids are free again on any node;\n"
	"UTS and IPC keep the hostname and System V objects with the app set.\n"
	"A mount namespace (namespaces = pid mount uts ipc) also gives the app\n"
	"set its own /proc, but CRIU must then dump every mount it sees and\n"
	"refuses unsupported file systems such as 9p.  The network namespace is\n"
	"shared with the node, so services listen on the node's addresses and\n"
	"probes reach them directly.  The root process becomes a session\n"
	"leader, forks each service (stdin, stdout and stderr on /dev/null, no\n"
	"other descriptor of the caller's, environment: PATH plus the service's\n"
	"env lines, in its workdir) and then executes lazyboot-init, a small\n"
	"static reaper, so the dump does not depend on this tool's binary.\n"
	"Needs root.\n"
	"\n"
	"Once every probe passed, each service's before-dump command runs (from\n"
	"outside the namespaces, like a client) and the probes are asked again.\n"
	"Probe and before-dump commands run in APPSET's directory, with the\n"
	"dump directory in LAZYBOOT_CAPTURE_DIR (e.g. to record a data digest).\n"
	"`criu dump -t ROOT -D DIR --leave-stopped` then runs with\n"
	"--tcp-established when a task holds an established TCP connection,\n"
	"--file-locks when one holds a file lock, the [appset] criu-options, and\n"
	"CRIU-DUMP-ARGS.  Listening sockets need no option.  When CRIU refuses,\n"
	"its errors are printed with the process (pid, name, service) and a hint.\n"
	"\n"
	"DIR (created; must be empty) then holds CRIU's images, its log\n"
	"criu-dump.log, appset.ini (a copy of APPSET), lazyboot-filedeps.txt\n"
	"(every file the tasks map or hold open, with size, mtime and hash; the\n"
	"CRIU plugin checks it before a restore) and capture.info (pids, options,\n"
	"time to ready of this cold start).\n"
	"\n"
	"options:\n"
	"  --out DIR        where the dump goes (required)\n"
	"  --criu PATH      the criu binary (default: criu from PATH)\n"
	"  --init PATH      the root process program (default: lazyboot-init\n"
	"                   next to this binary)\n"
	"  --keep-running   leave the app set running after a successful dump\n"
	"                   (default: it is killed, as `criu dump` does)\n"
	"\n"
	"Exit status: 0 dumped; 1 a service failed to start or become ready, or\n"
	"CRIU refused; 2 usage or APPSET errors.\n";

struct svc_run {
	int nspid;
	pid_t hostpid;
};

struct capture {
	struct lzb_appset a;
	struct svc_run run[LZB_APPSET_MAX_SERVICES];
	const char *dir;
	const char *init;
	pid_t root;
	int status_r, status_w;	/* the pipe root_main reports on */
};

/* --- inside the new namespaces ------------------------------------- */

static void report(int fd, const char *fmt, const char *a, long b)
{
	dprintf(fd, fmt, a, b);
}

static void start_service(const struct lzb_service *s, int status_fd)
{
	int ep[2], e = 0, i, nul;
	ssize_t n;
	pid_t pid;

	if (pipe2(ep, O_CLOEXEC)) {
		report(status_fd, "err %s %ld\n", s->name, errno);
		_exit(1);
	}
	pid = fork();
	if (pid < 0) {
		report(status_fd, "err %s %ld\n", s->name, errno);
		_exit(1);
	}
	if (pid == 0) {
		close(ep[0]);
		if (chdir(s->workdir ? s->workdir : "/"))
			goto fail;
		clearenv();
		setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:"
			       "/usr/bin:/sbin:/bin", 1);
		setenv("LAZYBOOT_SERVICE", s->name, 1);
		for (i = 0; i < s->nenv; i++)
			if (putenv(s->env[i]))
				goto fail;
		nul = open("/dev/null", O_RDWR);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 ||
		    dup2(nul, 2) < 0)
			goto fail;
		close(nul);
		close(status_fd);
		signal(SIGPIPE, SIG_DFL);
		execvp(s->command.argv[0], s->command.argv);
fail:
		e = errno;
		if (write(ep[1], &e, sizeof(e)) < 0)
			_exit(126);
		_exit(127);
	}
	close(ep[1]);
	n = read(ep[0], &e, sizeof(e));
	close(ep[0]);
	if (n == sizeof(e)) {
		report(status_fd, "err %s %ld\n", s->name, e);
		_exit(1);
	}
	report(status_fd, "svc %s %ld\n", s->name, pid);
}

static int root_main(void *arg)
{
	struct capture *c = arg;
	char *const argv[] = { "lazyboot-init", NULL };
	int i, nul;

	/* The status pipe's write end goes to fd 3, closed on exec. */
	if (c->status_r != c->status_w)
		close(c->status_r);
	if (c->status_w != 3) {
		if (dup2(c->status_w, 3) < 0)
			_exit(1);
		close(c->status_w);
	}
	fcntl(3, F_SETFD, FD_CLOEXEC);
	/*
	 * Nothing the caller holds open may reach the app set: CRIU would
	 * dump it, and every restore would then need the caller's files.
	 */
	if (close_range(4, ~0U, 0))
		_exit(1);
	if (setsid() < 0)
		_exit(1);
	/*
	 * capture runs in the app set file's directory (for its probes);
	 * CRIU records the init's cwd, and a node without that directory
	 * could not restore the dump.  "/" every node has.
	 */
	if (chdir("/"))
		_exit(1);
	if (c->a.namespaces & CLONE_NEWNS) {
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			report(3, "err %s %ld\n", "mount-private", errno);
		if ((c->a.namespaces & CLONE_NEWPID) &&
		    mount("proc", "/proc", "proc",
			  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
			report(3, "err %s %ld\n", "mount-proc", errno);
	}
	if ((c->a.namespaces & CLONE_NEWUTS) && c->a.hostname[0] &&
	    sethostname(c->a.hostname, strlen(c->a.hostname)))
		report(3, "err %s %ld\n", "sethostname", errno);
	nul = open("/dev/null", O_RDWR);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 ||
	    dup2(nul, 2) < 0)
		_exit(1);
	if (nul > 3)
		close(nul);
	for (i = 0; i < c->a.nsvc; i++)
		start_service(&c->a.svc[i], 3);
	execv(c->init, argv);
	report(3, "err %s %ld\n", "lazyboot-init", errno);
	_exit(1);
}

/* --- outside -------------------------------------------------------- */

static const char *svc_of(pid_t pid, void *arg)
{
	struct capture *c = arg;
	static char buf[64];
	int i;

	if (pid == c->root)
		return "the app set's root, lazyboot-init";
	for (i = 0; i < c->a.nsvc; i++)
		if (c->run[i].hostpid == pid) {
			snprintf(buf, sizeof(buf), "service %s",
				 c->a.svc[i].name);
			return buf;
		}
	return NULL;
}

static int alive(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	int ok = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f)) {
		p = strrchr(buf, ')');
		ok = p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
	}
	fclose(f);
	return ok;
}

static int read_status(struct capture *c, int fd)
{
	char buf[8192], name[64];
	size_t got = 0;
	ssize_t n;
	char *line;
	int ret = 0;

	while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		long v;
		int i;

		if (sscanf(line, "svc %63s %ld", name, &v) == 2) {
			for (i = 0; i < c->a.nsvc; i++)
				if (!strcmp(c->a.svc[i].name, name))
					c->run[i].nspid = (int)v;
			continue;
		}
		if (sscanf(line, "err %63s %ld", name, &v) == 2) {
			for (i = 0; i < c->a.nsvc; i++)
				if (!strcmp(c->a.svc[i].name, name))
					break;
			if (i < c->a.nsvc)
				fprintf(stderr, "capture: service %s: cannot "
					"start '%s': %s\n", name,
					c->a.svc[i].command.argv[0],
					strerror((int)v));
			else
				fprintf(stderr, "capture: root process: %s: "
					"%s\n", name, strerror((int)v));
			ret = -1;
		}
	}
	return ret;
}

static void map_host_pids(struct capture *c)
{
	pid_t pids[LZB_TREE_MAX];
	int n = lzb_tree_pids(c->root, pids, LZB_TREE_MAX), i, j;

	for (i = 1; i < n; i++) {
		int ns = lzb_ns_pid(pids[i]);

		for (j = 0; j < c->a.nsvc; j++)
			if (c->run[j].nspid == ns)
				c->run[j].hostpid = pids[i];
	}
	/* Without a PID namespace the pids are the host's. */
	if (!(c->a.namespaces & CLONE_NEWPID))
		for (j = 0; j < c->a.nsvc; j++)
			c->run[j].hostpid = c->run[j].nspid;
}

static int wait_ready(struct capture *c, int i)
{
	const struct lzb_service *s = &c->a.svc[i];
	long long deadline = (long long)lzb_now_ms() + 1000LL * s->ready_timeout_s;
	struct lzb_err err = { "" };
	int k, ret = 0;

	for (k = 0; k < s->nprobes; k++) {
		for (;;) {
			long long left = deadline - (long long)lzb_now_ms();

			ret = lzb_probe_once(&s->probes[k],
					     left < 5000 ? (int)left : 5000,
					     &err);
			if (!ret)
				break;
			if (!alive(c->run[i].hostpid)) {
				fprintf(stderr, "capture: service %s (pid %d) "
					"exited before it was ready (probe "
					"'%s': %s); its output goes to "
					"/dev/null: run '%s' by hand to see "
					"why\n", s->name, c->run[i].hostpid,
					s->probes[k].spec, err.msg,
					s->command.argv[0]);
				return -1;
			}
			if ((long long)lzb_now_ms() >= deadline) {
				fprintf(stderr, "capture: service %s not ready "
					"after %d s: probe '%s': %s\n",
					s->name, s->ready_timeout_s,
					s->probes[k].spec, err.msg);
				return -1;
			}
			usleep(100000);
		}
	}
	return 0;
}

static int run_before_dump(struct capture *c, int i)
{
	const struct lzb_service *s = &c->a.svc[i];
	struct lzb_probe p = { .kind = LZB_PROBE_COMMAND };
	struct lzb_err err = { "" };
	int ret;

	if (!s->before_dump.argc)
		return 0;
	if (lzb_argv_copy(&p.cmd, &s->before_dump))
		return -1;
	ret = lzb_probe_once(&p, 1000 * s->ready_timeout_s, &err);
	lzb_probe_free(&p);
	if (ret)
		fprintf(stderr, "capture: service %s: before-dump: %s\n",
			s->name, err.msg);
	return ret ? -1 : 0;
}

static int copy_file(const char *from, const char *to)
{
	struct lzb_out_file out;
	struct lzb_err err;
	char buf[65536];
	int in, ret = 0;
	ssize_t n;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	if (lzb_out_open(&out, to, 0644, &err)) {
		close(in);
		return -EIO;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (lzb_out_write(&out, buf, (size_t)n, &err)) {
			ret = -EIO;
			break;
		}
	if (n < 0)
		ret = -errno;
	close(in);
	if (ret)
		lzb_out_abort(&out);
	else if (lzb_out_commit(&out, true, &err))
		ret = -EIO;
	return ret;
}

static int run_criu(struct capture *c, const char *criu, unsigned needs,
		    char **extra, int nextra, FILE *info)
{
	char *argv[LZB_ARGV_MAX * 2 + 32];
	char rootpid[16];
	int n = 0, i, status;
	pid_t pid;

	snprintf(rootpid, sizeof(rootpid), "%d", (int)c->root);
	argv[n++] = (char *)criu;
	argv[n++] = "dump";
	argv[n++] = "-t";
	argv[n++] = rootpid;
	argv[n++] = "-D";
	argv[n++] = (char *)c->dir;
	argv[n++] = "-o";
	argv[n++] = "criu-dump.log";
	argv[n++] = "-v4";
	argv[n++] = "--leave-stopped";
	if (needs & LZB_NEEDS_TCP_ESTABLISHED)
		argv[n++] = "--tcp-established";
	if (needs & LZB_NEEDS_FILE_LOCKS)
		argv[n++] = "--file-locks";
	for (i = 0; i < c->a.criu_options.argc; i++)
		argv[n++] = c->a.criu_options.argv[i];
	for (i = 0; i < nextra && i < LZB_ARGV_MAX; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	fprintf(info, "criu_command =");
	for (i = 0; i < n; i++)
		fprintf(info, " %s", argv[i]);
	fputc('\n', info);
	fprintf(stderr, "capture: running");
	for (i = 0; i < n; i++)
		fprintf(stderr, " %s", argv[i]);
	fputc('\n', stderr);

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "capture: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -1;
	fprintf(stderr, "capture: criu dump failed (%s %d); from %s/"
		"criu-dump.log:\n", WIFEXITED(status) ? "exit status" :
		"signal", WIFEXITED(status) ? WEXITSTATUS(status) :
		WTERMSIG(status), c->dir);
	{
		char log[PATH_MAX];

		snprintf(log, sizeof(log), "%s/criu-dump.log", c->dir);
		if (!lzb_criu_explain(log, stderr, svc_of, c))
			fprintf(stderr, "capture: (no 'Error' line in the "
				"log; see its end)\n");
	}
	return -1;
}

static const char *default_init(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return "lazyboot-init";
	self[n] = '\0';
	snprintf(buf, len, "%s/lazyboot-init", dirname(self));
	return buf;
}

static int prepare_dir(const char *dir)
{
	struct dirent *de;
	struct stat st;
	int entries = 0;
	DIR *d;

	if (mkdir(dir, 0755) == 0)
		return 0;
	if (errno != EEXIST || stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "capture: cannot create %s: %s\n", dir,
			strerror(errno == EEXIST ? ENOTDIR : errno));
		return -1;
	}
	/* An existing directory must be empty: no stale images mixed in. */
	d = opendir(dir);
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			entries++;
	if (d)
		closedir(d);
	if (!d || entries) {
		fprintf(stderr, "capture: %s %s\n", dir,
			d ? "is not empty" : "cannot be read");
		return -1;
	}
	return 0;
}

static void kill_tree(pid_t root)
{
	if (root > 0) {
		kill(root, SIGKILL);
		waitpid(root, NULL, 0);
	}
}

int cmd_capture(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "criu", required_argument, NULL, 'c' },
		{ "init", required_argument, NULL, 'i' },
		{ "keep-running", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct capture c;
	const char *criu = "criu", *appset_path;
	char initbuf[PATH_MAX], path[PATH_MAX], outbuf[PATH_MAX],
	     appbuf[PATH_MAX], ns[64];
	struct lzb_err err = { "" };
	pid_t pids[LZB_TREE_MAX];
	int opt, keep = 0, dashdash = 0, status_pipe[2], i, n, ret = 1;
	unsigned needs;
	long long t0, t_ready;
	char *stack, *infotext = NULL;
	size_t infolen = 0;
	FILE *info;

	memset(&c, 0, sizeof(c));
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--"))
			dashdash = 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			c.dir = optarg;
			break;
		case 'c':
			criu = optarg;
			break;
		case 'i':
			c.init = optarg;
			break;
		case 'k':
			keep = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	/* Options may follow APPSET; CRIU's arguments follow "--". */
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	appset_path = argv[optind++];
	if (optind < argc && !dashdash) {
		fprintf(stderr, "capture: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	if (!c.dir) {
		fprintf(stderr, "capture: --out DIR is required\n");
		return 2;
	}
	if (!c.init)
		c.init = default_init(initbuf, sizeof(initbuf));
	if (access(c.init, X_OK)) {
		fprintf(stderr, "capture: root program %s: %s (build it with "
			"make, or pass --init)\n", c.init, strerror(errno));
		return 2;
	}
	if (lzb_appset_load(appset_path, &c.a, &err)) {
		fprintf(stderr, "capture: %s\n", err.msg);
		return 2;
	}
	if (prepare_dir(c.dir))
		goto out_free;
	/*
	 * Probes and before-dump commands run in the app set file's
	 * directory, so an example can name its scripts relatively; they
	 * find the dump directory in LAZYBOOT_CAPTURE_DIR.
	 */
	if (!realpath(c.dir, outbuf) || !realpath(appset_path, appbuf)) {
		fprintf(stderr, "capture: %s: %s\n", c.dir, strerror(errno));
		goto out_free;
	}
	c.dir = outbuf;
	appset_path = appbuf;
	snprintf(path, sizeof(path), "%s", appbuf);
	if (chdir(dirname(path))) {
		fprintf(stderr, "capture: chdir %s: %s\n", path,
			strerror(errno));
		goto out_free;
	}
	setenv("LAZYBOOT_CAPTURE_DIR", c.dir, 1);
	if (pipe2(status_pipe, O_CLOEXEC))
		goto out_free;
	c.status_r = status_pipe[0];
	c.status_w = status_pipe[1];
	stack = malloc(256 * 1024);
	if (!stack)
		goto out_free;
	lzb_appset_ns_names(c.a.namespaces, ns, sizeof(ns));
	fprintf(stderr, "capture: starting %d service%s of '%s' in new %s "
		"namespaces\n", c.a.nsvc, c.a.nsvc == 1 ? "" : "s", c.a.name,
		ns);
	t0 = (long long)lzb_now_ms();
	c.root = clone(root_main, stack + 256 * 1024,
		       (int)c.a.namespaces | SIGCHLD, &c);
	if (c.root < 0) {
		fprintf(stderr, "capture: clone(%s): %s%s\n", ns,
			strerror(errno), errno == EPERM ? " (needs root)" : "");
		free(stack);
		goto out_free;
	}
	free(stack);
	close(status_pipe[1]);
	if (read_status(&c, status_pipe[0])) {
		close(status_pipe[0]);
		goto out_kill;
	}
	close(status_pipe[0]);
	map_host_pids(&c);
	for (i = 0; i < c.a.nsvc; i++) {
		if (!c.run[i].hostpid) {
			fprintf(stderr, "capture: service %s exited at once; "
				"its output goes to /dev/null: run '%s' by hand "
				"to see why\n", c.a.svc[i].name,
				c.a.svc[i].command.argv[0]);
			goto out_kill;
		}
		fprintf(stderr, "capture: service %s: pid %d (%d in the "
			"namespace)\n", c.a.svc[i].name, c.run[i].hostpid,
			c.run[i].nspid);
	}
	for (i = 0; i < c.a.nsvc; i++)
		if (wait_ready(&c, i))
			goto out_kill;
	t_ready = (long long)lzb_now_ms();
	fprintf(stderr, "capture: all services ready after %lld ms\n",
		t_ready - t0);
	for (i = 0; i < c.a.nsvc; i++)
		if (run_before_dump(&c, i) || wait_ready(&c, i))
			goto out_kill;

	/* Built in memory, written whole at the end (lzb_write_file). */
	info = open_memstream(&infotext, &infolen);
	if (!info) {
		fprintf(stderr, "capture: capture.info: %s\n", strerror(errno));
		goto out_kill;
	}
	/* lazyboot profile runs the probes from here again. */
	snprintf(path, sizeof(path), "%s", appbuf);
	fprintf(info, "appset_dir = %s\n", dirname(path));
	fprintf(info, "appset = %s\nnamespaces = %s\nroot_pid = %d\n"
		"coldstart_ready_ms = %lld\n", c.a.name, ns, (int)c.root,
		t_ready - t0);
	for (i = 0; i < c.a.nsvc; i++)
		fprintf(info, "service = %s %d %d\n", c.a.svc[i].name,
			c.run[i].hostpid, c.run[i].nspid);
	n = lzb_tree_pids(c.root, pids, LZB_TREE_MAX);
	if (n < 0) {
		fprintf(stderr, "capture: listing the tree of %d: %s\n",
			(int)c.root, strerror(-n));
		fclose(info);
		goto out_kill;
	}
	needs = lzb_tree_needs(pids, n, stderr);
	if (run_criu(&c, criu, needs, argv + optind, argc - optind, info)) {
		fclose(info);
		goto out_kill;
	}
	/* The tasks are left stopped: their files are the dumped ones. */
	n = lzb_tree_pids(c.root, pids, LZB_TREE_MAX);
	fprintf(info, "tasks = %d\n", n);
	snprintf(path, sizeof(path), "%s/%s", c.dir, LZB_FILEDEPS_NAME);
	err.msg[0] = '\0';
	i = n < 0 ? n : lzb_write_filedeps(pids, n, path, &err);
	if (i < 0) {
		fprintf(stderr, "capture: %s\n", err.msg);
		fclose(info);
		goto out_kill;
	}
	fprintf(info, "file_dependencies = %d\n", i);
	if (fclose(info))
		goto out_kill;
	snprintf(path, sizeof(path), "%s/capture.info", c.dir);
	if (lzb_write_file(path, infotext, infolen, 0644, &err)) {
		fprintf(stderr, "capture: %s\n", err.msg);
		goto out_kill;
	}
	snprintf(path, sizeof(path), "%s/appset.ini", c.dir);
	if (copy_file(appset_path, path)) {
		fprintf(stderr, "capture: copying %s to %s failed\n",
			appset_path, path);
		goto out_kill;
	}
	fprintf(stderr, "capture: dumped %d tasks into %s (%d file "
		"dependencies)\n", n, c.dir, i);
	ret = 0;
	if (keep) {
		/* Resume what --leave-stopped left stopped. */
		for (i = 0; i < n; i++)
			kill(pids[i], SIGCONT);
		fprintf(stderr, "capture: app set left running, root pid %d\n",
			(int)c.root);
		goto out_free;
	}
out_kill:
	kill_tree(c.root);
out_free:
	free(infotext);
	lzb_appset_free(&c.a);
	return ret;
}
