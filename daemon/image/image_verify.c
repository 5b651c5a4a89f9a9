// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Verifying a whole image: the manifest signature, then every object's
 * presence, size, hash and structure, then the stream if there is one.
 * Each problem is reported through a callback as one line naming the
 * object, so callers can print or count.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Up to this many bad chunks of the stream are named, then counted. */
#define STREAM_REPORTS 8

/*
 * The stream, when the image has one (image_format.h): the bytes of each
 * chunk in it against the chunk's manifest entry, one chunk at a time.
 * None is no problem (it is optional); a bad one is, though restores
 * never install its bad copies: they fetch those chunks alone.  Returns
 * the problems reported.
 */
static uint32_t check_stream(const struct lzb_image *img,
			     void (*report)(void *arg, const char *msg),
			     void *arg)
{
	const struct lzb_manifest *m = &img->m;
	char name[LZB_STREAM_NAME_LEN], path[4400], msg[4600];
	uint64_t want = 0, off = 0, max = 0;
	uint32_t bad = 0, n;
	uint8_t *buf, h[LZB_HASH_BYTES];
	struct stat st;
	int fd;

	if (lzb_stream_name(name, m->objects, m->nr_objects))
		return 0;
	n = lzb_nr_chunks(m->nr_objects);
	for (uint32_t c = 0; c < n; c++) {
		uint64_t size = m->objects[lzb_chunk_slot(c)].size;

		want += size;
		max = size > max ? size : max;
	}
	snprintf(path, sizeof(path), "%s/%s", img->dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st)) {
		snprintf(msg, sizeof(msg), "%s: %s", path, strerror(errno));
		report(arg, msg);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if ((uint64_t)st.st_size != want) {
		snprintf(msg, sizeof(msg), "%s: %llu bytes, the manifest's "
			 "chunks make %llu", path,
			 (unsigned long long)st.st_size,
			 (unsigned long long)want);
		report(arg, msg);
		bad++;
	}
	buf = malloc(max ? max : 1);
	for (uint32_t c = 0; buf && c < n; c++) {
		const struct lzb_object *o = &m->objects[lzb_chunk_slot(c)];
		ssize_t got = pread(fd, buf, o->size, (off_t)off);

		if (got == (ssize_t)o->size)
			lzb_hash(h, buf, o->size);
		if (got == (ssize_t)o->size && !memcmp(h, o->hash, sizeof(h))) {
			off += o->size;
			continue;
		}
		if (got == (ssize_t)o->size && ++bad <= STREAM_REPORTS) {
			snprintf(msg, sizeof(msg), "%s: chunk %u at byte %llu: "
				 "hash mismatch, not the chunk's bytes", path,
				 c, (unsigned long long)off);
			report(arg, msg);
		}
		if (got != (ssize_t)o->size)
			break;	/* short: said above */
		off += o->size;
	}
	if (bad > STREAM_REPORTS) {
		snprintf(msg, sizeof(msg), "%s: %u more chunks with a hash "
			 "mismatch", path, bad - STREAM_REPORTS);
		report(arg, msg);
	}
	free(buf);
	close(fd);
	return bad;
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
	return bad + check_stream(img, report, arg);
}
