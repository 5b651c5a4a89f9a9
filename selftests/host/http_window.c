// SPDX-License-Identifier: GPL-2.0
/*
 * The stream's receive window bound (fetch/http_window.h), as arithmetic:
 * a table of links (rate, round trip) and readers, each fed as a transfer
 * would be, and what the clamp must come to.
 */
#include <stdint.h>

#include "kselftest_harness.h"

#include "fetch/http_window.h"

#define MS 1000000ULL		/* ns */

/*
 * Feed a transfer: RATE bytes/s arrive in 16 KiB pieces for SECONDS, the
 * connection's min RTT MIN_RTT_US; returns the last clamp asked for.
 */
static uint32_t feed(struct lzb_window *w, uint64_t *now, uint64_t rate,
		     double seconds, uint32_t min_rtt_us, unsigned int *sets)
{
	uint64_t piece = 16384, step = piece * 1000000000ULL / rate;
	uint64_t end = *now + (uint64_t)(seconds * 1e9);

	for (; *now < end; *now += step) {
		uint32_t c;

		if (!lzb_window_add(w, *now, piece))
			continue;
		c = lzb_window_clamp(w, *now, min_rtt_us);
		if (c && sets)
			(*sets)++;
	}
	return w->clamp;
}

struct link {
	const char *name;
	uint64_t rate;			/* bytes/s the transfer gets */
	uint32_t min_rtt_us;
	uint32_t want_min, want_max;	/* the clamp it must settle in */
};

/* rate * (2 RTT + 4 ms), never under 64 KiB. */
static const struct link links[] = {
	{ "100mbit_rtt2ms", 12500000, 2000, 90000, 110000 },
	{ "1gbit_rtt0.5ms", 125000000, 500, 550000, 700000 },
	{ "1gbit_rtt20ms", 125000000, 20000, 5000000, 5600000 },
	{ "loopback", 2000000000, 30, 7000000, 9000000 },
	{ "slow_floor", 100000, 2000, LZB_WINDOW_FLOOR, LZB_WINDOW_FLOOR },
};

TEST(settles_at_rate_times_rtt)
{
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		const struct link *l = &links[i];
		struct lzb_window w = { 0 };
		uint64_t now = 1 * MS;
		unsigned int sets = 0;
		uint32_t before = feed(&w, &now, l->rate, 1.5, l->min_rtt_us,
				       NULL);
		uint32_t c = feed(&w, &now, l->rate, 0.5, l->min_rtt_us, &sets);

		EXPECT_LE(l->want_min, c) TH_LOG("%s: clamp %u", l->name, c);
		EXPECT_GE(l->want_max, c) TH_LOG("%s: clamp %u", l->name, c);
		/* settled, and set again every interval (autotuning moves it) */
		EXPECT_EQ(before, c) TH_LOG("%s: %u, then %u", l->name, before, c);
		EXPECT_LE(3, sets) TH_LOG("%s: %u clamps set", l->name, sets);
	}
}

/* The first bytes get the floor, and nothing is bounded without an RTT. */
TEST(starts_at_floor_and_needs_rtt)
{
	struct lzb_window w = { 0 };

	EXPECT_TRUE(lzb_window_add(&w, 5 * MS, 1000));
	EXPECT_EQ(0, lzb_window_clamp(&w, 5 * MS, 0));
	EXPECT_TRUE(lzb_window_add(&w, 6 * MS, 1000));
	EXPECT_EQ(LZB_WINDOW_FLOOR, lzb_window_clamp(&w, 6 * MS, 1000));
	/* an interval is at least 10 ms */
	EXPECT_FALSE(lzb_window_add(&w, 15 * MS, 1000));
	EXPECT_TRUE(lzb_window_add(&w, 16 * MS, 1000));
}

/* A window-limited transfer (rate = clamp / RTT) grows it, interval by
 * interval, to the link's rate. */
TEST(grows_while_the_rate_follows)
{
	const uint64_t link = 125000000;	/* 1 Gbit/s */
	const uint32_t rtt = 20000;
	struct lzb_window w = { 0 };
	uint64_t now = 1 * MS;
	int intervals = 0;

	feed(&w, &now, 1000000, 0.001, rtt, NULL);
	ASSERT_EQ(LZB_WINDOW_FLOOR, w.clamp);
	while (w.clamp < link * (2 * rtt + LZB_WINDOW_SLACK_US) / 1000000 * 9 / 10 &&
	       intervals < 100) {
		uint64_t rate = (uint64_t)w.clamp * 1000000 / rtt;

		feed(&w, &now, rate < link ? rate : link, 0.041, rtt, NULL);
		intervals++;
	}
	EXPECT_GT(20, intervals) TH_LOG("clamp %u after %d intervals",
					w.clamp, intervals);
}

/* A reader that stops (the pager's queue full) does not shrink it at once:
 * the best rate of the last intervals counts. */
TEST(a_pause_does_not_shrink_it)
{
	struct lzb_window w = { 0 };
	uint64_t now = 1 * MS;
	uint32_t before;

	before = feed(&w, &now, 12500000, 1.0, 2000, NULL);
	now += 50 * MS;			/* nothing read for 50 ms */
	feed(&w, &now, 12500000, 0.02, 2000, NULL);
	EXPECT_EQ(before, w.clamp);
}

TEST_HARNESS_MAIN
