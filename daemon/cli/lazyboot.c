// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lazyboot`: the command-line front end; each subcommand is a cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "util/version.h"

static const struct lzb_command commands[] = {
	{ "version", "print tool and kernel module versions", cmd_version },
	{ "fetch", "download one object over file/http(s)/tftp", cmd_fetch },
	{ "keygen", "make a signing key pair or an encryption key", cmd_keygen },
	{ "pack", "turn a CRIU dump into a signed lazyboot image", cmd_pack },
	{ "inspect", "describe the processes and pages of an image",
	  cmd_inspect },
	{ "verify", "check an image's signature and every hash", cmd_verify },
	{ "unpack", "rebuild an ordinary CRIU dump from an image", cmd_unpack },
	{ "restore", "restore an image lazily from its servers", cmd_restore },
	{ "sessions", "list restore sessions held by lazyboot.ko",
	  cmd_sessions },
	{ "capture", "start an app set, wait until ready, criu dump it",
	  cmd_capture },
	{ "status", "show how far the restores of this machine got",
	  cmd_status },
	{ "profile", "restore a capture lazily, record its first touches",
	  cmd_profile },
	{ "report", "draw a restore's timeline as an SVG or PNG picture",
	  cmd_report },
};

static void print_usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: lazyboot <command> [options]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out, "\n'lazyboot <command> --help' describes one command.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		print_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		print_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("lazyboot %s\n", LAZYBOOT_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);

	fprintf(stderr, "lazyboot: unknown command '%s'\n", argv[1]);
	print_usage(stderr);
	return 2;
}
