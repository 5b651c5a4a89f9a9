// SPDX-License-Identifier: LGPL-2.1-or-later
/* HTTP response header parsing and checks (see http_resp.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fetch/http_resp.h"

void lzb_http_resp_init(struct lzb_http_resp *h)
{
	memset(h, 0, sizeof(*h));
}

/* Decimal digits only, no sign, no overflow.  Returns chars used or -1. */
static int parse_u64(const char *s, size_t len, uint64_t *v)
{
	size_t i = 0;
	uint64_t x = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9') {
		unsigned int d = s[i] - '0';

		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
		i++;
	}
	if (!i || i > 20)
		return -1;
	*v = x;
	return (int)i;
}

static size_t skip_ows(const char *s, size_t i, size_t len)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

int lzb_http_parse_content_range(const char *v, size_t len, uint64_t *first,
				 uint64_t *last, uint64_t *total)
{
	size_t i = skip_ows(v, 0, len);
	int n;

	while (len > i && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len - i < 6 || strncasecmp(v + i, "bytes ", 6))
		return -EINVAL;
	i = skip_ows(v, i + 6, len);
	n = parse_u64(v + i, len - i, first);
	if (n < 0)
		return -EINVAL;
	i += n;
	if (i >= len || v[i++] != '-')
		return -EINVAL;
	n = parse_u64(v + i, len - i, last);
	if (n < 0)
		return -EINVAL;
	i += n;
	if (i >= len || v[i++] != '/')
		return -EINVAL;
	if (i < len && v[i] == '*') {
		*total = LZB_HTTP_UNKNOWN;
		i++;
	} else {
		n = parse_u64(v + i, len - i, total);
		if (n < 0)
			return -EINVAL;
		i += n;
	}
	if (i != len || *last < *first ||
	    (*total != LZB_HTTP_UNKNOWN && *last >= *total))
		return -EINVAL;
	return 0;
}

static bool header_is(const char *line, size_t len, const char *name,
		      size_t *value)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(line, name, n) || line[n] != ':')
		return false;
	*value = n + 1;
	return true;
}

int lzb_http_resp_line(struct lzb_http_resp *h, const char *line, size_t len)
{
	size_t v;

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (!len) {
		h->headers_done = true;
		return 1;
	}
	if (len >= 5 && !strncmp(line, "HTTP/", 5)) {
		const char *sp = memchr(line, ' ', len);
		size_t i;
		uint64_t status;

		lzb_http_resp_init(h);
		if (!sp)
			return -EPROTO;
		i = sp - line + 1;
		if (len - i < 3 || parse_u64(line + i, 3, &status) != 3 ||
		    (len - i > 3 && line[i + 3] != ' ') || status < 100)
			return -EPROTO;
		h->status = (int)status;
		return 0;
	}
	if (header_is(line, len, "content-length", &v)) {
		uint64_t n;
		size_t i = skip_ows(line, v, len);
		size_t end = len;
		int used;

		while (end > i && (line[end - 1] == ' ' || line[end - 1] == '\t'))
			end--;
		used = parse_u64(line + i, end - i, &n);
		if (used < 0 || (size_t)used != end - i ||
		    (h->have_length && h->content_length != n)) {
			h->bad_length = true;
		} else {
			h->have_length = true;
			h->content_length = n;
		}
	} else if (header_is(line, len, "content-range", &v)) {
		if (h->have_range || lzb_http_parse_content_range(line + v,
		    len - v, &h->range_first, &h->range_last,
		    &h->range_total)) {
			h->bad_range = true;
			h->have_range = false;
		} else {
			h->have_range = true;
		}
	}
	return 0;
}

int lzb_http_resp_check(const struct lzb_http_resp *h, uint64_t offset,
			uint64_t length, uint64_t limit, bool accept_full,
			bool *full_body, char *msg, size_t msg_size)
{
	int s = h->status;

	*full_body = false;
	if (s == 404 || s == 410) {
		snprintf(msg, msg_size, "not found (HTTP %d)", s);
		return -ENOENT;
	}
	if (s == 401 || s == 403) {
		snprintf(msg, msg_size, "access denied (HTTP %d)", s);
		return -EACCES;
	}
	if (s == 416) {
		snprintf(msg, msg_size, "range %llu-%llu not satisfiable "
			 "(HTTP 416)", (unsigned long long)offset,
			 (unsigned long long)(offset + length - 1));
		return -ERANGE;
	}
	if (s >= 500 || s == 408 || s == 429) {
		snprintf(msg, msg_size, "server error (HTTP %d)", s);
		return -EAGAIN;
	}
	if (s >= 300 && s < 400) {
		snprintf(msg, msg_size, "redirect (HTTP %d) not followed", s);
		return -EPROTO;
	}
	if (h->bad_length) {
		snprintf(msg, msg_size, "malformed or conflicting "
			 "Content-Length");
		return -EPROTO;
	}
	if (!length) {
		if (s != 200) {
			snprintf(msg, msg_size, "unexpected HTTP %d for a "
				 "whole-object GET", s);
			return -EPROTO;
		}
		if (h->have_length && h->content_length > limit) {
			snprintf(msg, msg_size, "object is %llu bytes, more "
				 "than the %llu expected/available",
				 (unsigned long long)h->content_length,
				 (unsigned long long)limit);
			return -EFBIG;
		}
		return 0;
	}
	if (s == 200) {
		if (!accept_full) {
			snprintf(msg, msg_size, "server ignored Range "
				 "(answered 200, not 206)");
			return -EPROTO;
		}
		if (h->have_length && (h->content_length < offset ||
		    h->content_length - offset < length)) {
			snprintf(msg, msg_size, "server ignored Range and the "
				 "%llu-byte object does not hold the range",
				 (unsigned long long)h->content_length);
			return -ERANGE;
		}
		*full_body = true;
		return 0;
	}
	if (s != 206) {
		snprintf(msg, msg_size, "unexpected HTTP %d for a Range "
			 "request", s);
		return -EPROTO;
	}
	if (!h->have_range) {
		snprintf(msg, msg_size, "206 without a valid Content-Range");
		return -EPROTO;
	}
	if (h->range_first != offset || h->range_last != offset + length - 1) {
		snprintf(msg, msg_size, "206 for bytes %llu-%llu, asked "
			 "%llu-%llu", (unsigned long long)h->range_first,
			 (unsigned long long)h->range_last,
			 (unsigned long long)offset,
			 (unsigned long long)(offset + length - 1));
		return -EPROTO;
	}
	if (h->have_length && h->content_length != length) {
		snprintf(msg, msg_size, "206 with Content-Length %llu for a "
			 "%llu-byte range",
			 (unsigned long long)h->content_length,
			 (unsigned long long)length);
		return -EPROTO;
	}
	return 0;
}

void lzb_http_body_place(bool full_body, uint64_t offset, uint64_t length,
			 uint64_t pos, uint64_t len,
			 struct lzb_http_body_piece *out)
{
	uint64_t a = offset, b = offset + length, start = pos, end = pos + len;

	*out = (struct lzb_http_body_piece){ .to = pos, .len = len };
	if (!full_body)
		return;
	out->len = 0;
	if (end <= a)
		return;
	if (start < a)
		start = a;
	if (end > b)
		end = b;
	if (start < end) {
		out->skip = start - pos;
		out->to = start - a;
		out->len = end - start;
	}
	out->complete = end == b;
}
