// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the TFTP packet parser and OACK negotiation, which see
 * every datagram a server (or anyone who can reach the client's port)
 * sends.  The first byte picks what the client asked for.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fetch/tftp_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lzb_tftp_ask ask = { 0 };
	struct lzb_tftp_neg neg;
	struct lzb_tftp_pkt p;
	uint8_t out[700];
	char why[96];
	unsigned int i;

	if (size && (data[0] & 1))
		ask.blksize = 8 + (data[0] >> 1) * 257;
	if (size && (data[0] & 2))
		ask.windowsize = 1 + (data[0] >> 2);
	ask.timeout_s = size && (data[0] & 4) ? 1 : 0;
	ask.tsize = size && (data[0] & 8);
	if (lzb_tftp_parse(data, size, &p, why, sizeof(why)))
		return 0;
	switch (p.op) {
	case LZB_TFTP_OACK:
		if (!lzb_tftp_apply_oack(&p, &ask, &neg, why, sizeof(why))) {
			if (neg.blksize < 8 || neg.blksize > 65464 ||
			    neg.windowsize < 1)
				abort();
		}
		break;
	case LZB_TFTP_RRQ:
	case LZB_TFTP_WRQ:
		/* what we parsed must build back into a packet */
		if (strlen(p.filename) < 400)
			lzb_tftp_build_rrq(out, sizeof(out), p.filename, &ask);
		for (i = 0; i < p.n_opts; i++)
			if (!p.opts[i].name || !p.opts[i].value)
				abort();
		break;
	case LZB_TFTP_ERROR:
		if (strlen(p.err_text) >= sizeof(p.err_text))
			abort();
		lzb_tftp_build_error(out, sizeof(out), p.err_code, p.err_text);
		break;
	case LZB_TFTP_DATA:
		if (p.len != size - 4 || p.data != data + 4)
			abort();
		break;
	default:
		break;
	}
	return 0;
}
