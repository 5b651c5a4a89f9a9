/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ports of abandoned TFTP tries, held a while (tftp_quarantine.c).
 *
 * A try that gave up (timeout, error, cancel) may leave its server still
 * sending to the try's port.  Closing the socket at once would free that
 * port for the kernel to hand to the next try, which would then take the
 * old transfer's OACK or DATA 1 for its own.  Held, the port cannot be
 * handed out; what still reaches it is counted as a stray and answered
 * with ERROR 5 (unknown transfer ID), which ends the server's transfer.
 */
#ifndef LZB_TFTP_QUARANTINE_H
#define LZB_TFTP_QUARANTINE_H

#include "fetch/fetch_internal.h"

/* How long an abandoned try's port is held, and how many at most. */
#define LZB_TFTP_HOLD_NS (60 * 1000 * LZB_NS_PER_MS)
#define LZB_TFTP_HOLD_MAX 64

/*
 * Hold FD (a try's socket, already out of the epoll set) in SLOT until
 * LZB_TFTP_HOLD_NS from now; the oldest held port is closed first when
 * LZB_TFTP_HOLD_MAX are held.  Takes FD in every case (closed on error).
 */
void lzb_tftp_hold(struct lzb_fetcher *f, struct lzb_transport_slot *slot,
		   int fd);
/* The slot's timer: close the ports held long enough. */
void lzb_tftp_release_due(struct lzb_fetcher *f,
			  struct lzb_transport_slot *slot);
/* The fetcher ends: close every held port. */
void lzb_tftp_release_all(struct lzb_fetcher *f,
			  struct lzb_transport_slot *slot);

#endif
