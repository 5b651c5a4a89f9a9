// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Verifying a whole image: the manifest signature, then every object's
 * presence, size, hash and structure.  Each problem is reported through a
 * callback as one line naming the object, so callers can print or count.
 */
#include <stdio.h>
#include <stdlib.h>

#include "image/image_reader.h"

static int check_object(struct lzb_image *img, uint32_t i, struct lzb_err *err)
{
	char path[4400];
	uint8_t *buf, *raw;
	size_t len, raw_len;
	bool sealed = img->m.objects[i].flags & LZB_OBJF_ENCRYPTED;
	int r;

	if (i == LZB_SLOT_INDEX)
		return lzb_image_load_index(img, err);
	if (i == LZB_SLOT_BUNDLE) {
		if (sealed && !img->key) {
			if (lzb_image_read_object(img, i, &buf, &len, err))
				return -1;
			lzb_image_object_path(img, i, path, sizeof(path));
			r = lzb_bundle_check_header(path, buf, len, err);
			free(buf);
			return r;
		}
		return lzb_image_load_bundle(img, err);
	}
	if (sealed && !img->key) {
		if (lzb_image_read_object(img, i, &buf, &len, err))
			return -1;
		lzb_image_object_path(img, i, path, sizeof(path));
		r = lzb_chunk_check_header(path, buf, len, err);
		free(buf);
		return r;
	}
	if (!img->has_index) {
		/* without a good index, check what the chunk says of itself */
		if (lzb_image_read_object(img, i, &buf, &len, err))
			return -1;
		lzb_image_object_path(img, i, path, sizeof(path));
		r = lzb_chunk_decode(path, buf, len, img->key, &raw, &raw_len, err);
		free(buf);
		free(raw);
		return r;
	}
	r = lzb_image_read_chunk(img, lzb_slot_chunk(i), &raw, &raw_len, err);
	free(raw);
	return r;
}

uint32_t lzb_verify(struct lzb_image *img, const uint8_t *pk,
		    void (*report)(void *arg, const char *msg), void *arg)
{
	struct lzb_err err;
	char mpath[4200];
	uint32_t bad = 0;

	snprintf(mpath, sizeof(mpath), "%s/manifest", img->dir);
	/* Nothing is decoded under a signature that failed. */
	if (lzb_manifest_check_sig(mpath, img->mf_buf, &img->m, pk, &err)) {
		report(arg, err.msg);
		return 1;
	}
	/* the index first: chunk checks use its table */
	for (uint32_t k = 0; k < img->m.nr_objects; k++) {
		uint32_t i = k == 0 ? LZB_SLOT_INDEX :
			     k == 1 ? LZB_SLOT_BUNDLE : k;

		if (check_object(img, i, &err)) {
			report(arg, err.msg);
			bad++;
		}
	}
	return bad;
}
