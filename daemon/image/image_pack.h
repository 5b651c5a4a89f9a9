/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Packing a CRIU dump (+ profile) into a lazyboot image directory. */
#ifndef LAZYBOOT_IMAGE_PACK_H
#define LAZYBOOT_IMAGE_PACK_H

#include <stdbool.h>
#include <stdint.h>

#include "image/image_format.h"
#include "util/lzb_error.h"

#define LZB_DEFAULT_LEVEL	3

struct lzb_pack_opts {
	const char *criu_dir;
	const char *out_dir;
	const char *profile;		/* NULL: every lazy page is cold */
	const char *sign_key;		/* NULL: unsigned manifest */
	const char *encrypt_key;	/* NULL: plain objects */
	uint32_t chunk_size;		/* bytes; 0 = LZB_DEFAULT_CHUNK */
	int level;			/* zstd level */
	uint64_t version;		/* 0 = previous version + 1, or 1 */
	uint64_t valid_until;		/* Unix seconds; 0: never expires */
	bool no_sync;			/* skip syncfs (tests, benchmarks) */
	bool no_stream;			/* no stream/<hash> (image_format.h) */
};

struct lzb_pack_result {
	struct lzb_index_stats st;
	uint32_t nr_tasks, nr_chunks, chunks_written;
	uint64_t bundle_bytes, index_bytes, version;
	uint64_t stream_bytes;		/* 0: no stream written */
	char stream_name[LZB_STREAM_NAME_LEN];
	uint64_t profile_ignored;	/* profile pages not in the dump */
	double seconds;			/* wall time of the pack */
	double cpu_seconds;		/* CPU time (user + system) */
};

int lzb_pack(const struct lzb_pack_opts *o, struct lzb_pack_result *res,
	     struct lzb_err *err);

#endif
