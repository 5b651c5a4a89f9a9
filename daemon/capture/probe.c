// SPDX-License-Identifier: LGPL-2.1-or-later
/* Readiness probes: tcp, http, redis-ping, command (see probe.h). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture/probe.h"

#include "util/clock.h"

void lzb_argv_free(struct lzb_argv *a)
{
	int i;

	if (!a->argv)
		return;
	for (i = 0; i < a->argc; i++)
		free(a->argv[i]);
	free(a->argv);
	a->argv = NULL;
	a->argc = 0;
}

int lzb_argv_copy(struct lzb_argv *dst, const struct lzb_argv *src)
{
	int i;

	dst->argc = 0;
	dst->argv = calloc(src->argc + 1, sizeof(char *));
	if (!dst->argv)
		return -ENOMEM;
	for (i = 0; i < src->argc; i++) {
		dst->argv[i] = strdup(src->argv[i]);
		if (!dst->argv[i]) {
			lzb_argv_free(dst);
			return -ENOMEM;
		}
		dst->argc++;
	}
	return 0;
}

int lzb_argv_split(const char *s, struct lzb_argv *out, struct lzb_err *err)
{
	size_t len = strlen(s);
	char *word = malloc(len + 1);
	char **v = calloc(LZB_ARGV_MAX + 1, sizeof(char *));
	int n = 0, ret = -EINVAL;
	const char *p = s;

	out->argc = 0;
	out->argv = NULL;
	if (!word || !v) {
		ret = -ENOMEM;
		lzb_errf(err, "out of memory");
		goto fail;
	}
	for (;;) {
		size_t w = 0;
		int have = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		while (*p && *p != ' ' && *p != '\t') {
			have = 1;
			if (*p == '\'') {
				const char *q = strchr(p + 1, '\'');

				if (!q) {
					lzb_errf(err, "unterminated ' quote");
					goto fail;
				}
				memcpy(word + w, p + 1, q - p - 1);
				w += q - p - 1;
				p = q + 1;
			} else if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					if (*p == '\\' &&
					    (p[1] == '"' || p[1] == '\\'))
						p++;
					word[w++] = *p++;
				}
				if (*p != '"') {
					lzb_errf(err,
						 "unterminated \" quote");
					goto fail;
				}
				p++;
			} else if (*p == '\\') {
				if (!p[1]) {
					lzb_errf(err,
						 "trailing backslash");
					goto fail;
				}
				word[w++] = p[1];
				p += 2;
			} else {
				word[w++] = *p++;
			}
		}
		if (!have)
			continue;
		if (n == LZB_ARGV_MAX) {
			lzb_errf(err, "more than %d words",
				 LZB_ARGV_MAX);
			goto fail;
		}
		word[w] = '\0';
		v[n] = strdup(word);
		if (!v[n]) {
			ret = -ENOMEM;
			lzb_errf(err, "out of memory");
			goto fail;
		}
		n++;
	}
	if (!n) {
		lzb_errf(err, "empty command");
		goto fail;
	}
	free(word);
	out->argc = n;
	out->argv = v;
	return 0;
fail:
	free(word);
	if (v) {
		while (n--)
			free(v[n]);
		free(v);
	}
	return ret;
}

/* "HOST:PORT" or "[V6]:PORT" */
static int parse_hostport(const char *s, size_t len, struct lzb_probe *p,
			  struct lzb_err *err)
{
	const char *colon, *end = s + len;
	size_t hl;
	char *e;
	long port;
	char pbuf[8];

