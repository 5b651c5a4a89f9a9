/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /etc/lazyboot/NAME.conf, lazybootd's configuration (lazybootd.conf(5)):
 * `key = value` lines, `#` comment lines.  Every key is known and every
 * value checked while reading, so a mistake stops lazybootd at start with
 * "FILE:LINE: reason" instead of surfacing mid-restore or not at all.
 */
#ifndef LAZYBOOT_SERVICE_CONFIG_H
#define LAZYBOOT_SERVICE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pager/restore.h"
#include "util/log.h"
#include "util/lzb_error.h"


#define LZBD_CONFIG_MAX_MIRRORS 16
#define LZBD_CONFIG_MAX_CRIU_ARGS 64
#define LZBD_CONFIG_MAX_BYTES 65536

struct lzbd_config {
	char *mirrors[LZBD_CONFIG_MAX_MIRRORS];
	size_t nr_mirrors;
	char *pubkey;
	bool allow_unsigned;
	char *encrypt_key;
	char *image_id;			/* 32 hex digits, or NULL */
	char *ready;
	uint32_t takeover_deadline_ms;	/* 0: the default */
	unsigned int max_background;	/* 0: the default */
	unsigned int tftp_blksize;	/* 0: the default */
	enum lzb_fallback_policy fallback;	/* default: coldstart if
					 * coldstart is set */
	char *coldstart;
	enum lzb_log_level log_level;
	char *criu;
	char *plugin_dir;
	char *fetch_user;		/* the sandboxed fetcher's user, NULL */
	bool no_fetch_sandbox;		/* fetch-sandbox = no */
	bool no_stream;			/* stream = no */
	enum lzb_stream_yield stream_yield;	/* stream-yield */
	char *criu_args[LZBD_CONFIG_MAX_CRIU_ARGS];
	size_t nr_criu_args;
	char *text;			/* the words of criu-options */
};

/*
 * Read and check PATH into c (zeroed first).  On error c holds nothing to
 * free and err says "PATH:LINE: reason" (or "PATH: reason" for what no
 * line can be blamed for, like a missing mirror).
 */
int lzbd_config_load(const char *path, struct lzbd_config *c,
		     struct lzb_err *err);

/* The same on TEXT of LEN bytes; PATH only names it in messages. */
int lzbd_config_parse(const char *path, const char *text, size_t len,
		      struct lzbd_config *c, struct lzb_err *err);

/* c's settings into o (the restore options; o may be overridden later). */
void lzbd_config_apply(const struct lzbd_config *c,
		       struct lzb_restore_opts *o);

void lzbd_config_free(struct lzbd_config *c);

#endif
