// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lazyboot restore`: a lazy restore from a served image, in the foreground. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "restore.h"
#include "restore_record.h"

static const char usage[] =
	"usage: lazyboot restore URL [MIRROR...] (--pubkey FILE | --allow-unsigned)\n"
	"                        [--encrypt-key FILE] [--workdir DIR] [--ready CMD]\n"
	"                        [--criu PATH] [--max-background N] [--quiet]\n"
	"                        [--deadline-ms N] [-- CRIU-RESTORE-OPTION...]\n"
	"       lazyboot restore --resume WORKDIR [--ready CMD] [--quiet]\n"
	"\n"
	"Restore the application set of a lazyboot image lazily.  URL (and any\n"
	"MIRROR) is the image directory's base: file://, http://, https:// or\n"
	"tftp://.  The manifest is fetched and its ed25519 signature checked\n"
	"against --pubkey; the index and the boot bundle are fetched and checked\n"
	"against the manifest; `criu restore --lazy-pages` then runs on the bundle\n"
	"in --workdir (default /run/lazyboot/restore) while this command serves\n"
	"CRIU's lazy-pages socket: pages the restored tasks touch are fetched\n"
	"first, the rest streamed in the image's order, at most N chunks at a time\n"
	"(--max-background, default 4).  Every chunk is checked against the\n"
	"manifest before a byte of it reaches a task.\n"
	"\n"
	"  --pubkey FILE      the image signer's public key (lazyboot keygen)\n"
	"  --allow-unsigned   restore without checking the manifest's signature\n"
	"  --encrypt-key FILE the key of an encrypted image (lazyboot keygen --encrypt)\n"
	"  --ready CMD        readiness probe run with sh -c until it exits 0\n"
	"  --criu PATH        the criu binary (default: criu from PATH)\n"
	"  --deadline-ms N    if this pager dies, a successor must take over within\n"
	"                     N ms (default 30000) or the tasks are killed\n"
	"  --resume WORKDIR   finish the restore in WORKDIR whose pager died: take\n"
	"                     its tasks' uffds back from lazyboot.ko or the holder\n"
	"                     process, replay its journal, wake the blocked threads\n"
	"                     and stream the rest (image and keys as on record)\n"
	"  options after --   passed to criu restore (e.g. --shell-job)\n"
	"\n"
	"The command returns when every page is resident (and the probe passed),\n"
	"leaving the restored tasks running.  If the pager cannot finish (a chunk\n"
	"that cannot be fetched or does not verify, a signal), the restored tasks\n"
	"are killed rather than left to run on missing memory.  If the pager itself\n"
	"is killed, lazyboot.ko (or, without it, a holder process) keeps the\n"
	"uffds until --resume takes over, or kills the tasks at the deadline; the\n"
	"output's \"guarantee:\" line says which.  Exit status 0 on\n"
	"success, 1 on failure, 2 on bad usage.\n";

static void print_report(const struct lzb_restore_report *r);

/* 1..max from an option's argument, or say why not. */
static int parse_count(const char *arg, const char *option, unsigned long max,
		       uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (*end || !v || v > max || arg[0] == '-') {
		fprintf(stderr, "lazyboot restore: %s takes 1..%lu, not '%s'\n",
			option, max, arg);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

int cmd_restore(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pubkey", required_argument, NULL, 'p' },
		{ "allow-unsigned", no_argument, NULL, 'u' },
		{ "encrypt-key", required_argument, NULL, 'k' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "ready", required_argument, NULL, 'r' },
		{ "criu", required_argument, NULL, 'c' },
		{ "max-background", required_argument, NULL, 'b' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "deadline-ms", required_argument, NULL, 'd' },
		{ "resume", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct lzb_restore_opts o = { 0 };
	struct lzb_restore_report rep;
	static struct lzb_record rec;
	struct lzb_err err;
	int opt, first_criu = argc, ret;
	uint32_t n;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			first_criu = i;
			break;
		}
	while ((opt = getopt_long(first_criu, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p': o.pubkey = optarg; break;
		case 'u': o.allow_unsigned = true; break;
		case 'k': o.encrypt_key = optarg; break;
		case 'w': o.workdir = optarg; break;
		case 'r': o.ready_cmd = optarg; break;
		case 'c': o.criu = optarg; break;
		case 'q': o.quiet = true; break;
		case 'b':
			if (parse_count(optarg, "--max-background", 256, &n))
				return 2;
			o.max_background = n;
			break;
		case 'd':
			if (parse_count(optarg, "--deadline-ms", 86400000, &n))
				return 2;
			o.deadline_ms = n;
			break;
		case 'R':
			o.resume = true;
			o.workdir = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (o.resume) {
		if (optind < argc) {
			fprintf(stderr, "lazyboot restore: --resume takes the "
				"image and options on record, not '%s'\n",
				argv[optind]);
			return 2;
		}
		if (lzb_record_load(o.workdir, &rec, &err)) {
			fprintf(stderr, "lazyboot restore: %s\n", err.msg);
			return 1;
		}
		o.mirrors = (const char *const *)rec.mirrors;
		o.nr_mirrors = rec.nr_mirrors;
		o.pubkey = rec.pubkey;
		o.encrypt_key = rec.encrypt_key;
		o.allow_unsigned = rec.allow_unsigned;
		o.max_background = rec.max_background;
		o.deadline_ms = rec.deadline_ms;
		ret = lzb_restore_run(&o, &rep);
		lzb_record_free(&rec);
		if (ret)
			return 1;
		print_report(&rep);
		return 0;
	}
	if (optind >= first_criu) {
		fprintf(stderr, "lazyboot restore: no image URL given\n%s", usage);
		return 2;
	}
	if (o.pubkey && o.allow_unsigned) {
		fprintf(stderr, "lazyboot restore: --pubkey and --allow-unsigned "
			"contradict each other\n");
		return 2;
	}
	o.mirrors = (const char *const *)&argv[optind];
	o.nr_mirrors = (size_t)(first_criu - optind);
	if (first_criu < argc) {
		o.criu_args = &argv[first_criu + 1];
		o.nr_criu_args = (size_t)(argc - first_criu - 1);
	}
	if (lzb_restore_run(&o, &rep))
		return 1;
	print_report(&rep);
	return 0;
}

static void print_report(const struct lzb_restore_report *r)
{
	const struct lzb_restore_report rep = *r;

	printf("restored: bundle %llu ms, restore finished %llu ms, ready %s%llu ms, "
	       "all resident %llu ms\n",
	       (unsigned long long)rep.ms_bundle,
	       (unsigned long long)rep.ms_restored, rep.ms_ready ? "" : "(no probe) ",
	       (unsigned long long)rep.ms_ready,
	       (unsigned long long)rep.ms_resident);
	printf("pages: %llu installed, %llu faults (%llu zero pages); chunks: %llu "
	       "fetched (%llu for faults), %llu bytes; %llu bytes before ready\n",
	       (unsigned long long)rep.pages_installed,
	       (unsigned long long)rep.faults, (unsigned long long)rep.zero_pages,
	       (unsigned long long)rep.chunks_fetched,
	       (unsigned long long)rep.chunks_urgent,
	       (unsigned long long)rep.bytes_fetched,
	       (unsigned long long)rep.bytes_before_ready);
	printf("root pid %d\n", rep.root_pid);
}
