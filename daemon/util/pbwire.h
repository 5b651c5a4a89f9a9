/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small, bounded protobuf wire-format reader and writer: just what the
 * CRIU images lazyboot reads need (varints, fixed64/32 and length-delimited
 * fields).  Every read checks the remaining length first; nothing here
 * allocates.
 */
#ifndef LAZYBOOT_PBWIRE_H
#define LAZYBOOT_PBWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lzb_pb_wire {
	PB_VARINT = 0,
	PB_FIXED64 = 1,
	PB_LEN = 2,
	PB_FIXED32 = 5,
};

struct lzb_pb_reader {
	const uint8_t *p;
	size_t len;
	size_t off;
};

/* One decoded field: its number, wire type, and value or sub-buffer. */
struct lzb_pb_field {
	uint32_t num;
	enum lzb_pb_wire wire;
	uint64_t v;		/* VARINT, FIXED64, FIXED32 */
	const uint8_t *data;	/* LEN */
	size_t len;		/* LEN */
};

static inline void lzb_pb_reader_init(struct lzb_pb_reader *r, const void *p,
				      size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
}

static inline bool lzb_pb_at_end(const struct lzb_pb_reader *r)
{
	return r->off >= r->len;
}

/* Read a varint (at most 10 bytes).  Returns 0 or -1 on truncation/overlong. */
int lzb_pb_read_varint(struct lzb_pb_reader *r, uint64_t *v);

/*
 * Read the next field.  Returns 1 with *f filled, 0 at the end of the
 * buffer, -1 on malformed input (truncation, field number 0, groups or an
 * unknown wire type).
 */
int lzb_pb_next(struct lzb_pb_reader *r, struct lzb_pb_field *f);

/* Growable output buffer for encoding; a failed allocation sets .oom. */
struct lzb_pb_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	bool oom;
};

void lzb_pb_put_bytes(struct lzb_pb_buf *b, const void *p, size_t len);
void lzb_pb_put_varint(struct lzb_pb_buf *b, uint64_t v);
void lzb_pb_put_u32le(struct lzb_pb_buf *b, uint32_t v);
void lzb_pb_put_field_varint(struct lzb_pb_buf *b, uint32_t num, uint64_t v);
void lzb_pb_buf_free(struct lzb_pb_buf *b);

#endif
