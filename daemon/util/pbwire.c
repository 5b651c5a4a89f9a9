// SPDX-License-Identifier: LGPL-2.1-or-later
/* Bounded protobuf wire-format reading and writing (see pbwire.h). */
#include <stdlib.h>
#include <string.h>

#include "util/pbwire.h"
#include "util/vec.h"

int lzb_pb_read_varint(struct lzb_pb_reader *r, uint64_t *v)
{
	uint64_t x = 0;
	unsigned int shift = 0;

	while (r->off < r->len) {
		uint8_t b = r->p[r->off++];

		if (shift == 63 && (b & 0x7e))
			return -1;	/* more than 64 bits */
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
		shift += 7;
		if (shift > 63)
			return -1;
	}
	return -1;
}

int lzb_pb_next(struct lzb_pb_reader *r, struct lzb_pb_field *f)
{
	uint64_t key, v;

	if (lzb_pb_at_end(r))
		return 0;
	if (lzb_pb_read_varint(r, &key))
		return -1;
	if (key >> 3 == 0 || key >> 3 > 0x1fffffff)
		return -1;
	f->num = (uint32_t)(key >> 3);
	f->wire = (enum lzb_pb_wire)(key & 7);
	f->data = NULL;
	f->len = 0;
	f->v = 0;
	switch (key & 7) {
	case PB_VARINT:
		return lzb_pb_read_varint(r, &f->v) ? -1 : 1;
	case PB_FIXED64:
		if (r->len - r->off < 8)
			return -1;
		for (int i = 7; i >= 0; i--)
			f->v = f->v << 8 | r->p[r->off + i];
		r->off += 8;
		return 1;
	case PB_FIXED32:
		if (r->len - r->off < 4)
			return -1;
		for (int i = 3; i >= 0; i--)
			f->v = f->v << 8 | r->p[r->off + i];
		r->off += 4;
		return 1;
	case PB_LEN:
		if (lzb_pb_read_varint(r, &v) || v > r->len - r->off)
			return -1;
		f->data = r->p + r->off;
		f->len = (size_t)v;
		r->off += (size_t)v;
		return 1;
	default:
		return -1;	/* groups (3, 4) and 6, 7 do not occur in CRIU */
	}
}

void lzb_pb_put_bytes(struct lzb_pb_buf *b, const void *p, size_t len)
{
	if (b->oom)
		return;
	if (LZB_VEC_RESERVE(b->p, b->len, b->cap, len)) {
		b->oom = true;
		return;
	}
	if (len)
		memcpy(b->p + b->len, p, len);
	b->len += len;
}

void lzb_pb_put_varint(struct lzb_pb_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n] = v & 0x7f;
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	lzb_pb_put_bytes(b, tmp, n);
}

void lzb_pb_put_u32le(struct lzb_pb_buf *b, uint32_t v)
{
	uint8_t tmp[4] = { v, v >> 8, v >> 16, v >> 24 };

	lzb_pb_put_bytes(b, tmp, 4);
}

void lzb_pb_put_field_varint(struct lzb_pb_buf *b, uint32_t num, uint64_t v)
{
	lzb_pb_put_varint(b, (uint64_t)num << 3 | PB_VARINT);
	lzb_pb_put_varint(b, v);
}

void lzb_pb_buf_free(struct lzb_pb_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}
