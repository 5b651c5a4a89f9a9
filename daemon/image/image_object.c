// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Chunk and boot-bundle objects: a small fixed header, then a zstd frame,
 * optionally sealed with XChaCha20-Poly1305 (the header is the associated
 * data, so it cannot be changed without detection either).
 */
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "image/image_format.h"
#include "util/vec.h"

/* PLAIN as one zstd frame in *Z (malloc'd), *ZLEN bytes. */
static int compress_frame(const uint8_t *plain, size_t plen, int level,
			  uint8_t **z, size_t *zlen)
{
	size_t bound = ZSTD_compressBound(plen), n;
	uint8_t *buf;

	/* one compression context per thread, reused: creating one per
	 * chunk cost more than compressing a 64 KiB chunk */
	static _Thread_local ZSTD_CCtx *cctx;

	if (!cctx && !(cctx = ZSTD_createCCtx()))
		return -1;
	buf = malloc(bound);
	if (!buf)
		return -1;
	n = ZSTD_compressCCtx(cctx, buf, bound, plain, plen, level);
	if (ZSTD_isError(n)) {
		free(buf);
		return -1;
	}
	*z = buf;
	*zlen = n;
	return 0;
}

/* Bytes after the header: the frame, sealed when there is a KEY. */
static size_t payload_size(size_t zlen, const uint8_t *key)
{
	return zlen + (key ? LZB_NONCE_BYTES + LZB_TAG_BYTES : 0);
}

/*
 * The object: the header HDR (HLEN bytes, its payload size filled in),
 * then frame Z, sealed with the header as associated data when there is
 * a KEY.  Frees Z.
 */
static int envelope(const void *hdr, size_t hlen, uint8_t *z, size_t zlen,
		    const uint8_t *key, uint8_t **out, size_t *out_len)
{
	size_t total = hlen + payload_size(zlen, key);
	uint8_t *p = malloc(total);

	if (!p) {
		free(z);
		return -1;
	}
	memcpy(p, hdr, hlen);
	if (key)
		lzb_seal(p + hlen, z, zlen, p, hlen, key);
	else
		memcpy(p + hlen, z, zlen);
	free(z);
	*out = p;
	*out_len = total;
	return 0;
}

/* Each thread's decompression context, made on its first use. */
static _Thread_local ZSTD_DCtx *dctx;

void lzb_chunk_decoder_release(void)
{
	ZSTD_freeDCtx(dctx);
	dctx = NULL;
}

/*
 * Open + decompress the payload into exactly RAW_LEN bytes, malloc'd into
 * *RAW only once the zstd frame says it holds that many: a header's claim
 * alone never makes us allocate (a few bytes could ask for 2 GiB).
 */
static int open_envelope(const char *name, const uint8_t *buf, size_t hlen,
			 size_t payload, bool sealed, const uint8_t *key,
			 uint8_t **raw, size_t raw_len, struct lzb_err *err)
{
	const uint8_t *z = buf + hlen;
	uint8_t *tmp = NULL;
	size_t zlen = payload, n;
	unsigned long long fsz;

	if (sealed) {
		if (!key)
			return lzb_errf(err, "%s: encrypted; give the encryption "
					"key (--encrypt-key)", name);
		if (payload < LZB_NONCE_BYTES + LZB_TAG_BYTES)
			return lzb_errf(err, "%s: truncated sealed payload", name);
		zlen = payload - LZB_NONCE_BYTES - LZB_TAG_BYTES;
		tmp = malloc(zlen ? zlen : 1);
		if (!tmp)
			return lzb_errf(err, "%s: out of memory", name);
		if (lzb_open(tmp, z, payload, buf, hlen, key)) {
			free(tmp);
			return lzb_errf(err, "%s: decryption failed (wrong key or "
					"changed data)", name);
		}
		z = tmp;
	}
	fsz = ZSTD_getFrameContentSize(z, zlen);
	if (fsz == ZSTD_CONTENTSIZE_ERROR || fsz == ZSTD_CONTENTSIZE_UNKNOWN ||
	    fsz != raw_len) {
		free(tmp);
		return lzb_errf(err, "%s: compressed payload is not one zstd frame "
				"of %zu bytes", name, raw_len);
	}
	*raw = malloc(raw_len);
	if (!*raw) {
		free(tmp);
		return lzb_errf(err, "%s: out of memory", name);
	}
	if (!dctx && !(dctx = ZSTD_createDCtx())) {
		free(tmp);
		free(*raw);
		*raw = NULL;
		return lzb_errf(err, "%s: out of memory", name);
	}
	n = ZSTD_decompressDCtx(dctx, *raw, raw_len, z, zlen);
	free(tmp);
	if (ZSTD_isError(n) || n != raw_len) {
		free(*raw);
		*raw = NULL;
		return lzb_errf(err, "%s: zstd: %s", name,
				ZSTD_isError(n) ? ZSTD_getErrorName(n) :
						  "short output");
	}
	return 0;
}

