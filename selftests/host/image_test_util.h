/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the image tests: temporary directories, synthetic CRIU
 * dumps (make-synthetic-dump, through `crit encode`), file comparison.
 */
#ifndef LAZYBOOT_IMAGE_TEST_UTIL_H
#define LAZYBOOT_IMAGE_TEST_UTIL_H

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file_util.h"

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static inline void rm_rf(const char *dir)
{
	if (dir && dir[0])
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* REL under the folder LEVELS path components above this binary. */
static inline int exe_path_up(char *out, size_t len, int levels,
			      const char *rel)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return -1;
	exe[n] = 0;
	for (int i = 0; i < levels; i++) {
		char *s = strrchr(exe, '/');

		if (!s)
			return -1;
		*s = 0;
	}
	return snprintf(out, len, "%s/%s", exe, rel) >= (int)len ? -1 : 0;
}

/* The source tree: $LAZYBOOT_SRC, else three levels above this binary. */
static inline int src_path(char *out, size_t len, const char *rel)
{
	const char *env = getenv("LAZYBOOT_SRC");

	if (env)
		return snprintf(out, len, "%s/%s", env, rel) >= (int)len ? -1 : 0;
	return exe_path_up(out, len, 4, rel);
}

static inline int have_crit(void)
{
	return !system("command -v crit >/dev/null 2>&1");
}

/* Run make-synthetic-dump DIR ARGS; 0 on success. */
static inline int make_dump(const char *dir, const char *args)
{
	char script[PATH_MAX], cmd[2 * PATH_MAX + 256];

	if (src_path(script, sizeof(script),
		     "selftests/host/make-synthetic-dump"))
		return -1;
	snprintf(cmd, sizeof(cmd), "'%s' '%s' %s", script, dir, args);
	return system(cmd) ? -1 : 0;
}

static inline int read_all(const char *path, uint8_t **buf, size_t *len)
{
	struct lzb_err err;

	return lzb_read_file(path, 1u << 30, buf, len, &err);
}

static inline int write_all(const char *path, const void *buf, size_t len)
{
	struct lzb_err err;

	return lzb_write_file_nosync(path, buf, len, 0644, &err);
}

/* 0 when both files exist and hold the same bytes. */
static inline int same_file(const char *a, const char *b)
{
	uint8_t *x, *y;
	size_t xl, yl;
	int r;

	if (read_all(a, &x, &xl))
		return -1;
	if (read_all(b, &y, &yl)) {
		free(x);
		return -1;
	}
	r = xl == yl && !memcmp(x, y, xl) ? 0 : 1;
	free(x);
	free(y);
	return r;
}

/*
 * A dump made once per test program run and copied for each test (the
 * harness forks a child per test; make-synthetic-dump costs about a
 * second).  The cache lives in /tmp/lzb-dumpcache-<main pid>/ and is
 * removed when the main process exits.
 */
static pid_t dump_cache_owner;

static void dump_cache_cleanup(void)
{
	char dir[64];

	if (getpid() != dump_cache_owner)
		return;
	snprintf(dir, sizeof(dir), "/tmp/lzb-dumpcache-%d", (int)getpid());
	rm_rf(dir);
}

__attribute__((constructor)) static void dump_cache_init(void)
{
	dump_cache_owner = getpid();
	atexit(dump_cache_cleanup);
}

/* make_dump through the cache; KEY names the ARGS combination. */
static inline int cached_dump(const char *dir, const char *key,
			      const char *args)
{
	char cache[256], cmd[1024];

	snprintf(cache, sizeof(cache), "/tmp/lzb-dumpcache-%d/%s",
		 (int)dump_cache_owner, key);
	if (access(cache, F_OK)) {
		char tmp[300];

		snprintf(tmp, sizeof(tmp), "%s.tmp%d", cache, (int)getpid());
		if (make_dump(tmp, args) || rename(tmp, cache))
			return -1;
	}
	snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", cache, dir);
	return system(cmd) ? -1 : 0;
}

/* Number of regular files in DIR, or -1. */
static inline int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

#endif
