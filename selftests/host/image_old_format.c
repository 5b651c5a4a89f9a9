// SPDX-License-Identifier: GPL-2.0
/*
 * The on-disk format does not change under the code: images packed by the
 * format's first encoder, plain and encrypted (selftests/host/fixtures/
 * old-image/, see its README.md), still verify, inspect and unpack to the
 * same bytes, their
 * manifest, index, chunk headers and bundle archive re-encode to the same
 * bytes, and one changed byte in any header field of the plain one is
 * refused by the parser
 * with an error naming what is wrong (or, for fields only the hash guards,
 * by verify naming the object).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "image/image_reader.h"
#include "kselftest_harness.h"
#include "image_test_util.h"

#define FIXTURE_DIR	"selftests/host/fixtures/old-image"

/* Which file a case changes: the manifest or an object's slot. */
enum flip_file {
	IN_MANIFEST = -1,
	IN_BUNDLE = LZB_SLOT_BUNDLE,
	IN_INDEX = LZB_SLOT_INDEX,
	IN_CHUNK0 = LZB_SLOT_CHUNK0,
};

struct header_flip {
	const char *field;
	enum flip_file slot;
	size_t off;
	uint8_t xor;
	const char *want;	/* NULL: the parser accepts, the hash refuses */
	const char *label;	/* what verify must name */
};

/*
 * Offsets are spelled out here, not taken from image_disk.h, so that a
 * struct that moved a field would fail this test.  The fixture has 7
 * objects (bundle, index, 5 chunks of 2 pages), 2 tasks and 22 extents;
 * the extent at index offset 320 is cold (chunk 0, page 0), the one at
 * 272 hot (page 0).
 */
