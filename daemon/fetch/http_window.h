/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The receive window of a long background transfer (the image's stream),
 * bounded so it does not fill the path's bottleneck queue.
 *
 * The stream and a fault's request travel on connections of their own,
 * but share the path.  Left alone, the stream's TCP window grows until
 * the bottleneck's queue overflows, and a fault's answer waits behind all
 * of it: netem's 1000 packets are 120 ms at 100 Mbit/s.  The receiver can
 * bound what is in flight: TCP_WINDOW_CLAMP at the rate the transfer
 * reached lately times the round trip plus some slack,
 *
 *	clamp = max(FLOOR, rate_max * (2 * min_rtt + SLACK)),
 *
 * so the stream still fills the link (the clamp doubles each interval
 * while the rate follows it) but keeps at most about one min_rtt + SLACK
 * of its bytes queued ahead of a fault.  rate_max is the highest rate of
 * the last LZB_WINDOW_RATES intervals, so a pause of the reader (the
 * pager's queue full) does not shrink the window.  An interval is two
 * min_rtt, at least 10 ms.  Pure arithmetic: the caller reads min_rtt
 * (TCP_INFO) and sets the clamp.
 */
#ifndef LAZYBOOT_HTTP_WINDOW_H
#define LAZYBOOT_HTTP_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LZB_WINDOW_RATES 8
#define LZB_WINDOW_FLOOR (64u << 10)		/* bytes */
#define LZB_WINDOW_CEILING (64u << 20)		/* bytes */
#define LZB_WINDOW_SLACK_US 4000
#define LZB_WINDOW_MIN_INTERVAL_US 10000

struct lzb_window {
	uint64_t start_ns;		/* of the current interval; 0: none */
	uint64_t bytes;			/* received in it */
	uint64_t rate[LZB_WINDOW_RATES];	/* bytes/s, last intervals */
	unsigned int next;		/* rate[] slot to fill next */
	uint32_t min_rtt_us;		/* as last told */
	uint32_t clamp;			/* the last one asked for; 0: none */
};

/*
 * LEN bytes arrived at NOW_NS.  True when an interval is over (or the
 * first bytes came): then the caller reads the connection's smallest
 * round trip so far and asks lzb_window_clamp.
 */
bool lzb_window_add(struct lzb_window *w, uint64_t now_ns, size_t len);

/*
 * The clamp to set now, given MIN_RTT_US (0: not known, nothing is
 * bounded), or 0 to leave the window as it is.
 */
uint32_t lzb_window_clamp(struct lzb_window *w, uint64_t now_ns,
			  uint32_t min_rtt_us);

#endif
