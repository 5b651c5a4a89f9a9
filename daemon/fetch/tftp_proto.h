/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TFTP packets: building and parsing (RFC 1350, 2347 options/OACK, 2348
 * blksize, 2349 tsize/timeout, 7440 windowsize).  No I/O here, so the parser
 * can be fuzzed on its own.
 */
#ifndef LAZYBOOT_TFTP_PROTO_H
#define LAZYBOOT_TFTP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lzb_tftp_op {
	LZB_TFTP_RRQ = 1,
	LZB_TFTP_WRQ = 2,
	LZB_TFTP_DATA = 3,
	LZB_TFTP_ACK = 4,
	LZB_TFTP_ERROR = 5,
	LZB_TFTP_OACK = 6,
};

#define LZB_TFTP_MAX_BLKSIZE 65464
#define LZB_TFTP_MIN_BLKSIZE 8
#define LZB_TFTP_MAX_OPTS 16
#define LZB_TFTP_MAX_PACKET (LZB_TFTP_MAX_BLKSIZE + 4)

struct lzb_tftp_opt {
	const char *name;	/* point into the packet (NUL-terminated) */
	const char *value;
};

struct lzb_tftp_pkt {
	uint16_t op;
	uint16_t block;			/* DATA, ACK */
	const uint8_t *data;		/* DATA payload */
	size_t len;
	uint16_t err_code;		/* ERROR */
	char err_text[128];		/* printable copy of its message */
	const char *filename, *mode;	/* RRQ, WRQ */
	struct lzb_tftp_opt opts[LZB_TFTP_MAX_OPTS];	/* RRQ, WRQ, OACK */
	unsigned int n_opts;
};

/* What a client asks for; 0 = option not sent. */
struct lzb_tftp_ask {
	unsigned int blksize;
	unsigned int windowsize;	/* sent only when > 1 */
	unsigned int timeout_s;
	bool tsize;
};

/* What was agreed: the RFC 1350 defaults unless an OACK said otherwise. */
struct lzb_tftp_neg {
	unsigned int blksize;		/* 512 */
	unsigned int windowsize;	/* 1 */
	unsigned int timeout_s;		/* 0: not negotiated */
	bool have_tsize;
	uint64_t tsize;
};

/*
 * Parse one packet.  Returns 0, or -EBADMSG with a reason in why (which must
 * hold 96 bytes) for anything malformed: unknown opcode, short packet,
 * unterminated strings, option without value, too many options.
 */
int lzb_tftp_parse(const uint8_t *p, size_t len, struct lzb_tftp_pkt *out,
		   char *why, size_t why_size);

/*
 * Check an OACK against what was asked and fill neg.  Returns 0, or -EPROTO
 * with a reason (option not asked for, repeated, out of range, larger than
 * asked, not a number).
 */
int lzb_tftp_apply_oack(const struct lzb_tftp_pkt *oack,
			const struct lzb_tftp_ask *ask,
			struct lzb_tftp_neg *neg, char *why, size_t why_size);

void lzb_tftp_neg_defaults(struct lzb_tftp_neg *neg);

/* Builders return the packet length, or 0 if it does not fit in cap. */
size_t lzb_tftp_build_rrq(uint8_t *buf, size_t cap, const char *file,
			  const struct lzb_tftp_ask *ask);
size_t lzb_tftp_build_ack(uint8_t *buf, size_t cap, uint16_t block);
size_t lzb_tftp_build_error(uint8_t *buf, size_t cap, uint16_t code,
			    const char *msg);
size_t lzb_tftp_build_data(uint8_t *buf, size_t cap, uint16_t block,
			   const void *data, size_t len);
/* names/values: n pairs */
size_t lzb_tftp_build_oack(uint8_t *buf, size_t cap, const char *const *names,
			   const char *const *values, unsigned int n);

/* "file not found" for 1, and so on; "unknown error code" past 8. */
const char *lzb_tftp_error_name(unsigned int code);

#endif
