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
#include "util/le.h"

/* Compress + optionally seal PLAIN after a header of HLEN bytes at *out. */
static int envelope(const uint8_t *hdr, size_t hlen, const uint8_t *plain,
		    size_t plen, int level, const uint8_t *key, uint8_t **out,
		    size_t *out_len, size_t payload_len_off, size_t len_bytes)
{
	size_t bound = ZSTD_compressBound(plen), zlen, total;
	uint8_t *z, *p;

	/* one compression context per thread, reused: creating one per
	 * chunk cost more than compressing a 64 KiB chunk */
	static _Thread_local ZSTD_CCtx *cctx;

	if (!cctx && !(cctx = ZSTD_createCCtx()))
		return -1;
	z = malloc(bound);
	if (!z)
		return -1;
	zlen = ZSTD_compressCCtx(cctx, z, bound, plain, plen, level);
	if (ZSTD_isError(zlen)) {
		free(z);
		return -1;
	}
	total = hlen + zlen + (key ? LZB_NONCE_BYTES + LZB_TAG_BYTES : 0);
	p = malloc(total);
	if (!p) {
		free(z);
		return -1;
	}
	memcpy(p, hdr, hlen);
	if (len_bytes == 4) {
		if (total - hlen > UINT32_MAX) {
			free(z);
			free(p);
			return -1;
		}
		put32(p + payload_len_off, (uint32_t)(total - hlen));
	} else {
		put64(p + payload_len_off, total - hlen);
	}
	if (key)
		lzb_seal(p + hlen, z, zlen, p, hlen, key);
	else
		memcpy(p + hlen, z, zlen);
	free(z);
	*out = p;
	*out_len = total;
	return 0;
}

/* Open + decompress the payload into exactly RAW_LEN bytes. */
static int open_envelope(const char *name, const uint8_t *buf, size_t hlen,
			 size_t payload, bool sealed, const uint8_t *key,
			 uint8_t *raw, size_t raw_len, struct lzb_err *err)
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
	{
		static _Thread_local ZSTD_DCtx *dctx;

		if (!dctx && !(dctx = ZSTD_createDCtx())) {
			free(tmp);
			return lzb_errf(err, "%s: out of memory", name);
		}
		n = ZSTD_decompressDCtx(dctx, raw, raw_len, z, zlen);
	}
	free(tmp);
	if (ZSTD_isError(n) || n != raw_len)
		return lzb_errf(err, "%s: zstd: %s", name,
				ZSTD_isError(n) ? ZSTD_getErrorName(n) :
						  "short output");
	return 0;
}

int lzb_chunk_encode(const uint8_t *raw, size_t raw_len, int level,
		     const uint8_t *key, uint8_t **out, size_t *out_len)
{
	uint8_t hdr[LZB_CHUNK_HDR] = { 0 };

	if (!raw_len || raw_len > LZB_MAX_CHUNK || raw_len % LZB_PAGE_SIZE)
		return -1;
	memcpy(hdr, LZB_CHUNK_MAGIC, 4);
	put16(hdr + 4, LZB_FORMAT_VERSION);
	put16(hdr + 6, key ? LZB_OBJF_ENCRYPTED : 0);
	put32(hdr + 8, (uint32_t)raw_len);
	return envelope(hdr, sizeof(hdr), raw, raw_len, level, key, out,
			out_len, 12, 4);
}

int lzb_chunk_check_header(const char *name, const uint8_t *buf, size_t len,
			   struct lzb_err *err)
{
	uint32_t raw;

	if (len < LZB_CHUNK_HDR)
		return lzb_errf(err, "%s: truncated chunk header", name);
	if (memcmp(buf, LZB_CHUNK_MAGIC, 4))
		return lzb_errf(err, "%s: not a lazyboot chunk (bad magic)", name);
	if (le16(buf + 4) != LZB_FORMAT_VERSION ||
	    le16(buf + 6) & ~LZB_OBJF_ENCRYPTED)
		return lzb_errf(err, "%s: unsupported chunk version or flags",
				name);
	raw = le32(buf + 8);
	if (!raw || raw > LZB_MAX_CHUNK || raw % LZB_PAGE_SIZE)
		return lzb_errf(err, "%s: bad chunk size %u", name, raw);
	if (le32(buf + 12) != len - LZB_CHUNK_HDR)
		return lzb_errf(err, "%s: %s: payload says %u bytes, file has %zu",
				name, le32(buf + 12) > len - LZB_CHUNK_HDR ?
				"truncated" : "trailing bytes", le32(buf + 12),
				len - LZB_CHUNK_HDR);
	return 0;
}

int lzb_chunk_decode(const char *name, const uint8_t *buf, size_t len,
		     const uint8_t *key, uint8_t **raw, size_t *raw_len,
		     struct lzb_err *err)
{
	size_t n;
	uint8_t *p;

