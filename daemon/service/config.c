// SPDX-License-Identifier: LGPL-2.1-or-later
/* lazybootd's configuration file (config.h, lazybootd.conf(5)). */
#include "service/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_trust.h"
#include "pager/restore_args.h"
#include "util/file_util.h"

enum key {
	K_MIRRORS, K_PUBKEY, K_ALLOW_UNSIGNED, K_ENCRYPT_KEY, K_IMAGE_ID,
	K_READY, K_TAKEOVER_DEADLINE, K_MAX_BACKGROUND, K_TFTP_BLKSIZE,
	K_FALLBACK, K_COLDSTART, K_LOG_LEVEL, K_CRIU, K_PLUGIN_DIR,
	K_CRIU_OPTIONS, K_FETCH_USER, K_FETCH_SANDBOX, K_STREAM,
	K_STREAM_YIELD, NR_KEYS
};

static const char *const key_names[NR_KEYS] = {
	[K_MIRRORS] = "mirrors",
	[K_PUBKEY] = "pubkey",
	[K_ALLOW_UNSIGNED] = "allow-unsigned",
	[K_ENCRYPT_KEY] = "encrypt-key",
	[K_IMAGE_ID] = "image-id",
	[K_READY] = "ready",
	[K_TAKEOVER_DEADLINE] = "takeover-deadline",
	[K_MAX_BACKGROUND] = "max-background",
	[K_TFTP_BLKSIZE] = "tftp-blksize",
	[K_FALLBACK] = "fallback",
	[K_COLDSTART] = "coldstart",
	[K_LOG_LEVEL] = "log-level",
	[K_CRIU] = "criu",
	[K_PLUGIN_DIR] = "plugin-dir",
	[K_CRIU_OPTIONS] = "criu-options",
	[K_FETCH_USER] = "fetch-user",
	[K_FETCH_SANDBOX] = "fetch-sandbox",
	[K_STREAM] = "stream",
	[K_STREAM_YIELD] = "stream-yield",
};

/* The keys of the old EnvironmentFile= configuration, for a hint. */
static const struct {
	const char *old, *now;
} old_keys[] = {
	{ "URL", "mirrors" }, { "PUBKEY", "pubkey" }, { "READY", "ready" },
	{ "CRIU_OPTIONS", "criu-options" },
	{ "OPTIONS", "one key per option" },
};

struct parse {
	const char *path;
	int line;
	int seen[NR_KEYS];		/* line a key was set on, 0: not */
	struct lzbd_config *c;
	struct lzb_err *err;
};

static int bad(struct parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(struct parse *p, const char *fmt, ...)
{
	char reason[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return lzb_errf(p->err, "%s:%d: %s", p->path, p->line, reason);
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\r'))
		*--end = '\0';
	return s;
}

static int set_string(struct parse *p, char **field, const char *v)
{
	*field = strdup(v);
	if (!*field)
		return lzb_errf(p->err, "%s: out of memory", p->path);
	return 0;
}

/* One or more URLs, at whitespace; the key may come again for more. */
static int set_mirrors(struct parse *p, char *v)
{
	static const char *const schemes[] = {
		"file://", "http://", "https://", "tftp://",
	};

	for (char *url = strtok(v, " \t"); url; url = strtok(NULL, " \t")) {
		bool known = false;

		for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
			known |= !strncmp(url, schemes[i], strlen(schemes[i])) &&
				 url[strlen(schemes[i])];
		if (!known)
			return bad(p, "'%s' is not a file://, http://, https:// "
				   "or tftp:// URL", url);
		if (p->c->nr_mirrors == LZBD_CONFIG_MAX_MIRRORS)
			return bad(p, "more than %d mirrors",
				   LZBD_CONFIG_MAX_MIRRORS);
		if (set_string(p, &p->c->mirrors[p->c->nr_mirrors], url))
			return -1;
		p->c->nr_mirrors++;
	}
	return 0;
}

static int set_bool(struct parse *p, const char *key, const char *v,
		    bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else
		return bad(p, "%s takes yes or no, not '%s'", key, v);
	return 0;
}

/* A yes/no key kept as its negation (a default-on feature's no_ flag). */
static int set_bool_off(struct parse *p, const char *key, const char *v,
			bool *off)
{
	bool on;

	if (set_bool(p, key, v, &on))
		return -1;
	*off = !on;
	return 0;
}

static int set_count(struct parse *p, const char *key, const char *v,
		     unsigned long min, unsigned long max, unsigned int *out)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end || errno || n < min || n > max) {
		return bad(p, "%s takes %lu..%lu, not '%s'", key, min, max,
			   v);
	}
	*out = (unsigned int)n;
	return 0;
}

