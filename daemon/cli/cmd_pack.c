// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lazyboot pack`: CRIU dump (+ profile) -> lazyboot image. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "image/image_pack.h"

static const char usage[] =
	"usage: lazyboot pack --criu-dir DIR --out IMG [--profile FILE]\n"
	"                     [--key SECRET] [--encrypt-key FILE]\n"
	"                     [--chunk-size BYTES] [--level N] [--version N]\n"
	"                     [--valid-until DATE | --valid-for DURATION]\n"
	"\n"
	"Turn the CRIU dump in DIR into a lazyboot image in the directory IMG:\n"
	"a manifest naming every object by its BLAKE2b-256 hash, a boot bundle\n"
	"(CRIU's non-memory images, each process's pagemap rewritten so hot\n"
	"pages are eager and the rest lazy, and the hot pages), an index from\n"
	"(pid, address) to the chunk holding each page, and the cold pages in\n"
	"zstd chunks named by their hash (IMG/obj/<hash>).  Identical cold pages\n"
	"are stored once and all-zero pages never.\n"
	"\n"
	"Without --profile every page CRIU may restore lazily is cold, in\n"
	"process and address order.  With a profile (docs/image-format.md) its\n"
	"pages before the \"ready\" line are hot, the ones after it are streamed\n"
	"first in profile order, and the others follow.  Pages CRIU always\n"
	"restores eagerly (not private anonymous, locked, hugetlb, vdso) and\n"
	"the page under each thread's stack pointer are always hot.\n"
	"\n"
	"Packing into an existing image keeps its image id, raises its version\n"
	"by one, reuses objects already present and replaces the manifest last,\n"
	"atomically.\n"
	"\n"
	"options:\n"
	"  -d, --criu-dir DIR      the CRIU image directory (criu dump -D)\n"
	"  -o, --out IMG           the image directory (created if missing)\n"
	"  -p, --profile FILE      first-touch profile\n"
	"  -k, --key SECRET        sign the manifest with this ed25519 secret key\n"
	"                          (lazyboot keygen); unsigned images fail verify\n"
	"  -E, --encrypt-key FILE  seal the bundle and chunks with XChaCha20-\n"
	"                          Poly1305 under this key (lazyboot keygen -e)\n"
	"  -c, --chunk-size BYTES  raw bytes of pages per chunk, a multiple of\n"
	"                          4096 from 4096 to 4194304 (suffix K or M);\n"
	"                          default 65536\n"
	"  -l, --level N           zstd level, 1..19 (default 3)\n"
	"  -V, --version N         image version (default: previous + 1, or 1)\n"
	"      --valid-until DATE  nodes refuse the image from DATE on: YYYY-MM-DD\n"
	"                          or YYYY-MM-DDTHH:MM:SSZ (UTC), or @UNIX-SECONDS\n"
	"      --valid-for DURATION  the same, DURATION from now: N followed by\n"
	"                          s, m, h or d (default: no expiry)\n"
	"      --no-stream         write no stream/<hash> (every cold chunk again,\n"
	"                          in one file, which restores read in one\n"
	"                          transfer): the background then comes chunk\n"
	"                          by chunk\n"
	"      --no-sync           do not flush objects and manifest to disk\n"
	"                          (tests, benchmarks); by default the manifest\n"
	"                          is written only after every object is synced\n"
	"  -h, --help              this text\n"
	"\n"
	"exit status: 0 on success, 1 on an error, 2 on bad usage.\n";

