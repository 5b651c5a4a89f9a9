// SPDX-License-Identifier: GPL-2.0
/*
 * pack -> image -> unpack, over a table of pack options: unpack rebuilds
 * the CRIU dump byte for byte; hot/cold/zero/dedup counts match an
 * independent count over the dump; the bundle's pagemaps are rewritten
 * (hot = PE_PRESENT in a local pages image, the rest PE_LAZY only); every
 * page found through the pread index lookup holds the dumped bytes;
 * versions only move forward; repacking is deterministic.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criu/criu_image.h"
#include "image/image_pack.h"
#include "image/image_reader.h"
#include "util/file_util.h"
#include "capture/profile.h"
#include "kselftest_harness.h"
#include "image_test_util.h"

FIXTURE(packed)
{
	char dir[64];
	char dump[128], img[128], out[128], sk[128], pk[128], ek[128];
	char profile[128];
	struct lzb_pack_result res;
};

FIXTURE_VARIANT(packed)
{
	uint32_t chunk_size;
	int level;
	bool sign, encrypt, field5, profile;
	bool aligned_sp;	/* dump without PE_LAZY, every SP page-aligned */
};

FIXTURE_VARIANT_ADD(packed, defaults)
{ .chunk_size = 0, .level = 3, .sign = true };
FIXTURE_VARIANT_ADD(packed, one_page_chunks)
{ .chunk_size = 4096, .level = 1, .sign = true };
FIXTURE_VARIANT_ADD(packed, big_chunks_level9)
{ .chunk_size = 1 << 20, .level = 9, .sign = true };
FIXTURE_VARIANT_ADD(packed, encrypted)
{ .chunk_size = 16384, .level = 3, .sign = true, .encrypt = true };
FIXTURE_VARIANT_ADD(packed, unsigned_field5)
{ .chunk_size = 0, .level = 3, .field5 = true };
/* What CRIU 3.17 dumps when a thread's SP is page-aligned: no PE_LAZY. */
FIXTURE_VARIANT_ADD(packed, aligned_sp_no_pe_lazy)
{ .chunk_size = 0, .level = 3, .sign = true, .aligned_sp = true };
FIXTURE_VARIANT_ADD(packed, profiled_encrypted)
{ .chunk_size = 0, .level = 3, .sign = true, .encrypt = true,
  .profile = true };

/* A profile: some heap pages of pid 7 hot, some of pid 1 streamed first. */
static void write_profile(const char *path)
{
	FILE *f = fopen(path, "w");

	fprintf(f, "lazyboot-profile v1\n# test\n");
	fprintf(f, "7 0x80000000 20\n");
	fprintf(f, "7 0x80050000\n");
	fprintf(f, "1 0x5000 1\n");		/* not in the dump: ignored */
	fprintf(f, "ready\n");
	fprintf(f, "1 0x200a0000 30\n");
	fprintf(f, "7 0x80000000 2\n");	/* already hot: no effect */
	fclose(f);
}