	if (len && s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (!rb || rb + 1 >= end || rb[1] != ':') {
			lzb_errf(err, "expected [ADDRESS]:PORT");
			return -EINVAL;
		}
		hl = rb - s - 1;
		s++;
		colon = rb + 1;
	} else {
		colon = NULL;
		for (const char *q = s; q < end; q++)
			if (*q == ':')
				colon = q;
		if (!colon) {
			lzb_errf(err, "expected HOST:PORT");
			return -EINVAL;
		}
		hl = colon - s;
	}
	if (!hl || hl >= sizeof(p->host)) {
		lzb_errf(err, "bad host name length");
		return -EINVAL;
	}
	if ((size_t)(end - colon - 1) >= sizeof(pbuf) || end - colon - 1 < 1) {
		lzb_errf(err, "bad port");
		return -EINVAL;
	}
	memcpy(pbuf, colon + 1, end - colon - 1);
	pbuf[end - colon - 1] = '\0';
	errno = 0;
	port = strtol(pbuf, &e, 10);
	if (*e || errno || port < 1 || port > 65535 || pbuf[0] == '+' ||
	    pbuf[0] == '-') {
		lzb_errf(err, "bad port '%s' (1-65535)", pbuf);
		return -EINVAL;
	}
	memcpy(p->host, s, hl);
	p->host[hl] = '\0';
	snprintf(p->port, sizeof(p->port), "%ld", port);
	return 0;
}

static int parse_http(const char *rest, struct lzb_probe *p, struct lzb_err *err)
{
	const char *url = rest, *urlend, *hp, *slash;
	char *e;
	long st = 200;

	urlend = url + strcspn(url, " \t");
	if (strncmp(url, "http://", 7)) {
		lzb_errf(err, "http probe needs an http:// URL");
		return -EINVAL;
	}
	hp = url + 7;
	slash = memchr(hp, '/', urlend - hp);
	if (!slash)
		slash = urlend;
	if (slash - hp == 0) {
		lzb_errf(err, "http URL without a host");
		return -EINVAL;
	}
	/* A URL without a port means 80. */
	if (memchr(hp, ':', slash - hp) &&
	    !(hp[0] == '[' && ((const char *)memchr(hp, ']', slash - hp) ==
			       slash - 1))) {
		if (parse_hostport(hp, slash - hp, p, err))
			return -EINVAL;
	} else {
		size_t hl = slash - hp;

		if (hp[0] == '[') {
			hp++;
			hl -= 2;
		}
		if (!hl || hl >= sizeof(p->host)) {
			lzb_errf(err, "bad host name length");
			return -EINVAL;
		}
		memcpy(p->host, hp, hl);
		p->host[hl] = '\0';
		strcpy(p->port, "80");
	}
	if (slash == urlend) {
		strcpy(p->path, "/");
	} else {
		if ((size_t)(urlend - slash) >= sizeof(p->path)) {
			lzb_errf(err, "URL path too long");
			return -EINVAL;
		}
		memcpy(p->path, slash, urlend - slash);
		p->path[urlend - slash] = '\0';
	}
	rest = urlend + strspn(urlend, " \t");
	if (*rest) {
		errno = 0;
		st = strtol(rest, &e, 10);
		e += strspn(e, " \t");
		if (*e || errno || st < 100 || st > 599) {
			lzb_errf(err,
				 "bad expected status '%s' (100-599)", rest);
			return -EINVAL;
		}
	}
	p->status = (int)st;
	return 0;
}

