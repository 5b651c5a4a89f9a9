// SPDX-License-Identifier: LGPL-2.1-or-later
/* `lazyboot keygen`: signing key pairs and encryption keys. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "image/image_crypto.h"

static const char usage[] =
	"usage: lazyboot keygen --out PREFIX\n"
	"       lazyboot keygen --encrypt --out FILE\n"
	"\n"
	"Create the keys lazyboot images are signed or encrypted with.\n"
	"\n"
	"Without --encrypt, make an ed25519 signing key pair: PREFIX.key, the\n"
	"secret key (mode 0600; give it to `lazyboot pack --key`), and\n"
	"PREFIX.pub, the public key (give it to nodes and to `lazyboot verify\n"
	"--pubkey`).  With --encrypt, make a 256-bit XChaCha20-Poly1305 key in\n"
	"FILE (mode 0600) for `lazyboot pack --encrypt-key`; every node that\n"
	"restores the image needs the same file.\n"
	"\n"
	"Key files are one text line, \"lazyboot-<kind>-v1 <hex>\".  Existing\n"
	"files are replaced (a symlink at the name too, never followed).\n"
	"lazyboot refuses a secret key that group or others may read, any key\n"
	"they may write, and a key owned by a user other than root or the one\n"
	"running lazyboot.\n"
	"\n"
	"options:\n"
	"  -o, --out PATH   output prefix (signing) or file (--encrypt)\n"
	"  -e, --encrypt    make an encryption key instead of a key pair\n"
	"  -h, --help       this text\n"
	"\n"
	"exit status: 0 on success, 1 on an error, 2 on bad usage.\n";

int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "encrypt", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *out = NULL;
	bool encrypt = false;
	struct lzb_err err;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:eh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'e': encrypt = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!out || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (lzb_crypto_init(&err))
		goto fail;
	if (encrypt) {
		if (lzb_keygen_encrypt(out, &err))
			goto fail;
		printf("encryption key: %s\n", out);
	} else {
		char sk[4200], pk[4200];

		if (snprintf(sk, sizeof(sk), "%s.key", out) >= (int)sizeof(sk) ||
		    snprintf(pk, sizeof(pk), "%s.pub", out) >= (int)sizeof(pk)) {
			fprintf(stderr, "lazyboot keygen: %s: path too long\n", out);
			return 1;
		}
		if (lzb_keygen_sign(sk, pk, &err))
			goto fail;
		printf("secret key: %s\npublic key: %s\n", sk, pk);
	}
	return 0;
fail:
	fprintf(stderr, "lazyboot keygen: %s\n", err.msg);
	return 1;
}
