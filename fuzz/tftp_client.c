// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the TFTP client's receive state machine
 * (daemon/fetch/tftp_rx.c, which fetch_tftp.c drives) over a sequence of
 * packets and timeouts: windows, gaps and go-back-N, block numbers
 * wrapping past 65535, OACKs, and which packet sets the transfer id.
 *
 * Input: 1 byte picking what the RRQ asked (bit 0: options, bits 1-3 the
 * windowsize, bits 4-6 the blksize) and how the server numbers blocks
 * after 65535 (bit 7: 1, else 0), then events, each starting with a
 * byte e; port = (e >> 2) & 3:
 *   e % 4 == 0   a timeout
 *   e % 4 == 1   DATA from port, 3 more bytes.  e & 0x80: the server's
 *                block seq = the client's next + (int8) byte 1, numbered
 *                on the wire as that server does, its payload tagged
 *                with seq, no further than a window past the last ACK
 *                as RFC 7440 has it, and with the length the file's
 *                tsize (when given) says; else block = bytes 1-2 as
 *                they are.  Byte 3:
 *                length (255: a full block, else scaled to the blksize;
 *                e & 0x40: as it is)
 *   e % 4 == 2   a raw packet from port: 1 byte length, then bytes
 *   e % 4 == 3   jump: the client has taken (next 2 bytes) more blocks,
 *                so wrap-around is reached without 65535 events (up to
 *                block 65535, not past it)
 * The harness plays fetch_tftp.c's part (what a port may say before and
 * after the transfer id, delivering what the state machine says) and
 * checks: each block taken lands right after the last one, is the one
 * the wire numbering says comes next and, while only the server's own
 * blocks were taken and chose the numbering after 65535, is that block
 * (no block is taken as another); a
 * window never
 * holds more than windowsize blocks without an ACK, an ACK names the
 * last block taken, and nothing is taken after the last block.
 */
#include <stdlib.h>
#include <string.h>

#include "fetch/tftp_proto.h"
#include "fetch/tftp_rx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct client {
	struct lzb_tftp_rx rx;
	bool server_wraps_to_1;
	bool have_tid, done;
	unsigned int tid;
	uint64_t got;			/* bytes taken */
	uint64_t acked;			/* blocks taken at our last ACK */
	bool forged;			/* took a block that is not the
					 * server's: seqs tell nothing */
	unsigned int since_ack;		/* blocks taken since our last ACK */
};