static const struct header_flip plain_flips[] = {
	{ "manifest magic", IN_MANIFEST, 0, 0x01, "bad magic", "manifest" },
	{ "manifest version", IN_MANIFEST, 8, 0x02, "format version 3",
	  "manifest" },
	{ "manifest header size", IN_MANIFEST, 10, 0x01, "bad header size 129",
	  "manifest" },
	{ "manifest flags", IN_MANIFEST, 12, 0x80, "unknown flags 0x82",
	  "manifest" },
	{ "manifest encrypted flag", IN_MANIFEST, 12, 0x01,
	  "changed after signing", "manifest" },
	{ "manifest image id", IN_MANIFEST, 16, 0x01, "changed after signing",
	  "manifest" },
	{ "manifest image version", IN_MANIFEST, 32, 0x01,
	  "changed after signing", "manifest" },
	{ "manifest created", IN_MANIFEST, 40, 0x01, "changed after signing",
	  "manifest" },
	{ "manifest page size", IN_MANIFEST, 49, 0x10, "page size 0",
	  "manifest" },
	{ "manifest chunk size", IN_MANIFEST, 53, 0x01, "bad chunk size 8448",
	  "manifest" },
	{ "manifest object count", IN_MANIFEST, 56, 0x01,
	  "trailing bytes: 528 bytes, 6 objects need 480", "manifest" },
	{ "manifest object count high", IN_MANIFEST, 59, 0x80,
	  "bad object count", "manifest" },
	{ "manifest zstd level", IN_MANIFEST, 60, 0x01,
	  "changed after signing", "manifest" },
	{ "manifest signer", IN_MANIFEST, 64, 0x01, "signed by a different key",
	  "manifest" },
	{ "manifest valid-until", IN_MANIFEST, 100, 0x01,
	  "changed after signing", "manifest" },
	{ "manifest reserved", IN_MANIFEST, 108, 0x01,
	  "reserved header bytes not zero", "manifest" },
	{ "object type", IN_MANIFEST, 128, 0x02, "object 0 has a bad entry",
	  "manifest" },
	{ "object flags", IN_MANIFEST, 129, 0x02, "object 0 has a bad entry",
	  "manifest" },
	{ "object reserved", IN_MANIFEST, 130, 0x01, "object 0 has a bad entry",
	  "manifest" },
	{ "object reserved word", IN_MANIFEST, 132, 0x01,
	  "object 0 has a bad entry", "manifest" },
	{ "object size", IN_MANIFEST, 136, 0x01, "changed after signing",
	  "manifest" },
	{ "object hash", IN_MANIFEST, 144, 0x01, "changed after signing",
	  "manifest" },
	{ "index object encrypted", IN_MANIFEST, 128 + 48 + 1, 0x01,
	  "the index is never encrypted", "manifest" },
	{ "manifest signature", IN_MANIFEST, 128 + 7 * 48, 0x01,
	  "changed after signing", "manifest" },

	{ "index magic", IN_INDEX, 0, 0x01, "not a lazyboot index", "(index)" },
	{ "index version", IN_INDEX, 8, 0x01, "unsupported index version", "(index)" },
	{ "index header size", IN_INDEX, 10, 0x01, "unsupported index version",
	  "(index)" },
	{ "index page size", IN_INDEX, 13, 0x10, "unsupported index version",
	  "(index)" },
	{ "index task count", IN_INDEX, 16, 0x01, "its counts need 832", "(index)" },
	{ "index chunk count", IN_INDEX, 20, 0x01, "its counts need 784", "(index)" },
	{ "index extent count", IN_INDEX, 24, 0x01, "its counts need 824", "(index)" },
	{ "index pages total", IN_INDEX, 32, 0x01, "header says 23", "(index)" },
	{ "index pages hot", IN_INDEX, 40, 0x01, NULL, "(index)" },
	{ "index hot bytes", IN_INDEX, 96, 0x01, NULL, "(index)" },
	{ "index reserved", IN_INDEX, 104, 0x01, "reserved header bytes not zero",
	  "(index)" },
	{ "task pid", IN_INDEX, 128, 0x08, "task table not sorted at entry 1",
	  "(index)" },
	{ "task reserved", IN_INDEX, 132, 0x01, "task 0: reserved bytes not zero",
	  "(index)" },
	{ "task first extent", IN_INDEX, 136, 0x01,
	  "task 0 (pid 1) has a bad extent range", "(index)" },
	{ "task extent count", IN_INDEX, 144, 0x01,
	  "pid 1 says 2 hot pages, its extents hold 1", "(index)" },
	{ "task hot pages", IN_INDEX, 152, 0x01, "pid 1 says 3 hot pages", "(index)" },
	{ "task reserved tail", IN_INDEX, 156, 0x01, "task 0: reserved bytes not zero",
	  "(index)" },
	{ "chunk pages", IN_INDEX, 193, 0x04, "chunk 0 has 1026 pages", "(index)" },
	{ "chunk reserved", IN_INDEX, 196, 0x01, "chunk 0: reserved bytes not zero",
	  "(index)" },
	{ "chunk stored size", IN_INDEX, 200, 0x01,
	  "chunk 0 size differs from the manifest's", "(index)" },
	{ "extent vaddr", IN_INDEX, 320, 0x01, "bad or out-of-order range",
	  "(index)" },
	{ "extent pages", IN_INDEX, 328, 0x04, "runs past the end of chunk 0",
	  "(index)" },
	{ "extent kind", IN_INDEX, 332, 0x04, "unknown kind 6", "(index)" },
	{ "extent reserved", IN_INDEX, 333, 0x01, "reserved bytes not zero",
	  "(index)" },
	{ "extent chunk", IN_INDEX, 336, 0x08, "names chunk 8 of 5", "(index)" },
	{ "extent offset", IN_INDEX, 340, 0x04, "runs past the end of chunk 0",
	  "(index)" },
	{ "hot extent offset", IN_INDEX, 272 + 20, 0x01, "hot offset 1, want 0",
	  "(index)" },

	{ "chunk magic", IN_CHUNK0, 0, 0x01, "not a lazyboot chunk", "(chunk 0)" },
	{ "chunk version", IN_CHUNK0, 4, 0x02, "unsupported chunk version or flags",
	  "(chunk 0)" },
	{ "chunk flags", IN_CHUNK0, 6, 0x02, "unsupported chunk version or flags",
	  "(chunk 0)" },
	{ "chunk encrypted flag", IN_CHUNK0, 6, 0x01, "encrypted; give the encryption",
	  "(chunk 0)" },
	{ "chunk raw size", IN_CHUNK0, 9, 0x01, "bad chunk size 8448", "(chunk 0)" },
	{ "chunk raw pages", IN_CHUNK0, 9, 0x10, "not one zstd frame of 12288 bytes",
	  "(chunk 0)" },
	{ "chunk payload size", IN_CHUNK0, 12, 0x01, "truncated: payload says 57",
	  "(chunk 0)" },

	{ "bundle magic", IN_BUNDLE, 0, 0x01, "not a lazyboot boot bundle",
	  "(boot bundle)" },
	{ "bundle version", IN_BUNDLE, 8, 0x02, "unsupported bundle version or flags",
	  "(boot bundle)" },
	{ "bundle flags", IN_BUNDLE, 10, 0x02, "unsupported bundle version or flags",
	  "(boot bundle)" },
	{ "bundle encrypted flag", IN_BUNDLE, 10, 0x01,
	  "encrypted; give the encryption", "(boot bundle)" },
	{ "bundle reserved", IN_BUNDLE, 12, 0x01,
	  "unsupported bundle version or flags", "(boot bundle)" },
	{ "bundle archive size", IN_BUNDLE, 23, 0x80, "bad archive size",
	  "(boot bundle)" },
	{ "bundle archive bytes", IN_BUNDLE, 16, 0x01,
	  "not one zstd frame of 19725", "(boot bundle)" },
	{ "bundle payload size", IN_BUNDLE, 24, 0x01,
	  "trailing bytes: payload says 1042", "(boot bundle)" },
};

