/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The app-set description (docs/appset.md): which services a node runs, how
 * to start each, how to tell it is ready, how to warm it up and how to
 * cold-start it when a restore is not possible.  INI-like; parsed by a small
 * bounded parser that reports "FILE:LINE: message".
 */
#ifndef LAZYBOOT_APPSET_H
#define LAZYBOOT_APPSET_H

#include <stddef.h>

#include "capture/probe.h"

#define LZB_APPSET_MAX_FILE	(256 * 1024)
#define LZB_APPSET_MAX_LINE	4096
#define LZB_APPSET_MAX_SERVICES	32
#define LZB_APPSET_MAX_ENV	64
#define LZB_APPSET_MAX_PROBES	8
#define LZB_APPSET_NAME_MAX	32

/*
 * [appset] namespaces = ..., as CLONE_NEW* bits.  Default: pid uts ipc.
 * "mount" is opt-in: CRIU 3.17 must then dump every mount of the node
 * (it refuses 9p, e.g. the VM's), see docs/appset.md.
 */

struct lzb_service {
	char name[LZB_APPSET_NAME_MAX + 1];
	int line;			/* of its [service NAME] header */
	struct lzb_argv command;	/* run under the capture root */
	struct lzb_argv coldstart;	/* fallback; argc 0: same as command */
	struct lzb_argv warmup;		/* optional, argc 0 when absent */
	struct lzb_argv before_dump;	/* optional, argc 0 when absent */
	char *workdir;			/* absolute, NULL: "/" */
	char *env[LZB_APPSET_MAX_ENV + 1];
	int nenv;
	struct lzb_probe probes[LZB_APPSET_MAX_PROBES];
	int nprobes;
	int ready_timeout_s;		/* default 60 */
};

struct lzb_appset {
	char name[LZB_APPSET_NAME_MAX + 1];
	char hostname[65];		/* UTS name in the capture; "" keeps */
	unsigned long namespaces;	/* CLONE_NEW* */
	struct lzb_argv criu_options;	/* extra `criu dump` arguments */
	struct lzb_service svc[LZB_APPSET_MAX_SERVICES];
	int nsvc;
};

/*
 * Parse TEXT (LEN bytes; FNAME only names it in messages) into OUT.
 * 0, or -EINVAL with "FNAME:LINE: message" in ERR (OUT is then freed).
 */
int lzb_appset_parse(const char *text, size_t len, const char *fname,
		     struct lzb_appset *out, struct lzb_err *err);
/* Read and parse a file.  -errno for I/O, -EINVAL for content. */
int lzb_appset_load(const char *path, struct lzb_appset *out, struct lzb_err *err);
void lzb_appset_free(struct lzb_appset *a);
/* "pid mount uts ipc" and so on, for messages and docs. */
void lzb_appset_ns_names(unsigned long ns, char *buf, size_t len);

#endif
