// SPDX-License-Identifier: GPL-2.0
/*
 * A signed image must not survive tampering: a one-byte change anywhere
 * (every byte of the manifest; sampled bytes of the bundle, the index and
 * every chunk) makes verify fail and name the changed file; truncated or
 * missing objects, a wrong public key, an unsigned image and a wrong
 * encryption key are each reported in one line that says what is wrong.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image_pack.h"
#include "image/image_reader.h"
#include "kselftest_harness.h"
#include "image_test_util.h"

struct reports {
	int n;
	char first[600];
	char all[4096];
};

static void collect(void *arg, const char *msg)
{
	struct reports *r = arg;

	if (!r->n++)
		snprintf(r->first, sizeof(r->first), "%s", msg);
	strncat(r->all, msg, sizeof(r->all) - strlen(r->all) - 2);
	strcat(r->all, "\n");
}

/* Open + verify; returns problems (an open failure counts as one). */
static int verify_img(const char *dir, const uint8_t *pk, const char *ek,
		      struct reports *r)
{
	struct lzb_image img;
	struct lzb_err err;
	int bad;

	memset(r, 0, sizeof(*r));
	if (lzb_image_open(&img, dir, NULL, &err)) {
		collect(r, err.msg);
		return 1;
	}
	if (ek)
		lzb_image_set_key(&img, ek, &err);
	bad = (int)lzb_verify(&img, pk, collect, r);
	lzb_image_close(&img);
	return bad;
}

FIXTURE(signed_image)
{
	char dir[64], dump[128], img[128], sk[128], pk_path[128], ek[128];
	uint8_t pk[32];
};

FIXTURE_VARIANT(signed_image)
{
	bool encrypt;
};

FIXTURE_VARIANT_ADD(signed_image, plain) { .encrypt = false };
FIXTURE_VARIANT_ADD(signed_image, encrypted) { .encrypt = true };

FIXTURE_SETUP(signed_image)
{
	struct lzb_pack_opts o = { .level = 3, .no_sync = true,
				   .chunk_size = 16384 };
	struct lzb_pack_result res;
	struct lzb_err err;

	if (!have_crit())
		SKIP(return, "crit is not installed (apt-get install criu)");
	ASSERT_EQ(0, lzb_crypto_init(&err));
	strcpy(self->dir, "/tmp/lzb-tamper-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->dump, sizeof(self->dump), "%s/dump", self->dir);
	snprintf(self->img, sizeof(self->img), "%s/img", self->dir);
	snprintf(self->sk, sizeof(self->sk), "%s/k.key", self->dir);
	snprintf(self->pk_path, sizeof(self->pk_path), "%s/k.pub", self->dir);
	snprintf(self->ek, sizeof(self->ek), "%s/e.key", self->dir);
	ASSERT_EQ(0, cached_dump(self->dump, "small", "--mib 1 --seed 5"));
	ASSERT_EQ(0, lzb_keygen_sign(self->sk, self->pk_path, &err));
	ASSERT_EQ(0, lzb_keygen_encrypt(self->ek, &err));
	ASSERT_EQ(0, lzb_load_sign_public(self->pk_path, self->pk, &err));
	o.criu_dir = self->dump;
	o.out_dir = self->img;
	o.sign_key = self->sk;
	o.encrypt_key = variant->encrypt ? self->ek : NULL;
	ASSERT_EQ(0, lzb_pack(&o, &res, &err)) TH_LOG("%s", err.msg);
	ASSERT_LT(3, res.nr_chunks);
}

FIXTURE_TEARDOWN(signed_image)
{
	rm_rf(self->dir);
}

TEST_F_TIMEOUT(signed_image, pristine_image_verifies, 300)
{
	struct reports r;

	EXPECT_EQ(0, verify_img(self->img, self->pk,
				variant->encrypt ? self->ek : NULL, &r))
		TH_LOG("%s", r.all);
}

/* Flip one bit of byte OFF of PATH, verify, flip it back. */
static int flip_and_verify(const char *path, size_t off, const char *img,
			   const uint8_t *pk, const char *ek, struct reports *r)
{
	uint8_t *buf;
	size_t len;
	int bad;

	if (read_all(path, &buf, &len) || off >= len)
		return -100;
	buf[off] ^= 0x01;
	write_all(path, buf, len);
	bad = verify_img(img, pk, ek, r);
	buf[off] ^= 0x01;
	write_all(path, buf, len);
	free(buf);
	return bad;
}

TEST_F_TIMEOUT(signed_image, every_manifest_byte_is_covered, 300)
{
	char path[256];
	uint8_t *buf;
	size_t len;

	snprintf(path, sizeof(path), "%s/manifest", self->img);
	ASSERT_EQ(0, read_all(path, &buf, &len));
	/* every byte: the manifest alone must already be rejected */
	for (size_t off = 0; off < len; off++) {
		struct lzb_image img;
		struct lzb_err err;

		buf[off] ^= 0x01;
		ASSERT_EQ(0, write_all(path, buf, len));
		if (!lzb_image_open(&img, self->img, self->pk, &err)) {
			lzb_image_close(&img);
			ASSERT_TRUE(0) TH_LOG("byte %zu of the manifest unchecked",
					      off);
		}
		ASSERT_NE(NULL, strstr(err.msg, path))
			TH_LOG("byte %zu: '%s'", off, err.msg);
		buf[off] ^= 0x01;
	}
	ASSERT_EQ(0, write_all(path, buf, len));
	free(buf);
	/* and a sample through the whole verify */
	for (size_t off = 0; off < len; off += len / 13 + 1) {
		struct reports r;
		int bad = flip_and_verify(path, off, self->img, self->pk,
					  variant->encrypt ? self->ek : NULL, &r);

		ASSERT_LT(0, bad) TH_LOG("byte %zu of the manifest unchecked", off);
		ASSERT_NE(NULL, strstr(r.first, "manifest"))
			TH_LOG("byte %zu: first report '%s'", off, r.first);
	}
}

TEST_F_TIMEOUT(signed_image, one_byte_in_any_object_names_it, 300)
{
	struct lzb_image img;
	struct lzb_err err;

	ASSERT_EQ(0, lzb_image_open(&img, self->img, NULL, &err));
	for (uint32_t i = 0; i < img.m.nr_objects; i++) {
		char path[512];
		size_t len = (size_t)img.m.objects[i].size;
		size_t offs[] = { 0, 1, 7, 15, 16, 31, 32, 40, len / 3, len / 2,
				  len - 17, len - 1 };

		lzb_image_object_path(&img, i, path, sizeof(path));
		for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
			struct reports r;
			int bad;

			if (offs[k] >= len)
				continue;
			bad = flip_and_verify(path, offs[k], self->img, self->pk,
					      variant->encrypt ? self->ek : NULL,
					      &r);
			ASSERT_EQ(1, bad) TH_LOG("object %u byte %zu: %s", i,
						 offs[k], r.all);
			ASSERT_NE(NULL, strstr(r.first, path))
				TH_LOG("object %u: '%s' does not name %s", i,
				       r.first, path);
			ASSERT_NE(NULL, strstr(r.first, "hash mismatch"));
		}
	}
	lzb_image_close(&img);
}