/*
 * The encrypted image: sealed chunks and bundle take their header as
 * associated data, so a changed header field that still parses makes
 * decryption fail; a cleared encrypted flag leaves a sealed payload that
 * is no zstd frame.
 */
static const struct header_flip encrypted_flips[] = {
	{ "manifest flags", IN_MANIFEST, 12, 0x80, "unknown flags 0x83",
	  "manifest" },
	{ "manifest encrypted flag", IN_MANIFEST, 12, 0x01,
	  "changed after signing", "manifest" },
	{ "index reserved", IN_INDEX, 104, 0x01,
	  "reserved header bytes not zero", "(index)" },
	{ "chunk encrypted flag", IN_CHUNK0, 6, 0x01,
	  "not one zstd frame of 8192 bytes", "(chunk 0)" },
	{ "chunk raw pages", IN_CHUNK0, 9, 0x10, "decryption failed",
	  "(chunk 0)" },
	{ "bundle encrypted flag", IN_BUNDLE, 10, 0x01, "not one zstd frame",
	  "(boot bundle)" },
	{ "bundle archive bytes", IN_BUNDLE, 16, 0x01, "decryption failed",
	  "(boot bundle)" },
};

FIXTURE(old_image)
{
	char fx[PATH_MAX], img[PATH_MAX + 32], key[PATH_MAX + 32], tmp[64];
	uint8_t pk[LZB_SIGN_PUB_BYTES];
	struct lzb_image image;
};

FIXTURE_VARIANT(old_image)
{
	const char *img;	/* in the fixture folder */
	const char *key;	/* encryption key file, or NULL */
	const char *inspect;	/* what inspect printed */
	const struct header_flip *flips;
	size_t nr_flips;
};