int lzb_chunk_encode(const uint8_t *raw, size_t raw_len, int level,
		     const uint8_t *key, uint8_t **out, size_t *out_len)
{
	struct lzb_disk_chunk h = { 0 };
	uint8_t *z;
	size_t zlen;

	if (!raw_len || raw_len > LZB_MAX_CHUNK || raw_len % LZB_PAGE_SIZE)
		return -1;
	if (compress_frame(raw, raw_len, level, &z, &zlen))
		return -1;
	if (payload_size(zlen, key) > UINT32_MAX) {
		free(z);
		return -1;
	}
	memcpy(h.magic, LZB_CHUNK_MAGIC, sizeof(h.magic));
	lzb_le16_store(&h.format_version, LZB_FORMAT_VERSION);
	lzb_le16_store(&h.flags, key ? LZB_OBJF_ENCRYPTED : 0);
	lzb_le32_store(&h.raw_size, (uint32_t)raw_len);
	lzb_le32_store(&h.payload_size, (uint32_t)payload_size(zlen, key));
	return envelope(&h, sizeof(h), z, zlen, key, out, out_len);
}

int lzb_chunk_check_header(const char *name, const uint8_t *buf, size_t len,
			   struct lzb_err *err)
{
	const struct lzb_disk_chunk *h = (const void *)buf;
	uint32_t raw, payload;

	if (len < sizeof(*h))
		return lzb_errf(err, "%s: truncated chunk header", name);
	if (memcmp(h->magic, LZB_CHUNK_MAGIC, sizeof(h->magic)))
		return lzb_errf(err, "%s: not a lazyboot chunk (bad magic)", name);
	if (lzb_le16_load(h->format_version) != LZB_FORMAT_VERSION ||
	    lzb_le16_load(h->flags) & ~LZB_OBJF_ENCRYPTED)
		return lzb_errf(err, "%s: unsupported chunk version or flags",
				name);
	raw = lzb_le32_load(h->raw_size);
	if (!raw || raw > LZB_MAX_CHUNK || raw % LZB_PAGE_SIZE)
		return lzb_errf(err, "%s: bad chunk size %u", name, raw);
	payload = lzb_le32_load(h->payload_size);
	if (payload != len - sizeof(*h))
		return lzb_errf(err, "%s: %s: payload says %u bytes, file has %zu",
				name, payload > len - sizeof(*h) ?
				"truncated" : "trailing bytes", payload,
				len - sizeof(*h));
	return 0;
}

int lzb_chunk_decode(const char *name, const uint8_t *buf, size_t len,
		     const uint8_t *key, uint8_t **raw, size_t *raw_len,
		     struct lzb_err *err)
{
	const struct lzb_disk_chunk *h = (const void *)buf;
	size_t n;

