// SPDX-License-Identifier: LGPL-2.1-or-later
/* The signed manifest: header, object table, ed25519 signature. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "image/image_format.h"
#include "util/le.h"

int lzb_manifest_encode(const struct lzb_manifest *m, const uint8_t *sk,
			uint8_t **out, size_t *out_len)
{
	size_t len, body;
	uint8_t *p;
	uint32_t flags = m->flags & LZB_MF_ENCRYPTED;

	if (m->nr_objects < 2 || m->nr_objects > LZB_MAX_OBJECTS)
		return -1;
	body = LZB_MANIFEST_HDR + (size_t)m->nr_objects * LZB_MANIFEST_OBJ;
	len = body + LZB_SIG_BYTES;
	p = calloc(1, len);
	if (!p)
		return -1;
	if (sk)
		flags |= LZB_MF_SIGNED;
	memcpy(p, LZB_MANIFEST_MAGIC, 8);
	put16(p + 8, LZB_FORMAT_VERSION);
	put16(p + 10, LZB_MANIFEST_HDR);
	put32(p + 12, flags);
	memcpy(p + 16, m->image_id, 16);
	put64(p + 32, m->version);
	put64(p + 40, m->created);
	put32(p + 48, m->page_size);
	put32(p + 52, m->chunk_size);
	put32(p + 56, m->nr_objects);
	put32(p + 60, m->zstd_level);
	if (sk)
		/* the public key is the second half of a libsodium secret key */
		lzb_hash(p + 64, sk + 32, LZB_SIGN_PUB_BYTES);
	for (uint32_t i = 0; i < m->nr_objects; i++) {
		uint8_t *o = p + LZB_MANIFEST_HDR + (size_t)i * LZB_MANIFEST_OBJ;

		o[0] = m->objects[i].type;
		o[1] = m->objects[i].flags;
		put64(o + 8, m->objects[i].size);
		memcpy(o + 16, m->objects[i].hash, LZB_HASH_BYTES);
	}
	if (sk)
		crypto_sign_detached(p + body, NULL, p, body, sk);
	*out = p;
	*out_len = len;
	return 0;
}

int lzb_manifest_parse(const char *name, const uint8_t *buf, size_t len,
		       struct lzb_manifest *m, struct lzb_err *err)
{
	uint32_t n;
	size_t want;

	memset(m, 0, sizeof(*m));
	if (len < LZB_MANIFEST_HDR + LZB_SIG_BYTES)
		return lzb_errf(err, "%s: truncated: %zu bytes, a manifest has "
				"at least %u", name, len,
				LZB_MANIFEST_HDR + LZB_SIG_BYTES);
	if (memcmp(buf, LZB_MANIFEST_MAGIC, 8))
		return lzb_errf(err, "%s: not a lazyboot manifest (bad magic)",
				name);
	if (le16(buf + 8) != LZB_FORMAT_VERSION)
		return lzb_errf(err, "%s: format version %u, this lazyboot "
				"reads version %u", name, le16(buf + 8),
				LZB_FORMAT_VERSION);
	if (le16(buf + 10) != LZB_MANIFEST_HDR)
		return lzb_errf(err, "%s: bad header size %u", name,
				le16(buf + 10));
	m->flags = le32(buf + 12);
	if (m->flags & ~(LZB_MF_ENCRYPTED | LZB_MF_SIGNED))
		return lzb_errf(err, "%s: unknown flags 0x%x", name, m->flags);
	memcpy(m->image_id, buf + 16, 16);
	m->version = le64(buf + 32);
	m->created = le64(buf + 40);
	m->page_size = le32(buf + 48);
	m->chunk_size = le32(buf + 52);
	n = le32(buf + 56);
	m->zstd_level = le32(buf + 60);
	memcpy(m->signer, buf + 64, LZB_HASH_BYTES);
	if (m->page_size != LZB_PAGE_SIZE)
		return lzb_errf(err, "%s: page size %u, only %u is supported",
				name, m->page_size, LZB_PAGE_SIZE);
	if (m->chunk_size < LZB_MIN_CHUNK || m->chunk_size > LZB_MAX_CHUNK ||
	    m->chunk_size % LZB_PAGE_SIZE)
		return lzb_errf(err, "%s: bad chunk size %u", name,
				m->chunk_size);
	if (n < 2 || n > LZB_MAX_OBJECTS)
		return lzb_errf(err, "%s: bad object count %u", name, n);
	want = LZB_MANIFEST_HDR + (size_t)n * LZB_MANIFEST_OBJ + LZB_SIG_BYTES;
	if (len != want)
		return lzb_errf(err, "%s: %s: %zu bytes, %u objects need %zu",
				name, len < want ? "truncated" : "trailing bytes",
				len, n, want);
	for (size_t i = 96; i < LZB_MANIFEST_HDR; i++)
		if (buf[i])
			return lzb_errf(err, "%s: reserved header bytes not zero",
					name);
	m->objects = calloc(n, sizeof(*m->objects));
	if (!m->objects)
		return lzb_errf(err, "%s: out of memory", name);
	m->nr_objects = n;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *o = buf + LZB_MANIFEST_HDR +
				   (size_t)i * LZB_MANIFEST_OBJ;
		struct lzb_object *ob = &m->objects[i];
		uint8_t want_type = i == 0 ? LZB_OBJ_BUNDLE :
				    i == 1 ? LZB_OBJ_INDEX : LZB_OBJ_CHUNK;

