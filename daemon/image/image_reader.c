// SPDX-License-Identifier: LGPL-2.1-or-later
/* Reading a lazyboot image directory (see image_reader.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/file_util.h"
#include "image/image_reader.h"

int lzb_image_open_buffer(struct lzb_image *img, const char *name,
			  uint8_t *buf, size_t len, const uint8_t *pk,
			  struct lzb_err *err)
{
	memset(img, 0, sizeof(*img));
	if (lzb_crypto_init(err)) {
		free(buf);
		return -1;
	}
	if (strlen(name) >= sizeof(img->dir)) {
		free(buf);
		return lzb_errf(err, "%s: name too long", name);
	}
	strcpy(img->dir, name);
	img->mf_buf = buf;
	img->mf_len = len;
	/* The signature first: nothing is allocated from unsigned bytes. */
	if ((pk && lzb_manifest_check_raw_sig(name, img->mf_buf, img->mf_len,
					      pk, err)) ||
	    lzb_manifest_parse(name, img->mf_buf, img->mf_len, &img->m, err)) {
		lzb_image_close(img);
		return -1;
	}
	return 0;
}

int lzb_image_open(struct lzb_image *img, const char *dir, const uint8_t *pk,
		   struct lzb_err *err)
{
	char path[4200];
	uint8_t *buf;
	size_t len;

	memset(img, 0, sizeof(*img));
	if (strlen(dir) >= sizeof(img->dir))
		return lzb_errf(err, "%s: path too long", dir);
	snprintf(path, sizeof(path), "%s/manifest", dir);
	if (lzb_read_file(path, LZB_MANIFEST_MAX, &buf, &len, err))
		return -1;
	if (lzb_image_open_buffer(img, path, buf, len, pk, err))
		return -1;
	strcpy(img->dir, dir);
	return 0;
}

int lzb_image_set_key(struct lzb_image *img, const char *path,
		      struct lzb_err *err)
{
	if (lzb_load_encrypt_key(path, img->keybuf, err))
		return -1;
	img->key = img->keybuf;
	return 0;
}

void lzb_image_object_path(const struct lzb_image *img, uint32_t i,
			   char *out, size_t outlen)
{
	char name[4 + 2 * LZB_HASH_BYTES + 1];

	lzb_object_name(name, &img->m.objects[i]);
	snprintf(out, outlen, "%s/%s", img->dir, name);
}

void lzb_image_object_label(uint32_t i, char *out, size_t outlen)
{
	if (i == LZB_SLOT_BUNDLE)
		snprintf(out, outlen, "boot bundle");
	else if (i == LZB_SLOT_INDEX)
		snprintf(out, outlen, "index");
	else
		snprintf(out, outlen, "chunk %u", lzb_slot_chunk(i));
}

int lzb_image_check_object(const struct lzb_image *img, uint32_t i,
			   const char *where, const uint8_t *buf, size_t len,
			   struct lzb_err *err)
{
	const struct lzb_object *o = &img->m.objects[i];
	uint8_t h[LZB_HASH_BYTES];
	char label[32];

	lzb_image_object_label(i, label, sizeof(label));
	if (len != o->size)
		return lzb_errf(err, "%s (%s): %zu bytes, manifest says %llu",
				where, label, len, (unsigned long long)o->size);
	lzb_hash(h, buf, len);
	if (memcmp(h, o->hash, sizeof(h)))
		return lzb_errf(err, "%s (%s): hash mismatch, content changed",
				where, label);
	return 0;
}

int lzb_image_read_object(const struct lzb_image *img, uint32_t i,
			  uint8_t **buf, size_t *len, struct lzb_err *err)
{
	const struct lzb_object *o = &img->m.objects[i];
	char path[4400], label[32];

	*buf = NULL;
	lzb_image_object_path(img, i, path, sizeof(path));
	lzb_image_object_label(i, label, sizeof(label));
	if (lzb_read_file(path, (size_t)o->size, buf, len, err)) {
		char inner[sizeof(err->msg)];

		memcpy(inner, err->msg, sizeof(inner));
		return lzb_errf(err, "%s (%s): %s", path, label,
				strstr(inner, ": ") ? strstr(inner, ": ") + 2 :
						      inner);
	}
	if (lzb_image_check_object(img, i, path, *buf, *len, err)) {
		free(*buf);
		*buf = NULL;
		return -1;
	}
	return 0;
}

