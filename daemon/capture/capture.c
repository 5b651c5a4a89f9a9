// SPDX-License-Identifier: LGPL-2.1-or-later
/* Process-tree, file-dependency and CRIU-log helpers of capture. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/capture.h"
#include "capture/filedeps.h"
#include "util/file_util.h"
#include "util/vec.h"

static int add_pid(pid_t *pids, int n, int max, pid_t p)
{
	int i;

	for (i = 0; i < n; i++)
		if (pids[i] == p)
			return n;
	if (n == max)
		return -E2BIG;
	pids[n] = p;
	return n + 1;
}

int lzb_tree_pids(pid_t root, pid_t *pids, int max)
{
	int n = 0, i;

	if (max < 1)
		return -E2BIG;
	pids[n++] = root;
	for (i = 0; i < n; i++) {
		char path[64];
		struct dirent *de;
		DIR *d;

		snprintf(path, sizeof(path), "/proc/%d/task", (int)pids[i]);
		d = opendir(path);
		if (!d) {
			if (i == 0)
				return -errno;
			continue;	/* exited meanwhile */
		}
		while ((de = readdir(d))) {
			char cpath[384];
			FILE *f;
			long c;

			if (de->d_name[0] == '.')
				continue;
			snprintf(cpath, sizeof(cpath), "%s/%s/children", path,
				 de->d_name);
			f = fopen(cpath, "re");
			if (!f)
				continue;
			while (fscanf(f, "%ld", &c) == 1) {
				int r = add_pid(pids, n, max, (pid_t)c);

				if (r < 0) {
					fclose(f);
					closedir(d);
					return r;
				}
				n = r;
			}
			fclose(f);
		}
		closedir(d);
	}
	return n;
}

int lzb_ns_pid(pid_t pid)
{
	char path[64], line[256];
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p, *last = NULL;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (p = strtok(line + 6, " \t\n"); p; p = strtok(NULL, " \t\n"))
			last = p;
		if (last)
			ret = atoi(last);
		break;
	}
	fclose(f);
	return ret;
}

/* Socket inodes of the tree's fds. */
static int tree_socket_inodes(const pid_t *pids, int n, unsigned long *ino,
			      int max)
{
	int i, k = 0;

	for (i = 0; i < n; i++) {
		char path[64];
		struct dirent *de;
		DIR *d;

		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pids[i]);
		d = opendir(path);
		if (!d)
			continue;
		while ((de = readdir(d)) && k < max) {
			char lpath[384], target[128];
			ssize_t l;

			snprintf(lpath, sizeof(lpath), "%s/%s", path,
				 de->d_name);
			l = readlink(lpath, target, sizeof(target) - 1);
			if (l <= 0)
				continue;
			target[l] = '\0';
			if (sscanf(target, "socket:[%lu]", &ino[k]) == 1)
				k++;
		}
		closedir(d);
	}
	return k;
}

unsigned lzb_tree_needs(const pid_t *pids, int n, FILE *why)
{
	static const char *const tcp[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	unsigned long ino[1024];
	unsigned needs = 0;
	char line[512];
	int k, i, j;
	FILE *f;

	k = tree_socket_inodes(pids, n, ino, 1024);
	for (j = 0; j < 2; j++) {
		f = fopen(tcp[j], "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char local[64], rem[64];
			unsigned st;
			unsigned long inode;

			/* sl local rem st tx:rx tr:when retr uid timeout inode */
			if (sscanf(line, " %*s %63s %63s %x %*s %*s %*s %*s "
				   "%*s %lu", local, rem, &st, &inode) != 4)
				continue;
			if (st != 1)	/* TCP_ESTABLISHED */
				continue;
			for (i = 0; i < k; i++) {
				if (ino[i] != inode)
					continue;
				needs |= LZB_NEEDS_TCP_ESTABLISHED;
				if (why)
					fprintf(why, "capture: established TCP "
						"connection %s -> %s (socket "
						"%lu): --tcp-established\n",
						local, rem, inode);
			}
		}
		fclose(f);
	}
	f = fopen("/proc/locks", "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			long lpid;

			/* "1: POSIX  ADVISORY  WRITE 1234 08:01:123 0 EOF" */
			if (sscanf(line, "%*s %*s %*s %*s %ld", &lpid) != 1)
				continue;
			for (i = 0; i < n; i++)
				if (pids[i] == lpid &&
				    !(needs & LZB_NEEDS_FILE_LOCKS)) {
					needs |= LZB_NEEDS_FILE_LOCKS;
					if (why)
						fprintf(why, "capture: pid %ld "
							"holds a file lock: "
							"--file-locks\n", lpid);
				}
		}
		fclose(f);
	}
	return needs;
}

