// SPDX-License-Identifier: LGPL-2.1-or-later
/* The app-set description parser (format: docs/appset.md). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/appset.h"

struct pstate {
	const char *fname;
	int line;
	struct lzb_err *err;
	struct lzb_appset *a;
	struct lzb_service *svc;	/* current [service], or NULL */
	int in_appset;
	int seen_appset;
	unsigned seen;			/* single-valued keys of this section */
};

static int perr(struct pstate *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int perr(struct pstate *ps, const char *fmt, ...)
{
	char what[sizeof(ps->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	lzb_errf(ps->err, "%s:%d: %s", ps->fname, ps->line, what);
	return -EINVAL;
}

static int valid_name(const char *s, size_t len)
{
	size_t i;

	if (!len || len > LZB_APPSET_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Single-valued keys: each may appear once per section. */
enum {
	K_NAME = 1 << 0, K_HOSTNAME = 1 << 1, K_NAMESPACES = 1 << 2,
	K_CRIU = 1 << 3, K_COMMAND = 1 << 4, K_COLD = 1 << 5,
	K_WARMUP = 1 << 6, K_BEFORE = 1 << 7, K_WORKDIR = 1 << 8,
	K_TIMEOUT = 1 << 9,
};

static int once(struct pstate *ps, unsigned bit, const char *key)
{
	if (ps->seen & bit)
		return perr(ps, "'%s' given twice in this section", key);
	ps->seen |= bit;
	return 0;
}

static int argv_value(struct pstate *ps, const char *key, const char *val,
		      struct lzb_argv *out)
{
	struct lzb_err why;

	if (lzb_argv_split(val, out, &why))
		return perr(ps, "%s: %s", key, why.msg);
	return 0;
}

static const struct {
	const char *name;
	unsigned long flag;
} ns_table[] = {
	{ "pid", CLONE_NEWPID },   { "mount", CLONE_NEWNS },
	{ "uts", CLONE_NEWUTS },   { "ipc", CLONE_NEWIPC },
	{ "net", CLONE_NEWNET },
};

void lzb_appset_ns_names(unsigned long ns, char *buf, size_t len)
{
	size_t i, off = 0;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < sizeof(ns_table) / sizeof(ns_table[0]); i++) {
		int n;

		if (!(ns & ns_table[i].flag))
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? " " : "",
			     ns_table[i].name);
		if (n < 0 || (size_t)n >= len - off)
			return;
		off += n;
	}
}

static int parse_namespaces(struct pstate *ps, const char *val)
{
	struct lzb_argv w;
	unsigned long ns = 0;
	int i, ret = 0;
	size_t j;

	if (argv_value(ps, "namespaces", val, &w))
		return -EINVAL;
	for (i = 0; i < w.argc && !ret; i++) {
		for (j = 0; j < sizeof(ns_table) / sizeof(ns_table[0]); j++)
			if (!strcmp(w.argv[i], ns_table[j].name))
				break;
		if (j == sizeof(ns_table) / sizeof(ns_table[0]))
			ret = perr(ps, "unknown namespace '%s' (pid, mount, "
				   "uts, ipc, net)", w.argv[i]);
		else
			ns |= ns_table[j].flag;
	}
	if (!ret && !(ns & CLONE_NEWPID))
		ret = perr(ps, "namespaces must include pid: the dump's "
			   "process ids are only free on another node "
			   "inside a fresh PID namespace");
	lzb_argv_free(&w);
	ps->a->namespaces = ns;
	return ret;
}

static int parse_timeout(struct pstate *ps, const char *val)
{
	char *e;
	long t;

	errno = 0;
	t = strtol(val, &e, 10);
	if (!isdigit((unsigned char)val[0]) || *e || errno || t < 1 ||
	    t > 3600)
		return perr(ps, "ready-timeout must be whole seconds, 1-3600");
	ps->svc->ready_timeout_s = (int)t;
	return 0;
}

static int parse_env(struct pstate *ps, const char *val)
{
	struct lzb_service *s = ps->svc;
	const char *eq = strchr(val, '=');
	size_t i;

	if (!eq || eq == val)
		return perr(ps, "env must be NAME=VALUE");
	for (i = 0; val + i < eq; i++)
		if (!(isalnum((unsigned char)val[i]) || val[i] == '_') ||
		    (i == 0 && isdigit((unsigned char)val[0])))
			return perr(ps, "env: '%.*s' is not a variable name",
				    (int)(eq - val), val);
	if (s->nenv == LZB_APPSET_MAX_ENV)
		return perr(ps, "more than %d env lines", LZB_APPSET_MAX_ENV);
	s->env[s->nenv] = strdup(val);
	if (!s->env[s->nenv])
		return perr(ps, "out of memory");
	s->nenv++;
	return 0;
}

static int appset_key(struct pstate *ps, const char *key, const char *val)
{
	struct lzb_appset *a = ps->a;

	if (!strcmp(key, "name")) {
		if (once(ps, K_NAME, key))
			return -EINVAL;
		if (!valid_name(val, strlen(val)))
			return perr(ps, "name: 1-%d of A-Z a-z 0-9 . _ -",
				    LZB_APPSET_NAME_MAX);
		strcpy(a->name, val);
		return 0;
	}
	if (!strcmp(key, "hostname")) {
		if (once(ps, K_HOSTNAME, key))
			return -EINVAL;
		if (strlen(val) >= sizeof(a->hostname) ||
		    strspn(val, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
			    strlen(val))
			return perr(ps, "hostname: up to 64 of A-Z a-z 0-9 . -");
		strcpy(a->hostname, val);
		return 0;
	}
	if (!strcmp(key, "namespaces"))
		return once(ps, K_NAMESPACES, key) ? -EINVAL :
		       parse_namespaces(ps, val);
	if (!strcmp(key, "criu-options"))
		return once(ps, K_CRIU, key) ? -EINVAL :
		       argv_value(ps, key, val, &a->criu_options);
	return perr(ps, "unknown key '%s' in [appset] (name, hostname, "
		    "namespaces, criu-options)", key);
}

static int service_key(struct pstate *ps, const char *key, const char *val)
{
	struct lzb_service *s = ps->svc;
	struct lzb_err why;

	if (!strcmp(key, "command"))
		return once(ps, K_COMMAND, key) ? -EINVAL :
		       argv_value(ps, key, val, &s->command);
	if (!strcmp(key, "coldstart"))
		return once(ps, K_COLD, key) ? -EINVAL :
		       argv_value(ps, key, val, &s->coldstart);
	if (!strcmp(key, "warmup"))
		return once(ps, K_WARMUP, key) ? -EINVAL :
		       argv_value(ps, key, val, &s->warmup);
	if (!strcmp(key, "before-dump"))
		return once(ps, K_BEFORE, key) ? -EINVAL :
		       argv_value(ps, key, val, &s->before_dump);
	if (!strcmp(key, "workdir")) {
		if (once(ps, K_WORKDIR, key))
			return -EINVAL;
		if (val[0] != '/')
			return perr(ps, "workdir must be an absolute path");
		s->workdir = strdup(val);
		return s->workdir ? 0 : perr(ps, "out of memory");
	}
	if (!strcmp(key, "ready-timeout"))
		return once(ps, K_TIMEOUT, key) ? -EINVAL : parse_timeout(ps, val);
	if (!strcmp(key, "env"))
		return parse_env(ps, val);
	if (!strcmp(key, "ready")) {
		if (s->nprobes == LZB_APPSET_MAX_PROBES)
			return perr(ps, "more than %d ready probes",
				    LZB_APPSET_MAX_PROBES);
		if (lzb_probe_parse(val, &s->probes[s->nprobes], &why))
			return perr(ps, "ready: %s", why.msg);
		s->nprobes++;
		return 0;
	}
	return perr(ps, "unknown key '%s' in [service %s] (command, env, "
		    "workdir, ready, ready-timeout, warmup, before-dump, "
		    "coldstart)", key, s->name);
}

static int end_service(struct pstate *ps)
{
	struct lzb_service *s = ps->svc;
	int line = ps->line, ret = 0;

	if (!s)
		return 0;
	ps->line = s->line;
	if (!s->command.argc)
		ret = perr(ps, "[service %s] has no command", s->name);
	else if (!s->nprobes)
		ret = perr(ps, "[service %s] has no ready probe: capture "
			   "would not know when to dump", s->name);
	ps->line = line;
	return ret;
}

static int section(struct pstate *ps, char *line)
{
	char *end = strchr(line, ']'), *body;
	size_t i;

	if (!end || trim(end + 1)[0])
		return perr(ps, "a section header is [appset] or "
			    "[service NAME]");
	*end = '\0';
	body = trim(line + 1);
	if (end_service(ps))
		return -EINVAL;
	ps->svc = NULL;
	ps->in_appset = 0;
	ps->seen = 0;
	if (!strcmp(body, "appset")) {
		if (ps->seen_appset)
			return perr(ps, "[appset] given twice");
		ps->seen_appset = ps->in_appset = 1;
		return 0;
	}
	if (strncmp(body, "service", 7) || (body[7] != ' ' && body[7] != '\t'))
		return perr(ps, "unknown section [%s] (appset, service NAME)",
			    body);
	body = trim(body + 7);
	if (!valid_name(body, strlen(body)))
		return perr(ps, "service name '%s': 1-%d of A-Z a-z 0-9 . _ -",
			    body, LZB_APPSET_NAME_MAX);
	for (i = 0; i < (size_t)ps->a->nsvc; i++)
		if (!strcmp(ps->a->svc[i].name, body))
			return perr(ps, "service '%s' defined twice (first at "
				    "line %d)", body, ps->a->svc[i].line);
	if (ps->a->nsvc == LZB_APPSET_MAX_SERVICES)
		return perr(ps, "more than %d services",
			    LZB_APPSET_MAX_SERVICES);
	ps->svc = &ps->a->svc[ps->a->nsvc++];
	strcpy(ps->svc->name, body);
	ps->svc->line = ps->line;
	ps->svc->ready_timeout_s = 60;
	return 0;
}

static int parse_line(struct pstate *ps, char *line)
{
	char *eq, *key, *val;

	line = trim(line);
	if (!line[0] || line[0] == '#' || line[0] == ';')
		return 0;
	if (line[0] == '[')
		return section(ps, line);
	eq = strchr(line, '=');
	if (!eq)
		return perr(ps, "expected 'key = value', a [section] or a "
			    "# comment");
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	if (!key[0])
		return perr(ps, "missing key before '='");
	if (!val[0])
		return perr(ps, "'%s' has no value", key);
	if (ps->in_appset)
		return appset_key(ps, key, val);
	if (ps->svc)
		return service_key(ps, key, val);
	return perr(ps, "'%s' outside any section: start with [appset] or "
		    "[service NAME]", key);
}

int lzb_appset_parse(const char *text, size_t len, const char *fname,
		     struct lzb_appset *out, struct lzb_err *err)
{
	struct pstate ps = { .fname = fname ? fname : "<appset>", .err = err,
			     .a = out };
	char buf[LZB_APPSET_MAX_LINE + 2];
	size_t pos = 0;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->namespaces = CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
	if (len > LZB_APPSET_MAX_FILE) {
		ps.line = 0;
		ret = perr(&ps, "larger than %d bytes", LZB_APPSET_MAX_FILE);
		goto out;
	}
	while (pos < len && !ret) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = (nl ? (size_t)(nl - text) : len) - pos;

		ps.line++;
		if (ll > LZB_APPSET_MAX_LINE) {
			ret = perr(&ps, "line longer than %d bytes",
				   LZB_APPSET_MAX_LINE);
			break;
		}
		if (memchr(text + pos, '\0', ll)) {
			ret = perr(&ps, "NUL byte in line");
			break;
		}
		memcpy(buf, text + pos, ll);
		buf[ll] = '\0';
		ret = parse_line(&ps, buf);
		pos += ll + (nl ? 1 : 0);
	}
	if (!ret)
		ret = end_service(&ps);
	if (!ret && !out->nsvc) {
		ps.line = ps.line ? ps.line : 1;
		ret = perr(&ps, "no [service NAME] section");
	}
	if (!ret && !out->name[0])
		strcpy(out->name, "appset");
out:
	if (ret)
		lzb_appset_free(out);
	return ret;
}

int lzb_appset_load(const char *path, struct lzb_appset *out, struct lzb_err *err)
{
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		lzb_errf(err, "%s: %s", path, strerror(errno));
		return ret;
	}
	buf = malloc(LZB_APPSET_MAX_FILE + 1);
	if (!buf) {
		close(fd);
		lzb_errf(err, "%s: out of memory", path);
		return -ENOMEM;
	}
	while ((n = read(fd, buf + got, LZB_APPSET_MAX_FILE + 1 - got)) > 0) {
		got += n;
		if (got == LZB_APPSET_MAX_FILE + 1)
			break;
	}
	if (n < 0) {
		ret = -errno;
		lzb_errf(err, "%s: %s", path, strerror(errno));
		close(fd);
		free(buf);
		return ret;
	}
	close(fd);
	ret = lzb_appset_parse(buf, got, path, out, err);
	free(buf);
	return ret;
}

void lzb_appset_free(struct lzb_appset *a)
{
	int i, j;

	lzb_argv_free(&a->criu_options);
	for (i = 0; i < a->nsvc; i++) {
		struct lzb_service *s = &a->svc[i];

		lzb_argv_free(&s->command);
		lzb_argv_free(&s->coldstart);
		lzb_argv_free(&s->warmup);
		lzb_argv_free(&s->before_dump);
		free(s->workdir);
		for (j = 0; j < s->nenv; j++)
			free(s->env[j]);
		for (j = 0; j < s->nprobes; j++)
			lzb_probe_free(&s->probes[j]);
	}
	/* The current service may be half-filled: nsvc counts it. */
	memset(a, 0, sizeof(*a));
}
