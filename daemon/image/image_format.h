/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The lazyboot image on disk (docs/image-format.md is the reference):
 *
 *   IMG/manifest          signed; names every object by BLAKE2b-256
 *   IMG/obj/<hash hex>    objects: one boot bundle, one index, N chunks
 *
 * All integers are little-endian; image_disk.h describes each header and
 * record as a struct, the one place their layout is spelled.  Every parser
 * here takes a buffer and a name for errors, checks every length and count
 * against the bounds below, and reports a one-line error instead of
 * reading past the end.
 */
#ifndef LAZYBOOT_IMAGE_FORMAT_H
#define LAZYBOOT_IMAGE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/image_crypto.h"
#include "image/image_disk.h"
#include "util/lzb_error.h"

#define LZB_FORMAT_VERSION	1
#include "util/page.h"	/* LZB_PAGE_SIZE, the format's page size */

/* ---- manifest ---- */
#define LZB_MANIFEST_MAGIC	"LZBMANIF"
/*
 * 2^20 objects: a 48 MiB manifest, 64 GiB of cold pages in 64 KiB chunks
 * (4 TiB in 4 MiB ones).  Also the most a node fetches before the
 * signature is checked: one buffer of LZB_MANIFEST_MAX, nothing else.
 */
#define LZB_MAX_OBJECTS		(1u << 20)
#define LZB_MANIFEST_MAX	(LZB_MANIFEST_HDR + \
				 (size_t)LZB_MAX_OBJECTS * LZB_MANIFEST_OBJ + \
				 LZB_SIG_BYTES)

#define LZB_MF_ENCRYPTED	(1u << 0)
#define LZB_MF_SIGNED		(1u << 1)

enum lzb_obj_type {
	LZB_OBJ_BUNDLE = 1,
	LZB_OBJ_INDEX = 2,
	LZB_OBJ_CHUNK = 3,
};

#define LZB_OBJF_ENCRYPTED	(1u << 0)

/*
 * The slots of the manifest's object table: the boot bundle, the index,
 * then chunk 0, 1, ... in chunk-number order.
 */
#define LZB_SLOT_BUNDLE		0u
#define LZB_SLOT_INDEX		1u
#define LZB_SLOT_CHUNK0		2u

/* The slot of chunk C, and the chunk in slot I (I >= LZB_SLOT_CHUNK0). */
static inline uint32_t lzb_chunk_slot(uint32_t c)
{
	return LZB_SLOT_CHUNK0 + c;
}

static inline uint32_t lzb_slot_chunk(uint32_t i)
{
	return i - LZB_SLOT_CHUNK0;
}

/* How many chunks a table of NR_OBJECTS objects holds. */
static inline uint32_t lzb_nr_chunks(uint32_t nr_objects)
{
	return nr_objects - LZB_SLOT_CHUNK0;
}

struct lzb_object {
	uint8_t type;
	uint8_t flags;
	uint64_t size;
	uint8_t hash[LZB_HASH_BYTES];
};

struct lzb_manifest {
	uint32_t flags;
	uint8_t image_id[16];
	uint64_t version;
	uint64_t created;
	uint32_t page_size;
	uint32_t chunk_size;
	uint32_t zstd_level;
	uint8_t signer[LZB_HASH_BYTES];	/* BLAKE2b-256 of the public key */
	uint64_t valid_until;		/* Unix seconds; 0: no expiry */
	uint32_t nr_objects;		/* slots: LZB_SLOT_* */
	struct lzb_object *objects;
	uint8_t sig[LZB_SIG_BYTES];
	size_t signed_len;		/* bytes covered by sig */
};

/* Encode; signs with SK when non-NULL.  *out is malloc'd. */
int lzb_manifest_encode(const struct lzb_manifest *m, const uint8_t *sk,
			uint8_t **out, size_t *out_len);
/*
 * Parse and check structure (not the signature).  This allocates the
 * object table: a caller with a public key checks the raw bytes with
 * lzb_manifest_check_raw_sig() first.
 */