/* 30s, 500ms, 2min, or plain seconds; 1 ms up to 24 h. */
static int set_duration(struct parse *p, const char *key, const char *v,
			uint32_t *ms)
{
	static const struct {
		const char *unit;
		unsigned long long ms;
	} units[] = { { "", 1000 }, { "s", 1000 }, { "ms", 1 }, { "min", 60000 } };
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (v[0] >= '0' && v[0] <= '9' && !errno)
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (!strcmp(end, units[i].unit) && n &&
			    n <= 86400000ULL / units[i].ms) {
				*ms = (uint32_t)(n * units[i].ms);
				return 0;
			}
	return bad(p, "%s takes a duration like 30s, 500ms or 2min (at most "
		   "24 h), not '%s'", key, v);
}

/* Words at whitespace; no quoting, so refuse what looks like it. */
static int set_words(struct parse *p, const char *key, const char *v)
{
	struct lzbd_config *c = p->c;

	if (strpbrk(v, "\"'\\"))
		return bad(p, "%s is split at whitespace, without quotes or "
			   "escapes: '%s'", key, v);
	free(c->text);
	c->nr_criu_args = 0;
	c->text = strdup(v);
	if (!c->text)
		return lzb_errf(p->err, "%s: out of memory", p->path);
	for (char *w = strtok(c->text, " \t"); w; w = strtok(NULL, " \t")) {
		if (c->nr_criu_args == LZBD_CONFIG_MAX_CRIU_ARGS)
			return bad(p, "%s: more than %d words", key,
				   LZBD_CONFIG_MAX_CRIU_ARGS);
		c->criu_args[c->nr_criu_args++] = w;
	}
	return 0;
}

static int set_key(struct parse *p, enum key k, char *v)
{
	struct lzbd_config *c = p->c;
	const char *key = key_names[k];

	switch (k) {
	case K_MIRRORS:
		return set_mirrors(p, v);
	case K_PUBKEY:
		return set_string(p, &c->pubkey, v);
	case K_ALLOW_UNSIGNED:
		return set_bool(p, key, v, &c->allow_unsigned);
	case K_ENCRYPT_KEY:
		return set_string(p, &c->encrypt_key, v);
	case K_IMAGE_ID: {
		struct lzb_err err;

		if (lzb_image_id_check(v, &err))
			return bad(p, "%s: %s", key, err.msg);
		if (set_string(p, &c->image_id, v))
			return -1;
		for (char *h = c->image_id; *h; h++)	/* as inspect shows it */
			*h = (char)tolower((unsigned char)*h);
		return 0;
	}
	case K_READY:
		return set_string(p, &c->ready, v);
	case K_TAKEOVER_DEADLINE:
		return set_duration(p, key, v, &c->takeover_deadline_ms);
	case K_MAX_BACKGROUND:
		return set_count(p, key, v, 1, 256, &c->max_background);
	case K_TFTP_BLKSIZE:	/* RFC 2348 */
		return set_count(p, key, v, 8, 65464, &c->tftp_blksize);
	case K_FALLBACK:
		if (lzb_fallback_parse(v, &c->fallback))
			return bad(p, "%s takes coldstart or fail, not '%s'",
				   key, v);
		return 0;
	case K_COLDSTART:
		return set_string(p, &c->coldstart, v);
	case K_LOG_LEVEL:
		if (lzb_log_parse_level(v, &c->log_level))
			return bad(p, "log-level takes %s, not '%s'",
				   lzb_log_level_names, v);
		return 0;
	case K_CRIU:
		return set_string(p, &c->criu, v);
	case K_PLUGIN_DIR:
		return set_string(p, &c->plugin_dir, v);
	case K_CRIU_OPTIONS:
		return set_words(p, key, v);
	case K_FETCH_USER:
		return set_string(p, &c->fetch_user, v);
	case K_FETCH_SANDBOX:
		return set_bool_off(p, key, v, &c->no_fetch_sandbox);
	case K_STREAM:
		return set_bool_off(p, key, v, &c->no_stream);
	case K_STREAM_YIELD:
		if (lzb_stream_yield_parse(v, &c->stream_yield))
			return bad(p, "%s takes bound, hold or off, not '%s'",
				   key, v);
		return 0;
	case NR_KEYS:
		break;
	}
	return -1;
}

