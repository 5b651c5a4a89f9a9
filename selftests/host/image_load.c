// SPDX-License-Identifier: GPL-2.0
/*
 * Loading a served image through the image layer (daemon/image/
 * image_load.c), its files got over file:// mirrors through fetch/ as a
 * restore gets them over any transport: the
 * manifest with its signature checked, the index, and the boot bundle
 * written out for criu restore (its files byte for byte as the image
 * holds them, the dump's original pagemaps left out); an unverified
 * manifest refused unless allowed, a wrong key, an encrypted image without
 * its key and a changed index each refused with a message saying so; a
 * dead first mirror fails over to the next; an index with more tasks than
 * LZB_TASK_LIMIT is refused naming both numbers, one at the limit taken.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetch/fetch.h"
#include "image/image_load.h"
#include "image/image_pack.h"
#include "util/task_limit.h"
#include "kselftest_harness.h"
#include "image_test_util.h"

struct getter {
	struct lzb_fetcher *f;
	struct lzb_mirrors *m;
};

/* As a restore gets the image's files: whole, from the mirrors. */
static int get_file(void *ctx, const struct lzb_image_want *w,
		    uint8_t **buf, size_t *len, struct lzb_err *err)
{
	const struct getter *gt = ctx;
	const struct lzb_fetch_whole_spec ws = {
		.path = w->name, .size = w->size, .max = w->max,
		.content_addressed = w->content_addressed,
		.check = w->check, .check_arg = w->check_arg,
	};

	return lzb_fetch_whole(gt->f, gt->m, &ws, buf, len, err);
}

FIXTURE(served)
{
	char dir[64], dump[128], img[128], out[128];
	char sk[128], pk[128], other_pk[128], ek[128];
	char url[160], dead_url[160];
	const char *mirrors[2];
	struct lzb_fetcher *f;
	struct lzb_mirrors *m;
	struct getter gt;
	struct lzb_image_getter g;
	struct lzb_image image;
};


FIXTURE_VARIANT(served)
{
	bool encrypt;
};

FIXTURE_VARIANT_ADD(served, plain) { .encrypt = false };
FIXTURE_VARIANT_ADD(served, encrypted) { .encrypt = true };