struct deplist {
	char **path;
	unsigned *kind;		/* 1 map, 2 open */
	int n;
	size_t cap, kind_cap;	/* of path, of kind */
};

static int dep_add(struct deplist *l, const char *path, unsigned kind)
{
	int i;

	if (!strncmp(path, "/proc/", 6) || !strncmp(path, "/sys/", 5) ||
	    !strncmp(path, "/dev/", 5))
		return 0;
	for (i = 0; i < l->n; i++)
		if (!strcmp(l->path[i], path)) {
			l->kind[i] |= kind;
			return 0;
		}
	if (LZB_VEC_RESERVE(l->path, l->n, l->cap, 1) ||
	    LZB_VEC_RESERVE(l->kind, l->n, l->kind_cap, 1))
		return -ENOMEM;
	l->path[l->n] = strdup(path);
	if (!l->path[l->n])
		return -ENOMEM;
	l->kind[l->n++] = kind;
	return 0;
}

static int collect_maps(pid_t pid, struct deplist *l)
{
	char path[64], line[PATH_MAX + 256];
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!ret && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');
		size_t len;

		if (!p)
			continue;
		len = strlen(p);
		if (len && p[len - 1] == '\n')
			p[--len] = '\0';
		/* A deleted file is not on the node to compare with. */
		if (len > 10 && !strcmp(p + len - 10, " (deleted)"))
			continue;
		ret = dep_add(l, p, 1);
	}
	fclose(f);
	return ret;
}