/* seq: the server's block number from 1 (0: not known) */
static void on_data(struct client *c, uint16_t block, size_t len,
		    uint64_t seq)
{
	struct lzb_tftp_data_step st;
	uint64_t before = c->rx.blocks;
	uint16_t want = lzb_tftp_rx_block_no(&c->rx, before + 1);
	bool had_data = c->rx.got_data;
	uint16_t wrap_to = c->rx.wrap_to;
	struct lzb_tftp_neg neg = c->rx.neg;

	lzb_tftp_rx_data(&c->rx, block, len, &st);
	/*
	 * A block that is not the server's, from the server's port, chose
	 * the numbering after 65535 (its number was the proof of a server
	 * going on with 1): from the transfer id alone nothing tells it
	 * from the server's, and the hash check is what catches the bytes
	 * then taken a block early or late.  Seqs tell nothing from here on.
	 */
	if (!seq && c->rx.wrap_to != wrap_to)
		c->forged = true;
	if (had_data && (neg.blksize != c->rx.neg.blksize ||
			 neg.windowsize != c->rx.neg.windowsize))
		abort();	/* the agreement changed mid-transfer */
	switch (st.verdict) {
	case LZB_TFTP_DATA_TOO_LONG:
		if (len <= c->rx.neg.blksize)
			abort();
		c->done = true;
		return;
	case LZB_TFTP_DATA_REPEAT:
		if (!had_data || c->rx.blocks != before ||
		    st.ack_block != lzb_tftp_rx_block_no(&c->rx, before))
			abort();
		return;
	case LZB_TFTP_DATA_GAP:
		if (c->rx.blocks != before ||
		    (st.ack &&
		     st.ack_block != lzb_tftp_rx_block_no(&c->rx, before)))
			abort();
		if (st.ack) {
			c->since_ack = 0;
			c->acked = before;
		}
		return;
	case LZB_TFTP_DATA_STALE:
		if (c->rx.blocks != before)
			abort();
		return;
	case LZB_TFTP_DATA_TAKE:
		break;
	}
	/* taken: the next block, right after the last one */
	if (c->rx.blocks != before + 1 || st.offset != c->got ||
	    (block != want && c->rx.wrap_to == 0) ||
	    block != lzb_tftp_rx_block_no(&c->rx, c->rx.blocks) ||
	    st.ack_block != block)
		abort();
	if (!seq) {
		c->forged = true;
	} else if (!c->forged && seq != c->rx.blocks) {
		/*
		 * Documented in tftp_rx.c: windowed, with no size known, a
		 * 1 after our go-back ACK of 65535 is taken as the sign of
		 * a server going on with 1 (the hash check catches it when
		 * wrong).  Anything else is a block taken as another.
		 */
		if (before != 65535 || c->rx.neg.have_tsize ||
		    c->rx.neg.windowsize == 1)
			abort();
		c->forged = true;
	}
	c->got += len;
	c->since_ack++;
	if (st.last) {
		if (!st.ack || len >= c->rx.neg.blksize)
			abort();
		c->done = true;
		return;
	}
	if (len != c->rx.neg.blksize)
		abort();
	if (st.ack) {
		c->since_ack = 0;
		c->acked = c->rx.blocks;
	}
	if (c->since_ack >= c->rx.neg.windowsize)
		abort();	/* a full window and no ACK */
}