FIXTURE_SETUP(served)
{
	struct lzb_pack_opts o = { .level = 3, .no_sync = true,
				   .chunk_size = 16384 };
	struct lzb_fetcher_opts fo = { 0 };
	char other_sk[128];
	struct lzb_pack_result res;
	struct lzb_err err;

	if (!have_crit())
		SKIP(return, "crit is not installed (apt-get install criu)");
	ASSERT_EQ(0, lzb_crypto_init(&err));
	strcpy(self->dir, "/tmp/lzb-imgfetch-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->dump, sizeof(self->dump), "%s/dump", self->dir);
	snprintf(self->img, sizeof(self->img), "%s/img", self->dir);
	snprintf(self->out, sizeof(self->out), "%s/out", self->dir);
	snprintf(self->sk, sizeof(self->sk), "%s/k.key", self->dir);
	snprintf(self->pk, sizeof(self->pk), "%s/k.pub", self->dir);
	snprintf(other_sk, sizeof(other_sk), "%s/o.key", self->dir);
	snprintf(self->other_pk, sizeof(self->other_pk), "%s/o.pub", self->dir);
	snprintf(self->ek, sizeof(self->ek), "%s/e.key", self->dir);
	snprintf(self->url, sizeof(self->url), "file://%s", self->img);
	snprintf(self->dead_url, sizeof(self->dead_url), "file://%s/none",
		 self->dir);
	ASSERT_EQ(0, cached_dump(self->dump, "small", "--mib 1 --seed 5"));
	ASSERT_EQ(0, lzb_keygen_sign(self->sk, self->pk, &err));
	ASSERT_EQ(0, lzb_keygen_sign(other_sk, self->other_pk, &err));
	ASSERT_EQ(0, lzb_keygen_encrypt(self->ek, &err));
	o.criu_dir = self->dump;
	o.out_dir = self->img;
	o.sign_key = self->sk;
	o.encrypt_key = variant->encrypt ? self->ek : NULL;
	ASSERT_EQ(0, lzb_pack(&o, &res, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, mkdir(self->out, 0700));
	self->mirrors[0] = self->url;
	self->f = lzb_fetcher_new(&fo);
	self->m = lzb_mirrors_new(self->mirrors, 1);
	ASSERT_NE(NULL, self->f);
	ASSERT_NE(NULL, self->m);
	self->gt = (struct getter){ .f = self->f, .m = self->m };
	self->g = (struct lzb_image_getter){ .get = get_file,
					     .ctx = &self->gt };
}

FIXTURE_TEARDOWN(served)
{
	lzb_image_close(&self->image);
	if (self->m)
		lzb_mirrors_free(self->m);
	if (self->f)
		lzb_fetcher_free(self->f);
	rm_rf(self->dir);
}

/* The keys a restore of this variant's image gives. */
static struct lzb_image_keys keys_of(FIXTURE_DATA(served) *self,
				     bool encrypt)
{
	struct lzb_image_keys k = { .pubkey = self->pk };

	k.encrypt_key = encrypt ? self->ek : NULL;
	return k;
}

TEST_F_TIMEOUT(served, loads_manifest_index_and_bundle, 300)
{
	const struct lzb_image_keys keys = keys_of(self, variant->encrypt);
	const size_t plen = strlen(LZB_ORIG_PAGEMAP_PREFIX);
	struct lzb_image local;
	struct lzb_err err;
	unsigned int written = 0, orig = 0;
	struct dirent *de;
	DIR *d;

	ASSERT_EQ(0, lzb_image_get_manifest(&self->image, &self->g, &keys,
					    &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, lzb_image_get_index(&self->image, &self->g, &err)) TH_LOG("%s", err.msg);
	EXPECT_LT(0, self->image.ix.nr_tasks);
	ASSERT_EQ(0, lzb_image_get_bundle(&self->image, &self->g, self->out,
					  &err))
		TH_LOG("%s", err.msg);

	/* The same bundle read from the directory, file by file. */
	ASSERT_EQ(0, lzb_image_open(&local, self->img, NULL, &err));
	if (variant->encrypt)
		ASSERT_EQ(0, lzb_image_set_key(&local, self->ek, &err));
	ASSERT_EQ(0, lzb_image_load_bundle(&local, &err)) TH_LOG("%s", err.msg);
	for (uint32_t i = 0; i < local.bundle.nr; i++) {
		const struct lzb_bundle_file *bf = &local.bundle.files[i];
		char path[4400];
		uint8_t *buf;
		size_t len;

		snprintf(path, sizeof(path), "%s/%s", self->out, bf->name);
		if (!strncmp(bf->name, LZB_ORIG_PAGEMAP_PREFIX, plen)) {
			orig++;
			EXPECT_NE(0, access(path, F_OK)) TH_LOG("%s", path);
			continue;
		}
		ASSERT_EQ(0, read_all(path, &buf, &len)) TH_LOG("%s", path);
		EXPECT_EQ(bf->size, len);
		EXPECT_EQ(0, memcmp(buf, bf->data, len)) TH_LOG("%s", path);
		free(buf);
	}
	EXPECT_LT(0, orig);
	d = opendir(self->out);
	ASSERT_NE(NULL, d);
	while ((de = readdir(d)))
		written += de->d_name[0] != '.';
	closedir(d);
	EXPECT_EQ(local.bundle.nr - orig, written);
	lzb_image_close(&local);
}

TEST_F_TIMEOUT(served, unverified_manifest_refused_unless_allowed, 300)
{
	struct lzb_image_keys keys = keys_of(self, variant->encrypt);
	struct lzb_err err;

	keys.pubkey = NULL;
	ASSERT_EQ(-1, lzb_image_get_manifest(&self->image, &self->g, &keys,
					     &err));
	EXPECT_NE(NULL, strstr(err.msg, "no --pubkey given")) TH_LOG("%s", err.msg);
	keys.allow_unsigned = true;
	EXPECT_EQ(0, lzb_image_get_manifest(&self->image, &self->g, &keys,
					    &err)) TH_LOG("%s", err.msg);
}

TEST_F_TIMEOUT(served, wrong_public_key_refused, 300)
{
	struct lzb_image_keys keys = keys_of(self, variant->encrypt);
	struct lzb_err err;

	keys.pubkey = self->other_pk;
	ASSERT_EQ(-1, lzb_image_get_manifest(&self->image, &self->g, &keys,
					     &err));
	EXPECT_NE(NULL, strstr(err.msg, "manifest")) TH_LOG("%s", err.msg);
}

TEST_F_TIMEOUT(served, encrypted_image_needs_its_key, 300)
{
	struct lzb_image_keys keys = keys_of(self, false);
	struct lzb_err err;

	if (!variant->encrypt)
		SKIP(return, "the plain image needs no key");
	ASSERT_EQ(-1, lzb_image_get_manifest(&self->image, &self->g, &keys,
					     &err));
	EXPECT_NE(NULL, strstr(err.msg, "the image is encrypted"))
		TH_LOG("%s", err.msg);
}

TEST_F_TIMEOUT(served, changed_index_refused, 300)
{
	const struct lzb_image_keys keys = keys_of(self, variant->encrypt);
	char name[4 + 2 * LZB_HASH_BYTES + 1], path[300];
	struct lzb_err err;
	uint8_t *buf;
	size_t len;

	ASSERT_EQ(0, lzb_image_get_manifest(&self->image, &self->g, &keys,
					    &err)) TH_LOG("%s", err.msg);
	lzb_object_name(name, &self->image.m.objects[LZB_SLOT_INDEX]);
	snprintf(path, sizeof(path), "%s/%s", self->img, name);
	ASSERT_EQ(0, read_all(path, &buf, &len));
	buf[len / 2] ^= 1;
	ASSERT_EQ(0, write_all(path, buf, len));
	free(buf);
	ASSERT_EQ(-1, lzb_image_get_index(&self->image, &self->g, &err));
	EXPECT_NE(NULL, strstr(err.msg, "hash mismatch")) TH_LOG("%s", err.msg);
}

TEST_F_TIMEOUT(served, dead_mirror_fails_over, 300)
{
	const struct lzb_image_keys keys = keys_of(self, variant->encrypt);
	const char *two[2] = { self->dead_url, self->url };
	struct getter gt = { .f = self->f, .m = lzb_mirrors_new(two, 2) };
	const struct lzb_image_getter g = { .get = get_file, .ctx = &gt };
	struct lzb_err err;

	ASSERT_NE(NULL, gt.m);
	EXPECT_EQ(0, lzb_image_get_manifest(&self->image, &g, &keys, &err))
		TH_LOG("%s", err.msg);
	EXPECT_EQ(0, lzb_image_get_index(&self->image, &g, &err))
		TH_LOG("%s", err.msg);
	lzb_mirrors_free(gt.m);
}

/* Serves one buffer, whatever the name: the index a test made. */
struct one_object {
	const uint8_t *buf;
	size_t len;
};

static int get_one_object(void *ctx, const struct lzb_image_want *w,
			  uint8_t **buf, size_t *len, struct lzb_err *err)
{
	const struct one_object *o = ctx;

	if (w->check && w->check(w->check_arg, o->buf, o->len, err))
		return -1;
	*buf = malloc(o->len);
	if (!*buf)
		return lzb_errf(err, "out of memory");
	memcpy(*buf, o->buf, o->len);
	*len = o->len;
	return 0;
}

/*
 * A signed manifest naming an index of NR_TASKS tasks (no extents), as a
 * packer would have written it for a dump that big.
 */
static int get_index_of(FIXTURE_DATA(served) *self, uint32_t nr_tasks,
			struct lzb_err *err)
{
	const struct lzb_index_stats st = { 0 };
	struct lzb_index_task *tasks = calloc(nr_tasks, sizeof(*tasks));
	struct one_object o;
	struct lzb_image_getter g = { .get = get_one_object, .ctx = &o };
	uint8_t *ix;
	size_t len;
	int ret;

	if (!tasks)
		return lzb_errf(err, "out of memory");
	for (uint32_t i = 0; i < nr_tasks; i++)
		tasks[i].pid = i + 1;
	ret = lzb_index_encode(&st, tasks, nr_tasks, NULL, 0, NULL, 0, &ix,
			       &len);
	free(tasks);
	if (ret)
		return lzb_errf(err, "cannot encode an index");
	self->image.m.nr_objects = 2;	/* bundle and index: no chunks */
	self->image.m.objects[1].flags = 0;	/* stored in the clear */
	self->image.m.objects[1].size = len;
	lzb_hash(self->image.m.objects[1].hash, ix, len);
	o = (struct one_object){ .buf = ix, .len = len };
	ret = lzb_image_get_index(&self->image, &g, err);
	free(ix);
	return ret;
}

TEST_F_TIMEOUT(served, more_tasks_than_the_limit_refused, 300)
{
	const struct lzb_image_keys keys = keys_of(self, variant->encrypt);
	char count[32], limit[32];
	struct lzb_err err;

	ASSERT_EQ(0, lzb_image_get_manifest(&self->image, &self->g, &keys,
					    &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, get_index_of(self, LZB_TASK_LIMIT, &err))
		TH_LOG("%s", err.msg);
	EXPECT_EQ(LZB_TASK_LIMIT, self->image.ix.nr_tasks);
	lzb_image_close(&self->image);

	memset(&self->image, 0, sizeof(self->image));
	ASSERT_EQ(0, lzb_image_get_manifest(&self->image, &self->g, &keys,
					    &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(-1, get_index_of(self, LZB_TASK_LIMIT + 1, &err));
	snprintf(count, sizeof(count), "%u tasks", LZB_TASK_LIMIT + 1);
	snprintf(limit, sizeof(limit), "limit of %u", LZB_TASK_LIMIT);
	EXPECT_NE(NULL, strstr(err.msg, count)) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, limit)) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "refused")) TH_LOG("%s", err.msg);
}

TEST_HARNESS_MAIN
