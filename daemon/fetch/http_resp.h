/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * HTTP response checks of the project's own, kept apart from libcurl so they
 * can be fuzzed: header-line parsing (status, Content-Length, Content-Range)
 * and the decision whether a response is what was asked for (a 200 where 206
 * was asked is never trusted silently).
 */
#ifndef LAZYBOOT_HTTP_RESP_H
#define LAZYBOOT_HTTP_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LZB_HTTP_UNKNOWN UINT64_MAX

struct lzb_http_resp {
	int status;		/* of the last status line; 0 before one */
	bool have_length;
	uint64_t content_length;
	bool have_range;	/* a valid Content-Range: bytes a-b/c */
	bool bad_range;		/* a Content-Range we could not parse */
	uint64_t range_first, range_last, range_total; /* total may be UNKNOWN */
	bool bad_length;	/* unparsable or repeated-differing length */
	bool headers_done;
};

void lzb_http_resp_init(struct lzb_http_resp *h);
/*
 * Feed one raw header line as libcurl hands it over (with or without CRLF):
 * a status line resets the state (1xx, redirects).  Returns 1 when the line
 * ended a header block (an empty line), 0 otherwise, -EPROTO for a status
 * line that is not HTTP.
 */
int lzb_http_resp_line(struct lzb_http_resp *h, const char *line, size_t len);
/* "bytes FIRST-LAST/TOTAL" (TOTAL may be "*").  0 or -EINVAL. */
int lzb_http_parse_content_range(const char *v, size_t len, uint64_t *first,
				 uint64_t *last, uint64_t *total);
/*
 * Is this final response what was asked for?  length 0 = the whole object,
 * else bytes [offset, offset+length).  limit: the most bytes the caller can
 * take for a whole object.  Returns 0 (and *full_body when a 200 answered a
 * Range request and accept_full is set), or a negative errno with a
 * one-line reason in msg: -ENOENT (404/410), -EACCES (401/403), -ERANGE
 * (416), -EAGAIN (5xx, 408, 429: worth retrying), -EFBIG (larger than
 * limit), -EPROTO (anything else that does not fit).
 */
int lzb_http_resp_check(const struct lzb_http_resp *h, uint64_t offset,
			uint64_t length, uint64_t limit, bool accept_full,
			bool *full_body, char *msg, size_t msg_size);

/* Where some bytes of a response body go (lzb_http_body_place). */
struct lzb_http_body_piece {
	uint64_t skip;		/* bytes at the start of them to drop */
	uint64_t to;		/* where the rest goes: object offset, or
				 * offset in the range asked for */
	uint64_t len;		/* bytes to deliver; 0: none */
	bool complete;		/* full body: the range is all there, the
				 * rest of the body is of no use */
};

/*
 * LEN bytes of a body arrived at body position POS (bytes of it seen
 * before).  A whole object or a 206: all of them, at POS.  A 200 that
 * answered a request for [OFFSET, OFFSET + LENGTH) (FULL_BODY from
 * lzb_http_resp_check): only what lies in that range, relative to
 * OFFSET, and complete once its end is reached.
 */
void lzb_http_body_place(bool full_body, uint64_t offset, uint64_t length,
			 uint64_t pos, uint64_t len,
			 struct lzb_http_body_piece *out);

#endif