int lzb_manifest_parse(const char *name, const uint8_t *buf, size_t len,
		       struct lzb_manifest *m, struct lzb_err *err);
/*
 * Check the signature of the LEN raw bytes at BUF against PK, looking at
 * no more of the header than it takes to find the signature (magic,
 * object count, flags, signer): nothing is allocated.
 */
int lzb_manifest_check_raw_sig(const char *name, const uint8_t *buf,
			       size_t len, const uint8_t pk[LZB_SIGN_PUB_BYTES],
			       struct lzb_err *err);
/* Check the signature of the parsed BUF against PK. */
int lzb_manifest_check_sig(const char *name, const uint8_t *buf,
			   const struct lzb_manifest *m,
			   const uint8_t pk[LZB_SIGN_PUB_BYTES],
			   struct lzb_err *err);
void lzb_manifest_free(struct lzb_manifest *m);

/* "obj/<hex>" for an object. */
void lzb_object_name(char out[4 + 2 * LZB_HASH_BYTES + 1],
		     const struct lzb_object *o);

/*
 * The image's stream (docs/image-format.md, "The stream"): the stored
 * bytes of chunk 0, 1, ... back to back, at "stream/<hex>", <hex> being
 * BLAKE2b-256 of LZB_STREAM_TAG followed by the chunk hashes of OBJECTS
 * in chunk order.  A node names it from the signed manifest; another
 * image gets another name, so caches may keep it forever.  It has no
 * entry of its own: a reader checks every chunk it cuts out of it against
 * the chunk's entry.  -1 when the table holds no chunk or on ENOMEM.
 */
#define LZB_STREAM_TAG		"lazyboot stream v1"
#define LZB_STREAM_NAME_LEN	(7 + 2 * LZB_HASH_BYTES + 1)
int lzb_stream_name(char out[LZB_STREAM_NAME_LEN],
		    const struct lzb_object *objects, uint32_t nr_objects);

/* ---- index ---- */
#define LZB_INDEX_MAGIC		"LZBINDEX"
#define LZB_MAX_TASKS		65536u
#define LZB_MAX_EXTENTS		(1u << 28)

enum lzb_extent_kind {
	LZB_EXT_ZERO = 0,	/* all-zero pages: never stored */
	LZB_EXT_HOT = 1,	/* in the bundle's pages image: eager */
	LZB_EXT_COLD = 2,	/* in a chunk: lazy */
};

struct lzb_extent {
	uint64_t vaddr;
	uint32_t nr_pages;
	uint8_t kind;
	uint32_t chunk;		/* COLD: chunk number */
	uint32_t offset;	/* COLD: page in chunk; HOT: page in pages image */
};

struct lzb_index_task {
	uint32_t pid;
	uint64_t first;		/* first extent */
	uint64_t count;
	uint32_t hot_pages;
};

struct lzb_index_chunk {
	uint32_t raw_pages;
	uint64_t stored;
};

struct lzb_index_stats {
	uint64_t pages_total, pages_hot, pages_cold, pages_zero, pages_dedup;
	uint64_t pages_stored, raw_bytes, chunk_bytes, hot_bytes;
};

struct lzb_index {
	uint32_t nr_tasks, nr_chunks;
	uint64_t nr_extents;
	struct lzb_index_stats st;
	/* Borrowed from the parsed buffer: */
	const uint8_t *tasks_raw, *chunks_raw, *extents_raw;
};

int lzb_index_encode(const struct lzb_index_stats *st,
		     const struct lzb_index_task *tasks, uint32_t nr_tasks,
		     const struct lzb_index_chunk *chunks, uint32_t nr_chunks,
		     const struct lzb_extent *extents, uint64_t nr_extents,
		     uint8_t **out, size_t *out_len);
/* Parse and check a whole index in memory (sorted, in range). */
int lzb_index_parse(const char *name, const uint8_t *buf, size_t len,
		    struct lzb_index *ix, struct lzb_err *err);
