// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pager/restore_args.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu/criu_restore_proc.h"
#include "image/image_trust.h"

/* 1..max from an option's argument, or say why not. */
static int parse_count(const char *prog, const char *arg, const char *option,
		       unsigned long max, unsigned int *out)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (*end || !v || v > max || arg[0] == '-') {
		fprintf(stderr, "%s: %s takes 1..%lu, not '%s'\n", prog, option,
			max, arg);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}

const char *const lzb_stream_yield_names[3] = {
	[LZB_YIELD_BOUND] = "bound",
	[LZB_YIELD_HOLD] = "hold",
	[LZB_YIELD_OFF] = "off",
};

int lzb_stream_yield_parse(const char *name, enum lzb_stream_yield *y)
{
	for (size_t i = 0; i < sizeof(lzb_stream_yield_names) /
				sizeof(lzb_stream_yield_names[0]); i++)
		if (!strcmp(name, lzb_stream_yield_names[i])) {
			*y = (enum lzb_stream_yield)i;
			return 0;
		}
	return -1;
}

int lzb_fallback_parse(const char *name, enum lzb_fallback_policy *p)
{
	static const char *const names[] = {
		[LZB_FALLBACK_COLDSTART] = "coldstart",
		[LZB_FALLBACK_FAIL] = "fail",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i] && !strcmp(name, names[i])) {
			*p = (enum lzb_fallback_policy)i;
			return 0;
		}
	return -1;
}

int lzb_restore_parse_args(int argc, char **argv, const char *prog,
			   const char *usage,
			   struct lzb_restore_opts *o)
{
	static const struct option longopts[] = {
		{ "pubkey", required_argument, NULL, 'p' },
		{ "allow-unsigned", no_argument, NULL, 'u' },
		{ "encrypt-key", required_argument, NULL, 'k' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "ready", required_argument, NULL, 'r' },
		{ "criu", required_argument, NULL, 'c' },
		{ "plugin-dir", required_argument, NULL, 'P' },
		{ "max-background", required_argument, NULL, 'b' },
		{ "tftp-blksize", required_argument, NULL, 'B' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "deadline-ms", required_argument, NULL, 'd' },
		{ "resume", required_argument, NULL, 'R' },
		{ "fallback", required_argument, NULL, 'F' },
		{ "coldstart", required_argument, NULL, 'C' },
		{ "image-id", required_argument, NULL, 'I' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "allow-downgrade", no_argument, NULL, 'D' },
		{ "fetch-user", required_argument, NULL, 'U' },
		{ "no-fetch-sandbox", no_argument, NULL, 'N' },
		{ "no-stream", no_argument, NULL, 'T' },
		{ "stream-yield", required_argument, NULL, 'Y' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int opt, first_criu = argc;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			first_criu = i;
			break;
		}
	/* From the start, also when called again in one process (lazybootd
	 * run restores anew after a resume it had to abandon). */
	optind = 0;
	while ((opt = getopt_long(first_criu, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p': o->pubkey = optarg; break;
		case 'u': o->allow_unsigned = true; break;
		case 'k': o->encrypt_key = optarg; break;
		case 'w': o->workdir = optarg; break;
		case 'r': o->ready_cmd = optarg; break;
		case 'c': o->criu = optarg; break;
		case 'P': o->plugin_dir = optarg; break;
		case 'q': o->quiet = true; break;
		case 'T': o->no_stream = true; break;
		case 'Y':
			if (lzb_stream_yield_parse(optarg, &o->stream_yield)) {
				fprintf(stderr, "%s: --stream-yield takes bound, "
					"hold or off, not '%s'\n", prog, optarg);
				return 2;
			}
			break;
		case 'b':
			if (parse_count(prog, optarg, "--max-background", 256,
					&o->max_background))
				return 2;
			break;
		case 'B':	/* RFC 2348: 8..65464 */
			if (parse_count(prog, optarg, "--tftp-blksize", 65464,
					&o->tftp_blksize))
				return 2;
			if (o->tftp_blksize < 8) {
				fprintf(stderr, "%s: --tftp-blksize takes "
					"8..65464, not '%s'\n", prog, optarg);
				return 2;
			}
			break;
		case 'd':
			if (parse_count(prog, optarg, "--deadline-ms", 86400000,
					&o->deadline_ms))
				return 2;
			break;
		case 'R':
			o->resume = true;
			o->workdir = optarg;
			break;
		case 'F':
			if (*optarg &&
			    lzb_fallback_parse(optarg, &o->fallback_policy)) {
				fprintf(stderr, "%s: --fallback takes coldstart "
					"or fail, not '%s'\n", prog, optarg);
				return 2;
			}
			break;
		case 'C': o->coldstart_cmd = *optarg ? optarg : NULL; break;
		case 'I': {
			struct lzb_err err;

			if (*optarg && lzb_image_id_check(optarg, &err)) {
				fprintf(stderr, "%s: --image-id: %s\n", prog,
					err.msg);
				return 2;
			}
			o->image_id = *optarg ? optarg : NULL;
			break;
		}
		case 'S': o->state_dir = optarg; break;
		case 'D': o->allow_downgrade = true; break;
		case 'U': o->fetch_user = *optarg ? optarg : NULL; break;
		case 'N': o->no_fetch_sandbox = true; break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (o->resume) {
		if (optind < argc) {
			fprintf(stderr, "%s: --resume takes the image and "
				"options on record, not '%s'\n", prog,
				argv[optind]);
			return 2;
		}
		return 0;
	}
	if (optind >= first_criu && !o->nr_mirrors) {
		fprintf(stderr, "%s: no image URL given\n%s", prog, usage);
		return 2;
	}
	if (o->pubkey && !*o->pubkey)
		o->pubkey = NULL;
	if (o->ready_cmd && !*o->ready_cmd)
		o->ready_cmd = NULL;
	if (o->fallback_policy == LZB_FALLBACK_COLDSTART && !o->coldstart_cmd) {
		fprintf(stderr, "%s: --fallback coldstart needs the app's "
			"cold-start command (--coldstart CMD)\n", prog);
		return 2;
	}
	if (o->pubkey && o->allow_unsigned) {
		fprintf(stderr, "%s: --pubkey and --allow-unsigned "
			"contradict each other\n", prog);
		return 2;
	}
	/* URLs on the command line replace a config file's. */
	if (optind < first_criu) {
		o->mirrors = (const char *const *)&argv[optind];
		o->nr_mirrors = (size_t)(first_criu - optind);
	}
	if (first_criu < argc) {
		o->criu_args = &argv[first_criu + 1];
		o->nr_criu_args = (size_t)(argc - first_criu - 1);
	}
	if (!o->plugin_dir) {
		static char plugin_dir[4096];

		o->plugin_dir = lzb_default_plugin_dir(plugin_dir,
						       sizeof(plugin_dir));
	}
	return 0;
}
