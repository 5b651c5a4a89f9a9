/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loading an image from wherever it is served: the manifest, its
 * signature checked; the index; the boot bundle, written out for
 * `criu restore`.  Every object is checked against its size and hash in
 * the manifest before a byte of it is used.  How a file of the image is
 * got is the caller's (struct lzb_image_getter): a restore gets them
 * through fetch/ from its mirrors over file://, http(s):// or tftp://.
 * The chunks are not loaded here: a pager's page source gets them as the
 * tasks need them.
 */
#ifndef LAZYBOOT_IMAGE_LOAD_H
#define LAZYBOOT_IMAGE_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/image_reader.h"
#include "util/lzb_error.h"

struct lzb_image_getter {
	/*
	 * The image's file NAME ("manifest", "obj/<hex>") whole: exactly
	 * SIZE bytes when SIZE >= 0, else at most MAX.  0 with *BUF
	 * malloc'd (never NULL) and *LEN, or -1 with ERR.
	 */
	int (*get)(void *ctx, const char *name, int64_t size, size_t max,
		   uint8_t **buf, size_t *len, struct lzb_err *err);
	void *ctx;
};

struct lzb_image_keys {
	const char *pubkey;		/* ed25519 public key file, or NULL */
	bool allow_unsigned;		/* no pubkey: take an unverified
					 * manifest (else refused) */
	const char *encrypt_key;	/* key file of an encrypted image */
};

/*
 * Get the manifest into IMG (which must be zeroed or closed), check its
 * signature against KEYS->pubkey, and take the encryption key: an
 * encrypted image without one is refused.
 */
int lzb_image_get_manifest(struct lzb_image *img,
			   const struct lzb_image_getter *g,
			   const struct lzb_image_keys *keys,
			   struct lzb_err *err);

/* Get and check IMG's index and take it into IMG. */
int lzb_image_get_index(struct lzb_image *img,
			const struct lzb_image_getter *g, struct lzb_err *err);

/*
 * Get and check IMG's boot bundle and write its files into DIR, as
 * `criu restore` reads them (the dump's original pagemaps, kept for
 * unpack, are left out).
 */
int lzb_image_get_bundle(const struct lzb_image *img,
			 const struct lzb_image_getter *g, const char *dir,
			 struct lzb_err *err);

#endif