void lzb_index_task(const struct lzb_index *ix, uint32_t i,
		    struct lzb_index_task *t);
void lzb_index_chunk(const struct lzb_index *ix, uint32_t i,
		     struct lzb_index_chunk *c);
void lzb_index_extent(const struct lzb_index *ix, uint64_t i,
		      struct lzb_extent *e);

/*
 * O(log n) lookup straight from an index file descriptor with pread, for a
 * pager that does not load the index: finds the extent holding (PID, VADDR).
 * Returns 1 and *e, 0 if the page is not in the image (serve zeros), -1 on a
 * read error or a malformed index.
 */
/* The task with PID: 0 and *t, or -1 when the index has none. */
int lzb_index_find_task(const struct lzb_index *ix, uint32_t pid,
			struct lzb_index_task *t);
int lzb_index_lookup_fd(int fd, uint32_t pid, uint64_t vaddr,
			struct lzb_extent *e, struct lzb_err *err);

/* ---- chunks and the bundle (sealed, compressed envelopes) ---- */
#define LZB_CHUNK_MAGIC		"LZBC"
#define LZB_MIN_CHUNK		LZB_PAGE_SIZE
#define LZB_MAX_CHUNK		(4u << 20)
#define LZB_DEFAULT_CHUNK	(64u << 10)

#define LZB_BUNDLE_MAGIC	"LZBBUNDL"
#define LZB_MAX_BUNDLE		(2ull << 30)	/* plain archive bytes */
#define LZB_ARCHIVE_MAGIC	"LZBA"
#define LZB_MAX_BUNDLE_FILES	(1u << 20)
#define LZB_MAX_NAME		255u

/*
 * A bundle file under this prefix + "pagemap-PID.img" is the dump's own
 * pagemap, kept for unpack; a restore uses the rewritten one and skips it.
 */
#define LZB_ORIG_PAGEMAP_PREFIX	"lazyboot-orig-"

/* Compress and optionally seal RAW into a chunk object. */
int lzb_chunk_encode(const uint8_t *raw, size_t raw_len, int level,
		     const uint8_t *key, uint8_t **out, size_t *out_len);
/* Check, open and decompress a chunk; *raw gets raw_len bytes (malloc'd). */
int lzb_chunk_decode(const char *name, const uint8_t *buf, size_t len,
		     const uint8_t *key, uint8_t **raw, size_t *raw_len,
		     struct lzb_err *err);
/* Free the calling thread's decompression context (each thread keeps
 * one from its first decode): a thread that decoded calls it at its end. */
void lzb_chunk_decoder_release(void);
/* Header-only check (what verify can do without the key). */
int lzb_chunk_check_header(const char *name, const uint8_t *buf, size_t len,
			   struct lzb_err *err);

struct lzb_bundle_file {
	char name[LZB_MAX_NAME + 1];
	const uint8_t *data;	/* into the decoded archive */
	uint64_t size;
};

struct lzb_bundle {
	uint8_t *archive;	/* decoded, owned */
	size_t archive_len;
	uint32_t nr;
	struct lzb_bundle_file *files;
};

/* Builder: add files, then encode. */
struct lzb_bundle_builder {
	uint8_t *p;
	size_t len, cap;
	uint32_t nr;
	bool oom;
};

bool lzb_name_ok(const char *name);
int lzb_bundle_add(struct lzb_bundle_builder *b, const char *name,
		   const void *data, size_t len);
int lzb_bundle_encode(struct lzb_bundle_builder *b, int level,
		      const uint8_t *key, uint8_t **out, size_t *out_len);
int lzb_bundle_decode(const char *name, const uint8_t *buf, size_t len,
		      const uint8_t *key, struct lzb_bundle *bd,
		      struct lzb_err *err);
int lzb_bundle_check_header(const char *name, const uint8_t *buf, size_t len,
			    struct lzb_err *err);
const struct lzb_bundle_file *lzb_bundle_find(const struct lzb_bundle *bd,
					      const char *name);
void lzb_bundle_free(struct lzb_bundle *bd);

#endif
