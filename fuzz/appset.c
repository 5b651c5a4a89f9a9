// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the app-set description parser (appset.ini,
 * daemon/capture/appset.c, and the word splitting and probe parsing it
 * calls).  An app set may come from whoever prepared the node's image
 * build, so the parser must take any bytes: on success every service has
 * a name and a command, every argv ends in NULL, and the counts stay
 * within their limits; on failure the message names the file and line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/appset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_argv(const struct lzb_argv *a)
{
	if (a->argc < 0 || (a->argc && !a->argv))
		abort();
	for (int i = 0; i < a->argc; i++)
		if (!a->argv[i])
			abort();
	if (a->argc && a->argv[a->argc])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* half a megabyte: static, not a fresh allocation per run */
	static struct lzb_appset set;
	struct lzb_appset *a = &set;
	struct lzb_err err = { { 0 } };

	if (lzb_appset_parse((const char *)data, size, "f", a, &err)) {
		if (strncmp(err.msg, "f", 1))
			abort();
		return 0;
	}
	if (a->nsvc < 1 || a->nsvc > LZB_APPSET_MAX_SERVICES)
		abort();
	check_argv(&a->criu_options);
	for (int i = 0; i < a->nsvc; i++) {
		const struct lzb_service *s = &a->svc[i];

		if (!s->name[0] || s->command.argc < 1 ||
		    s->nenv > LZB_APPSET_MAX_ENV ||
		    s->nprobes > LZB_APPSET_MAX_PROBES || s->env[s->nenv])
			abort();
		check_argv(&s->command);
		check_argv(&s->coldstart);
		check_argv(&s->warmup);
		check_argv(&s->before_dump);
		for (int k = 0; k < s->nprobes; k++)
			if (s->probes[k].kind == LZB_PROBE_COMMAND)
				check_argv(&s->probes[k].cmd);
	}
	lzb_appset_free(a);
	return 0;
}