		ob->type = o[0];
		ob->flags = o[1];
		ob->size = le64(o + 8);
		memcpy(ob->hash, o + 16, LZB_HASH_BYTES);
		if (ob->type != want_type || ob->flags & ~LZB_OBJF_ENCRYPTED ||
		    o[2] || o[3] || le32(o + 4) || !ob->size ||
		    ob->size > LZB_MAX_BUNDLE + 4096) {
			lzb_manifest_free(m);
			return lzb_errf(err, "%s: object %u has a bad entry (type "
					"%u, flags 0x%x, size %llu)", name, i,
					o[0], o[1],
					(unsigned long long)le64(o + 8));
		}
		if (ob->type == LZB_OBJ_INDEX && ob->flags) {
			lzb_manifest_free(m);
			return lzb_errf(err, "%s: the index is never encrypted",
					name);
		}
	}
	m->signed_len = len - LZB_SIG_BYTES;
	memcpy(m->sig, buf + m->signed_len, LZB_SIG_BYTES);
	return 0;
}

int lzb_manifest_check_sig(const char *name, const uint8_t *buf,
			   const struct lzb_manifest *m,
			   const uint8_t pk[LZB_SIGN_PUB_BYTES],
			   struct lzb_err *err)
{
	uint8_t id[LZB_HASH_BYTES];

	if (!(m->flags & LZB_MF_SIGNED))
		return lzb_errf(err, "%s: manifest is not signed", name);
	lzb_hash(id, pk, LZB_SIGN_PUB_BYTES);
	if (crypto_sign_verify_detached(m->sig, buf, m->signed_len, pk))
		return lzb_errf(err, "%s: bad signature%s", name,
				memcmp(id, m->signer, sizeof(id)) ?
				" (signed by a different key)" :
				" (manifest was changed after signing)");
	if (memcmp(id, m->signer, sizeof(id)))
		return lzb_errf(err, "%s: signer id does not match the key",
				name);
	return 0;
}

void lzb_manifest_free(struct lzb_manifest *m)
{
	free(m->objects);
	m->objects = NULL;
	m->nr_objects = 0;
}

void lzb_object_name(char out[4 + 2 * LZB_HASH_BYTES + 1],
		     const struct lzb_object *o)
{
	memcpy(out, "obj/", 4);
	lzb_hash_hex(out + 4, o->hash);
}