int lzb_probe_parse(const char *spec, struct lzb_probe *p, struct lzb_err *err)
{
	const char *kind = spec + strspn(spec, " \t");
	size_t kl = strcspn(kind, " \t");
	const char *rest = kind + kl;
	size_t rl;

	memset(p, 0, sizeof(*p));
	snprintf(p->spec, sizeof(p->spec), "%s", kind);
	rest += strspn(rest, " \t");
	rl = strlen(rest);
	while (rl && (rest[rl - 1] == ' ' || rest[rl - 1] == '\t'))
		rl--;
	if (!kl) {
		lzb_errf(err, "empty probe");
		return -EINVAL;
	}
	if (!rl) {
		lzb_errf(err, "probe '%.*s' needs an argument",
			 (int)kl, kind);
		return -EINVAL;
	}
	if (kl == 3 && !strncmp(kind, "tcp", 3)) {
		p->kind = LZB_PROBE_TCP;
		if (strcspn(rest, " \t") != rl) {
			lzb_errf(err, "tcp probe takes one HOST:PORT");
			return -EINVAL;
		}
		return parse_hostport(rest, rl, p, err);
	}
	if (kl == 10 && !strncmp(kind, "redis-ping", 10)) {
		p->kind = LZB_PROBE_REDIS;
		if (strcspn(rest, " \t") != rl) {
			lzb_errf(err,
				 "redis-ping probe takes one HOST:PORT");
			return -EINVAL;
		}
		return parse_hostport(rest, rl, p, err);
	}
	if (kl == 4 && !strncmp(kind, "http", 4)) {
		p->kind = LZB_PROBE_HTTP;
		return parse_http(rest, p, err);
	}
	if (kl == 7 && !strncmp(kind, "command", 7)) {
		p->kind = LZB_PROBE_COMMAND;
		return lzb_argv_split(rest, &p->cmd, err);
	}
	lzb_errf(err,
		 "unknown probe '%.*s' (tcp, http, redis-ping, command)",
		 (int)kl, kind);
	return -EINVAL;
}

void lzb_probe_free(struct lzb_probe *p)
{
	if (p->kind == LZB_PROBE_COMMAND)
		lzb_argv_free(&p->cmd);
}

static int remaining(long long deadline)
{
	long long left = deadline - (long long)lzb_now_ms();

	return left > 0 ? (int)left : 0;
}

static int connect_timeout(const struct lzb_probe *p, long long deadline,
			   struct lzb_err *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, gai, ret = -ECONNREFUSED;

	gai = getaddrinfo(p->host, p->port, &hints, &res);
	if (gai) {
		lzb_errf(err, "%s: %s", p->host, gai_strerror(gai));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		int soerr = 0, r;
		socklen_t sl = sizeof(soerr);

		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			ret = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			ret = -errno;
			goto next;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		r = poll(&pfd, 1, remaining(deadline));
		if (r == 0) {
			ret = -ETIMEDOUT;
			goto next;
		}
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl)) {
			ret = -errno;
			goto next;
		}
		if (!soerr)
			break;
		ret = -soerr;
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		lzb_errf(err, "connect %s port %s: %s", p->host,
			 p->port, strerror(-ret));
	return fd >= 0 ? fd : ret;
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
	while (len) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		ssize_t n;

		if (poll(&pfd, 1, remaining(deadline)) <= 0)
			return -ETIMEDOUT;
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/* Read until STOP is in the buffer, EOF, or the buffer is full. */
static ssize_t recv_until(int fd, char *buf, size_t cap, const char *stop,
			  long long deadline)
{
	size_t got = 0;

	while (got + 1 < cap) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int r;

		r = poll(&pfd, 1, remaining(deadline));
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0)
			return -errno;
		n = recv(fd, buf + got, cap - 1 - got, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += n;
		buf[got] = '\0';
		if (strstr(buf, stop))
			break;
	}
	buf[got] = '\0';
	return got;
}

