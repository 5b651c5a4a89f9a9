// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pager/stream_gate.h"

bool lzb_stream_gate_open(struct lzb_stream_gate *gate, uint64_t faults,
			  uint64_t now_ms)
{
	if (!gate->looked) {
		gate->looked = true;
		gate->first_ms = gate->quiet_since_ms = now_ms;
		gate->faults_seen = faults;
	} else if (faults != gate->faults_seen) {
		gate->faults_seen = faults;
		gate->quiet_since_ms = now_ms;
	}
	return now_ms - gate->quiet_since_ms >= LZB_STREAM_QUIET_MS ||
	       now_ms - gate->first_ms >= LZB_STREAM_WAIT_MAX_MS;
}
