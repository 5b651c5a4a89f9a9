// SPDX-License-Identifier: LGPL-2.1-or-later
/* The signed manifest: header, object table, ed25519 signature. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "image/image_format.h"

/* The object table entries, right after the header. */
static struct lzb_disk_object *object_table(uint8_t *buf)
{
	return (struct lzb_disk_object *)(buf + sizeof(struct lzb_disk_manifest));
}

static const struct lzb_disk_object *object_table_const(const uint8_t *buf)
{
	return (const struct lzb_disk_object *)(buf +
						sizeof(struct lzb_disk_manifest));
}

/* The object type slot I of the table must hold. */
static uint8_t slot_type(uint32_t i)
{
	if (i == LZB_SLOT_BUNDLE)
		return LZB_OBJ_BUNDLE;
	if (i == LZB_SLOT_INDEX)
		return LZB_OBJ_INDEX;
	return LZB_OBJ_CHUNK;
}

static size_t manifest_body_len(uint32_t nr_objects)
{
	return sizeof(struct lzb_disk_manifest) +
	       (size_t)nr_objects * sizeof(struct lzb_disk_object);
}

int lzb_manifest_encode(const struct lzb_manifest *m, const uint8_t *sk,
			uint8_t **out, size_t *out_len)
{
	struct lzb_disk_manifest *h;
	struct lzb_disk_object *table;
	size_t len, body;
	uint8_t *p;
	uint32_t flags = m->flags & LZB_MF_ENCRYPTED;

	if (m->nr_objects < LZB_SLOT_CHUNK0 || m->nr_objects > LZB_MAX_OBJECTS)
		return -1;
	body = manifest_body_len(m->nr_objects);
	len = body + LZB_SIG_BYTES;
	p = calloc(1, len);
	if (!p)
		return -1;
	if (sk)
		flags |= LZB_MF_SIGNED;
	h = (struct lzb_disk_manifest *)p;
	memcpy(h->magic, LZB_MANIFEST_MAGIC, sizeof(h->magic));
	lzb_le16_store(&h->format_version, LZB_FORMAT_VERSION);
	lzb_le16_store(&h->header_size, LZB_MANIFEST_HDR);
	lzb_le32_store(&h->flags, flags);
	memcpy(h->image_id, m->image_id, sizeof(h->image_id));
	lzb_le64_store(&h->image_version, m->version);
	lzb_le64_store(&h->created, m->created);
	lzb_le32_store(&h->page_size, m->page_size);
	lzb_le32_store(&h->chunk_size, m->chunk_size);
	lzb_le32_store(&h->nr_objects, m->nr_objects);
	lzb_le32_store(&h->zstd_level, m->zstd_level);
	lzb_le64_store(&h->valid_until, m->valid_until);
	if (sk)
		/* the public key is the second half of a libsodium secret key */
		lzb_hash(h->signer, sk + 32, LZB_SIGN_PUB_BYTES);
	table = object_table(p);
	for (uint32_t i = 0; i < m->nr_objects; i++) {
		struct lzb_disk_object *o = &table[i];

		o->type = m->objects[i].type;
		o->flags = m->objects[i].flags;
		lzb_le64_store(&o->size, m->objects[i].size);
		memcpy(o->hash, m->objects[i].hash, sizeof(o->hash));
	}
	if (sk)
		crypto_sign_detached(p + body, NULL, p, body, sk);
	*out = p;
	*out_len = len;
	return 0;
}

/* Long enough for a header and signature, and a manifest's magic. */
static int check_start(const char *name, const uint8_t *buf, size_t len,
		       struct lzb_err *err)
{
	const struct lzb_disk_manifest *h = (const void *)buf;

	if (len < LZB_MANIFEST_HDR + LZB_SIG_BYTES)
		return lzb_errf(err, "%s: truncated: %zu bytes, a manifest has "
				"at least %u", name, len,
				LZB_MANIFEST_HDR + LZB_SIG_BYTES);
	if (memcmp(h->magic, LZB_MANIFEST_MAGIC, sizeof(h->magic)))
		return lzb_errf(err, "%s: not a lazyboot manifest (bad magic)",
				name);
	return 0;
}

int lzb_manifest_parse(const char *name, const uint8_t *buf, size_t len,
		       struct lzb_manifest *m, struct lzb_err *err)
{
	const struct lzb_disk_manifest *h = (const void *)buf;
	const struct lzb_disk_object *table = object_table_const(buf);
	uint32_t n;
	size_t want;

