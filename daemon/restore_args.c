// SPDX-License-Identifier: LGPL-2.1-or-later
#include "restore_args.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu_restore_proc.h"

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
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int opt, first_criu = argc;
	char *end;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			first_criu = i;
			break;
		}
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
		case 'b':
			o->max_background = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || !o->max_background || o->max_background > 256) {
				fprintf(stderr, "%s: --max-background "
					"takes 1..256, not '%s'\n", prog,
					optarg);
				return 2;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind >= first_criu) {
		fprintf(stderr, "%s: no image URL given\n%s", prog, usage);
		return 2;
	}
	if (o->pubkey && !*o->pubkey)
		o->pubkey = NULL;
	if (o->ready_cmd && !*o->ready_cmd)
		o->ready_cmd = NULL;
	if (o->pubkey && o->allow_unsigned) {
		fprintf(stderr, "%s: --pubkey and --allow-unsigned "
			"contradict each other\n", prog);
		return 2;
	}
	o->mirrors = (const char *const *)&argv[optind];
	o->nr_mirrors = (size_t)(first_criu - optind);
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
