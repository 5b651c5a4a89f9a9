// SPDX-License-Identifier: LGPL-2.1-or-later
/* A served image's manifest, index and boot bundle (image_load.h). */
#include "image/image_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/file_util.h"
#include "util/task_limit.h"

/* What a mirror's bytes of object I are checked against. */
struct object_check {
	const struct lzb_image *img;
	uint32_t i;
	const char *name;
	/* The boot bundle: decoded by the check, kept for the caller. */
	struct lzb_bundle *bundle;
	bool decoded;
};

static int check_object(void *arg, const uint8_t *buf, uint64_t len,
			struct lzb_err *err)
{
	struct object_check *oc = arg;
	char label[32];

	if (lzb_image_check_object(oc->img, oc->i, oc->name, buf, (size_t)len,
				   err))
		return -1;
	if (!oc->bundle)
		return 0;
	lzb_image_object_label(oc->i, label, sizeof(label));
	if (oc->decoded) {	/* not reached: a check that passed ends it */
		lzb_bundle_free(oc->bundle);
		oc->decoded = false;
	}
	if (lzb_bundle_decode(label, buf, (size_t)len, oc->img->key,
			      oc->bundle, err))
		return -1;
	oc->decoded = true;
	return 0;
}

/*
 * Object I of IMG, whole, as a mirror served it passed by the check
 * (size and hash; the bundle also decoded into BUNDLE).
 */
static int get_object(const struct lzb_image *img,
		      const struct lzb_image_getter *g, uint32_t i,
		      struct lzb_bundle *bundle, uint8_t **buf, size_t *len,
		      struct lzb_err *err)
{
	char name[4 + 2 * LZB_HASH_BYTES + 1];
	struct object_check oc = { .img = img, .i = i, .name = name,
				   .bundle = bundle };
	const struct lzb_image_want w = {
		.name = name, .size = (int64_t)img->m.objects[i].size,
		.content_addressed = true, .check = check_object,
		.check_arg = &oc,
	};

	lzb_object_name(name, &img->m.objects[i]);
	if (g->get(g->ctx, &w, buf, len, err)) {
		if (oc.decoded)
			lzb_bundle_free(bundle);
		return -1;
	}
	return 0;
}

/* What a mirror's manifest is checked against. */
struct manifest_check {
	const struct lzb_image_keys *keys;
	const uint8_t *pk;		/* NULL: unsigned allowed */
};

/*
 * A mirror's manifest: its signature over the raw bytes, its structure,
 * and whether the node takes it (keys->accept), all on the fetched bytes
 * as they are (nothing is copied; the table parsed here is dropped).
 */
static int check_manifest(void *arg, const uint8_t *buf, uint64_t len,
			  struct lzb_err *err)
{
	const struct manifest_check *mc = arg;
	struct lzb_image *view = calloc(1, sizeof(*view));
	int ret = -1;

	if (!view)
		return lzb_errf(err, "manifest: out of memory");
	strcpy(view->dir, "manifest");
	view->mf_buf = (uint8_t *)buf;
	view->mf_len = (size_t)len;
	if ((!mc->pk || !lzb_manifest_check_raw_sig("manifest", buf,
						     (size_t)len, mc->pk,
						     err)) &&
	    !lzb_manifest_parse("manifest", buf, (size_t)len, &view->m, err)) {
		ret = mc->keys->accept ?
		      mc->keys->accept(mc->keys->accept_arg, view, err) : 0;
		lzb_manifest_free(&view->m);
	}
	free(view);
	return ret;
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
	{
		const struct manifest_check mc = { .keys = keys, .pk = pkp };
		const struct lzb_image_want w = {
			.name = "manifest", .size = -1,
			.max = LZB_MANIFEST_MAX, .check = check_manifest,
			.check_arg = (void *)&mc,
		};

		/* The bytes passed check_manifest: parsed again, kept. */
		if (g->get(g->ctx, &w, &buf, &len, err) ||
		    lzb_image_open_buffer(img, "manifest", buf, len, pkp, err))
			return -1;
	}
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

	if (get_object(img, g, LZB_SLOT_INDEX, NULL, &buf, &len, err) ||
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

	if (get_object(img, g, LZB_SLOT_BUNDLE, &bundle, &buf, &len, err))
		return -1;
	free(buf);
	ret = 0;
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