static void on_packet(struct client *c, unsigned int port, const uint8_t *p,
		      size_t len, uint64_t seq)
{
	struct lzb_tftp_pkt pkt;
	char why[96];
	int perr = lzb_tftp_parse(p, len, &pkt, why, sizeof(why));

	if (!c->have_tid) {
		/* fetch_tftp.c: only an opening packet sets the id */
		if (lzb_tftp_first_packet(&pkt, perr) != LZB_TFTP_FIRST_OPENS)
			return;
		c->have_tid = true;
		c->tid = port;
	} else if (port != c->tid) {
		return;		/* answered "unknown transfer ID" */
	}
	if (perr) {
		c->done = true;	/* malformed: the try ends */
		return;
	}
	switch (pkt.op) {
	case LZB_TFTP_ERROR:
		if (lzb_tftp_rx_refuses_options(&c->rx, pkt.err_code)) {
			struct lzb_tftp_ask none = { 0 };

			lzb_tftp_rx_reset(&c->rx, &none);	/* plain RRQ */
			c->have_tid = false;
			c->got = 0;
			c->acked = 0;
			c->since_ack = 0;
			if (lzb_tftp_rx_asked_options(&c->rx))
				abort();
			return;
		}
		c->done = true;
		return;
	case LZB_TFTP_OACK:
		switch (lzb_tftp_rx_oack(&c->rx, &pkt, why, sizeof(why))) {
		case LZB_TFTP_OACK_TAKEN:
			if (c->rx.neg.blksize < LZB_TFTP_MIN_BLKSIZE ||
			    c->rx.neg.blksize > LZB_TFTP_MAX_BLKSIZE ||
			    !c->rx.neg.windowsize || c->rx.got_data)
				abort();
			return;
		case LZB_TFTP_OACK_REPEAT:
			return;
		default:
			c->done = true;
			return;
		}
	case LZB_TFTP_DATA:
		on_data(c, pkt.block, pkt.len, seq);
		return;
	default:
		c->done = true;
		return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lzb_tftp_ask ask = { 0 };
	struct client c = { 0 };
	uint8_t pkt[LZB_TFTP_MAX_PACKET];
	size_t i = 1;

	if (!size)
		return 0;
	if (data[0] & 1) {
		ask.blksize = 8 + ((data[0] >> 4) & 7) * 97;
		ask.windowsize = 1 + ((data[0] >> 1) & 7);
		ask.tsize = true;
		ask.timeout_s = 1;
	}
	lzb_tftp_rx_reset(&c.rx, &ask);
	c.server_wraps_to_1 = data[0] & 0x80;
	while (i < size && !c.done) {
		uint8_t e = data[i++];
		unsigned int port = e >> 2 & 3;

		switch (e % 4) {
		case 0: {
			uint16_t b;

			if (lzb_tftp_rx_timeout(&c.rx, &b)) {
				if (b != lzb_tftp_rx_block_no(&c.rx, c.rx.blocks))
					abort();
				c.since_ack = 0;
				c.acked = c.rx.blocks;
			}
			break;
		}
		case 1: {
			uint16_t block;
			uint64_t seq = 0;
			size_t len, n;

			if (i + 3 > size)
				return 0;
			block = (uint16_t)(data[i] << 8 | data[i + 1]);
			if (e & 0x80) {
				seq = c.rx.blocks + 1 + (int8_t)data[i];
				if (seq < 1 || seq > c.rx.blocks + 1 + 127)
					seq = 1;
				/* a server sends no further than a window
				 * past what was ACKed (RFC 7440) */
				if (seq > c.acked + c.rx.neg.windowsize)
					seq = c.acked + c.rx.neg.windowsize;
				if (c.rx.neg.have_tsize && seq > c.rx.neg.tsize /
				    c.rx.neg.blksize + 1) {
					i += 3;	/* past the file's end */
					break;
				}
				block = c.server_wraps_to_1 ?
					(uint16_t)((seq - 1) % 65535 + 1) :
					(uint16_t)seq;
			}
			/* 255: a full block; else a short (last) one */
			len = data[i + 2] == 255 ? c.rx.neg.blksize :
			      data[i + 2] * c.rx.neg.blksize / 256;
			if (e & 0x40)
				len = data[i + 2];
			/* the server's blocks agree with the tsize it gave */
			if (seq && c.rx.neg.have_tsize)
				len = seq <= c.rx.neg.tsize / c.rx.neg.blksize ?
				      c.rx.neg.blksize :
				      c.rx.neg.tsize % c.rx.neg.blksize;
			i += 3;
			n = lzb_tftp_build_data(pkt, sizeof(pkt), block, NULL,
						0);
			if (len > sizeof(pkt) - n)
				len = sizeof(pkt) - n;
			memset(pkt + n, 0x5a, len);
			if (seq && len >= sizeof(seq))
				memcpy(pkt + n, &seq, sizeof(seq));
			else
				seq = 0;
			on_packet(&c, port, pkt, n + len, seq);
			break;
		}
		case 2: {
			size_t len;

			if (i >= size)
				return 0;
			len = data[i++];
			if (len > size - i)
				len = size - i;
			on_packet(&c, port, data + i, len, 0);
			i += len;
			break;
		}
		default:
			if (i + 2 > size)
				return 0;
			/* as if that many more full blocks had come */
			if (c.rx.got_data && !c.rx.in_window) {
				uint64_t n = (uint64_t)(data[i] << 8 |
							data[i + 1]);

				/* not past 65535: the wrap must be met */
				if (c.rx.blocks <= 65535 &&
				    c.rx.blocks + n > 65535)
					n = 65535 - c.rx.blocks;
				c.rx.blocks += n;
				c.rx.gap_acked = false;	/* taken in order */
				c.got += n * c.rx.neg.blksize;
				c.acked = c.rx.blocks;
			}
			i += 2;
			break;
		}
	}
	return 0;
}