	*raw = NULL;
	if (lzb_chunk_check_header(name, buf, len, err))
		return -1;
	n = lzb_le32_load(h->raw_size);
	if (open_envelope(name, buf, sizeof(*h), len - sizeof(*h),
			  lzb_le16_load(h->flags) & LZB_OBJF_ENCRYPTED, key, raw,
			  n, err))
		return -1;
	*raw_len = n;
	return 0;
}

bool lzb_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > LZB_MAX_NAME || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-' || c == ':' || c == '+' || c == '@'))
			return false;
	}
	return true;
}

static void bput(struct lzb_bundle_builder *b, const void *p, size_t len)
{
	if (b->oom)
		return;
	if (LZB_VEC_RESERVE(b->p, b->len, b->cap, len)) {
		b->oom = true;
		return;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

int lzb_bundle_add(struct lzb_bundle_builder *b, const char *name,
		   const void *data, size_t len)
{
	struct lzb_disk_archive_entry e = { 0 };
	size_t n = strlen(name);

	if (!lzb_name_ok(name) || b->nr >= LZB_MAX_BUNDLE_FILES)
		return -1;
	if (!b->len) {
		struct lzb_disk_archive ah = { 0 };

		/* the file count goes in at lzb_bundle_encode */
		memcpy(ah.magic, LZB_ARCHIVE_MAGIC, sizeof(ah.magic));
		bput(b, &ah, sizeof(ah));
	}
	lzb_le16_store(&e.name_len, (uint16_t)n);
	lzb_le64_store(&e.size, len);
	bput(b, &e, sizeof(e));
	bput(b, name, n);
	if (len)
		bput(b, data, len);
	b->nr++;
	if (!b->oom && b->len > LZB_MAX_BUNDLE)
		b->oom = true;
	return b->oom ? -1 : 0;
}

int lzb_bundle_encode(struct lzb_bundle_builder *b, int level,
		      const uint8_t *key, uint8_t **out, size_t *out_len)
{
	struct lzb_disk_bundle h = { 0 };
	uint8_t *z;
	size_t zlen;

	if (b->oom || !b->nr)
		return -1;
	lzb_le32_store(&((struct lzb_disk_archive *)b->p)->nr_files, b->nr);
	if (compress_frame(b->p, b->len, level, &z, &zlen))
		return -1;
	memcpy(h.magic, LZB_BUNDLE_MAGIC, sizeof(h.magic));
	lzb_le16_store(&h.format_version, LZB_FORMAT_VERSION);
	lzb_le16_store(&h.flags, key ? LZB_OBJF_ENCRYPTED : 0);
	lzb_le64_store(&h.archive_size, b->len);
	lzb_le64_store(&h.payload_size, payload_size(zlen, key));
	return envelope(&h, sizeof(h), z, zlen, key, out, out_len);
}

int lzb_bundle_check_header(const char *name, const uint8_t *buf, size_t len,
			    struct lzb_err *err)
{
	const struct lzb_disk_bundle *h = (const void *)buf;
	uint64_t plain, payload;

	if (len < sizeof(*h))
		return lzb_errf(err, "%s: truncated bundle header", name);
	if (memcmp(h->magic, LZB_BUNDLE_MAGIC, sizeof(h->magic)))
		return lzb_errf(err, "%s: not a lazyboot boot bundle (bad magic)",
				name);
	if (lzb_le16_load(h->format_version) != LZB_FORMAT_VERSION ||
	    lzb_le16_load(h->flags) & ~LZB_OBJF_ENCRYPTED ||
	    !lzb_disk_zeros(h->reserved, sizeof(h->reserved)))
		return lzb_errf(err, "%s: unsupported bundle version or flags",
				name);
	plain = lzb_le64_load(h->archive_size);
	if (plain < sizeof(struct lzb_disk_archive) || plain > LZB_MAX_BUNDLE)
		return lzb_errf(err, "%s: bad archive size %llu", name,
				(unsigned long long)plain);
	payload = lzb_le64_load(h->payload_size);
	if (payload != len - sizeof(*h))
		return lzb_errf(err, "%s: %s: payload says %llu bytes, file has "
				"%zu", name,
				payload > len - sizeof(*h) ?
				"truncated" : "trailing bytes",
				(unsigned long long)payload, len - sizeof(*h));
	return 0;
}

int lzb_bundle_decode(const char *name, const uint8_t *buf, size_t len,
		      const uint8_t *key, struct lzb_bundle *bd,
		      struct lzb_err *err)
{
	const struct lzb_disk_bundle *h = (const void *)buf;
	const struct lzb_disk_archive *ah;
	size_t plain, off = sizeof(*ah);
	uint32_t nr;

	memset(bd, 0, sizeof(*bd));
	if (lzb_bundle_check_header(name, buf, len, err))
		return -1;
	plain = (size_t)lzb_le64_load(h->archive_size);
	if (open_envelope(name, buf, sizeof(*h), len - sizeof(*h),
			  lzb_le16_load(h->flags) & LZB_OBJF_ENCRYPTED, key,
			  &bd->archive, plain, err))
		goto fail;
	bd->archive_len = plain;
	ah = (const struct lzb_disk_archive *)bd->archive;
	if (memcmp(ah->magic, LZB_ARCHIVE_MAGIC, sizeof(ah->magic))) {
		lzb_errf(err, "%s: bad archive magic", name);
		goto fail;
	}
	nr = lzb_le32_load(ah->nr_files);
	/* each file takes an entry header and a name of one byte or more */
	if (!nr || nr > LZB_MAX_BUNDLE_FILES ||
	    nr > plain / (sizeof(struct lzb_disk_archive_entry) + 1)) {
		lzb_errf(err, "%s: bad file count %u", name, nr);
		goto fail;
	}
	bd->files = calloc(nr, sizeof(*bd->files));
	if (!bd->files) {
		lzb_errf(err, "%s: out of memory", name);
		goto fail;
	}
	for (uint32_t i = 0; i < nr; i++) {
		const struct lzb_disk_archive_entry *e =
			(const void *)(bd->archive + off);
		const size_t elen = sizeof(*e);
		struct lzb_bundle_file *f = &bd->files[i];
		size_t n;

		if (plain - off < elen) {
			lzb_errf(err, "%s: archive truncated at file %u", name, i);
			goto fail;
		}
		n = lzb_le16_load(e->name_len);
		f->size = lzb_le64_load(e->size);
		if (!n || n > LZB_MAX_NAME ||
		    !lzb_disk_zeros(e->reserved, sizeof(e->reserved)) ||
		    plain - off - elen < n || f->size > plain - off - elen - n) {
			lzb_errf(err, "%s: archive entry %u is malformed or "
				 "truncated", name, i);
			goto fail;
		}
		memcpy(f->name, (const uint8_t *)(e + 1), n);
		f->name[n] = 0;
		if (!lzb_name_ok(f->name) || strlen(f->name) != n) {
			lzb_errf(err, "%s: archive entry %u has a bad name", name,
				 i);
			goto fail;
		}
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(bd->files[j].name, f->name)) {
				lzb_errf(err, "%s: archive holds %s twice", name,
					 f->name);
				goto fail;
			}
		f->data = (const uint8_t *)(e + 1) + n;
		off += elen + n + (size_t)f->size;
		bd->nr = i + 1;
	}
	if (off != plain) {
		lzb_errf(err, "%s: %zu trailing bytes in the archive", name,
			 plain - off);
		goto fail;
	}
	return 0;
fail:
	lzb_bundle_free(bd);
	return -1;
}

const struct lzb_bundle_file *lzb_bundle_find(const struct lzb_bundle *bd,
					      const char *name)
{
	for (uint32_t i = 0; i < bd->nr; i++)
		if (!strcmp(bd->files[i].name, name))
			return &bd->files[i];
	return NULL;
}

void lzb_bundle_free(struct lzb_bundle *bd)
{
	free(bd->archive);
	free(bd->files);
	memset(bd, 0, sizeof(*bd));
}
