// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lazyboot restore`: a lazy restore from a served image, in the foreground. */
#include <stdio.h>

#include "cli/commands.h"
#include "pager/restore.h"
#include "pager/restore_args.h"
#include "pager/restore_resume.h"

static const char usage[] =
	"usage: lazyboot restore URL [MIRROR...] (--pubkey FILE | --allow-unsigned)\n"
	"                        [--encrypt-key FILE] [--workdir DIR] [--ready CMD]\n"
	"                        [--criu PATH] [--plugin-dir DIR]\n"
	"                        [--max-background N] [--no-stream] [--tftp-blksize N]\n"
	"                        [--stream-yield bound|hold|off]\n"
	"                        [--deadline-ms N] [--image-id ID] [--state-dir DIR]\n"
	"                        [--allow-downgrade] [--quiet]\n"
	"                        [--fetch-user USER] [--no-fetch-sandbox]\n"
	"                        [-- CRIU-RESTORE-OPTION...]\n"
	"       lazyboot restore --resume WORKDIR [--ready CMD] [--quiet]\n"
	"\n"
	"Restore the application set of a lazyboot image lazily.  URL (and any\n"
	"MIRROR) is the image directory's base: file://, http://, https:// or\n"
	"tftp://.  The manifest is fetched and its ed25519 signature checked\n"
	"against --pubkey, then its image id, valid-until and version (see\n"
	"--image-id, --state-dir); the index and the boot bundle are fetched and\n"
	"checked against the manifest; `criu restore --lazy-pages` then runs on\n"
	"the bundle in --workdir (default /run/lazyboot/restore) while this\n"
	"command serves CRIU's lazy-pages socket: pages the restored tasks touch\n"
	"are fetched first, each chunk alone, the rest streamed in the image's\n"
	"order in one transfer of the image's stream (stream/<hash>; without\n"
	"one, or with --no-stream, chunk by chunk, at most N at a time:\n"
	"--max-background, default 4).  Every chunk is checked against the\n"
	"manifest before a byte of it reaches a task.\n"
	"\n"
	"  --pubkey FILE      the image signer's public key (lazyboot keygen)\n"
	"  --allow-unsigned   restore without checking the manifest's signature\n"
	"  --encrypt-key FILE the key of an encrypted image (lazyboot keygen --encrypt)\n"
	"  --image-id ID      refuse a manifest whose image id (lazyboot inspect) is\n"
	"                     not ID, 32 hex digits: another image signed by the key\n"
	"  --state-dir DIR    where the highest version accepted per image id is\n"
	"                     kept (default $LAZYBOOT_STATE_DIR, else\n"
	"                     /var/lib/lazyboot); a signed manifest older than it\n"
	"                     is refused, a newer one raises it\n"
	"  --allow-downgrade  take an older version anyway, and record it\n"
	"  --ready CMD        readiness probe run with sh -c until it exits 0\n"
	"  --criu PATH        the criu binary (default: criu from PATH)\n"
	"  --plugin-dir DIR   criu --libdir holding lazyboot_plugin.so (default:\n"
	"                     this program's directory if the plugin is there,\n"
	"                     else CRIU's /usr/lib/criu); the plugin checks the\n"
	"                     node's files and hands the real pids over\n"
	"  --no-stream        stream the background chunk by chunk, not in one\n"
	"                     transfer of the image's stream\n"
	"  --stream-yield bound|hold|off\n"
	"                     how the http(s):// stream makes way for faults on\n"
	"                     the path: bound (default) keeps its TCP window to\n"
	"                     the rate it reached times twice the round trip\n"
	"                     plus 4 ms, so little of it queues ahead of a\n"
	"                     fault's answer; hold also closes the window while\n"
	"                     a fault's chunk is fetched (faults faster, the\n"
	"                     background slower when faults are frequent); off:\n"
	"                     the window as the kernel grows it\n"
	"  --tftp-blksize N   tftp:// block size to ask for (RFC 2348, 8..65464;\n"
	"                     default 1468, one unfragmented datagram on a\n"
	"                     1500-byte MTU); larger blocks for jumbo frames or\n"
	"                     servers without windowsize (RFC 7440)\n"
	"  --fetch-user USER  the user the sandboxed fetcher runs as (default\n"
	"                     lazyboot-fetch if it exists, else nobody): every\n"
	"                     http(s):// and tftp:// transfer runs in a child with\n"
	"                     that uid, no capabilities and a seccomp filter, and\n"
	"                     hands back only bytes, checked here (docs/security.md)\n"
	"  --no-fetch-sandbox run those transfers in this process instead\n"
	"                     (debugging; a kernel without seccomp)\n"
	"  --deadline-ms N    if this pager dies, a successor must take over within\n"
	"                     N ms (default 30000) or the tasks are killed\n"
	"  --resume WORKDIR   finish the restore in WORKDIR whose pager died: take\n"
	"                     its tasks' uffds back from lazyboot.ko or the holder\n"
	"                     process, replay its journal, wake the blocked threads\n"
	"                     and stream the rest (image and keys as on record);\n"
	"                     only the manifest the restore accepted is taken\n"
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

int cmd_restore(int argc, char **argv)
{
	struct lzb_restore_opts o = { 0 };
	struct lzb_restore_report rep;
	static struct lzb_record rec;
	struct lzb_err err;
	int ret = lzb_restore_parse_args(argc, argv, "lazyboot restore",
					 usage, &o);

	if (ret)
		return ret == 1 ? 0 : 2;
	if (o.fallback_policy || o.coldstart_cmd) {
		fprintf(stderr, "lazyboot restore: --fallback and --coldstart "
			"are lazybootd's: only the service runs a cold start "
			"instead of a failed restore\n");
		return 2;
	}
	if (o.resume) {
		if (lzb_resume_opts(&o, &rec, &err)) {
			fprintf(stderr, "lazyboot restore: %s\n", err.msg);
			return 1;
		}
		ret = lzb_restore_run(&o, &rep);
		lzb_record_free(&rec);
	} else {
		ret = lzb_restore_run(&o, &rep);
	}
	if (ret)
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
	       "fetched (%llu for faults, %llu from the stream%s)",
	       (unsigned long long)rep.pages_installed,
	       (unsigned long long)rep.faults, (unsigned long long)rep.zero_pages,
	       (unsigned long long)rep.chunks_fetched,
	       (unsigned long long)rep.chunks_urgent,
	       (unsigned long long)rep.chunks_streamed,
	       rep.stream_failed ? ", the rest chunk by chunk" : "");
	if (rep.chunks_refused)	/* a bad mirror's copies, fetched again */
		printf(", %llu bad cop%s refused",
		       (unsigned long long)rep.chunks_refused,
		       rep.chunks_refused == 1 ? "y" : "ies");
	putchar('\n');
	printf("fetched: %llu image bytes (%llu metadata, %llu in chunks); ",
	       (unsigned long long)rep.bytes_fetched,
	       (unsigned long long)rep.meta_bytes,
	       (unsigned long long)rep.chunk_bytes);
	if (rep.ms_ready)
		printf("%llu bytes before ready\n",
		       (unsigned long long)rep.bytes_before_ready);
	else
		printf("no --ready probe\n");
	printf("root pid %d\n", rep.root_pid);
}