int lzb_image_set_index(struct lzb_image *img, const char *where,
			uint8_t *buf, size_t len, struct lzb_err *err)
{
	img->ix_buf = buf;
	img->ix_len = len;
	if (lzb_index_parse(where, img->ix_buf, img->ix_len, &img->ix, err))
		goto bad;
	if (img->ix.nr_chunks != lzb_nr_chunks(img->m.nr_objects)) {
		lzb_errf(err, "%s: index lists %u chunks, manifest %u", where,
			 img->ix.nr_chunks, lzb_nr_chunks(img->m.nr_objects));
		goto bad;
	}
	for (uint32_t c = 0; c < img->ix.nr_chunks; c++) {
		struct lzb_index_chunk ch;

		lzb_index_chunk(&img->ix, c, &ch);
		if (ch.stored != img->m.objects[lzb_chunk_slot(c)].size) {
			lzb_errf(err, "%s: chunk %u size differs from the "
				 "manifest's", where, c);
			goto bad;
		}
	}
	img->has_index = true;
	return 0;
bad:
	free(img->ix_buf);
	img->ix_buf = NULL;
	return -1;
}

int lzb_image_load_index(struct lzb_image *img, struct lzb_err *err)
{
	char path[4400];
	uint8_t *buf;
	size_t len;

	if (img->has_index)
		return 0;
	if (lzb_image_read_object(img, LZB_SLOT_INDEX, &buf, &len, err))
		return -1;
	lzb_image_object_path(img, LZB_SLOT_INDEX, path, sizeof(path));
	return lzb_image_set_index(img, path, buf, len, err);
}

int lzb_image_load_bundle(struct lzb_image *img, struct lzb_err *err)
{
	char path[4400];
	uint8_t *buf;
	size_t len;
	int r;

	if (img->has_bundle)
		return 0;
	if (lzb_image_read_object(img, LZB_SLOT_BUNDLE, &buf, &len, err))
		return -1;
	lzb_image_object_path(img, LZB_SLOT_BUNDLE, path, sizeof(path));
	r = lzb_bundle_decode(path, buf, len, img->key, &img->bundle, err);
	free(buf);
	if (!r)
		img->has_bundle = true;
	return r;
}

int lzb_image_decode_chunk(const struct lzb_image *img, uint32_t c,
			   const char *where, const uint8_t *buf, size_t len,
			   uint8_t **raw, size_t *raw_len, struct lzb_err *err)
{
	struct lzb_index_chunk ch;

	*raw = NULL;
	if (!img->has_index || c >= img->ix.nr_chunks)
		return lzb_errf(err, "%s: no chunk %u", img->dir, c);
	if (lzb_chunk_decode(where, buf, len, img->key, raw, raw_len, err))
		return -1;
	lzb_index_chunk(&img->ix, c, &ch);
	if (*raw_len != (size_t)ch.raw_pages * LZB_PAGE_SIZE) {
		free(*raw);
		*raw = NULL;
		return lzb_errf(err, "%s (chunk %u): holds %zu bytes, index says "
				"%u pages", where, c, *raw_len, ch.raw_pages);
	}
	return 0;
}

int lzb_image_open_chunk(const struct lzb_image *img, uint32_t c,
			 const char *where, const uint8_t *buf, size_t len,
			 uint8_t **raw, struct lzb_err *err)
{
	size_t raw_len;

	*raw = NULL;
	if (lzb_image_check_object(img, lzb_chunk_slot(c), where, buf, len,
				   err))
		return -1;
	return lzb_image_decode_chunk(img, c, where, buf, len, raw, &raw_len,
				      err);
}

int lzb_image_read_chunk(const struct lzb_image *img, uint32_t c,
			 uint8_t **raw, size_t *raw_len, struct lzb_err *err)
{
	char path[4400];
	uint8_t *buf;
	size_t len;
	int r;

	*raw = NULL;
	if (!img->has_index || c >= img->ix.nr_chunks)
		return lzb_errf(err, "%s: no chunk %u", img->dir, c);
	if (lzb_image_read_object(img, lzb_chunk_slot(c), &buf, &len, err))
		return -1;
	lzb_image_object_path(img, lzb_chunk_slot(c), path, sizeof(path));
	r = lzb_image_decode_chunk(img, c, path, buf, len, raw, raw_len, err);
	free(buf);
	return r;
}

void lzb_image_close(struct lzb_image *img)
{
	free(img->mf_buf);
	free(img->ix_buf);
	lzb_manifest_free(&img->m);
	if (img->has_bundle)
		lzb_bundle_free(&img->bundle);
	sodium_memzero(img->keybuf, sizeof(img->keybuf));
	memset(img, 0, sizeof(*img));
}
