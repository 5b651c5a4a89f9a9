// SPDX-License-Identifier: GPL-2.0
/*
 * Host selftest: readiness probes against real servers on loopback only:
 * redis-server on 127.0.0.21:16391, python3 -m http.server on
 * 127.0.0.22:18080, and sockets of the test's own that never answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "capture/probe.h"

#define REDIS_ADDR "127.0.0.21"
#define REDIS_PORT "16391"
#define HTTP_ADDR "127.0.0.22"
#define HTTP_PORT "18080"

static long long ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pid_t spawn(char *const argv[], const char *dir)
{
	pid_t pid = fork();

	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		if (dir && chdir(dir))
			_exit(126);
		dup2(nul, 1);
		dup2(nul, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

/* Parse SPEC and probe once; the error's message into ERR. */
static int probe(const char *spec, int timeout_ms, char *err, size_t len)
{
	struct lzb_err e = { "" };
	struct lzb_probe p;
	int ret;

	ret = lzb_probe_parse(spec, &p, &e);
	if (!ret) {
		ret = lzb_probe_once(&p, timeout_ms, &e);
		lzb_probe_free(&p);
	}
	snprintf(err, len, "%s", e.msg);
	return ret;
}

static int wait_for(const char *spec, int total_ms)
{
	struct lzb_probe p;
	struct lzb_err err;
	int ret;

	if (lzb_probe_parse(spec, &p, &err))
		return -EINVAL;
	ret = lzb_probe_wait(&p, total_ms, 50, &err);
	lzb_probe_free(&p);
	return ret;
}

