// SPDX-License-Identifier: LGPL-2.1-or-later
/* TFTP packet building and parsing (see tftp_proto.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fetch/tftp_proto.h"

static const char *const error_names[] = {
	"not defined",			/* 0, see the message */
	"file not found",
	"access violation",
	"disk full or allocation exceeded",
	"illegal TFTP operation",
	"unknown transfer ID",
	"file already exists",
	"no such user",
	"option negotiation refused",	/* 8, RFC 2347 */
};

const char *lzb_tftp_error_name(unsigned int code)
{
	if (code < sizeof(error_names) / sizeof(error_names[0]))
		return error_names[code];
	return "unknown error code";
}

void lzb_tftp_neg_defaults(struct lzb_tftp_neg *neg)
{
	memset(neg, 0, sizeof(*neg));
	neg->blksize = 512;
	neg->windowsize = 1;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* The NUL-terminated string at p[*i], inside len; advances *i. */
static const char *take_string(const uint8_t *p, size_t len, size_t *i)
{
	const uint8_t *nul = memchr(p + *i, 0, len - *i);
	const char *s = (const char *)p + *i;

	if (!nul)
		return NULL;
	*i = nul - p + 1;
	return s;
}

static int parse_opts(const uint8_t *p, size_t len, size_t i,
		      struct lzb_tftp_pkt *out, char *why, size_t why_size)
{
	while (i < len) {
		const char *name = take_string(p, len, &i), *value;

		if (!name) {
			snprintf(why, why_size, "unterminated option name");
			return -EBADMSG;
		}
		if (i >= len || !(value = take_string(p, len, &i))) {
			snprintf(why, why_size, "option '%.32s' has no value",
				 name);
			return -EBADMSG;
		}
		if (!*name) {
			snprintf(why, why_size, "empty option name");
			return -EBADMSG;
		}
		if (out->n_opts == LZB_TFTP_MAX_OPTS) {
			snprintf(why, why_size, "more than %d options",
				 LZB_TFTP_MAX_OPTS);
			return -EBADMSG;
		}
		out->opts[out->n_opts].name = name;
		out->opts[out->n_opts].value = value;
		out->n_opts++;
	}
	return 0;
}

int lzb_tftp_parse(const uint8_t *p, size_t len, struct lzb_tftp_pkt *out,
		   char *why, size_t why_size)
{
	size_t i = 2, j;

	memset(out, 0, sizeof(*out));
	if (len < 2) {
		snprintf(why, why_size, "packet of %zu bytes", len);
		return -EBADMSG;
	}
	out->op = get16(p);
	switch (out->op) {
	case LZB_TFTP_RRQ:
	case LZB_TFTP_WRQ:
		out->filename = take_string(p, len, &i);
		out->mode = out->filename ? take_string(p, len, &i) : NULL;
		if (!out->mode) {
			snprintf(why, why_size, "request without a "
				 "terminated filename and mode");
			return -EBADMSG;
		}
		return parse_opts(p, len, i, out, why, why_size);
	case LZB_TFTP_DATA:
	case LZB_TFTP_ACK:
		if (len < 4) {
			snprintf(why, why_size, "%s of %zu bytes",
				 out->op == LZB_TFTP_DATA ? "DATA" : "ACK",
				 len);
			return -EBADMSG;
		}
		out->block = get16(p + 2);
		out->data = p + 4;
		out->len = len - 4;
		if (out->op == LZB_TFTP_ACK && out->len) {
			snprintf(why, why_size, "ACK with %zu extra bytes",
				 out->len);
			return -EBADMSG;
		}
		if (out->len > LZB_TFTP_MAX_BLKSIZE) {
			snprintf(why, why_size, "DATA block of %zu bytes",
				 out->len);
			return -EBADMSG;
		}
		return 0;
	case LZB_TFTP_ERROR:
		if (len < 4) {
			snprintf(why, why_size, "ERROR of %zu bytes", len);
			return -EBADMSG;
		}
		out->err_code = get16(p + 2);
		/* Servers are sloppy with the terminator: tolerate it. */
		for (i = 4, j = 0; i < len && p[i]; i++) {
			if (j + 1 >= sizeof(out->err_text))
				break;
			out->err_text[j++] = p[i] >= 0x20 && p[i] < 0x7f ?
					     (char)p[i] : '?';
		}
		out->err_text[j] = 0;
		return 0;
	case LZB_TFTP_OACK:
		return parse_opts(p, len, 2, out, why, why_size);
	default:
		snprintf(why, why_size, "unknown opcode %u", out->op);
		return -EBADMSG;
	}
}

/* A decimal number that fits in max; -1 otherwise. */
static int64_t number(const char *s, uint64_t max)
{
	uint64_t v = 0;

	if (!*s || strlen(s) > 20)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	return (int64_t)v;
}

int lzb_tftp_apply_oack(const struct lzb_tftp_pkt *oack,
			const struct lzb_tftp_ask *ask,
			struct lzb_tftp_neg *neg, char *why, size_t why_size)
{
	unsigned int seen = 0, i;

	lzb_tftp_neg_defaults(neg);
	for (i = 0; i < oack->n_opts; i++) {
		const char *name = oack->opts[i].name;
		const char *value = oack->opts[i].value;
		unsigned int bit;
		int64_t v;

		if (!strcasecmp(name, "blksize") && ask->blksize) {
			bit = 1;
			v = number(value, LZB_TFTP_MAX_BLKSIZE);
			if (v < LZB_TFTP_MIN_BLKSIZE ||
			    (uint64_t)v > ask->blksize)
				goto bad_value;
			neg->blksize = (unsigned int)v;
		} else if (!strcasecmp(name, "windowsize") &&
			   ask->windowsize > 1) {
			bit = 2;
			v = number(value, 65535);
			if (v < 1 || (uint64_t)v > ask->windowsize)
				goto bad_value;
			neg->windowsize = (unsigned int)v;
		} else if (!strcasecmp(name, "timeout") && ask->timeout_s) {
			bit = 4;
			v = number(value, 255);
			if (v < 1)
				goto bad_value;
			neg->timeout_s = (unsigned int)v;
		} else if (!strcasecmp(name, "tsize") && ask->tsize) {
			bit = 8;
			v = number(value, INT64_MAX);
			if (v < 0)
				goto bad_value;
			neg->have_tsize = true;
			neg->tsize = (uint64_t)v;
		} else {
			snprintf(why, why_size, "OACK has option '%.32s' that "
				 "was not asked for", name);
			return -EPROTO;
		}
		if (seen & bit) {
			snprintf(why, why_size, "OACK repeats option '%.32s'",
				 name);
			return -EPROTO;
		}
		seen |= bit;
		continue;
bad_value:
		snprintf(why, why_size, "OACK %.32s=%.32s is out of range",
			 name, value);
		return -EPROTO;
	}
	return 0;
}

static size_t put_string(uint8_t *buf, size_t cap, size_t i, const char *s)
{
	size_t n = strlen(s) + 1;

	if (!i || i > cap || n > cap - i)
		return 0;
	memcpy(buf + i, s, n);
	return i + n;
}

size_t lzb_tftp_build_rrq(uint8_t *buf, size_t cap, const char *file,
			  const struct lzb_tftp_ask *ask)
{
	char num[24];
	size_t i;

	if (cap < 2)
		return 0;
	put16(buf, LZB_TFTP_RRQ);
	i = put_string(buf, cap, 2, file);
	i = put_string(buf, cap, i, "octet");
	if (ask->blksize) {
		snprintf(num, sizeof(num), "%u", ask->blksize);
		i = put_string(buf, cap, i, "blksize");
		i = put_string(buf, cap, i, num);
	}
	if (ask->tsize) {
		i = put_string(buf, cap, i, "tsize");
		i = put_string(buf, cap, i, "0");
	}
	if (ask->timeout_s) {
		snprintf(num, sizeof(num), "%u", ask->timeout_s);
		i = put_string(buf, cap, i, "timeout");
		i = put_string(buf, cap, i, num);
	}
	if (ask->windowsize > 1) {
		snprintf(num, sizeof(num), "%u", ask->windowsize);
		i = put_string(buf, cap, i, "windowsize");
		i = put_string(buf, cap, i, num);
	}
	return i;
}

size_t lzb_tftp_build_ack(uint8_t *buf, size_t cap, uint16_t block)
{
	if (cap < 4)
		return 0;
	put16(buf, LZB_TFTP_ACK);
	put16(buf + 2, block);
	return 4;
}

size_t lzb_tftp_build_error(uint8_t *buf, size_t cap, uint16_t code,
			    const char *msg)
{
	if (cap < 4)
		return 0;
	put16(buf, LZB_TFTP_ERROR);
	put16(buf + 2, code);
	return put_string(buf, cap, 4, msg);
}

size_t lzb_tftp_build_data(uint8_t *buf, size_t cap, uint16_t block,
			   const void *data, size_t len)
{
	if (cap < 4 || len > cap - 4)
		return 0;
	put16(buf, LZB_TFTP_DATA);
	put16(buf + 2, block);
	if (len)
		memcpy(buf + 4, data, len);
	return 4 + len;
}

size_t lzb_tftp_build_oack(uint8_t *buf, size_t cap, const char *const *names,
			   const char *const *values, unsigned int n)
{
	size_t i = 2;
	unsigned int k;

	if (cap < 2)
		return 0;
	put16(buf, LZB_TFTP_OACK);
	for (k = 0; k < n; k++) {
		i = put_string(buf, cap, i, names[k]);
		i = put_string(buf, cap, i, values[k]);
	}
	return i;
}