static int probe_http(const struct lzb_probe *p, long long deadline, struct lzb_err *err)
{
	char req[1400], resp[512];
	int fd, ret, status;
	ssize_t n;
	const char *host = p->host;
	int v6 = strchr(host, ':') != NULL;

	fd = connect_timeout(p, deadline, err);
	if (fd < 0)
		return fd;
	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
		 "User-Agent: lazyboot-probe\r\nConnection: close\r\n\r\n",
		 p->path, v6 ? "[" : "", host, v6 ? "]" : "", p->port);
	ret = send_all(fd, req, strlen(req), deadline);
	if (ret) {
		lzb_errf(err, "GET %s: sending: %s", p->path,
			 strerror(-ret));
		goto out;
	}
	n = recv_until(fd, resp, sizeof(resp), "\r\n", deadline);
	if (n < 0) {
		ret = (int)n;
		lzb_errf(err, "GET %s: no answer: %s", p->path,
			 strerror(-ret));
		goto out;
	}
	if (n == 0) {
		ret = -EPROTO;
		lzb_errf(err, "GET %s: connection closed without an "
			 "answer", p->path);
		goto out;
	}
	if (sscanf(resp, "HTTP/%*d.%*d %3d", &status) != 1) {
		ret = -EPROTO;
		lzb_errf(err, "GET %s: not an HTTP status line: %.40s",
			 p->path, resp);
		goto out;
	}
	if (status != p->status) {
		ret = -EPROTO;
		lzb_errf(err, "GET %s answered %d, expected %d", p->path,
			 status, p->status);
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

static int probe_redis(const struct lzb_probe *p, long long deadline,
		       struct lzb_err *err)
{
	static const char ping[] = "*1\r\n$4\r\nPING\r\n";
	char resp[256];
	int fd, ret;
	ssize_t n;

	fd = connect_timeout(p, deadline, err);
	if (fd < 0)
		return fd;
	ret = send_all(fd, ping, sizeof(ping) - 1, deadline);
	if (ret) {
		lzb_errf(err, "PING: %s", strerror(-ret));
		goto out;
	}
	n = recv_until(fd, resp, sizeof(resp), "\r\n", deadline);
	if (n < 0) {
		ret = (int)n;
		lzb_errf(err, "PING: no answer: %s", strerror(-ret));
		goto out;
	}
	if (n == 0) {
		ret = -EPROTO;
		lzb_errf(err, "PING: connection closed without an "
			 "answer");
		goto out;
	}
	if (strncmp(resp, "+PONG\r\n", 7)) {
		/* e.g. "-LOADING Redis is loading the dataset in memory" */
		ret = -EPROTO;
		resp[strcspn(resp, "\r\n")] = '\0';
		lzb_errf(err, "PING answered '%.80s'", resp);
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

static int probe_command(const struct lzb_probe *p, long long deadline,
			 struct lzb_err *err)
{
	pid_t pid, w;
	int status = 0;

	pid = fork();
	if (pid < 0) {
		lzb_errf(err, "fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		setpgid(0, 0);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		execvp(p->cmd.argv[0], p->cmd.argv);
		dprintf(2, "lazyboot probe: %s: %s\n", p->cmd.argv[0],
			strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			lzb_errf(err, "waitpid: %s", strerror(errno));
			return -ECHILD;
		}
		if (!remaining(deadline)) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			lzb_errf(err, "command '%s' timed out",
				 p->cmd.argv[0]);
			return -ETIMEDOUT;
		}
		usleep(10000);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		lzb_errf(err, "command '%s' exited with %d",
			 p->cmd.argv[0], WEXITSTATUS(status));
	else
		lzb_errf(err, "command '%s' killed by signal %d",
			 p->cmd.argv[0], WTERMSIG(status));
	return -EPROTO;
}

int lzb_probe_once(const struct lzb_probe *p, int timeout_ms, struct lzb_err *err)
{
	long long deadline = (long long)lzb_now_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	int fd;

	switch (p->kind) {
	case LZB_PROBE_TCP:
		fd = connect_timeout(p, deadline, err);
		if (fd < 0)
			return fd;
		close(fd);
		return 0;
	case LZB_PROBE_HTTP:
		return probe_http(p, deadline, err);
	case LZB_PROBE_REDIS:
		return probe_redis(p, deadline, err);
	case LZB_PROBE_COMMAND:
		return probe_command(p, deadline, err);
	}
	lzb_errf(err, "unknown probe kind %d", (int)p->kind);
	return -EINVAL;
}

int lzb_probe_wait(const struct lzb_probe *p, int total_ms, int interval_ms,
		   struct lzb_err *err)
{
	long long deadline = (long long)lzb_now_ms() + total_ms;
	int ret;

	for (;;) {
		int left = remaining(deadline);
		int once = left < 5000 ? left : 5000;

		ret = lzb_probe_once(p, once ? once : 1, err);
		if (!ret)
			return 0;
		if (!remaining(deadline))
			return ret;
		left = remaining(deadline);
		usleep(1000 * (interval_ms < left ? interval_ms : left));
	}
}