/* A listener on 127.0.0.23 that accepts nothing and answers nothing. */
static int mute_listener(unsigned short *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.23", &sa.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 4) || getsockname(fd, (struct sockaddr *)&sa, &sl))
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

FIXTURE(servers)
{
	pid_t redis, http;
	char dir[64];
};

FIXTURE_SETUP(servers)
{
	char *redis[] = { "/usr/bin/redis-server", "--bind", REDIS_ADDR,
			  "--port", REDIS_PORT, "--save", "",
			  "--appendonly", "no", NULL };
	char *http[] = { "/usr/bin/python3", "-m", "http.server", "--bind",
			 HTTP_ADDR, HTTP_PORT, NULL };
	char path[96];
	FILE *f;

	self->redis = self->http = -1;
	strcpy(self->dir, "/tmp/lzb-probe-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(path, sizeof(path), "%s/index.html", self->dir);
	f = fopen(path, "w");
	ASSERT_NE(NULL, f);
	fputs("<p>hello</p>\n", f);
	fclose(f);
	if (!access(redis[0], X_OK))
		self->redis = spawn(redis, "/tmp");
	if (!access(http[0], X_OK))
		self->http = spawn(http, self->dir);
	/* Probes are what tell the servers are up; the tests check them. */
	if (self->redis > 0)
		wait_for("tcp " REDIS_ADDR ":" REDIS_PORT, 10000);
	if (self->http > 0)
		wait_for("tcp " HTTP_ADDR ":" HTTP_PORT, 10000);
}

FIXTURE_TEARDOWN(servers)
{
	char cmd[128];

	stop(self->redis);
	stop(self->http);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("could not remove %s", self->dir);
}

TEST_F(servers, redis_ping_and_tcp)
{
	char err[256] = "";

	if (self->redis < 0)
		SKIP(return, "redis-server not installed");
	EXPECT_EQ(0, probe("redis-ping " REDIS_ADDR ":" REDIS_PORT, 2000, err,
			   sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(0, probe("tcp " REDIS_ADDR ":" REDIS_PORT, 2000, err,
			   sizeof(err))) TH_LOG("%s", err);
	/* redis does not speak HTTP: the status line check says so. */
	EXPECT_EQ(-EPROTO, probe("http http://" REDIS_ADDR ":" REDIS_PORT "/",
				 2000, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "closed without an answer")) TH_LOG("%s", err);
}

TEST_F(servers, http_status)
{
	char err[256] = "";

	if (self->http < 0)
		SKIP(return, "python3 not installed");
	EXPECT_EQ(0, probe("http http://" HTTP_ADDR ":" HTTP_PORT
			   "/index.html", 2000, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_EQ(0, probe("http http://" HTTP_ADDR ":" HTTP_PORT
			   "/missing 404", 2000, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_EQ(-EPROTO, probe("http http://" HTTP_ADDR ":" HTTP_PORT
				 "/missing", 2000, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "GET /missing answered 404, expected 200"))
		TH_LOG("%s", err);
	/* An HTTP server is not redis. */
	EXPECT_EQ(-EPROTO, probe("redis-ping " HTTP_ADDR ":" HTTP_PORT, 2000,
				 err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "PING answered")) TH_LOG("%s", err);
}

TEST(refused)
{
	char err[256] = "";

	/* Nothing listens on 127.0.0.24:16392. */
	EXPECT_EQ(-ECONNREFUSED, probe("tcp 127.0.0.24:16392", 2000, err,
				       sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "connect 127.0.0.24 port 16392"))
		TH_LOG("%s", err);
	EXPECT_EQ(-ECONNREFUSED, probe("redis-ping 127.0.0.24:16392", 2000,
				       err, sizeof(err)));
	EXPECT_EQ(-ECONNREFUSED, probe("http http://127.0.0.24:16392/", 2000,
				       err, sizeof(err)));
}

TEST(silent_server_times_out)
{
	unsigned short port;
	char spec[64], err[256] = "";
	long long t0;
	int fd = mute_listener(&port);

	ASSERT_LE(0, fd);
	snprintf(spec, sizeof(spec), "tcp 127.0.0.23:%u", port);
	EXPECT_EQ(0, probe(spec, 1000, err, sizeof(err))) TH_LOG("%s", err);

	snprintf(spec, sizeof(spec), "http http://127.0.0.23:%u/", port);
	t0 = ms();
	EXPECT_EQ(-ETIMEDOUT, probe(spec, 300, err, sizeof(err)));
	EXPECT_GE(ms() - t0, 290);
	EXPECT_LT(ms() - t0, 2000);

	snprintf(spec, sizeof(spec), "redis-ping 127.0.0.23:%u", port);
	t0 = ms();
	EXPECT_EQ(-ETIMEDOUT, probe(spec, 300, err, sizeof(err)));
	EXPECT_LT(ms() - t0, 2000);
	close(fd);
}

TEST(command)
{
	char err[256] = "";
	long long t0;

	EXPECT_EQ(0, probe("command /bin/true", 2000, err, sizeof(err)));
	EXPECT_EQ(-EPROTO, probe("command /bin/sh -c 'exit 3'", 2000, err,
				 sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "exited with 3")) TH_LOG("%s", err);
	EXPECT_EQ(-EPROTO, probe("command /nonexistent/x", 2000, err,
				 sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "exited with 127")) TH_LOG("%s", err);
	/* The command and what it started are killed at the deadline. */
	t0 = ms();
	EXPECT_EQ(-ETIMEDOUT, probe("command /bin/sh -c 'sleep 20 & sleep 20'",
				    300, err, sizeof(err)));
	EXPECT_LT(ms() - t0, 2000);
}

TEST(wait_until_a_listener_appears)
{
	struct lzb_err err = { "" };
	struct lzb_probe p;
	long long t0 = ms();
	pid_t child;

	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_port = htons(16393) };
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;

		usleep(400000);	/* listen late: the probe must wait */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		inet_pton(AF_INET, "127.0.0.25", &sa.sin_addr);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(fd, 4))
			_exit(1);
		sleep(10);
		_exit(0);
	}
	ASSERT_EQ(0, lzb_probe_parse("tcp 127.0.0.25:16393", &p, &err));
	EXPECT_EQ(0, lzb_probe_wait(&p, 5000, 50, &err)) TH_LOG("%s", err.msg);
	EXPECT_GE(ms() - t0, 350);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);

	/* And one that never comes gives up at the total. */
	t0 = ms();
	EXPECT_EQ(-ECONNREFUSED, lzb_probe_wait(&p, 300, 50, &err));
	EXPECT_GE(ms() - t0, 290);
	EXPECT_LT(ms() - t0, 1500);
	lzb_probe_free(&p);
}

TEST(argv_split)
{
	struct lzb_argv a;
	struct lzb_err err;

	ASSERT_EQ(0, lzb_argv_split("  a 'b c'\t\"d \\\" e\" f\\ g '' ", &a,
				    &err));
	ASSERT_EQ(5, a.argc);
	EXPECT_STREQ("a", a.argv[0]);
	EXPECT_STREQ("b c", a.argv[1]);
	EXPECT_STREQ("d \" e", a.argv[2]);
	EXPECT_STREQ("f g", a.argv[3]);
	EXPECT_STREQ("", a.argv[4]);
	EXPECT_EQ(NULL, a.argv[5]);
	lzb_argv_free(&a);
	EXPECT_EQ(-EINVAL, lzb_argv_split("   ", &a, &err));
	EXPECT_STREQ("empty command", err.msg);
}

TEST_HARNESS_MAIN
