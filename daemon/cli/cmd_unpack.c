// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lazyboot unpack`: lazyboot image -> ordinary CRIU image directory. */
#include <getopt.h>
#include <stdio.h>

#include "cli/commands.h"
#include "image/image_reader.h"

static const char usage[] =
	"usage: lazyboot unpack IMG --out DIR [--pubkey KEY] [--encrypt-key FILE]\n"
	"\n"
	"Rebuild the CRIU image directory IMG was packed from, in DIR: every\n"
	"image file as dumped, each process's original pagemap, and its pages\n"
	"image reassembled from the hot pages, the chunks and zero pages.\n"
	"`criu restore -D DIR` then restores eagerly (the full-restore\n"
	"baseline).  Every object read is checked against the manifest's hash;\n"
	"with --pubkey the manifest's signature is checked first.\n"
	"\n"
	"options:\n"
	"  -o, --out DIR           output directory (created if missing)\n"
	"  -P, --pubkey KEY        check the manifest signature with this key\n"
	"  -E, --encrypt-key FILE  key for an encrypted image\n"
	"  -h, --help              this text\n"
	"\n"
	"exit status: 0 on success, 1 on an error, 2 on bad usage.\n";

int cmd_unpack(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "pubkey", required_argument, NULL, 'P' },
		{ "encrypt-key", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *out = NULL, *pubkey = NULL, *enc = NULL;
	uint8_t pk[LZB_SIGN_PUB_BYTES];
	struct lzb_image img;
	struct lzb_err err;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:P:E:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'P': pubkey = optarg; break;
		case 'E': enc = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!out || optind != argc - 1) {
		fputs(usage, stderr);
		return 2;
	}
	if (lzb_crypto_init(&err) ||
	    (pubkey && lzb_load_sign_public(pubkey, pk, &err))) {
		fprintf(stderr, "lazyboot unpack: %s\n", err.msg);
		return 1;
	}
	if (lzb_image_open(&img, argv[optind], pubkey ? pk : NULL, &err)) {
		fprintf(stderr, "lazyboot unpack: %s\n", err.msg);
		return 1;
	}
	if ((enc && lzb_image_set_key(&img, enc, &err)) ||
	    lzb_unpack(&img, out, &err)) {
		fprintf(stderr, "lazyboot unpack: %s\n", err.msg);
		lzb_image_close(&img);
		return 1;
	}
	lzb_image_close(&img);
	printf("unpacked %s -> %s\n", argv[optind], out);
	return 0;
}