	*raw = NULL;
	if (lzb_chunk_check_header(name, buf, len, err))
		return -1;
	n = le32(buf + 8);
	p = malloc(n);
	if (!p)
		return lzb_errf(err, "%s: out of memory", name);
	if (open_envelope(name, buf, LZB_CHUNK_HDR, len - LZB_CHUNK_HDR,
			  le16(buf + 6) & LZB_OBJF_ENCRYPTED, key, p, n, err)) {
		free(p);
		return -1;
	}
	*raw = p;
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
	if (len > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 65536;
		uint8_t *n;

		while (cap - b->len < len)
			cap *= 2;
		n = realloc(b->p, cap);
		if (!n) {
			b->oom = true;
			return;
		}
		b->p = n;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

int lzb_bundle_add(struct lzb_bundle_builder *b, const char *name,
		   const void *data, size_t len)
{
	uint8_t h[12] = { 0 };
	size_t n = strlen(name);

	if (!lzb_name_ok(name) || b->nr >= LZB_MAX_BUNDLE_FILES)
		return -1;
	if (!b->len) {
		uint8_t ah[8] = { 0 };

		memcpy(ah, LZB_ARCHIVE_MAGIC, 4);
		bput(b, ah, 8);
	}
	put16(h, (uint16_t)n);
	put64(h + 4, len);
	bput(b, h, sizeof(h));
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
	uint8_t hdr[LZB_BUNDLE_HDR] = { 0 };

	if (b->oom || !b->nr)
		return -1;
	put32(b->p + 4, b->nr);
	memcpy(hdr, LZB_BUNDLE_MAGIC, 8);
	put16(hdr + 8, LZB_FORMAT_VERSION);
	put16(hdr + 10, key ? LZB_OBJF_ENCRYPTED : 0);
	put64(hdr + 16, b->len);
	return envelope(hdr, sizeof(hdr), b->p, b->len, level, key, out,
			out_len, 24, 8);
}

int lzb_bundle_check_header(const char *name, const uint8_t *buf, size_t len,
			    struct lzb_err *err)
{
	uint64_t plain;

	if (len < LZB_BUNDLE_HDR)
		return lzb_errf(err, "%s: truncated bundle header", name);
	if (memcmp(buf, LZB_BUNDLE_MAGIC, 8))
		return lzb_errf(err, "%s: not a lazyboot boot bundle (bad magic)",
				name);
	if (le16(buf + 8) != LZB_FORMAT_VERSION ||
	    le16(buf + 10) & ~LZB_OBJF_ENCRYPTED || le32(buf + 12))
		return lzb_errf(err, "%s: unsupported bundle version or flags",
				name);
	plain = le64(buf + 16);
	if (plain < 8 || plain > LZB_MAX_BUNDLE)
		return lzb_errf(err, "%s: bad archive size %llu", name,
				(unsigned long long)plain);
	if (le64(buf + 24) != len - LZB_BUNDLE_HDR)
		return lzb_errf(err, "%s: %s: payload says %llu bytes, file has "
				"%zu", name,
				le64(buf + 24) > len - LZB_BUNDLE_HDR ?
				"truncated" : "trailing bytes",
				(unsigned long long)le64(buf + 24),
				len - LZB_BUNDLE_HDR);
	return 0;
}

int lzb_bundle_decode(const char *name, const uint8_t *buf, size_t len,
		      const uint8_t *key, struct lzb_bundle *bd,
		      struct lzb_err *err)
{
	size_t plain, off = 8;
	uint32_t nr;

	memset(bd, 0, sizeof(*bd));
	if (lzb_bundle_check_header(name, buf, len, err))
		return -1;
	plain = (size_t)le64(buf + 16);
	bd->archive = malloc(plain);
	if (!bd->archive)
		return lzb_errf(err, "%s: out of memory", name);
	bd->archive_len = plain;
	if (open_envelope(name, buf, LZB_BUNDLE_HDR, len - LZB_BUNDLE_HDR,
			  le16(buf + 10) & LZB_OBJF_ENCRYPTED, key, bd->archive,
			  plain, err))
		goto fail;
	if (memcmp(bd->archive, LZB_ARCHIVE_MAGIC, 4)) {
		lzb_errf(err, "%s: bad archive magic", name);
		goto fail;
	}
	nr = le32(bd->archive + 4);
	if (!nr || nr > LZB_MAX_BUNDLE_FILES || nr > plain / 13) {
		lzb_errf(err, "%s: bad file count %u", name, nr);
		goto fail;
	}
	bd->files = calloc(nr, sizeof(*bd->files));
	if (!bd->files) {
		lzb_errf(err, "%s: out of memory", name);
		goto fail;
	}
	for (uint32_t i = 0; i < nr; i++) {
		struct lzb_bundle_file *f = &bd->files[i];
		const uint8_t *h = bd->archive + off;
		size_t n;

		if (plain - off < 12) {
			lzb_errf(err, "%s: archive truncated at file %u", name, i);
			goto fail;
		}
		n = le16(h);
		f->size = le64(h + 4);
		if (!n || n > LZB_MAX_NAME || le16(h + 2) ||
		    plain - off - 12 < n || f->size > plain - off - 12 - n) {
			lzb_errf(err, "%s: archive entry %u is malformed or "
				 "truncated", name, i);
			goto fail;
		}
		memcpy(f->name, h + 12, n);
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
		f->data = h + 12 + n;
		off += 12 + n + (size_t)f->size;
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
