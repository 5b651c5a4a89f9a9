/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading a lazyboot image directory: the manifest, then objects by number
 * (each checked against its size and hash in the manifest before use).
 */
#ifndef LAZYBOOT_IMAGE_READER_H
#define LAZYBOOT_IMAGE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/image_format.h"
#include "util/lzb_error.h"

struct lzb_image {
	char dir[4096];
	uint8_t *mf_buf;
	size_t mf_len;
	struct lzb_manifest m;
	uint8_t *ix_buf;
	size_t ix_len;
	struct lzb_index ix;
	bool has_index;
	struct lzb_bundle bundle;
	bool has_bundle;
	const uint8_t *key;		/* encryption key or NULL */
	uint8_t keybuf[LZB_ENC_KEY_BYTES];
};

/* Read and parse DIR/manifest; check its signature if PK is non-NULL. */
int lzb_image_open(struct lzb_image *img, const char *dir, const uint8_t *pk,
		   struct lzb_err *err);
/* The same from a manifest already in memory (fetched); takes BUF. */
int lzb_image_open_buffer(struct lzb_image *img, const char *name,
			  uint8_t *buf, size_t len, const uint8_t *pk,
			  struct lzb_err *err);
/* Check object I's bytes (read from WHERE) against the manifest. */
int lzb_image_check_object(const struct lzb_image *img, uint32_t i,
			   const char *where, const uint8_t *buf, size_t len,
			   struct lzb_err *err);
/* Take a checked index object's bytes (BUF is owned from now on). */
int lzb_image_set_index(struct lzb_image *img, const char *where,
			uint8_t *buf, size_t len, struct lzb_err *err);
/* Decode checked chunk C's bytes to its raw pages. */
int lzb_image_decode_chunk(const struct lzb_image *img, uint32_t c,
			   const char *where, const uint8_t *buf, size_t len,
			   uint8_t **raw, size_t *raw_len, struct lzb_err *err);
/*
 * A mirror's stored bytes of chunk C (from WHERE), as received: size and
 * hash against the manifest, then decoded to its raw pages in *RAW.  The
 * one way bytes from the network become pages to install.  0, or -1 with
 * ERR and *RAW NULL.  Touches nothing of IMG: any thread may call it.
 */
int lzb_image_open_chunk(const struct lzb_image *img, uint32_t c,
			 const char *where, const uint8_t *buf, size_t len,
			 uint8_t **raw, struct lzb_err *err);
/* Use the encryption key in PATH for sealed objects. */
int lzb_image_set_key(struct lzb_image *img, const char *path,
		      struct lzb_err *err);
/* "DIR/obj/<hex>" of object I. */
void lzb_image_object_path(const struct lzb_image *img, uint32_t i,
			   char *out, size_t outlen);
/* Human name: "boot bundle", "index", "chunk 17". */
void lzb_image_object_label(uint32_t i, char *out, size_t outlen);
/* Read object I whole and check its size and hash. */
int lzb_image_read_object(const struct lzb_image *img, uint32_t i,
			  uint8_t **buf, size_t *len, struct lzb_err *err);
int lzb_image_load_index(struct lzb_image *img, struct lzb_err *err);
int lzb_image_load_bundle(struct lzb_image *img, struct lzb_err *err);
/* Chunk C's raw pages (malloc'd, chunk-table raw_pages * 4096 bytes). */
int lzb_image_read_chunk(const struct lzb_image *img, uint32_t c,
			 uint8_t **raw, size_t *raw_len, struct lzb_err *err);
void lzb_image_close(struct lzb_image *img);

/*
 * Check the signature (against PK) and every object; call REPORT with a
 * one-line message for each problem.  Returns the number of problems.
 */
uint32_t lzb_verify(struct lzb_image *img, const uint8_t *pk,
		    void (*report)(void *arg, const char *msg), void *arg);

/* Rebuild an ordinary CRIU image directory from the image. */
int lzb_unpack(struct lzb_image *img, const char *out_dir,
	       struct lzb_err *err);

#endif