TEST_F_TIMEOUT(signed_image, truncated_and_missing_objects_are_named, 300)
{
	struct lzb_image img;
	struct lzb_err err;
	struct reports r;
	char path[512], moved[600];
	uint8_t *buf;
	size_t len;

	ASSERT_EQ(0, lzb_image_open(&img, self->img, NULL, &err));
	lzb_image_object_path(&img, img.m.nr_objects - 1, path, sizeof(path));
	lzb_image_close(&img);

	ASSERT_EQ(0, read_all(path, &buf, &len));
	ASSERT_EQ(0, write_all(path, buf, len - 5));
	EXPECT_EQ(1, verify_img(self->img, self->pk, NULL, &r));
	EXPECT_NE(NULL, strstr(r.first, path));
	EXPECT_NE(NULL, strstr(r.first, "manifest says")) TH_LOG("%s", r.first);
	ASSERT_EQ(0, write_all(path, buf, len));
	free(buf);

	snprintf(moved, sizeof(moved), "%s.gone", path);
	ASSERT_EQ(0, rename(path, moved));
	EXPECT_EQ(1, verify_img(self->img, self->pk, NULL, &r));
	EXPECT_NE(NULL, strstr(r.first, path));
	EXPECT_NE(NULL, strstr(r.first, "No such file")) TH_LOG("%s", r.first);
	ASSERT_EQ(0, rename(moved, path));
}

/*
 * The stream (every chunk again, back to back): a changed byte is named
 * with the chunk it falls in, a short stream with its size.
 */
