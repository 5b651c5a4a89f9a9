// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the project's own HTTP response handling (header-line
 * parsing, Content-Range, and the 200/206/size decision).  Input: 8 bytes
 * of request (offset, length) then header lines separated by '\n'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fetch/http_resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lzb_http_resp h;
	uint64_t off = 0, len = 0, a, b, t;
	const char *p, *end;
	char msg[200];
	bool full;
	int rc;

	if (size < 8)
		return 0;
	off = (uint64_t)data[0] << 16 | data[1] << 8 | data[2];
	len = (uint64_t)data[3] << 16 | data[4] << 8 | data[5];
	if (data[6] & 1)
		len = 0;
	p = (const char *)data + 8;
	end = (const char *)data + size;
	lzb_http_resp_init(&h);
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		lzb_http_resp_line(&h, p, n);
		if (n > 14 && !memcmp(p, "Content-Range:", 14))
			lzb_http_parse_content_range(p + 14, n - 14, &a, &b,
						     &t);
		p += n + 1;
	}
	rc = lzb_http_resp_check(&h, off, len, 1 << 20, data[7] & 1, &full,
				 msg, sizeof(msg));
	/* a 206 we accept must be exactly the range asked for */
	if (!rc && len && !full &&
	    (!h.have_range || h.range_first != off ||
	     h.range_last != off + len - 1))
		abort();
	if (!rc && !len && h.have_length && h.content_length > (1 << 20))
		abort();
	if (rc && !msg[0])
		abort();
	return 0;
}