static int collect_fds(pid_t pid, struct deplist *l)
{
	char path[64];
	struct dirent *de;
	int ret = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while (!ret && (de = readdir(d))) {
		char lpath[384], target[PATH_MAX];
		struct stat st;
		ssize_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(lpath, sizeof(lpath), "%s/%s", path, de->d_name);
		len = readlink(lpath, target, sizeof(target) - 1);
		if (len <= 0 || target[0] != '/')
			continue;
		target[len] = '\0';
		if (stat(lpath, &st) || !S_ISREG(st.st_mode))
			continue;
		ret = dep_add(l, target, 2);
	}
	closedir(d);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int lzb_write_filedeps(const pid_t *pids, int n, const char *path, struct lzb_err *err)
{
	static const char *const kinds[] = { "", "map", "open", "map+open" };
	struct deplist l = { 0 };
	int i, ret = 0, written = 0;
	char **sorted = NULL, *text = NULL;
	size_t text_len = 0;
	FILE *f;

	for (i = 0; i < n && !ret; i++) {
		ret = collect_maps(pids[i], &l);
		if (!ret)
			ret = collect_fds(pids[i], &l);
	}
	if (ret) {
		lzb_errf(err, "listing the tree's files: %s",
			 strerror(-ret));
		goto out;
	}
	/* Built in memory, written whole (lzb_write_file). */
	f = open_memstream(&text, &text_len);
	if (!f) {
		ret = -errno;
		lzb_errf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	fprintf(f, "%s\n# KIND SIZE MTIME HASH(BLAKE2b-256) PATH\n",
		LZB_FILEDEPS_HEADER);
	/* Sorted by path, so two captures of one app set diff cleanly. */
	sorted = malloc((l.n ? l.n : 1) * sizeof(*sorted));
	if (!sorted) {
		fclose(f);
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < l.n; i++)
		sorted[i] = l.path[i];
	qsort(sorted, l.n, sizeof(*sorted), cmp_str);
	for (i = 0; i < l.n; i++) {
		struct lzb_filedep d;
		unsigned kind = 0;
		int j, r;

		for (j = 0; j < l.n; j++)
			if (l.path[j] == sorted[i])
				kind = l.kind[j];
		r = lzb_filedep_make(sorted[i], kinds[kind & 3], &d);
		if (r == -ENOENT || r == -EINVAL)
			continue;	/* gone, or not a regular file */
		if (r) {
			lzb_errf(err, "%s: %s", sorted[i],
				 strerror(-r));
			ret = r;
			break;
		}
		ret = lzb_filedep_write(f, &d);
		if (ret)
			break;
		written++;
	}
	if (fclose(f) && !ret)
		ret = -errno;
	if (!ret && lzb_write_file(path, text, text_len, 0644, err))
		ret = -EIO;
	if (ret && !err->msg[0])
		lzb_errf(err, "%s: %s", path, strerror(-ret));
out:
	free(text);
	for (i = 0; i < l.n; i++)
		free(l.path[i]);
	free(l.path);
	free(l.kind);
	free(sorted);
	return ret ? ret : written;
}

static const struct {
	const char *match;
	const char *hint;
} hints[] = {
	{ "Connected TCP socket",
	  "a task has an established TCP connection: add --tcp-established "
	  "to criu-options in [appset] (lazyboot adds it when it sees one)" },
	{ "unix: Can't dump",
	  "a unix socket is connected to something outside the app set "
	  "(often /dev/log or a D-Bus socket): add --ext-unix-sk to "
	  "criu-options, or make the service not use it" },
	{ "External socket",
	  "a unix socket is connected to something outside the app set "
	  "(often /dev/log or a D-Bus socket): add --ext-unix-sk to "
	  "criu-options, or make the service not use it" },
	{ "tty", "a task has a terminal: add --shell-job to criu-options, or "
		 "start the service without one" },
	{ "file lock", "a task holds a file lock: add --file-locks" },
	{ "inotify", "a task uses inotify on a path CRIU cannot reopen" },
	{ "mnt: ", "the mount namespace has a mount CRIU cannot dump: try "
		   "namespaces without 'mount' in [appset]" },
	{ "Unexpected rt vDSO", "this kernel is too new for CRIU 3.17 (>= "
				"6.13 needs CRIU 4.1): capture in the 6.1 VM" },
	{ "Can't dump ghost file", "a task keeps a deleted file open (a ghost "
				   "file larger than --ghost-limit)" },
	{ "is not a session leader", "the app set's session leader is "
				     "outside it: add --shell-job" },
};

static void describe_pid(FILE *out, long pid, lzb_pid_namer namer, void *arg)
{
	char path[64], comm[64] = "?";
	const char *name = namer ? namer((pid_t)pid, arg) : NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	fprintf(out, "pid %ld (%s%s%s)", pid, comm, name ? ", " : "",
		name ? name : "");
}

int lzb_criu_explain(const char *log, FILE *out, lzb_pid_namer namer,
		     void *arg)
{
	char line[2048];
	long task = 0;
	int errors = 0;
	size_t i;
	FILE *f;

	f = fopen(log, "re");
	if (!f) {
		fprintf(out, "capture: no CRIU log at %s: %s\n", log,
			strerror(errno));
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char *e = strstr(line, "Error (");
		char *p = strstr(line, "Dumping task (pid: ");
		char *msg;
		long lpid = 0;

		if (p) {
			task = atol(p + 19);
			continue;
		}
		if (!e || errors >= 8)
			continue;
		line[strcspn(line, "\n")] = '\0';
		msg = strstr(e, "): ");
		msg = msg ? msg + 3 : e;
		/* The final verdict adds nothing to the errors before it. */
		if (!strncmp(msg, "Dumping FAILED", 14) && errors)
			continue;
		/* Some lines carry "PID: Error (...)". */
		p = e;
		while (p > line && (p[-1] == ' ' || p[-1] == ':'))
			p--;
		while (p > line && isdigit((unsigned char)p[-1]))
			p--;
		if (isdigit((unsigned char)*p))
			lpid = atol(p);
		fprintf(out, "criu: %s\n", msg);
		if (lpid || task) {
			fprintf(out, "      while dumping ");
			describe_pid(out, lpid ? lpid : task, namer, arg);
			fputc('\n', out);
		}
		for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
			if (strstr(msg, hints[i].match)) {
				fprintf(out, "      hint: %s\n", hints[i].hint);
				break;
			}
		errors++;
	}
	fclose(f);
	return errors;
}