TEST_F_TIMEOUT(signed_image, stream_bytes_are_checked_per_chunk, 300)
{
	char name[LZB_STREAM_NAME_LEN], path[512], want[64];
	struct lzb_image img;
	struct lzb_err err;
	struct reports r;
	uint64_t off = 0;
	uint8_t *buf;
	size_t len;

	ASSERT_EQ(0, lzb_image_open(&img, self->img, NULL, &err));
	ASSERT_EQ(0, lzb_stream_name(name, img.m.objects, img.m.nr_objects));
	for (uint32_t c = 0; c < 2; c++)
		off += img.m.objects[lzb_chunk_slot(c)].size;
	off += img.m.objects[lzb_chunk_slot(2)].size / 2;	/* chunk 2 */
	lzb_image_close(&img);
	snprintf(path, sizeof(path), "%s/%s", self->img, name);

	EXPECT_EQ(1, flip_and_verify(path, off, self->img, self->pk,
				     variant->encrypt ? self->ek : NULL, &r))
		TH_LOG("%s", r.all);
	EXPECT_NE(NULL, strstr(r.first, path)) TH_LOG("%s", r.first);
	snprintf(want, sizeof(want), "chunk 2 at byte");
	EXPECT_NE(NULL, strstr(r.first, want)) TH_LOG("%s", r.first);

	ASSERT_EQ(0, read_all(path, &buf, &len));
	ASSERT_EQ(0, write_all(path, buf, len - 3));
	EXPECT_LE(1, verify_img(self->img, self->pk,
				variant->encrypt ? self->ek : NULL, &r));
	EXPECT_NE(NULL, strstr(r.first, "the manifest's chunks make"))
		TH_LOG("%s", r.first);
	ASSERT_EQ(0, write_all(path, buf, len));
	free(buf);
	/* none at all is no problem: it is optional */
	ASSERT_EQ(0, unlink(path));
	EXPECT_EQ(0, verify_img(self->img, self->pk,
				variant->encrypt ? self->ek : NULL, &r))
		TH_LOG("%s", r.all);
}

TEST_F_TIMEOUT(signed_image, truncated_manifest, 120)
{
	char path[256];
	uint8_t *buf;
	size_t len;

	snprintf(path, sizeof(path), "%s/manifest", self->img);
	ASSERT_EQ(0, read_all(path, &buf, &len));
	for (size_t n = 0; n < len; n += (n < 200 ? 1 : 47)) {
		struct reports r;

		ASSERT_EQ(0, write_all(path, buf, n));
		ASSERT_EQ(1, verify_img(self->img, self->pk, NULL, &r));
		ASSERT_NE(NULL, strstr(r.first, path)) TH_LOG("%s", r.first);
		ASSERT_TRUE(strstr(r.first, "truncated") ||
			    strstr(r.first, "not a lazyboot manifest"))
			TH_LOG("cut at %zu: %s", n, r.first);
	}
	ASSERT_EQ(0, write_all(path, buf, len));
	free(buf);
}

TEST_F_TIMEOUT(signed_image, other_key_and_unsigned, 300)
{
	struct lzb_pack_opts o = { .level = 3, .no_sync = true };
	struct lzb_pack_result res;
	struct lzb_err err;
	struct reports r;
	char sk2[160], pk2[160];
	uint8_t other[32];

	snprintf(sk2, sizeof(sk2), "%s/other.key", self->dir);
	snprintf(pk2, sizeof(pk2), "%s/other.pub", self->dir);
	ASSERT_EQ(0, lzb_keygen_sign(sk2, pk2, &err));
	ASSERT_EQ(0, lzb_load_sign_public(pk2, other, &err));
	EXPECT_EQ(1, verify_img(self->img, other,
				variant->encrypt ? self->ek : NULL, &r));
	EXPECT_NE(NULL, strstr(r.first, "signed by a different key"))
		TH_LOG("%s", r.first);

	o.criu_dir = self->dump;
	o.out_dir = self->img;
	o.encrypt_key = variant->encrypt ? self->ek : NULL;
	ASSERT_EQ(0, lzb_pack(&o, &res, &err));	/* no --key: unsigned */
	EXPECT_EQ(1, verify_img(self->img, self->pk,
				variant->encrypt ? self->ek : NULL, &r));
	EXPECT_NE(NULL, strstr(r.first, "not signed")) TH_LOG("%s", r.first);
}

TEST_F_TIMEOUT(signed_image, wrong_encryption_key, 300)
{
	struct lzb_image img;
	struct lzb_err err;
	char ek2[160], out[160];

	if (!variant->encrypt)
		SKIP(return, "only for encrypted images");
	snprintf(ek2, sizeof(ek2), "%s/other-e.key", self->dir);
	snprintf(out, sizeof(out), "%s/out", self->dir);
	ASSERT_EQ(0, lzb_keygen_encrypt(ek2, &err));
	ASSERT_EQ(0, lzb_image_open(&img, self->img, self->pk, &err));
	ASSERT_EQ(0, lzb_image_set_key(&img, ek2, &err));
	ASSERT_EQ(-1, lzb_unpack(&img, out, &err));
	EXPECT_NE(NULL, strstr(err.msg, "decryption failed")) TH_LOG("%s",
								    err.msg);
	lzb_image_close(&img);
	/* and without any key */
	ASSERT_EQ(0, lzb_image_open(&img, self->img, self->pk, &err));
	ASSERT_EQ(-1, lzb_unpack(&img, out, &err));
	EXPECT_NE(NULL, strstr(err.msg, "--encrypt-key")) TH_LOG("%s", err.msg);
	lzb_image_close(&img);
}

TEST_HARNESS_MAIN
