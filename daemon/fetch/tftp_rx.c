// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fetch/tftp_rx.h"

#include <string.h>

void lzb_tftp_rx_reset(struct lzb_tftp_rx *rx, const struct lzb_tftp_ask *ask)
{
	memset(rx, 0, sizeof(*rx));
	rx->ask = *ask;
	lzb_tftp_neg_defaults(&rx->neg);
}

bool lzb_tftp_rx_asked_options(const struct lzb_tftp_rx *rx)
{
	return rx->ask.blksize + rx->ask.tsize + rx->ask.timeout_s +
	       rx->ask.windowsize;
}

uint16_t lzb_tftp_rx_block_no(const struct lzb_tftp_rx *rx, uint64_t n)
{
	if (!n)
		return 0;
	if (rx->wrap_to == 1)
		return (uint16_t)((n - 1) % 65535 + 1);
	return (uint16_t)n;
}

enum lzb_tftp_first lzb_tftp_first_packet(const struct lzb_tftp_pkt *p,
					  int parse_err)
{
	if (parse_err)
		return LZB_TFTP_FIRST_IGNORE;
	if (p->op == LZB_TFTP_OACK || (p->op == LZB_TFTP_DATA && p->block == 1))
		return LZB_TFTP_FIRST_OPENS;
	if (p->op == LZB_TFTP_ERROR)
		return LZB_TFTP_FIRST_ERROR;
	return LZB_TFTP_FIRST_IGNORE;
}

bool lzb_tftp_rx_refuses_options(const struct lzb_tftp_rx *rx, uint16_t code)
{
	return !rx->got_oack && !rx->got_data &&
	       lzb_tftp_rx_asked_options(rx) &&
	       (code == 8 || code == 0 || code == 4);
}

enum lzb_tftp_oack_verdict lzb_tftp_rx_oack(struct lzb_tftp_rx *rx,
					    const struct lzb_tftp_pkt *oack,
					    char *why, size_t why_size)
{
	if (rx->got_data || !lzb_tftp_rx_asked_options(rx))
		return LZB_TFTP_OACK_UNEXPECTED;
	if (rx->got_oack)
		return LZB_TFTP_OACK_REPEAT;
	if (lzb_tftp_apply_oack(oack, &rx->ask, &rx->neg, why, why_size))
		return LZB_TFTP_OACK_BAD;
	rx->got_oack = true;
	return LZB_TFTP_OACK_TAKEN;
}

/*
 * After block 65535 most servers send 0, some 1: is BLOCK, come after
 * 65535, proof of a server that goes on with 1?  A server sends no
 * further than a window past our last ACK (RFC 7440), and a server going
 * on with 0 numbers every block one lower than one going on with 1, so
 * proof is a number the other kind cannot send here: the windowsize W
 * (1 in lock-step), or the number the file's last block has when known
 * from tsize.  A 1 alone is no proof in a window: it is also block 65537
 * of a server that goes on with 0 whose 0 was lost, twice when it comes
 * again after our go-back ACK, and taking it as 65536 puts its bytes a
 * block early.  Only with no size known and a transfer that may end
 * before block W is that 1 (after our go-back ACK) taken as the sign: the
 * caller's hash check then catches bytes so misplaced.
 */
static bool goes_on_with_1(const struct lzb_tftp_rx *rx, uint16_t block)
{
	uint64_t last;

	if (rx->neg.windowsize < 65535 && block == rx->neg.windowsize)
		return true;
	if (rx->neg.have_tsize) {
		last = rx->neg.tsize / rx->neg.blksize + 1;
		return last > 65535 && last - 65535 <= 65535 &&
		       block == (uint16_t)(last - 65535);
	}
	return block == 1 && rx->gap_acked;
}

void lzb_tftp_rx_data(struct lzb_tftp_rx *rx, uint16_t block, size_t len,
		      struct lzb_tftp_data_step *out)
{
	uint16_t next;

	memset(out, 0, sizeof(*out));
	if (!rx->got_oack && !rx->got_data) {
		/* The server ignored our options: RFC 1350 defaults. */
		lzb_tftp_neg_defaults(&rx->neg);
	}
	if (len > rx->neg.blksize) {
		out->verdict = LZB_TFTP_DATA_TOO_LONG;
		return;
	}
	if (rx->blocks == 65535 && !rx->wrap_to && goes_on_with_1(rx, block)) {
		rx->wrap_to = 1;
		/* windowed: what came before it was dropped as a gap; a
		 * go-back ACK of 65535 asks for it again */
		rx->gap_acked = false;
	}
	next = lzb_tftp_rx_block_no(rx, rx->blocks + 1);
	if (block != next) {
		uint16_t ahead = (uint16_t)(block - next);

		if (rx->got_data && block == lzb_tftp_rx_block_no(rx, rx->blocks) &&
		    !rx->in_window) {
			/* a repeat of what we last ACKed */
			out->verdict = LZB_TFTP_DATA_REPEAT;
			out->ack_block = block;
		} else if (ahead < rx->neg.windowsize) {
			out->verdict = LZB_TFTP_DATA_GAP;
			if (!rx->gap_acked) {
				/* go-back-N: resend from after our last */
				rx->gap_acked = true;
				rx->in_window = 0;
				out->ack = true;
				out->ack_block = lzb_tftp_rx_block_no(rx,
								     rx->blocks);
			}
		} else {
			out->verdict = LZB_TFTP_DATA_STALE;
		}
		return;
	}
	/* in order */
	rx->got_data = true;
	rx->blocks++;
	rx->in_window++;
	rx->gap_acked = false;
	out->verdict = LZB_TFTP_DATA_TAKE;
	out->offset = (rx->blocks - 1) * rx->neg.blksize;
	out->ack_block = block;
	if (len < rx->neg.blksize) {
		out->last = true;
		out->ack = true;
	} else if (rx->in_window >= rx->neg.windowsize) {
		rx->in_window = 0;
		out->ack = true;
	}
}

bool lzb_tftp_rx_timeout(struct lzb_tftp_rx *rx, uint16_t *ack_block)
{
	if (!rx->got_data || !rx->in_window)
		return false;
	/* mid-window silence: ask for what follows our last block */
	rx->in_window = 0;
	rx->gap_acked = true;
	*ack_block = lzb_tftp_rx_block_no(rx, rx->blocks);
	return true;
}