	memset(m, 0, sizeof(*m));
	if (check_start(name, buf, len, err))
		return -1;
	if (lzb_le16_load(h->format_version) != LZB_FORMAT_VERSION)
		return lzb_errf(err, "%s: format version %u, this lazyboot "
				"reads version %u", name,
				lzb_le16_load(h->format_version),
				LZB_FORMAT_VERSION);
	if (lzb_le16_load(h->header_size) != LZB_MANIFEST_HDR)
		return lzb_errf(err, "%s: bad header size %u", name,
				lzb_le16_load(h->header_size));
	m->flags = lzb_le32_load(h->flags);
	if (m->flags & ~(LZB_MF_ENCRYPTED | LZB_MF_SIGNED))
		return lzb_errf(err, "%s: unknown flags 0x%x", name, m->flags);
	memcpy(m->image_id, h->image_id, sizeof(m->image_id));
	m->version = lzb_le64_load(h->image_version);
	m->created = lzb_le64_load(h->created);
	m->page_size = lzb_le32_load(h->page_size);
	m->chunk_size = lzb_le32_load(h->chunk_size);
	n = lzb_le32_load(h->nr_objects);
	m->zstd_level = lzb_le32_load(h->zstd_level);
	memcpy(m->signer, h->signer, sizeof(m->signer));
	m->valid_until = lzb_le64_load(h->valid_until);
	if (m->page_size != LZB_PAGE_SIZE)
		return lzb_errf(err, "%s: page size %u, only %u is supported",
				name, m->page_size, LZB_PAGE_SIZE);
	if (m->chunk_size < LZB_MIN_CHUNK || m->chunk_size > LZB_MAX_CHUNK ||
	    m->chunk_size % LZB_PAGE_SIZE)
		return lzb_errf(err, "%s: bad chunk size %u", name,
				m->chunk_size);
	if (n < LZB_SLOT_CHUNK0 || n > LZB_MAX_OBJECTS)
		return lzb_errf(err, "%s: bad object count %u", name, n);
	want = manifest_body_len(n) + LZB_SIG_BYTES;
	if (len != want)
		return lzb_errf(err, "%s: %s: %zu bytes, %u objects need %zu",
				name, len < want ? "truncated" : "trailing bytes",
				len, n, want);
	if (!lzb_disk_zeros(h->reserved, sizeof(h->reserved)))
		return lzb_errf(err, "%s: reserved header bytes not zero",
				name);
	m->objects = calloc(n, sizeof(*m->objects));
	if (!m->objects)
		return lzb_errf(err, "%s: out of memory", name);
	m->nr_objects = n;
	for (uint32_t i = 0; i < n; i++) {
		const struct lzb_disk_object *o = &table[i];
		struct lzb_object *ob = &m->objects[i];

		ob->type = o->type;
		ob->flags = o->flags;
		ob->size = lzb_le64_load(o->size);
		memcpy(ob->hash, o->hash, sizeof(ob->hash));
		if (ob->type != slot_type(i) ||
		    ob->flags & ~LZB_OBJF_ENCRYPTED ||
		    !lzb_disk_zeros(o->reserved, sizeof(o->reserved)) || !ob->size ||
		    ob->size > LZB_MAX_BUNDLE + 4096) {
			lzb_manifest_free(m);
			return lzb_errf(err, "%s: object %u has a bad entry (type "
					"%u, flags 0x%x, size %llu)", name, i,
					o->type, o->flags,
					(unsigned long long)lzb_le64_load(o->size));
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

int lzb_manifest_check_raw_sig(const char *name, const uint8_t *buf,
			       size_t len, const uint8_t pk[LZB_SIGN_PUB_BYTES],
			       struct lzb_err *err)
{
	const struct lzb_disk_manifest *h = (const void *)buf;
	uint8_t id[LZB_HASH_BYTES];
	size_t body;
	uint32_t n;

	if (check_start(name, buf, len, err))
		return -1;
	n = lzb_le32_load(h->nr_objects);
	if (n < LZB_SLOT_CHUNK0 || n > LZB_MAX_OBJECTS)
		return lzb_errf(err, "%s: bad object count %u", name, n);
	body = manifest_body_len(n);
	if (len != body + LZB_SIG_BYTES)
		return lzb_errf(err, "%s: %s: %zu bytes, %u objects need %zu",
				name, len < body + LZB_SIG_BYTES ? "truncated" :
				"trailing bytes", len, n, body + LZB_SIG_BYTES);
	if (!(lzb_le32_load(h->flags) & LZB_MF_SIGNED))
		return lzb_errf(err, "%s: manifest is not signed", name);
	lzb_hash(id, pk, LZB_SIGN_PUB_BYTES);
	if (crypto_sign_verify_detached(buf + body, buf, body, pk))
		return lzb_errf(err, "%s: bad signature%s", name,
				memcmp(id, h->signer, sizeof(id)) ?
				" (signed by a different key)" :
				" (manifest was changed after signing)");
	if (memcmp(id, h->signer, sizeof(id)))
		return lzb_errf(err, "%s: signer id does not match the key",
				name);
	return 0;
}

int lzb_manifest_check_sig(const char *name, const uint8_t *buf,
			   const struct lzb_manifest *m,
			   const uint8_t pk[LZB_SIGN_PUB_BYTES],
			   struct lzb_err *err)
{
	if (!(m->flags & LZB_MF_SIGNED))
		return lzb_errf(err, "%s: manifest is not signed", name);
	return lzb_manifest_check_raw_sig(name, buf,
					  m->signed_len + LZB_SIG_BYTES, pk,
					  err);
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

int lzb_stream_name(char out[LZB_STREAM_NAME_LEN],
		    const struct lzb_object *objects, uint32_t nr_objects)
{
	const size_t tag = sizeof(LZB_STREAM_TAG) - 1;
	uint32_t n = nr_objects > LZB_SLOT_CHUNK0 ? lzb_nr_chunks(nr_objects) :
						    0;
	uint8_t *buf, h[LZB_HASH_BYTES];

	if (!n)
		return -1;
	buf = malloc(tag + (size_t)n * LZB_HASH_BYTES);
	if (!buf)
		return -1;
	memcpy(buf, LZB_STREAM_TAG, tag);
	for (uint32_t c = 0; c < n; c++)
		memcpy(buf + tag + (size_t)c * LZB_HASH_BYTES,
		       objects[lzb_chunk_slot(c)].hash, LZB_HASH_BYTES);
	lzb_hash(h, buf, tag + (size_t)n * LZB_HASH_BYTES);
	free(buf);
	memcpy(out, "stream/", 7);
	lzb_hash_hex(out + 7, h);
	return 0;
}
