/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every fixed-size record of the lazyboot image as it lies on disk, each
 * described once and read and written through this one struct
 * (docs/image-format.md explains the fields; image_format.h the bounds).
 *
 * Integers are lzb_le16/32/64 (util/le.h): little-endian byte arrays, so
 * these structs have no padding and an alignment of 1, a buffer at any
 * offset can be viewed as one, and the static assertions below pin each
 * size and the offset of each field to the format.  Read a field with
 * lzb_le32_load(h->flags), write it with lzb_le32_store(&h->flags, v).
 */
#ifndef LAZYBOOT_IMAGE_DISK_H
#define LAZYBOOT_IMAGE_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/image_crypto.h"
#include "util/le.h"

/* Fail the build unless FIELD of struct TYPE is at byte OFF. */
#define LZB_DISK_AT(type, field, off)					\
	_Static_assert(offsetof(struct type, field) == (off),		\
		       #type "." #field " is not at byte " #off)

/* True when the N bytes at P are zero, as reserved fields must be. */
static inline bool lzb_disk_zeros(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		if (*b++)
			return false;
	return true;
}

/*
 * The manifest: this header, nr_objects object entries, then the ed25519
 * signature (LZB_SIG_BYTES) over everything before it.
 */
#define LZB_MANIFEST_HDR	128u
#define LZB_MANIFEST_OBJ	48u

struct lzb_disk_manifest {
	uint8_t magic[8];		/* LZB_MANIFEST_MAGIC */
	struct lzb_le16 format_version;
	struct lzb_le16 header_size;	/* LZB_MANIFEST_HDR */
	struct lzb_le32 flags;		/* LZB_MF_* */
	uint8_t image_id[16];
	struct lzb_le64 image_version;
	struct lzb_le64 created;	/* Unix seconds */
	struct lzb_le32 page_size;
	struct lzb_le32 chunk_size;
	struct lzb_le32 nr_objects;
	struct lzb_le32 zstd_level;
	uint8_t signer[LZB_HASH_BYTES];	/* BLAKE2b-256 of the public key */
	struct lzb_le64 valid_until;	/* Unix seconds; 0: no expiry */
	uint8_t reserved[24];
};

_Static_assert(sizeof(struct lzb_disk_manifest) == LZB_MANIFEST_HDR,
	       "manifest header size");
LZB_DISK_AT(lzb_disk_manifest, format_version, 8);
LZB_DISK_AT(lzb_disk_manifest, flags, 12);
LZB_DISK_AT(lzb_disk_manifest, image_id, 16);
LZB_DISK_AT(lzb_disk_manifest, image_version, 32);
LZB_DISK_AT(lzb_disk_manifest, page_size, 48);
LZB_DISK_AT(lzb_disk_manifest, nr_objects, 56);
LZB_DISK_AT(lzb_disk_manifest, signer, 64);
LZB_DISK_AT(lzb_disk_manifest, valid_until, 96);
LZB_DISK_AT(lzb_disk_manifest, reserved, 104);

/* One entry of the manifest's object table. */
struct lzb_disk_object {
	uint8_t type;			/* enum lzb_obj_type */
	uint8_t flags;			/* LZB_OBJF_* */
	uint8_t reserved[6];
	struct lzb_le64 size;		/* of the object file */
	uint8_t hash[LZB_HASH_BYTES];	/* BLAKE2b-256 of the object file */
};

_Static_assert(sizeof(struct lzb_disk_object) == LZB_MANIFEST_OBJ,
	       "manifest object entry size");
LZB_DISK_AT(lzb_disk_object, size, 8);
LZB_DISK_AT(lzb_disk_object, hash, 16);

/*
 * The index: this header, then nr_tasks task records, nr_chunks chunk
 * records and nr_extents extent records, back to back.
 */
#define LZB_INDEX_HDR		128u
#define LZB_INDEX_TASK		32u
#define LZB_INDEX_CHUNK		16u
#define LZB_INDEX_EXTENT	24u

struct lzb_disk_index {
	uint8_t magic[8];		/* LZB_INDEX_MAGIC */
	struct lzb_le16 format_version;
	struct lzb_le16 header_size;	/* LZB_INDEX_HDR */
	struct lzb_le32 page_size;
	struct lzb_le32 nr_tasks;
	struct lzb_le32 nr_chunks;
	struct lzb_le64 nr_extents;
	/* struct lzb_index_stats, in its order */
	struct lzb_le64 pages_total;
	struct lzb_le64 pages_hot;
	struct lzb_le64 pages_cold;
	struct lzb_le64 pages_zero;
	struct lzb_le64 pages_dedup;
	struct lzb_le64 pages_stored;
	struct lzb_le64 raw_bytes;
	struct lzb_le64 chunk_bytes;
	struct lzb_le64 hot_bytes;
	uint8_t reserved[24];
};

_Static_assert(sizeof(struct lzb_disk_index) == LZB_INDEX_HDR,
	       "index header size");
LZB_DISK_AT(lzb_disk_index, nr_tasks, 16);
LZB_DISK_AT(lzb_disk_index, nr_extents, 24);
LZB_DISK_AT(lzb_disk_index, pages_total, 32);
LZB_DISK_AT(lzb_disk_index, hot_bytes, 96);
LZB_DISK_AT(lzb_disk_index, reserved, 104);

/* A task: its extents are [first, first + count) of the extent table. */
struct lzb_disk_index_task {
	struct lzb_le32 pid;
	uint8_t reserved_after_pid[4];
	struct lzb_le64 first;
	struct lzb_le64 count;
	struct lzb_le32 hot_pages;
	uint8_t reserved_end[4];
};

_Static_assert(sizeof(struct lzb_disk_index_task) == LZB_INDEX_TASK,
	       "index task record size");
LZB_DISK_AT(lzb_disk_index_task, first, 8);
LZB_DISK_AT(lzb_disk_index_task, hot_pages, 24);

struct lzb_disk_index_chunk {
	struct lzb_le32 raw_pages;
	uint8_t reserved[4];
	struct lzb_le64 stored;		/* size of the chunk object */
};

_Static_assert(sizeof(struct lzb_disk_index_chunk) == LZB_INDEX_CHUNK,
	       "index chunk record size");
LZB_DISK_AT(lzb_disk_index_chunk, stored, 8);

struct lzb_disk_index_extent {
	struct lzb_le64 vaddr;
	struct lzb_le32 nr_pages;
	uint8_t kind;			/* enum lzb_extent_kind */
	uint8_t reserved[3];
	struct lzb_le32 chunk;		/* COLD: chunk number */
	struct lzb_le32 offset;		/* COLD: page in chunk; HOT: in pages */
};

_Static_assert(sizeof(struct lzb_disk_index_extent) == LZB_INDEX_EXTENT,
	       "index extent record size");
LZB_DISK_AT(lzb_disk_index_extent, kind, 12);
LZB_DISK_AT(lzb_disk_index_extent, chunk, 16);
LZB_DISK_AT(lzb_disk_index_extent, offset, 20);

/*
 * Chunk and boot-bundle objects: this header, then the payload (a zstd
 * frame, sealed when the object is encrypted, with the header as its
 * associated data).
 */
#define LZB_CHUNK_HDR		16u
#define LZB_BUNDLE_HDR		32u

struct lzb_disk_chunk {
	uint8_t magic[4];		/* LZB_CHUNK_MAGIC */
	struct lzb_le16 format_version;
	struct lzb_le16 flags;		/* LZB_OBJF_* */
	struct lzb_le32 raw_size;	/* bytes of pages */
	struct lzb_le32 payload_size;	/* file size - LZB_CHUNK_HDR */
};

_Static_assert(sizeof(struct lzb_disk_chunk) == LZB_CHUNK_HDR,
	       "chunk header size");
LZB_DISK_AT(lzb_disk_chunk, raw_size, 8);
LZB_DISK_AT(lzb_disk_chunk, payload_size, 12);

struct lzb_disk_bundle {
	uint8_t magic[8];		/* LZB_BUNDLE_MAGIC */
	struct lzb_le16 format_version;
	struct lzb_le16 flags;		/* LZB_OBJF_* */
	uint8_t reserved[4];
	struct lzb_le64 archive_size;	/* decompressed */
	struct lzb_le64 payload_size;	/* file size - LZB_BUNDLE_HDR */
};

_Static_assert(sizeof(struct lzb_disk_bundle) == LZB_BUNDLE_HDR,
	       "bundle header size");
LZB_DISK_AT(lzb_disk_bundle, archive_size, 16);
LZB_DISK_AT(lzb_disk_bundle, payload_size, 24);

/*
 * The archive a bundle decompresses to: this header, then nr_files
 * entries back to back, each an entry header, the name, the data.
 */
struct lzb_disk_archive {
	uint8_t magic[4];		/* LZB_ARCHIVE_MAGIC */
	struct lzb_le32 nr_files;
};

_Static_assert(sizeof(struct lzb_disk_archive) == 8, "archive header size");

struct lzb_disk_archive_entry {
	struct lzb_le16 name_len;
	uint8_t reserved[2];
	struct lzb_le64 size;		/* of the data after the name */
};

_Static_assert(sizeof(struct lzb_disk_archive_entry) == 12,
	       "archive entry header size");
LZB_DISK_AT(lzb_disk_archive_entry, size, 4);

#endif
