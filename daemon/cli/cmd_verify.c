// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lazyboot verify`: signature, every hash, every object's structure. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "image/image_reader.h"
#include "image/image_trust.h"

static const char usage[] =
	"usage: lazyboot verify IMG --pubkey KEY [--encrypt-key FILE]\n"
	"                       [--image-id ID]\n"
	"\n"
	"Check the lazyboot image in the directory IMG the way a node would\n"
	"before trusting it: the manifest's structure and ed25519 signature,\n"
	"then every object it names (boot bundle, index, chunks): present, of\n"
	"the listed size, with the listed BLAKE2b-256 hash, and well formed\n"
	"(the index's tables are consistent with the manifest; bundles and\n"
	"chunks decompress to their stated sizes), then the image's stream if\n"
	"it has one (each chunk's bytes in it against the chunk's hash).\n"
	"For an encrypted image without --encrypt-key the contents are\n"
	"checked up to the hash and header; with it they are opened and\n"
	"decompressed as well.\n"
	"\n"
	"The signature is checked over the manifest's raw bytes first: if it\n"
	"fails, nothing else is read or decoded.  An image past the valid-until\n"
	"it was packed with (lazyboot pack --valid-until) fails, and so does\n"
	"one whose image id is not --image-id.\n"
	"\n"
	"Every bad object is named on its own line (path, role, problem).\n"
	"\n"
	"options:\n"
	"  -P, --pubkey KEY        the signer's public key (lazyboot keygen)\n"
	"  -E, --encrypt-key FILE  also open encrypted objects\n"
	"  -I, --image-id ID       the image id (32 hex digits) it must carry\n"
	"  -q, --quiet             print only problems\n"
	"  -h, --help              this text\n"
	"\n"
	"exit status: 0 only when everything checks out; 1 when anything is\n"
	"bad or missing; 2 on bad usage.\n";

static void print_bad(void *arg, const char *msg)
{
	(void)arg;
	printf("BAD %s\n", msg);
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pubkey", required_argument, NULL, 'P' },
		{ "encrypt-key", required_argument, NULL, 'E' },
		{ "image-id", required_argument, NULL, 'I' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *pubkey = NULL, *enc = NULL, *image_id = NULL;
	uint8_t pk[LZB_SIGN_PUB_BYTES];
	struct lzb_image img;
	struct lzb_err err;
	uint32_t bad;
	bool quiet = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "P:E:I:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'P': pubkey = optarg; break;
		case 'E': enc = optarg; break;
		case 'I': image_id = optarg; break;
		case 'q': quiet = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!pubkey || optind != argc - 1) {
		fputs(usage, stderr);
		return 2;
	}
	if (image_id && lzb_image_id_check(image_id, &err)) {
		fprintf(stderr, "lazyboot verify: --image-id: %s\n", err.msg);
		return 2;
	}
	if (lzb_crypto_init(&err) || lzb_load_sign_public(pubkey, pk, &err)) {
		fprintf(stderr, "lazyboot verify: %s\n", err.msg);
		return 1;
	}
	/* With the key: a bad signature stops here, before any decoding. */
	if (lzb_image_open(&img, argv[optind], pk, &err)) {
		printf("BAD %s\n", err.msg);
		printf("%s: signature or manifest invalid; nothing else checked; "
		       "do not use this image\n", argv[optind]);
		return 1;
	}
	{
		const struct lzb_trust_policy tp = {
			.image_id = image_id, .now = (uint64_t)time(NULL),
		};
		char mpath[4200];

		snprintf(mpath, sizeof(mpath), "%s/manifest", argv[optind]);
		if (lzb_trust_accept(mpath, &img.m, &tp, &err)) {
			printf("BAD %s\n", err.msg);
			lzb_image_close(&img);
			return 1;
		}
	}
	if (enc && lzb_image_set_key(&img, enc, &err)) {
		fprintf(stderr, "lazyboot verify: %s\n", err.msg);
		lzb_image_close(&img);
		return 1;
	}
	bad = lzb_verify(&img, pk, print_bad, NULL);
	if (bad)
		printf("%s: %u of %u objects bad or signature invalid; do not "
		       "use this image\n", argv[optind], bad, img.m.nr_objects + 1);
	else if (!quiet)
		printf("%s: OK (signature good, %u objects checked%s)\n",
		       argv[optind], img.m.nr_objects,
		       (img.m.flags & LZB_MF_ENCRYPTED) && !img.key ?
		       "; encrypted contents not opened" : "");
	lzb_image_close(&img);
	return bad ? 1 : 0;
}
