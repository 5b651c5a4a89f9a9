// SPDX-License-Identifier: LGPL-2.1-or-later
/* A served image's manifest, index and boot bundle (image_load.h). */
#include "image/image_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/file_util.h"
#include "util/task_limit.h"

/* Object I of IMG, whole and checked against the manifest. */
static int get_object(const struct lzb_image *img,
		      const struct lzb_image_getter *g, uint32_t i,
		      uint8_t **buf, size_t *len, struct lzb_err *err)
{
	char name[4 + 2 * LZB_HASH_BYTES + 1];

	lzb_object_name(name, &img->m.objects[i]);
	if (g->get(g->ctx, name, (int64_t)img->m.objects[i].size, 0, buf, len,
		   err))
		return -1;
	if (lzb_image_check_object(img, i, name, *buf, *len, err)) {
		free(*buf);
		return -1;
	}
	return 0;
}

int lzb_image_get_manifest(struct lzb_image *img,
			   const struct lzb_image_getter *g,
			   const struct lzb_image_keys *keys,
			   struct lzb_err *err)
{
	uint8_t pk[LZB_SIGN_PUB_BYTES], *buf;
	const uint8_t *pkp = NULL;
	size_t len;

	if (keys->pubkey) {
		if (lzb_load_sign_public(keys->pubkey, pk, err))
			return -1;
		pkp = pk;
	} else if (!keys->allow_unsigned) {
		return lzb_errf(err, "no --pubkey given: refusing to restore "
				"an image whose manifest is not verified "
				"(--allow-unsigned overrides)");
	}
	if (g->get(g->ctx, "manifest", -1, LZB_MANIFEST_MAX, &buf, &len, err) ||
	    lzb_image_open_buffer(img, "manifest", buf, len, pkp, err))
		return -1;
	if (keys->encrypt_key &&
	    lzb_image_set_key(img, keys->encrypt_key, err))
		return -1;
	if ((img->m.flags & LZB_MF_ENCRYPTED) && !img->key)
		return lzb_errf(err, "manifest: the image is encrypted; give "
				"its key with --encrypt-key");
	return 0;
}

int lzb_image_get_index(struct lzb_image *img,
			const struct lzb_image_getter *g, struct lzb_err *err)
{
	uint8_t *buf;
	size_t len;

	if (get_object(img, g, LZB_SLOT_INDEX, &buf, &len, err) ||
	    lzb_image_set_index(img, "index", buf, len, err))
		return -1;
	return lzb_task_limit_check("index", img->ix.nr_tasks, err);
}

int lzb_image_get_bundle(const struct lzb_image *img,
			 const struct lzb_image_getter *g, const char *dir,
			 struct lzb_err *err)
{
	const size_t plen = strlen(LZB_ORIG_PAGEMAP_PREFIX);
	struct lzb_bundle bundle;
	uint8_t *buf;
	size_t len;
	int ret;

	if (get_object(img, g, LZB_SLOT_BUNDLE, &buf, &len, err))
		return -1;
	ret = lzb_bundle_decode("boot bundle", buf, len, img->key, &bundle,
				err);
	free(buf);
	if (ret)
		return -1;
	for (uint32_t i = 0; i < bundle.nr && !ret; i++) {
		const struct lzb_bundle_file *bf = &bundle.files[i];
		char path[4400];

		/* The original pagemaps are for unpack, not for restore. */
		if (!strncmp(bf->name, LZB_ORIG_PAGEMAP_PREFIX, plen))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, bf->name);
		ret = lzb_write_file_nosync(path, bf->data, (size_t)bf->size,
					    0600, err);
	}
	lzb_bundle_free(&bundle);
	return ret ? -1 : 0;
}
