#!/bin/bash
# VM selftest (TAP): the pager survives its own death.
#
# The pattern program is dumped and packed once, then restored lazily from
# file:// with one chunk in flight (streaming takes seconds under TCG).
# The pager is SIGKILLed at about 10 %, 50 % and 90 % residency (its
# "resident N%" lines), `lazyboot restore --resume` takes over, and the
# restored processes check every page themselves (no zero page where image
# data belongs).  Then a pager that never comes back: the tasks must be
# killed at the deadline.  All of it twice: with lazyboot.ko loaded (the
# kernel holds the uffds; the kill is seen as a module event) and without
# it (the holder process holds them and kills the tasks).
set -u
BUILD=${BUILD:-build}
MIB=${LZB_RESTART_MIB:-16}
lazyboot=$PWD/$BUILD/lazyboot
pattern=$PWD/$BUILD/selftests/progs/lzb-pattern
dir=$(mktemp -d /tmp/lzb-restart.XXXXXX)
n=0
failed=0
case_start=$SECONDS
. "$(dirname "$0")/lib/pattern_image.sh"

ok() {
	echo "$2: $((SECONDS - case_start)) s" | diag
	case_start=$SECONDS
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n pager_restart.$2"
	else
		echo "not ok $n pager_restart.$2"
		failed=1
	fi
}

diag() { sed 's/^/# /'; }

# Start a restore in the background into WORKDIR; sets $pager.
start_restore() {
	local work=$1 out=$2
	shift 2
	rm -rf "$work" "$dir/state"/result-*
	"$lazyboot" restore "file://$dir/img" --pubkey "$dir/sign.pub" --workdir "$work" \
		--max-background 1 "$@" >"$out" 2>&1 &
	pager=$!
}

# Wait until the pager says PCT % is resident; 1 if it ended or 300 s passed.
wait_resident() {
	local out=$1 pct=$2 i
	for i in $(seq 1 3000); do
		grep -q "resident $pct%" "$out" && return 0
		kill -0 "$pager" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# The real pids of the tasks on WORKDIR's record.
task_pids() { sed -n 's/^task [0-9-]* \([0-9]*\) .*/\1/p' "$1/pager.record"; }

# 0 when every pid given is gone (or a zombie).
all_dead() {
	local p st
	for p in "$@"; do
		st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)
		[ -z "$st" ] || [ "$st" = Z ] || return 1
	done
	return 0
}

# Whatever happened, no task of WORKDIR's restore may outlive its case.
cleanup() {
	local p
	for p in $(task_pids "$1" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
}

check_pattern() {
	local root=$1
	kill -USR1 "$root" 2>/dev/null
	wait_file "$dir/state/result-parent" 300 &&
		wait_file "$dir/state/result-child" 60 &&
		[ "$(cat "$dir/state/result-parent")" = OK ] &&
		[ "$(cat "$dir/state/result-child")" = OK ]
	local status=$?
	[ $status -eq 0 ] || {
		echo "parent: $(cat "$dir/state/result-parent" 2>&1)"
		echo "child: $(cat "$dir/state/result-child" 2>&1)"
	} | diag
	kill -KILL -- -"$root" "$root" 2>/dev/null
	return $status
}

# Kill the pager at PCT %, resume, check the pattern.
kill_and_resume() {
	local mode=$1 pct=$2 want=$3 work=$dir/work-$1-$2 name=$1_kill_at_$2
	local out=$dir/$name.out status=1 root
	start_restore "$work" "$out"
	if wait_resident "$out" "$pct"; then
		kill -KILL "$pager"
		wait "$pager" 2>/dev/null
		grep -E "^\[.*\] (guarantee|resident)" "$out" | tail -n 2 | diag
		if grep -q "every page resident" "$out"; then
			echo "the pager finished before it was killed" | diag
		elif ! grep -q "guarantee: $want" "$out"; then
			echo "expected guarantee: $want" | diag
		elif timeout 600 "$lazyboot" restore --resume "$work" \
			>"$out.resume" 2>&1; then
			grep -E "resumed:|^pages:" "$out.resume" | diag
			root=$(sed -n 's/^root pid //p' "$out.resume")
			check_pattern "$root"
			status=$?
		else
			diag < "$out.resume"
		fi
	else
		diag < "$out"
		kill -KILL "$pager" 2>/dev/null
	fi
	cleanup "$work"
	ok $status "$name"
}

# A pager killed at 10 % that never comes back: the tasks must die.
never_back() {
	local mode=$1 want=$2 work=$dir/work-$1-never name=$1_never_back
	local out=$dir/$name.out status=1 events=$dir/events.out watcher= i pids
	if [ "$mode" = module ]; then
		"$lazyboot" sessions --events 30000 >"$events" 2>&1 &
		watcher=$!
	fi
	start_restore "$work" "$out" --deadline-ms 2000
	if wait_resident "$out" 10 && grep -q "guarantee: $want" "$out"; then
		pids=$(task_pids "$work")
		kill -KILL "$pager"
		wait "$pager" 2>/dev/null
		for i in $(seq 1 300); do
			all_dead $pids && break
			sleep 0.1
		done
		if ! all_dead $pids; then
			echo "tasks $pids still alive after the deadline" | diag
		elif [ "$mode" = module ]; then
			sleep 0.5
			diag < "$events"
			grep -q "^event killed" "$events" && status=0
		else
			diag < "$work/holder.log"
			grep -q "deadline passed with no pager: killed" \
				"$work/holder.log" && status=0
		fi
		[ -s "$dir/state/result-parent" ] && {
			echo "a task ran its check: it was not killed" | diag
			status=1
		}
	else
		diag < "$out"
		kill -KILL "$pager" 2>/dev/null
	fi
	[ -n "$watcher" ] && kill "$watcher" 2>/dev/null
	cleanup "$work"
	ok $status "$name"
}

echo "TAP version 13"
echo "1..10"

pattern_dump "$dir" "$MIB"
status=$?
[ $status -eq 0 ] || tail -n 20 "$dir/dump/dump.log" | diag
ok $status dump
pattern_pack "$dir"
ok $? pack

# --- with lazyboot.ko: the kernel holds the uffds -----------------------
was_loaded=0
[ -d /sys/module/lazyboot ] && was_loaded=1
[ $was_loaded = 1 ] || insmod "${LAZYBOOT_KO:-lazyboot.ko}" 2>&1 | diag
echo "guarantee: kernel-held (lazyboot.ko)" | diag
for pct in 10 50 90; do
	kill_and_resume module $pct "kernel: lazyboot.ko session"
done
never_back module "kernel: lazyboot.ko session"

# --- without it: the holder process -------------------------------------
for i in $(seq 1 50); do
	rmmod lazyboot 2>/dev/null && break
	sleep 0.2
done
if [ -d /sys/module/lazyboot ]; then
	echo "lazyboot.ko cannot be unloaded: the holder cases cannot run" | diag
	"$lazyboot" sessions 2>&1 | diag
fi
echo "guarantee: holder process (no lazyboot.ko)" | diag
for pct in 10 50 90; do
	kill_and_resume holder $pct "holder process pid"
done
never_back holder "holder process pid"

[ $was_loaded = 1 ] && insmod "${LAZYBOOT_KO:-lazyboot.ko}" 2>&1 | diag
rm -rf "$dir"
exit $failed