FIXTURE_SETUP(packed)
{
	struct lzb_pack_opts o = { 0 };
	struct lzb_image img;
	struct lzb_err err;

	if (!have_crit())
		SKIP(return, "crit is not installed (apt-get install criu)");
	ASSERT_EQ(0, lzb_crypto_init(&err));
	strcpy(self->dir, "/tmp/lzb-pack-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->dump, sizeof(self->dump), "%s/dump", self->dir);
	snprintf(self->img, sizeof(self->img), "%s/img", self->dir);
	snprintf(self->out, sizeof(self->out), "%s/unpacked", self->dir);
	snprintf(self->sk, sizeof(self->sk), "%s/k.key", self->dir);
	snprintf(self->pk, sizeof(self->pk), "%s/k.pub", self->dir);
	snprintf(self->ek, sizeof(self->ek), "%s/enc.key", self->dir);
	snprintf(self->profile, sizeof(self->profile), "%s/profile", self->dir);
	ASSERT_EQ(0, cached_dump(self->dump, variant->field5 ? "f5" :
				 variant->aligned_sp ? "aligned" : "plain",
				 variant->field5 ? "--mib 3 --seed 3 --field5" :
				 variant->aligned_sp ? "--mib 3 --seed 3 --aligned-sp" :
						       "--mib 3 --seed 3"));
	ASSERT_EQ(0, lzb_keygen_sign(self->sk, self->pk, &err));
	ASSERT_EQ(0, lzb_keygen_encrypt(self->ek, &err));
	write_profile(self->profile);
	o.criu_dir = self->dump;
	o.out_dir = self->img;
	o.no_sync = true;
	o.chunk_size = variant->chunk_size;
	o.level = variant->level;
	o.sign_key = variant->sign ? self->sk : NULL;
	o.encrypt_key = variant->encrypt ? self->ek : NULL;
	o.profile = variant->profile ? self->profile : NULL;
	ASSERT_EQ(0, lzb_pack(&o, &self->res, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, lzb_image_open(&img, self->img, NULL, &err))
		TH_LOG("%s", err.msg);
	if (variant->encrypt)
		ASSERT_EQ(0, lzb_image_set_key(&img, self->ek, &err));
	ASSERT_EQ(0, lzb_unpack(&img, self->out, &err)) TH_LOG("%s", err.msg);
	lzb_image_close(&img);
}

FIXTURE_TEARDOWN(packed)
{
	rm_rf(self->dir);
}

TEST_F_TIMEOUT(packed, unpack_is_byte_identical, 300)
{
	DIR *d = opendir(self->dump);
	struct dirent *de;
	int n = 0;

	ASSERT_NE(NULL, d);
	while ((de = readdir(d))) {
		char a[512], b[512];

		if (de->d_name[0] == '.')
			continue;
		snprintf(a, sizeof(a), "%s/%s", self->dump, de->d_name);
		snprintf(b, sizeof(b), "%s/%s", self->out, de->d_name);
		EXPECT_EQ(0, same_file(a, b)) TH_LOG("%s differs", de->d_name);
		n++;
	}
	closedir(d);
	EXPECT_EQ(13, n);	/* the dump's 13 files */
	EXPECT_EQ(n, count_files(self->out));
}

struct pageref {
	const uint8_t *p;
};

static int cmp_page(const void *a, const void *b)
{
	return memcmp(((const struct pageref *)a)->p,
		      ((const struct pageref *)b)->p, 4096);
}

/* Count hot/cold/zero/dedup straight from the dump, independently. */
TEST_F_TIMEOUT(packed, counts_match_dump, 300)
{
	struct lzb_criu_dump d;
	struct lzb_err err;
	struct lzb_profile prof = { 0 };
	uint64_t hot = 0, cold = 0, zero = 0, total = 0, unique = 0;
	struct pageref *refs = NULL;
	size_t nrefs = 0;
	uint8_t *bufs[2] = { 0 };
	static const uint8_t zpage[4096];

	ASSERT_EQ(0, lzb_criu_dump_open(self->dump, &d, &err));
	if (variant->profile)
		ASSERT_EQ(0, lzb_profile_load(self->profile, &prof, &err));
	for (size_t t = 0; t < d.nr_tasks; t++) {
		struct lzb_criu_task *tk = &d.tasks[t];
		char path[512];
		size_t len, off = 0;

		snprintf(path, sizeof(path), "%s/%s", self->dump, tk->pages_name);
		ASSERT_EQ(0, read_all(path, &bufs[t], &len));
		refs = realloc(refs, (nrefs + len / 4096) * sizeof(*refs));
		for (size_t i = 0; i < tk->pm.nr; i++) {
			const struct lzb_criu_pagemap_entry *e = &tk->pm.e[i];

			for (uint64_t k = 0; k < e->nr_pages; k++, off += 4096) {
				uint64_t va = e->vaddr + k * 4096;
				const struct lzb_criu_vma *v = lzb_criu_mm_find(&tk->mm, va);
				bool profhot = false;

				for (size_t p = 0; p < prof.nr; p++)
					if (prof.e[p].hot &&
					    prof.e[p].pid == tk->ps->pid &&
					    va >= prof.e[p].vaddr &&
					    va < prof.e[p].vaddr +
							 prof.e[p].nr_pages * 4096ull)
						profhot = true;
				bool sp_page = false;

				for (size_t th = 0; th < tk->nr_thread_sp; th++)
					sp_page |= tk->thread_sp[th] / 4096 == va / 4096;
				total++;
				if (!v || !lzb_criu_vma_can_be_lazy(v) || sp_page)
					hot++;
				else if (!memcmp(bufs[t] + off, zpage, 4096))
					zero++;
				else if (profhot)
					hot++;
				else {
					cold++;
					refs[nrefs++].p = bufs[t] + off;
				}
			}
		}
	}
	qsort(refs, nrefs, sizeof(*refs), cmp_page);
	for (size_t i = 0; i < nrefs; i++)
		unique += !i || cmp_page(&refs[i - 1], &refs[i]);

	EXPECT_EQ(total, self->res.st.pages_total);
	EXPECT_EQ(hot, self->res.st.pages_hot);
	EXPECT_EQ(cold, self->res.st.pages_cold);
	EXPECT_EQ(zero, self->res.st.pages_zero);
	EXPECT_EQ(unique, self->res.st.pages_stored);
	EXPECT_EQ(cold - unique, self->res.st.pages_dedup);
	EXPECT_LT(0, zero);
	EXPECT_LT(0, cold - unique);
	if (variant->profile) {
		EXPECT_LT(4, hot);
		EXPECT_EQ(1, self->res.profile_ignored);
	} else {
		EXPECT_EQ(4, hot);	/* file COW page + SP page, per task */
	}
	/* chunk count follows from the unique pages and the chunk size */
	{
		uint32_t per = (variant->chunk_size ? variant->chunk_size :
				LZB_DEFAULT_CHUNK) / 4096;

		EXPECT_EQ((unique + per - 1) / per, self->res.nr_chunks);
	}
	free(refs);
	free(bufs[0]);
	free(bufs[1]);
	lzb_profile_free(&prof);
	lzb_criu_dump_close(&d);
}

/* The boot bundle's pagemaps: hot PE_PRESENT, the rest PE_LAZY only. */
TEST_F_TIMEOUT(packed, bundle_pagemap_rewritten, 300)
{
	struct lzb_image img;
	struct lzb_err err;
	uint64_t hot_pages = 0;

	ASSERT_EQ(0, lzb_image_open(&img, self->img, NULL, &err));
	if (variant->encrypt) {
		ASSERT_EQ(-1, lzb_image_load_bundle(&img, &err));
		EXPECT_NE(NULL, strstr(err.msg, "encrypted"));
		ASSERT_EQ(0, lzb_image_set_key(&img, self->ek, &err));
	}
	ASSERT_EQ(0, lzb_image_load_bundle(&img, &err)) TH_LOG("%s", err.msg);
	for (int pid = 1; pid <= 7; pid += 6) {
		char name[64], orig[512];
		const struct lzb_bundle_file *pmf, *pgf;
		struct lzb_criu_pagemap pm, om;
		uint8_t *obuf, *opages;
		size_t olen, oplen;
		uint64_t off = 0;

		snprintf(name, sizeof(name), "pagemap-%d.img", pid);
		pmf = lzb_bundle_find(&img.bundle, name);
		ASSERT_NE(NULL, pmf);
		ASSERT_EQ(0, lzb_criu_parse_pagemap(name, pmf->data, pmf->size, &pm,
						    &err));
		snprintf(name, sizeof(name), "pages-%u.img", pm.pages_id);
		pgf = lzb_bundle_find(&img.bundle, name);
		ASSERT_NE(NULL, pgf);
		EXPECT_EQ(pm.present_pages * 4096, pgf->size);
		hot_pages += pm.present_pages;

		snprintf(orig, sizeof(orig), "%s/pagemap-%d.img", self->dump, pid);
		ASSERT_EQ(0, read_all(orig, &obuf, &olen));
		ASSERT_EQ(0, lzb_criu_parse_pagemap(orig, obuf, olen, &om, &err));
		EXPECT_EQ(om.total_pages, pm.total_pages);
		snprintf(orig, sizeof(orig), "%s/%s", self->dump, name);
		ASSERT_EQ(0, read_all(orig, &opages, &oplen));
		/* every hot page holds its dumped bytes, in address order */
		for (size_t i = 0; i < pm.nr; i++) {
			const struct lzb_criu_pagemap_entry *e = &pm.e[i];

			ASSERT_TRUE(e->flags == CRIU_PE_PRESENT ||
				    e->flags == CRIU_PE_LAZY);
			if (e->flags != CRIU_PE_PRESENT)
				continue;
			for (uint64_t k = 0; k < e->nr_pages; k++, off += 4096) {
				uint64_t va = e->vaddr + k * 4096, ooff = 0;
				bool found = false;

				for (size_t j = 0; j < om.nr && !found; j++) {
					if (va >= om.e[j].vaddr &&
					    va < om.e[j].vaddr + om.e[j].nr_pages * 4096) {
						ooff += va - om.e[j].vaddr;
						found = true;
					} else {
						ooff += om.e[j].nr_pages * 4096;
					}
				}
				ASSERT_TRUE(found);
				ASSERT_EQ(0, memcmp(pgf->data + off, opages + ooff,
						    4096));
			}
		}
		free(obuf);
		free(opages);
		lzb_criu_pagemap_free(&pm);
		lzb_criu_pagemap_free(&om);
	}
	EXPECT_EQ(self->res.st.pages_hot, hot_pages);
	lzb_image_close(&img);
}

/* Every dumped page, looked up by (pid, vaddr) with pread only. */
TEST_F_TIMEOUT(packed, index_lookup_finds_every_page, 300)
{
	struct lzb_image img;
	struct lzb_err err;
	struct lzb_criu_dump d;
	struct lzb_extent x;
	uint8_t *cached = NULL;
	uint32_t cached_id = 0;
	char path[512];
	int fd;

	ASSERT_EQ(0, lzb_image_open(&img, self->img, NULL, &err));
	if (variant->encrypt)
		ASSERT_EQ(0, lzb_image_set_key(&img, self->ek, &err));
	ASSERT_EQ(0, lzb_image_load_index(&img, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, lzb_image_load_bundle(&img, &err)) TH_LOG("%s", err.msg);
	lzb_image_object_path(&img, LZB_SLOT_INDEX, path, sizeof(path));
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, lzb_criu_dump_open(self->dump, &d, &err));
	for (size_t t = 0; t < d.nr_tasks; t++) {
		struct lzb_criu_task *tk = &d.tasks[t];
		const struct lzb_bundle_file *hot;
		uint8_t *pages;
		size_t len, off = 0;

		snprintf(path, sizeof(path), "%s/%s", self->dump, tk->pages_name);
		ASSERT_EQ(0, read_all(path, &pages, &len));
		hot = lzb_bundle_find(&img.bundle, tk->pages_name);
		ASSERT_NE(NULL, hot);
		for (size_t i = 0; i < tk->pm.nr; i++) {
			const struct lzb_criu_pagemap_entry *e = &tk->pm.e[i];

			for (uint64_t k = 0; k < e->nr_pages; k++, off += 4096) {
				uint64_t va = e->vaddr + k * 4096;
				uint64_t pg;
				static const uint8_t z[4096];
				uint8_t *raw = NULL;
				size_t rl;

				ASSERT_EQ(1, lzb_index_lookup_fd(fd, tk->ps->pid, va,
								 &x, &err));
				pg = x.offset + (va - x.vaddr) / 4096;
				if (x.kind == LZB_EXT_ZERO) {
					ASSERT_EQ(0, memcmp(pages + off, z, 4096));
				} else if (x.kind == LZB_EXT_HOT) {
					ASSERT_EQ(0, memcmp(pages + off,
							    hot->data + pg * 4096,
							    4096));
				} else {
					if (!cached || cached_id != x.chunk) {
						free(cached);
						ASSERT_EQ(0, lzb_image_read_chunk(&img,
							  x.chunk, &raw, &rl, &err));
						cached = raw;
						cached_id = x.chunk;
					}
					ASSERT_EQ(0, memcmp(pages + off,
							    cached + pg * 4096,
							    4096));
				}
			}
		}
		/* holes and unknown tasks are not in the image: zeros */
		EXPECT_EQ(0, lzb_index_lookup_fd(fd, tk->ps->pid, 0x1000, &x,
						 &err));
		EXPECT_EQ(0, lzb_index_lookup_fd(fd, tk->ps->pid,
						 tk->pm.e[1].vaddr - 4096, &x,
						 &err));
		free(pages);
	}
	EXPECT_EQ(0, lzb_index_lookup_fd(fd, 4242, 0x20000000, &x, &err));
	free(cached);
	close(fd);
	lzb_criu_dump_close(&d);
	lzb_image_close(&img);
}

static void count_bad(void *arg, const char *msg)
{
	(void)msg;
	(*(int *)arg)++;
}

TEST_F_TIMEOUT(packed, verify_accepts_or_wants_signature, 300)
{
	struct lzb_image img;
	struct lzb_err err;
	uint8_t pk[32];
	int bad = 0;

	ASSERT_EQ(0, lzb_load_sign_public(self->pk, pk, &err));
	ASSERT_EQ(0, lzb_image_open(&img, self->img, NULL, &err));
	EXPECT_EQ(variant->sign ? 0u : 1u, lzb_verify(&img, pk, count_bad, &bad));
	lzb_image_close(&img);
}

/*
 * The stream: at the name the manifest's chunk hashes give, every chunk
 * object's bytes back to back in chunk order; none with no_stream.
 */
TEST_F_TIMEOUT(packed, stream_is_the_chunks_in_order, 300)
{
	struct lzb_pack_opts o = { .criu_dir = self->dump,
		.out_dir = self->img, .chunk_size = variant->chunk_size,
		.level = variant->level, .no_sync = true, .no_stream = true };
	char name[LZB_STREAM_NAME_LEN], path[400];
	uint8_t *stream, *obj;
	size_t len, olen;
	uint64_t off = 0;
	struct lzb_pack_result r2;
	struct lzb_image img;
	struct lzb_err err;

	ASSERT_EQ(0, lzb_image_open(&img, self->img, NULL, &err));
	ASSERT_EQ(0, lzb_stream_name(name, img.m.objects, img.m.nr_objects));
	EXPECT_STREQ(name, self->res.stream_name);
	snprintf(path, sizeof(path), "%s/%s", self->img, name);
	ASSERT_EQ(0, lzb_read_file(path, 1u << 30, &stream, &len, &err))
		TH_LOG("%s", err.msg);
	EXPECT_EQ(self->res.stream_bytes, len);
	for (uint32_t i = LZB_SLOT_CHUNK0; i < img.m.nr_objects; i++) {
		char oname[4 + 2 * LZB_HASH_BYTES + 1];

		lzb_object_name(oname, &img.m.objects[i]);
		snprintf(path, sizeof(path), "%s/%s", self->img, oname);
		ASSERT_EQ(0, lzb_read_file(path, 1u << 30, &obj, &olen, &err));
		ASSERT_GE(len, off + olen);
		EXPECT_EQ(0, memcmp(stream + off, obj, olen))
			TH_LOG("chunk %u differs in the stream",
			       lzb_slot_chunk(i));
		off += olen;
		free(obj);
	}
	EXPECT_EQ(len, off);
	free(stream);
	lzb_image_close(&img);

	/* --no-stream: the next version has none (the old one stays) */
	o.sign_key = variant->sign ? self->sk : NULL;
	o.encrypt_key = variant->encrypt ? self->ek : NULL;
	o.profile = variant->profile ? self->profile : NULL;
	ASSERT_EQ(0, lzb_pack(&o, &r2, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(0, r2.stream_bytes);
}

/* Repacking: same image id, version + 1, no new chunks, same bytes. */
TEST_F_TIMEOUT(packed, repack_moves_version_forward, 300)
{
	struct lzb_pack_opts o = { .criu_dir = self->dump,
		.out_dir = self->img, .chunk_size = variant->chunk_size,
		.level = variant->level, .no_sync = true };
	struct lzb_pack_result r2;
	struct lzb_image a, b;
	struct lzb_err err;

	o.sign_key = variant->sign ? self->sk : NULL;
	o.encrypt_key = variant->encrypt ? self->ek : NULL;
	o.profile = variant->profile ? self->profile : NULL;
	ASSERT_EQ(0, lzb_image_open(&a, self->img, NULL, &err));
	ASSERT_EQ(0, lzb_pack(&o, &r2, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, lzb_image_open(&b, self->img, NULL, &err));
	EXPECT_EQ(a.m.version + 1, b.m.version);
	EXPECT_EQ(0, memcmp(a.m.image_id, b.m.image_id, 16));
	EXPECT_EQ(0, r2.chunks_written);
	ASSERT_EQ(a.m.nr_objects, b.m.nr_objects);
	EXPECT_EQ(0, memcmp(a.m.objects, b.m.objects,
			    a.m.nr_objects * sizeof(*a.m.objects)));
	lzb_image_close(&a);
	lzb_image_close(&b);
	o.version = 1;
	ASSERT_EQ(-1, lzb_pack(&o, &r2, &err));
	EXPECT_NE(NULL, strstr(err.msg, "not newer"));
}

TEST_HARNESS_MAIN
