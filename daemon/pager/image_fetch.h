/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loading a served lazyboot image over any transport the fetch layer
 * serves (file://, http(s)://, tftp://, from a mirror set): the manifest,
 * its signature checked; the index; the boot bundle, written out for
 * `criu restore`.  Every object is checked against its size and hash in
 * the manifest before a byte of it is used.  The chunks are not fetched
 * here: a pager's page source fetches them as the tasks need them.
 */
#ifndef LAZYBOOT_IMAGE_FETCH_H
#define LAZYBOOT_IMAGE_FETCH_H

#include <stdbool.h>

#include "fetch/fetch.h"
#include "image/image_reader.h"

struct lzb_image_keys {
	const char *pubkey;		/* ed25519 public key file, or NULL */
	bool allow_unsigned;		/* no pubkey: take an unverified
					 * manifest (else refused) */
	const char *encrypt_key;	/* key file of an encrypted image */
};

/*
 * Fetch the manifest into IMG (which must be zeroed or closed), check its
 * signature against KEYS->pubkey, and take the encryption key: an
 * encrypted image without one is refused.
 */
int lzb_image_fetch_manifest(struct lzb_image *img, struct lzb_fetcher *f,
			     struct lzb_mirrors *m,
			     const struct lzb_image_keys *keys,
			     struct lzb_err *err);

/* Fetch and check IMG's index and take it into IMG. */
int lzb_image_fetch_index(struct lzb_image *img, struct lzb_fetcher *f,
			  struct lzb_mirrors *m, struct lzb_err *err);

/*
 * Fetch and check IMG's boot bundle and write its files into DIR, as
 * `criu restore` reads them (the dump's original pagemaps, kept for
 * unpack, are left out).
 */
int lzb_image_fetch_bundle(const struct lzb_image *img, struct lzb_fetcher *f,
			   struct lzb_mirrors *m, const char *dir,
			   struct lzb_err *err);

#endif