FIXTURE_VARIANT_ADD(old_image, plain)
{
	.img = "img", .inspect = "inspect.txt",
	.flips = plain_flips,
	.nr_flips = sizeof(plain_flips) / sizeof(plain_flips[0]),
};

FIXTURE_VARIANT_ADD(old_image, encrypted)
{
	.img = "img-encrypted", .key = "encrypt.key",
	.inspect = "inspect-encrypted.txt",
	.flips = encrypted_flips,
	.nr_flips = sizeof(encrypted_flips) / sizeof(encrypted_flips[0]),
};

FIXTURE_SETUP(old_image)
{
	char path[PATH_MAX + 16];
	struct lzb_err err;

	ASSERT_EQ(0, lzb_crypto_init(&err));
	ASSERT_EQ(0, src_path(self->fx, sizeof(self->fx), FIXTURE_DIR));
	snprintf(self->img, sizeof(self->img), "%s/%s", self->fx, variant->img);
	snprintf(path, sizeof(path), "%s/sign.pub", self->fx);
	ASSERT_EQ(0, lzb_load_sign_public(path, self->pk, &err))
		TH_LOG("%s", err.msg);
	strcpy(self->tmp, "/tmp/lzb-oldfmt-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->tmp));
	ASSERT_EQ(0, lzb_image_open(&self->image, self->img, self->pk, &err))
		TH_LOG("%s", err.msg);
	self->key[0] = 0;
	if (variant->key) {
		snprintf(self->key, sizeof(self->key), "%s/%s", self->fx,
			 variant->key);
		ASSERT_EQ(0, lzb_image_set_key(&self->image, self->key, &err))
			TH_LOG("%s", err.msg);
	}
}

FIXTURE_TEARDOWN(old_image)
{
	lzb_image_close(&self->image);
	rm_rf(self->tmp);
}

static void report(void *arg, const char *msg)
{
	int *bad = arg;

	(*bad)++;
	fprintf(stderr, "# verify: %s\n", msg);
}

TEST_F(old_image, verifies)
{
	int bad = 0;

	EXPECT_EQ(0, lzb_verify(&self->image, self->pk, report, &bad));
	EXPECT_EQ(0, bad);
	EXPECT_EQ(7, self->image.m.nr_objects);
}

static void sha256_hex(char out[65], const uint8_t *buf, size_t len)
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, buf, len);
	for (size_t i = 0; i < sizeof(h); i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

TEST_F(old_image, unpacks_byte_for_byte)
{
	char out[128], sums[PATH_MAX + 32], line[512];
	struct lzb_err err;
	int files = 0;
	FILE *f;

	snprintf(out, sizeof(out), "%s/out", self->tmp);
	ASSERT_EQ(0, lzb_unpack(&self->image, out, &err)) TH_LOG("%s", err.msg);
	snprintf(sums, sizeof(sums), "%s/unpacked.sha256", self->fx);
	f = fopen(sums, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		char want[65], name[256], path[512], got[65];
		uint8_t *buf;
		size_t len;

		ASSERT_EQ(2, sscanf(line, "%64s %255s", want, name));
		snprintf(path, sizeof(path), "%s/%s", out, name);
		ASSERT_EQ(0, read_all(path, &buf, &len)) TH_LOG("%s", path);
		sha256_hex(got, buf, len);
		free(buf);
		EXPECT_STREQ(want, got) TH_LOG("%s differs", name);
		files++;
	}
	fclose(f);
	EXPECT_EQ(13, files);
	EXPECT_EQ(files, count_files(out));
}

TEST_F(old_image, inspect_output_unchanged)
{
	char bin[PATH_MAX], cmd[4 * PATH_MAX], want_path[PATH_MAX + 32];
	char got[8192];
	uint8_t *want;
	size_t want_len, got_len = 0, n;
	const char *first = "image IMG\n";
	char *nl;
	FILE *p;

	/* BUILD/lazyboot, for this test BUILD/selftests/host/<name> */
	ASSERT_EQ(0, exe_path_up(bin, sizeof(bin), 3, "lazyboot"));
	snprintf(cmd, sizeof(cmd), "'%s' inspect '%s' --vmas%s%s%s", bin,
		 self->img, variant->key ? " --encrypt-key '" : "", self->key,
		 variant->key ? "'" : "");
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	while ((n = fread(got + got_len, 1, sizeof(got) - 1 - got_len, p)))
		got_len += n;
	ASSERT_EQ(0, pclose(p));
	got[got_len] = 0;
	nl = strchr(got, '\n');
	ASSERT_NE(NULL, nl);
	snprintf(want_path, sizeof(want_path), "%s/%s", self->fx,
		 variant->inspect);
	ASSERT_EQ(0, read_all(want_path, &want, &want_len));
	ASSERT_LT(strlen(first), want_len);
	EXPECT_EQ(0, strncmp((char *)want, first, strlen(first)));
	EXPECT_EQ(want_len - strlen(first), strlen(nl + 1));
	EXPECT_EQ(0, strncmp((char *)want + strlen(first), nl + 1,
			     want_len - strlen(first)))
		TH_LOG("inspect printed:\n%s", got);
	free(want);
}

TEST_F(old_image, manifest_reencodes_to_the_same_bytes)
{
	uint8_t sk[LZB_SIGN_SEC_BYTES], *mf;
	char path[PATH_MAX + 16];
	struct lzb_err err;
	size_t len;

	snprintf(path, sizeof(path), "%s/sign.key", self->fx);
	ASSERT_EQ(0, lzb_load_sign_secret(path, sk, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, lzb_manifest_encode(&self->image.m, sk, &mf, &len));
	ASSERT_EQ(self->image.mf_len, len);
	EXPECT_EQ(0, memcmp(self->image.mf_buf, mf, len));
	free(mf);
}

TEST_F(old_image, index_reencodes_to_the_same_bytes)
{
	struct lzb_index *ix = &self->image.ix;
	struct lzb_index_task *tasks;
	struct lzb_index_chunk *chunks;
	struct lzb_extent *extents;
	struct lzb_err err;
	uint8_t *out;
	size_t len;

	ASSERT_EQ(0, lzb_image_load_index(&self->image, &err))
		TH_LOG("%s", err.msg);
	tasks = calloc(ix->nr_tasks, sizeof(*tasks));
	chunks = calloc(ix->nr_chunks, sizeof(*chunks));
	extents = calloc(ix->nr_extents, sizeof(*extents));
	ASSERT_TRUE(tasks && chunks && extents);
	for (uint32_t i = 0; i < ix->nr_tasks; i++)
		lzb_index_task(ix, i, &tasks[i]);
	for (uint32_t i = 0; i < ix->nr_chunks; i++)
		lzb_index_chunk(ix, i, &chunks[i]);
	for (uint64_t i = 0; i < ix->nr_extents; i++)
		lzb_index_extent(ix, i, &extents[i]);
	ASSERT_EQ(0, lzb_index_encode(&ix->st, tasks, ix->nr_tasks, chunks,
				      ix->nr_chunks, extents, ix->nr_extents,
				      &out, &len));
	ASSERT_EQ(self->image.ix_len, len);
	EXPECT_EQ(0, memcmp(self->image.ix_buf, out, len));
	free(out);
	free(tasks);
	free(chunks);
	free(extents);
}

/*
 * Chunks and the bundle: the raw bytes are compressed again, and zstd's
 * output may differ between its versions, so the header up to the payload
 * length and the archive inside the bundle are compared.
 */
TEST_F(old_image, chunk_headers_reencode_to_the_same_bytes)
{
	struct lzb_err err;

	ASSERT_EQ(0, lzb_image_load_index(&self->image, &err));
	for (uint32_t c = 0; c < self->image.ix.nr_chunks; c++) {
		uint8_t *buf, *raw, *out;
		size_t len, raw_len, out_len;

		ASSERT_EQ(0, lzb_image_read_object(&self->image,
						   lzb_chunk_slot(c), &buf,
						   &len, &err));
		ASSERT_EQ(0, lzb_image_read_chunk(&self->image, c, &raw,
						  &raw_len, &err));
		ASSERT_EQ(0, lzb_chunk_encode(raw, raw_len,
					      (int)self->image.m.zstd_level,
					      self->image.key, &out, &out_len));
		EXPECT_EQ(0, memcmp(buf, out, 12)) TH_LOG("chunk %u", c);
		free(buf);
		free(raw);
		free(out);
	}
}

TEST_F(old_image, bundle_archive_rebuilds_to_the_same_bytes)
{
	struct lzb_bundle_builder b = { 0 };
	struct lzb_bundle *bd = &self->image.bundle;
	uint8_t *buf, *out;
	size_t len, out_len;
	struct lzb_err err;

	ASSERT_EQ(0, lzb_image_load_bundle(&self->image, &err));
	ASSERT_EQ(0, lzb_image_read_object(&self->image, LZB_SLOT_BUNDLE, &buf,
					   &len, &err));
	for (uint32_t i = 0; i < bd->nr; i++)
		ASSERT_EQ(0, lzb_bundle_add(&b, bd->files[i].name,
					    bd->files[i].data,
					    (size_t)bd->files[i].size));
	ASSERT_EQ(0, lzb_bundle_encode(&b, (int)self->image.m.zstd_level,
				       self->image.key, &out, &out_len));
	ASSERT_EQ(bd->archive_len, b.len);
	EXPECT_EQ(0, memcmp(bd->archive, b.p, b.len));
	EXPECT_EQ(0, memcmp(buf, out, 24));
	free(b.p);
	free(buf);
	free(out);
}

/* Open the image in DIR without checking its signature; KEY may be "". */
static int open_unverified(struct lzb_image *img, const char *dir,
			   const char *key, struct lzb_err *err)
{
	if (lzb_image_open(img, dir, NULL, err))
		return -1;
	if (key[0] && lzb_image_set_key(img, key, err)) {
		lzb_image_close(img);
		return -1;
	}
	return 0;
}

/*
 * Hand the changed bytes of FL's file to the parser the reader uses for
 * it, without the hash check in front; 0 when it accepts them.
 */
static int parse_flipped(struct lzb_image *img, const uint8_t *pk,
			 const struct header_flip *fl, uint8_t *buf, size_t len,
			 struct lzb_err *err)
{
	struct lzb_image other;
	struct lzb_bundle bd;
	uint8_t *raw;
	size_t raw_len;

	buf[fl->off] ^= fl->xor;
	if (fl->slot == IN_MANIFEST) {
		uint8_t *copy = malloc(len);
		struct lzb_err sig_err;

		/*
		 * With the key the signature is checked first, before the
		 * parser allocates a thing, and fails for any changed byte;
		 * the parser alone names the field it finds wrong.  Report
		 * that, or the signature's complaint when the parser finds
		 * nothing wrong.
		 */
		if (!copy)
			return -1;
		memcpy(copy, buf, len);
		if (!lzb_image_open_buffer(&other, "manifest", copy, len, pk,
					   &sig_err)) {
			lzb_image_close(&other);
			free(buf);
			return 0;
		}
		if (lzb_image_open_buffer(&other, "manifest", buf, len, NULL,
					  err))
			return -1;
		lzb_image_close(&other);
		*err = sig_err;
		return -1;
	}
	if (fl->slot == IN_INDEX)
		return lzb_image_set_index(img, "index", buf, len, err);
	if (fl->slot == IN_BUNDLE) {
		int r = lzb_bundle_decode("boot bundle", buf, len, img->key,
					  &bd, err);

		free(buf);
		if (!r)
			lzb_bundle_free(&bd);
		return r;
	}
	if (lzb_image_load_index(img, err))
		return -1;
	if (lzb_image_decode_chunk(img, lzb_slot_chunk((uint32_t)fl->slot),
				   "chunk", buf, len, &raw, &raw_len, err)) {
		free(buf);
		return -1;
	}
	free(buf);
	free(raw);
	return 0;
}

static void first_report(void *arg, const char *msg)
{
	char *first = arg;

	if (!first[0])
		snprintf(first, 600, "%s", msg);
}

/* Copy the fixture image to DIR, flip FL's byte there, verify: 1st report. */
static int verify_flipped(const char *fx_img, const char *dir,
			  const uint8_t *pk, const char *key,
			  const struct header_flip *fl, char first[600])
{
	char cmd[2 * PATH_MAX], path[PATH_MAX + 100];
	struct lzb_image img;
	struct lzb_err err;
	uint8_t *buf;
	size_t len;
	int bad = 0;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -r '%s' '%s'", dir,
		 fx_img, dir);
	if (system(cmd))
		return -1;
	if (fl->slot == IN_MANIFEST) {
		snprintf(path, sizeof(path), "%s/manifest", dir);
	} else {
		if (open_unverified(&img, dir, key, &err))
			return -1;
		lzb_image_object_path(&img, (uint32_t)fl->slot, path,
				      sizeof(path));
		lzb_image_close(&img);
	}
	if (read_all(path, &buf, &len))
		return -1;
	buf[fl->off] ^= fl->xor;
	if (write_all(path, buf, len)) {
		free(buf);
		return -1;
	}
	free(buf);
	first[0] = 0;
	if (open_unverified(&img, dir, key, &err)) {
		snprintf(first, 600, "%s", err.msg);
		return 1;
	}
	bad = (int)lzb_verify(&img, pk, first_report, first);
	lzb_image_close(&img);
	return bad;
}

TEST_F(old_image, one_changed_header_byte_is_named)
{
	for (size_t i = 0; i < variant->nr_flips; i++) {
		const struct header_flip *fl = &variant->flips[i];
		char path[PATH_MAX + 100], first[600] = "", dir[128];
		struct lzb_image img;
		struct lzb_err err = { 0 };
		uint8_t *buf;
		size_t len;
		int r;

		/* the parser, straight on the changed bytes */
		ASSERT_EQ(0, open_unverified(&img, self->img, self->key, &err));
		if (fl->slot == IN_MANIFEST)
			snprintf(path, sizeof(path), "%s/manifest", self->img);
		else
			lzb_image_object_path(&img, (uint32_t)fl->slot, path,
					      sizeof(path));
		ASSERT_EQ(0, read_all(path, &buf, &len));
		ASSERT_LT(fl->off, len);
		r = parse_flipped(&img, self->pk, fl, buf, len, &err);
		lzb_image_close(&img);
		if (fl->want) {
			EXPECT_EQ(-1, r) TH_LOG("%s: accepted", fl->field);
			EXPECT_NE(NULL, strstr(err.msg, fl->want))
				TH_LOG("%s: \"%s\" does not say \"%s\"",
				       fl->field, err.msg, fl->want);
		} else {
			EXPECT_EQ(0, r) TH_LOG("%s: %s", fl->field, err.msg);
		}

		/* verify, on a copy of the image with the changed byte */
		snprintf(dir, sizeof(dir), "%s/img", self->tmp);
		r = verify_flipped(self->img, dir, self->pk, self->key, fl,
				   first);
		EXPECT_LT(0, r) TH_LOG("%s: verify accepted it", fl->field);
		EXPECT_NE(NULL, strstr(first, fl->label))
			TH_LOG("%s: verify said \"%s\", not naming %s",
			       fl->field, first, fl->label);
	}
}

TEST_HARNESS_MAIN
