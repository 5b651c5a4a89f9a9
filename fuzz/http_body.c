// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: an HTTP response as the fetcher takes it in: header
 * lines (lzb_http_resp_line), the verdict on them (lzb_http_resp_check:
 * Content-Range against the range asked for, 200 for a range), then the
 * body in pieces as libcurl hands them over, each placed by
 * lzb_http_body_place, the code fetch_http.c's write callback runs.
 *
 * Input: 3 bytes offset, 3 bytes length (0: the whole object; both
 * taken modulo 1 MiB, the size a whole object may have here), 1 byte of
 * flags (bit 0: accept a 200 for a range), 1 byte seeding the piece
 * sizes; then header lines ending in '\n', up to an empty line; the rest
 * is the body.  What is checked: nothing is delivered outside what was
 * asked for (the range, or the limit for a whole object), every byte
 * delivered is the body's byte for that place, and a 200 for a range is
 * complete exactly when the body reached the range's end, with every
 * byte of the range delivered once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fetch/http_resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LIMIT (1u << 20)

static uint8_t got[LIMIT];
static uint8_t times[LIMIT];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lzb_http_resp h;
	struct lzb_http_body_piece pc;
	uint64_t off, len, pos = 0, limit;
	const char *p, *end;
	const uint8_t *body;
	size_t body_len, seed;
	char msg[200];
	bool full = false, complete = false;

	if (size < 8)
		return 0;
	off = ((uint64_t)data[0] << 16 | data[1] << 8 | data[2]) % LIMIT;
	len = ((uint64_t)data[3] << 16 | data[4] << 8 | data[5]) % LIMIT;
	seed = data[7];
	p = (const char *)data + 8;
	end = (const char *)data + size;
	lzb_http_resp_init(&h);
	while (p < end && !h.headers_done) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);

		if (lzb_http_resp_line(&h, p, n) < 0)
			return 0;
		p += n;
	}
	if (!h.headers_done ||
	    lzb_http_resp_check(&h, off, len, LIMIT, data[6] & 1, &full, msg,
				sizeof(msg)))
		return 0;
	body = (const uint8_t *)p;
	body_len = (size_t)(end - p);
	limit = len ? len : LIMIT;
	/* deliveries land below the body's length or the range's */
	memset(times, 0, body_len > len ? body_len : len);
	while (pos < body_len && !complete) {
		uint64_t n = 1 + (seed * 2654435761u + pos) % 97;

		if (n > body_len - pos)
			n = body_len - pos;
		lzb_http_body_place(full, off, len, pos, n, &pc);
		if (pc.len) {
			if (pc.skip > n || pc.len > n - pc.skip)
				abort();	/* outside the piece */
			/* the deliver's own bound (fetch.c) */
			if (pc.to > limit || pc.len > limit - pc.to)
				break;		/* -EFBIG: the try ends */
			if (full && pc.to + off != pos + pc.skip)
				abort();	/* not the range's bytes */
			memcpy(got + pc.to, body + pos + pc.skip, pc.len);
			for (uint64_t k = pc.to; k < pc.to + pc.len; k++)
				if (++times[k] > 1 && full)
					abort();	/* delivered twice */
		}
		complete = pc.complete;
		if (complete && !full)
			abort();
		pos += n;
	}
	if (full) {
		/* complete exactly when the body reached the range's end */
		if (complete != (pos >= off + len))
			abort();
		for (uint64_t k = 0; complete && k < len; k++)
			if (times[k] != 1 || got[k] != body[off + k])
				abort();
	}
	return 0;
}
