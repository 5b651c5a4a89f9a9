// SPDX-License-Identifier: LGPL-2.1-or-later
/* A background transfer's receive window: see http_window.h. */
#include "fetch/http_window.h"

static uint64_t max_rate(const struct lzb_window *w)
{
	uint64_t m = 0;

	for (unsigned int i = 0; i < LZB_WINDOW_RATES; i++)
		if (w->rate[i] > m)
			m = w->rate[i];
	return m;
}

bool lzb_window_add(struct lzb_window *w, uint64_t now_ns, size_t len)
{
	uint64_t interval_us = 2ULL * w->min_rtt_us;

	w->bytes += len;
	if (!w->start_ns || !w->min_rtt_us)
		return true;
	if (interval_us < LZB_WINDOW_MIN_INTERVAL_US)
		interval_us = LZB_WINDOW_MIN_INTERVAL_US;
	return now_ns > w->start_ns &&
	       now_ns - w->start_ns >= interval_us * 1000;
}

uint32_t lzb_window_clamp(struct lzb_window *w, uint64_t now_ns,
			  uint32_t min_rtt_us)
{
	uint64_t clamp;

	w->min_rtt_us = min_rtt_us;
	if (!min_rtt_us)
		return 0;
	if (!w->start_ns) {		/* the first bytes: start small */
		w->start_ns = now_ns;
		w->bytes = 0;
		w->clamp = LZB_WINDOW_FLOOR;
		return w->clamp;
	}
	if (now_ns <= w->start_ns)
		return 0;
	w->rate[w->next] = w->bytes * 1000000000ULL / (now_ns - w->start_ns);
	w->next = (w->next + 1) % LZB_WINDOW_RATES;
	w->start_ns = now_ns;
	w->bytes = 0;

	clamp = max_rate(w) * (2ULL * min_rtt_us + LZB_WINDOW_SLACK_US) /
		1000000;
	if (clamp < LZB_WINDOW_FLOOR)
		clamp = LZB_WINDOW_FLOOR;
	if (clamp > LZB_WINDOW_CEILING)
		clamp = LZB_WINDOW_CEILING;
	/* set again even when unchanged: the kernel's receive buffer
	 * autotuning raises the clamp when it grows the buffer */
	w->clamp = (uint32_t)clamp;
	return w->clamp;
}
