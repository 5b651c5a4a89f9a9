/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the fetch tests: deterministic file contents, a
 * synchronous wrapper around the asynchronous fetcher, and starting and
 * stopping real server binaries on loopback addresses.
 *
 * Loopback addresses the transport tests use (distinct per server so the
 * tests never collide): 127.0.0.2 dnsmasq, .3 tftpd-hpa, .4 atftpd,
 * .5 nginx, .6 the fault-injecting TFTP peer, .7 the fault-injecting HTTP
 * peer.
 */
#ifndef LAZYBOOT_FETCH_HELPERS_H
#define LAZYBOOT_FETCH_HELPERS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fetch/fetch.h"

static inline uint8_t pattern_byte(uint32_t seed, uint64_t off)
{
	uint64_t x = off * 0x9e3779b97f4a7c15ULL + seed;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 32;
	return (uint8_t)x;
}

static inline void pattern_fill(uint8_t *buf, size_t len, uint32_t seed,
				uint64_t off)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pattern_byte(seed, off + i);
}

/* Index of the first byte that differs, or -1. */
static inline long pattern_check(const uint8_t *buf, size_t len,
				 uint32_t seed, uint64_t off)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != pattern_byte(seed, off + i))
			return (long)i;
	return -1;
}

static inline int make_file(const char *dir, const char *name, size_t size,
			    uint32_t seed)
{
	char path[512];
	uint8_t chunk[65536];
	size_t done = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	while (done < size) {
		size_t n = size - done < sizeof(chunk) ? size - done :
							sizeof(chunk);

		pattern_fill(chunk, n, seed, done);
		if (fwrite(chunk, 1, n, f) != n) {
			fclose(f);
			return -EIO;
		}
		done += n;
	}
	return fclose(f) ? -errno : 0;
}

struct sync_result {
	bool done;
	int err;
	uint64_t len;
	char msg[400];
};

static inline void sync_done(struct lzb_fetch *req, int err, const char *msg,
			     uint64_t len, void *arg)
{
	struct sync_result *s = arg;

	(void)req;
	s->done = true;
	s->err = err;
	s->len = len;
	snprintf(s->msg, sizeof(s->msg), "%s", msg);
}

/* Submit one request and run the fetcher until it ends. */
static inline int fetch_sync(struct lzb_fetcher *f, struct lzb_fetch_spec *spec,
			     struct sync_result *res)
{
	memset(res, 0, sizeof(*res));
	spec->done = sync_done;
	spec->done_arg = res;
	if (!lzb_fetch_submit(f, spec))
		return -errno;
	while (!res->done)
		if (lzb_fetcher_run(f, 60000))
			return -ETIMEDOUT;
	return res->err;
}

static inline char *mkdtemp_dir(void)
{
	char tmpl[] = "/tmp/lzb-fetch-XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static inline void rm_rf(const char *dir)
{
	char cmd[600];

	if (!dir || strncmp(dir, "/tmp/lzb-", 9))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		return;
}

/* Start argv[0] with stdout/stderr to log; returns the pid or -errno. */
static inline pid_t start_proc(char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setpgid(0, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static inline void stop_proc(pid_t pid)
{
	int i;

	if (pid <= 0)
		return;
	kill(-pid, SIGTERM);
	kill(pid, SIGTERM);
	for (i = 0; i < 100; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(20000);
	}
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Wait until something listens on ip:port (tcp or udp); 0 or -ETIMEDOUT. */
static inline int wait_listen(bool tcp, const char *ip, unsigned int port,
			      int ms)
{
	struct in_addr a;
	char want[32], line[512];

	inet_pton(AF_INET, ip, &a);
	snprintf(want, sizeof(want), "%08X:%04X", a.s_addr, port);
	for (; ms > 0; ms -= 20) {
		FILE *f = fopen(tcp ? "/proc/net/tcp" : "/proc/net/udp", "r");
		bool found = false;

		while (f && fgets(line, sizeof(line), f))
			if (strstr(line, want) &&
			    (!tcp || strstr(line, " 0A ")))	/* LISTEN */
				found = true;
		if (f)
			fclose(f);
		if (found)
			return 0;
		usleep(20000);
	}
	return -ETIMEDOUT;
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* net.core.rmem_max, what SO_RCVBUF may set without CAP_NET_ADMIN; -1 if
 * it cannot be read. */
static inline long read_rmem_max(void)
{
	FILE *fp = fopen("/proc/sys/net/core/rmem_max", "r");
	long v = -1;

	if (fp) {
		if (fscanf(fp, "%ld", &v) != 1)
			v = -1;
		fclose(fp);
	}
	return v;
}

static inline bool have_exe(const char *path)
{
	return access(path, X_OK) == 0;
}

#endif
