/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * When the image's stream may start: once the restored tasks stop
 * faulting.  Started at once, its worker, sandboxed child and copies take
 * CPU (and its bytes the link) from the faults on the way to ready; the
 * faults of a task starting up come in a burst, and the background can
 * wait for its end.
 *
 * The gate opens after LZB_STREAM_QUIET_MS without a new fault, or
 * LZB_STREAM_WAIT_MAX_MS after its first look (CRIU resumed the tasks),
 * whichever comes first: tasks that never stop faulting still get their
 * background, and those faults are then served from the stream too.
 */
#ifndef LZB_PAGER_STREAM_GATE_H
#define LZB_PAGER_STREAM_GATE_H

#include <stdbool.h>
#include <stdint.h>

#define LZB_STREAM_QUIET_MS 100
#define LZB_STREAM_WAIT_MAX_MS 1000

struct lzb_stream_gate {
	bool looked;			/* first_ms and the rest are set */
	uint64_t first_ms;		/* the first look */
	uint64_t quiet_since_ms;	/* the last look that saw a new fault */
	uint64_t faults_seen;		/* the engine's fault count then */
};

/*
 * Whether the stream may start now: FAULTS is the engine's count of
 * faults read so far, NOW_MS a monotonic time.  Called every turn of the
 * loop until it says yes.
 */
bool lzb_stream_gate_open(struct lzb_stream_gate *gate, uint64_t faults,
			  uint64_t now_ms);

#endif
