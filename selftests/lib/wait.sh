# shellcheck shell=bash
# Waiting on an event instead of sleeping a fixed time, for the shell
# tests on the host and in the guest (sourced, not run).  A wait that runs
# out says so on stdout as a TAP comment, naming what it waited for, and
# returns 1: the caller's check then fails with that line next to it.
#
#   wait_for SECONDS CMD...     until CMD succeeds (its output discarded)
#   wait_gone SECONDS PID...    until none of the PIDs exists
#
# The deadline is by the clock ($SECONDS), not a count of polls: under an
# emulated, busy guest one poll can take far longer than its interval.

wait_for() {
	local limit=$1 end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "# wait_for: gave up after $limit s: $*"
			return 1
		fi
		sleep 0.1
	done
}

pids_gone() {
	local p
	for p; do
		kill -0 "$p" 2>/dev/null && return 1
	done
	return 0
}

wait_gone() {
	local limit=$1
	shift
	wait_for "$limit" pids_gone "$@"
}

# Conditions for wait_for.
no_process() { ! pgrep -x "$1" >/dev/null; }		# NAME
no_match() { ! pgrep -f "$1" >/dev/null; }		# PATTERN (full command line)
group_gone() { ! pgrep -g "$1" >/dev/null; }		# PGID
udp_port_bound() {					# PORT, any address
	local hex
	hex=$(printf ':%04X ' "$1")
	grep -q "$hex" /proc/net/udp /proc/net/udp6 2>/dev/null
}
