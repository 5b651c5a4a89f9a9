/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Little-endian loads and stores for on-disk formats: on raw bytes
 * (le32(p), put32(p, v)), and on the lzb_leN field types a struct that
 * describes an on-disk header is made of.
 */
#ifndef LAZYBOOT_LE_H
#define LAZYBOOT_LE_H

#include <stdint.h>

static inline uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * A little-endian integer as it lies on disk.  Byte arrays, so a struct of
 * them has no padding and an alignment of 1: it can describe a header at
 * any offset of a buffer, and sizeof gives the size on disk.
 */
struct lzb_le16 { uint8_t b[2]; };
struct lzb_le32 { uint8_t b[4]; };
struct lzb_le64 { uint8_t b[8]; };

static inline uint16_t lzb_le16_load(struct lzb_le16 v)
{
	return le16(v.b);
}

static inline uint32_t lzb_le32_load(struct lzb_le32 v)
{
	return le32(v.b);
}

static inline uint64_t lzb_le64_load(struct lzb_le64 v)
{
	return le64(v.b);
}

static inline void lzb_le16_store(struct lzb_le16 *p, uint16_t v)
{
	put16(p->b, v);
}

static inline void lzb_le32_store(struct lzb_le32 *p, uint32_t v)
{
	put32(p->b, v);
}

static inline void lzb_le64_store(struct lzb_le64 *p, uint64_t v)
{
	put64(p->b, v);
}

#endif