static int parse_size(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (end == s)
		return -1;
	if (*end == 'K' || *end == 'k') {
		v <<= 10;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		v <<= 20;
		end++;
	}
	if (*end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* --valid-until: YYYY-MM-DD[THH:MM:SSZ] in UTC, or @SECONDS. */
static int parse_date(const char *s, uint64_t *out)
{
	struct tm tm = { 0 };
	const char *end;
	char *e;

	if (s[0] == '@') {
		unsigned long long v = strtoull(s + 1, &e, 10);

		if (!s[1] || *e || !v || s[1] == '-')
			return -1;
		*out = v;
		return 0;
	}
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end && *end == 'T')
		end = strptime(end, "T%H:%M:%SZ", &tm);
	if (!end || *end)
		return -1;
	*out = (uint64_t)timegm(&tm);
	return *out ? 0 : -1;
}

/* --valid-for: N[smhd] from now. */
static int parse_duration(const char *s, uint64_t *out)
{
	static const struct { char c; uint64_t secs; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	uint64_t mul = 1;

	if (end == s || s[0] == '-' || !v)
		return -1;
	if (*end) {
		mul = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (end[0] == units[i].c && !end[1])
				mul = units[i].secs;
	}
	if (!mul || v > (UINT64_MAX / 2) / mul)
		return -1;
	*out = (uint64_t)time(NULL) + v * mul;
	return 0;
}

int cmd_pack(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "criu-dir", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "profile", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },
		{ "encrypt-key", required_argument, NULL, 'E' },
		{ "chunk-size", required_argument, NULL, 'c' },
		{ "level", required_argument, NULL, 'l' },
		{ "version", required_argument, NULL, 'V' },
		{ "no-sync", no_argument, NULL, 'S' },
		{ "no-stream", no_argument, NULL, 'T' },
		{ "valid-until", required_argument, NULL, 'U' },
		{ "valid-for", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct lzb_pack_opts o = { .level = LZB_DEFAULT_LEVEL };
	struct lzb_pack_result res;
	struct lzb_err err;
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:o:p:k:E:c:l:V:Sh", opts,
				NULL)) != -1) {
		switch (c) {
		case 'd': o.criu_dir = optarg; break;
		case 'o': o.out_dir = optarg; break;
		case 'p': o.profile = optarg; break;
		case 'k': o.sign_key = optarg; break;
		case 'E': o.encrypt_key = optarg; break;
		case 'c':
			if (parse_size(optarg, &o.chunk_size)) {
				fprintf(stderr, "lazyboot pack: bad --chunk-size "
					"'%s'\n", optarg);
				return 2;
			}
			break;
		case 'l':
			o.level = (int)strtol(optarg, &end, 10);
			if (*end || o.level < 1 || o.level > 19) {
				fprintf(stderr, "lazyboot pack: --level wants "
					"1..19\n");
				return 2;
			}
			break;
		case 'V':
			o.version = strtoull(optarg, &end, 10);
			if (*end || !o.version) {
				fprintf(stderr, "lazyboot pack: --version wants a "
					"positive integer\n");
				return 2;
			}
			break;
		case 'S': o.no_sync = true; break;
		case 'T': o.no_stream = true; break;
		case 'U':
		case 'F':
			if (o.valid_until) {
				fprintf(stderr, "lazyboot pack: give one of "
					"--valid-until and --valid-for\n");
				return 2;
			}
			if ((c == 'U' ? parse_date : parse_duration)(optarg,
							&o.valid_until)) {
				fprintf(stderr, "lazyboot pack: bad --%s '%s'\n",
					c == 'U' ? "valid-until" : "valid-for",
					optarg);
				return 2;
			}
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!o.criu_dir || !o.out_dir || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (o.valid_until && o.valid_until <= (uint64_t)time(NULL))
		fprintf(stderr, "lazyboot pack: warning: --valid-until is in "
			"the past: every node will refuse this image\n");
	if (lzb_pack(&o, &res, &err)) {
		fprintf(stderr, "lazyboot pack: %s\n", err.msg);
		return 1;
	}
	printf("packed %s -> %s (version %" PRIu64 ", %u processes)\n",
	       o.criu_dir, o.out_dir, res.version, res.nr_tasks);
	if (o.valid_until) {
		time_t t = (time_t)o.valid_until;
		char when[32];

		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		printf("valid until %s\n", when);
	}
	printf("pages: %" PRIu64 " total, %" PRIu64 " hot, %" PRIu64
	       " cold (%" PRIu64 " stored, %" PRIu64 " deduplicated), %" PRIu64
	       " zero\n", res.st.pages_total, res.st.pages_hot, res.st.pages_cold,
	       res.st.pages_stored, res.st.pages_dedup, res.st.pages_zero);
	printf("chunks: %u (%u new), %" PRIu64 " bytes; bundle %" PRIu64
	       " bytes; index %" PRIu64 " bytes\n", res.nr_chunks,
	       res.chunks_written, res.st.chunk_bytes, res.bundle_bytes,
	       res.index_bytes);
	if (res.stream_bytes)
		printf("stream: %s, %" PRIu64 " bytes\n", res.stream_name,
		       res.stream_bytes);
	if (res.profile_ignored)
		printf("profile: %" PRIu64 " pages not in the dump, ignored\n",
		       res.profile_ignored);
	printf("time: %.3f s, %.1f MB/s of pages; CPU %.3f s, %.1f MB/s per "
	       "CPU second\n", res.seconds,
	       res.seconds > 0 ? res.st.raw_bytes / 1e6 / res.seconds : 0.0,
	       res.cpu_seconds, res.cpu_seconds > 0 ?
	       res.st.raw_bytes / 1e6 / res.cpu_seconds : 0.0);
	return 0;
}
