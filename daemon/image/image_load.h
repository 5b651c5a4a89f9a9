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

/* One file of the image, as the loader wants it. */
struct lzb_image_want {
	const char *name;	/* "manifest", "obj/<hex>" */
	int64_t size;		/* exactly this many bytes; -1: at most max */
	size_t max;
	bool content_addressed;	/* the name is the object's hash */
	/*
	 * The bytes a mirror served, before they are taken: 0, or -1 with
	 * ERR when they are not the file (bad magic, bad signature, hash
	 * mismatch...).  A getter with several mirrors asks the next one
	 * then, and fails only when every mirror's bytes were refused.
	 */
	int (*check)(void *arg, const uint8_t *buf, uint64_t len,
		     struct lzb_err *err);
	void *check_arg;
};

struct lzb_image_getter {
	/*
	 * The file W whole, passed by W->check: 0 with *BUF malloc'd (never
	 * NULL) and *LEN, or -1 with ERR.
	 */
	int (*get)(void *ctx, const struct lzb_image_want *w, uint8_t **buf,
		   size_t *len, struct lzb_err *err);
	void *ctx;
};

struct lzb_image_keys {
	const char *pubkey;		/* ed25519 public key file, or NULL */
	bool allow_unsigned;		/* no pubkey: take an unverified
					 * manifest (else refused) */
	const char *encrypt_key;	/* key file of an encrypted image */
	/*
	 * Optional: does the node take this manifest (its signature
	 * verified)?  Its image id, version, expiry, or the manifest a
	 * resume is bound to.  Refused bytes are that mirror's failure like
	 * a bad signature: the next mirror is asked.  Must not record
	 * anything: the caller does that once the manifest is in.
	 */
	int (*accept)(void *arg, const struct lzb_image *img,
		      struct lzb_err *err);
	void *accept_arg;
};

/*
 * Get the manifest into IMG (which must be zeroed or closed), check its
 * signature against KEYS->pubkey and KEYS->accept (both on each mirror's
 * bytes, so a mirror serving a bad one is passed over), and take the
 * encryption key: an encrypted image without one is refused.
 */
int lzb_image_get_manifest(struct lzb_image *img,
			   const struct lzb_image_getter *g,
			   const struct lzb_image_keys *keys,
			   struct lzb_err *err);

/*
 * Get IMG's index, checked against the manifest (size and hash, on each
 * mirror's bytes), and take it into IMG.
 */
int lzb_image_get_index(struct lzb_image *img,
			const struct lzb_image_getter *g, struct lzb_err *err);

/*
 * Get IMG's boot bundle, checked against the manifest and decoded (on
 * each mirror's bytes), and write its files into DIR, as `criu restore`
 * reads them (the dump's original pagemaps, kept for unpack, are left
 * out).
 */
int lzb_image_get_bundle(const struct lzb_image *img,
			 const struct lzb_image_getter *g, const char *dir,
			 struct lzb_err *err);

#endif