static int parse_line(struct parse *p, char *line)
{
	char *eq, *key, *v;
	int k;

	line = trim(line);
	if (!line[0] || line[0] == '#')
		return 0;
	eq = strchr(line, '=');
	if (!eq)
		return bad(p, "not 'key = value': '%.60s'", line);
	*eq = '\0';
	key = trim(line);
	v = trim(eq + 1);
	for (k = 0; k < NR_KEYS; k++)
		if (!strcmp(key, key_names[k]))
			break;
	if (k == NR_KEYS) {
		for (size_t i = 0; i < sizeof(old_keys) / sizeof(old_keys[0]); i++)
			if (!strcmp(key, old_keys[i].old))
				return bad(p, "unknown key '%s' (the old "
					   "EnvironmentFile= form: now %s; "
					   "lazybootd.conf(5))", key,
					   old_keys[i].now);
		return bad(p, "unknown key '%.60s'", key);
	}
	if (!v[0])
		return bad(p, "%s needs a value", key);
	if (p->seen[k] && k != K_MIRRORS)
		return bad(p, "%s given again (first on line %d)", key,
			   p->seen[k]);
	if (set_key(p, (enum key)k, v))
		return -1;
	if (p->c->pubkey && p->c->allow_unsigned)
		return bad(p, "%s contradicts %s on line %d", key,
			   k == K_PUBKEY ? "allow-unsigned = yes" : "pubkey",
			   p->seen[k == K_PUBKEY ? K_ALLOW_UNSIGNED : K_PUBKEY]);
	p->seen[k] = p->line;
	return 0;
}

/* What no single line can be blamed for. */
static int check_whole(struct parse *p)
{
	const struct lzbd_config *c = p->c;

	if (!c->nr_mirrors)
		return lzb_errf(p->err, "%s: no mirrors: the image's URL is "
				"required", p->path);
	if (!c->pubkey && !c->allow_unsigned)
		return lzb_errf(p->err, "%s: no pubkey: name the signer's "
				"public key, or say allow-unsigned = yes",
				p->path);
	return 0;
}

int lzbd_config_parse(const char *path, const char *text, size_t len,
		      struct lzbd_config *c, struct lzb_err *err)
{
	struct parse p = { .path = path, .c = c, .err = err };
	const char *at = text, *stop = text + len;

	memset(c, 0, sizeof(*c));
	c->log_level = LZB_LOG_INFO;
	while (at < stop) {
		const char *nl = memchr(at, '\n', (size_t)(stop - at));
		size_t n = nl ? (size_t)(nl - at) : (size_t)(stop - at);
		char *line;
		int ret;

		p.line++;
		if (memchr(at, '\0', n)) {
			bad(&p, "NUL byte in line");
			goto fail;
		}
		line = strndup(at, n);
		if (!line) {
			lzb_errf(err, "%s: out of memory", path);
			goto fail;
		}
		ret = parse_line(&p, line);
		free(line);
		if (ret)
			goto fail;
		at += n + (nl ? 1 : 0);
	}
	if (!check_whole(&p))
		return 0;
fail:
	lzbd_config_free(c);
	return -1;
}

int lzbd_config_load(const char *path, struct lzbd_config *c,
		     struct lzb_err *err)
{
	uint8_t *text;
	size_t len;
	int ret;

	memset(c, 0, sizeof(*c));
	if (lzb_read_file(path, LZBD_CONFIG_MAX_BYTES, &text, &len, err))
		return -1;
	ret = lzbd_config_parse(path, (const char *)text, len, c, err);
	free(text);
	return ret;
}

void lzbd_config_apply(const struct lzbd_config *c,
		       struct lzb_restore_opts *o)
{
	o->mirrors = (const char *const *)c->mirrors;
	o->nr_mirrors = c->nr_mirrors;
	o->pubkey = c->pubkey;
	o->allow_unsigned = c->allow_unsigned;
	o->encrypt_key = c->encrypt_key;
	o->image_id = c->image_id;
	o->ready_cmd = c->ready;
	o->deadline_ms = c->takeover_deadline_ms;
	o->max_background = c->max_background;
	o->tftp_blksize = c->tftp_blksize;
	o->criu = c->criu;
	o->plugin_dir = c->plugin_dir;
	o->criu_args = c->criu_args;
	o->nr_criu_args = c->nr_criu_args;
	o->fallback_policy = c->fallback;
	o->coldstart_cmd = c->coldstart;
	o->fetch_user = c->fetch_user;
	o->no_fetch_sandbox = c->no_fetch_sandbox;
	o->no_stream = c->no_stream;
	o->stream_yield = c->stream_yield;
}

void lzbd_config_free(struct lzbd_config *c)
{
	for (size_t i = 0; i < c->nr_mirrors; i++)
		free(c->mirrors[i]);
	free(c->pubkey);
	free(c->encrypt_key);
	free(c->image_id);
	free(c->ready);
	free(c->coldstart);
	free(c->criu);
	free(c->plugin_dir);
	free(c->fetch_user);
	free(c->text);
	memset(c, 0, sizeof(*c));
}
