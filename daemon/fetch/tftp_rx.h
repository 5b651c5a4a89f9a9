/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The TFTP client's receive state machine, without I/O or clocks, so it
 * can be fuzzed with packet sequences: which packet opens a transfer,
 * the OACK, and DATA blocks in a window (RFC 7440) with go-back-N
 * recovery on a gap and block numbers wrapping past 65535 (to 0, or to 1
 * as some servers do).  fetch_tftp.c runs the sockets and timers around
 * it and does what each step says.
 */
#ifndef LAZYBOOT_TFTP_RX_H
#define LAZYBOOT_TFTP_RX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fetch/tftp_proto.h"

struct lzb_tftp_rx {
	struct lzb_tftp_ask ask;	/* what the RRQ asked for */
	struct lzb_tftp_neg neg;	/* agreed (defaults until an OACK) */
	bool got_oack, got_data;
	uint16_t wrap_to;		/* block number after 65535: 0 or 1 */
	uint64_t blocks;		/* in-order blocks received */
	unsigned int in_window;		/* received since the last ACK */
	bool gap_acked;			/* a go-back ACK is out for this gap */
};

/* A new transfer asking for ASK (all 0: a plain RFC 1350 RRQ). */
void lzb_tftp_rx_reset(struct lzb_tftp_rx *rx, const struct lzb_tftp_ask *ask);

/* The RRQ asked for any option. */
bool lzb_tftp_rx_asked_options(const struct lzb_tftp_rx *rx);

/* Block n's number on the wire (n from 1; 0 for none yet). */
uint16_t lzb_tftp_rx_block_no(const struct lzb_tftp_rx *rx, uint64_t n);

enum lzb_tftp_first {
	LZB_TFTP_FIRST_IGNORE,	/* not what a server answers an RRQ with */
	LZB_TFTP_FIRST_OPENS,	/* OACK or DATA 1: its port is the transfer id */
	LZB_TFTP_FIRST_ERROR,	/* an ERROR: the server's, or a stranger's */
};

/*
 * A packet from the server's host before the transfer id is set: does
 * it open the transfer?  Malformed packets are ignored.
 */
enum lzb_tftp_first lzb_tftp_first_packet(const struct lzb_tftp_pkt *p,
					  int parse_err);

/* The server answered ERROR CODE before any OACK or DATA: does it
 * refuse our options (then retry with a plain RRQ)? */
bool lzb_tftp_rx_refuses_options(const struct lzb_tftp_rx *rx,
				 uint16_t code);

enum lzb_tftp_oack_verdict {
	LZB_TFTP_OACK_UNEXPECTED,	/* after DATA, or no option asked */
	LZB_TFTP_OACK_REPEAT,		/* our ACK 0 was lost: ACK 0 again */
	LZB_TFTP_OACK_BAD,		/* refused: reason in why */
	LZB_TFTP_OACK_TAKEN,		/* rx->neg holds the options: ACK 0 */
};

enum lzb_tftp_oack_verdict lzb_tftp_rx_oack(struct lzb_tftp_rx *rx,
					    const struct lzb_tftp_pkt *oack,
					    char *why, size_t why_size);

enum lzb_tftp_data_verdict {
	LZB_TFTP_DATA_TOO_LONG,	/* more than blksize bytes: end the try */
	LZB_TFTP_DATA_REPEAT,	/* the block last ACKed, again: ACK it again
				 * if it is the server's retransmission */
	LZB_TFTP_DATA_GAP,	/* ahead within the window: blocks lost */
	LZB_TFTP_DATA_STALE,	/* anything else: ignored */
	LZB_TFTP_DATA_TAKE,	/* the next block: deliver it */
};

struct lzb_tftp_data_step {
	enum lzb_tftp_data_verdict verdict;
	uint64_t offset;	/* TAKE: its bytes' offset in the file */
	bool last;		/* TAKE: shorter than blksize, the end */
	bool ack;		/* GAP, TAKE: send ACK ack_block now */
	uint16_t ack_block;	/* GAP, REPEAT, TAKE */
};

/* DATA block BLOCK of LEN bytes from the transfer's peer. */
void lzb_tftp_rx_data(struct lzb_tftp_rx *rx, uint16_t block, size_t len,
		      struct lzb_tftp_data_step *out);

/*
 * The retransmission timer ran out.  True (and *ack_block) when a window
 * went silent mid-way: ask for what follows the last block with an ACK
 * of it; false: resend what was sent last.
 */
bool lzb_tftp_rx_timeout(struct lzb_tftp_rx *rx, uint16_t *ack_block);

#endif
