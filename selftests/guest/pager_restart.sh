#!/bin/bash
# VM selftest (TAP): the pager survives its own death.
#
# The pattern program is dumped and packed once, then restored lazily from
# file:// with one chunk in flight (streaming takes seconds under TCG).
# The pager is SIGKILLed at 10 %, 50 % and 90 % residency (by itself, through
# the fault injection LAZYBOOT_FAULT_KILL_AT_PCT: polling its output from
# here overshoots under TCG), `lazyboot restore --resume` takes over, and
# the restored processes check every page themselves (no zero page where
# image data belongs).  Then a pager that never comes back: the tasks must be
# killed at the deadline.  Then a version published into the image's
# directory while the restore runs: --resume must refuse it (its chunks
# would go into processes restored from the old bundle) and the tasks are
# killed at the deadline as after any failed resume.  All of it twice: with lazyboot.ko loaded (the
# kernel holds the uffds; the kill is seen as a module event) and without
# it (the holder process holds them and kills the tasks).
set -u
BUILD=${BUILD:-build}
MIB=${LZB_RESTART_MIB:-16}
lazyboot=$PWD/$BUILD/lazyboot
pattern=$PWD/$BUILD/selftests/progs/lzb-pattern
dir=$(mktemp -d /tmp/lzb-restart.XXXXXX)
TAP_NAME=pager_restart
. "$(dirname "$0")/lib/pattern_image.sh"
. "$(dirname "$0")/lib/keeper.sh"

# ok, with how long the case took.
timed_ok() {
	echo "$2: $((SECONDS - case_start)) s" | diag
	case_start=$SECONDS
	ok "$@"
}
case_start=$SECONDS

# Start a restore in the background into WORKDIR, the pager to SIGKILL
# itself at PCT %; sets $pager.
start_restore() {
	local work=$1 out=$2 pct=$3
	shift 3
	rm -rf "$work" "$dir/state"/result-*
	env LAZYBOOT_FAULT_KILL_AT_PCT="$pct" "$lazyboot" restore \
		"file://$dir/img" --pubkey "$dir/sign.pub" --workdir "$work" \
		--max-background 1 "$@" >"$out" 2>&1 &
	pager=$!
}

# Whatever happened, no task of WORKDIR's restore may outlive its case.
cleanup() {
	local p
	for p in $(task_pids "$1" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
}

# The pager dies at PCT %; resume; check the pattern.  With "busy", the
# processes check their memory while it streams, so threads wait on faults
# when it dies and the successor must wake them.
kill_and_resume() {
	local mode=$1 pct=$2 want=$3 busy=${4:-} work=$dir/work-$1-$2
	local name=$1_kill_at_$2${4:+_$4} out status=1 root
	out=$dir/$name.out
	start_restore "$work" "$out" "$pct"
	if [ -n "$busy" ] && wait_file "$work/restore.pid" 300; then
		kill -USR1 "$(cat "$work/restore.pid")"
	fi
	wait "$pager"
	local pager_status=$?
	grep -E "^\[.*\] (guarantee|resident)" "$out" | tail -n 2 | diag
	if [ $pager_status -ne 137 ] || grep -q "every page resident" "$out"; then
		echo "the pager was not killed at $pct % (status $pager_status)" | diag
		diag < "$out"
	elif ! grep -q "guarantee: $want" "$out"; then
		echo "expected guarantee: $want" | diag
	elif timeout 600 "$lazyboot" restore --resume "$work" \
		>"$out.resume" 2>&1; then
		grep -E "resumed:|^pages:" "$out.resume" | diag
		root=$(sed -n 's/^root pid //p' "$out.resume")
		pattern_verdict "$dir/state" "$root"
		status=$?
	else
		diag < "$out.resume"
	fi
	cleanup "$work"
	timed_ok $status "$name"
}

# A pager killed at 10 % that never comes back: the tasks must die.
never_back() {
	local mode=$1 want=$2 work=$dir/work-$1-never name=$1_never_back
	local out=$dir/$name.out status=1 events=$dir/events.out watcher= i pids
	if [ "$mode" = module ]; then
		"$lazyboot" sessions --events 30000 >"$events" 2>&1 &
		watcher=$!
	fi
	start_restore "$work" "$out" 10 --deadline-ms 2000
	wait "$pager"
	if [ $? -eq 137 ] && grep -q "guarantee: $want" "$out"; then
		pids=$(task_pids "$work")
		for i in $(seq 1 300); do
			all_dead $pids && break
			sleep 0.1
		done
		if ! all_dead $pids; then
			echo "tasks $pids still alive after the deadline" | diag
		elif [ "$mode" = module ]; then
			wait_for 10 grep -q "^event killed" "$events"
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
	fi
	[ -n "$watcher" ] && kill "$watcher" 2>/dev/null
	cleanup "$work"
	timed_ok $status "$name"
}

# The pager dies at 10 %; version 2 of the image is published into its
# directory (objects, then the manifest); --resume refuses it; the holder
# kills the tasks at the deadline.
republished() {
	local work=$dir/work-republished name=holder_republished_not_resumed
	local out=$dir/$name.out status=1 i pids
	rm -rf "$dir/img2"
	cp -r "$dir/img" "$dir/img2"
	if ! "$lazyboot" pack --criu-dir "$dir/dump" --out "$dir/img2" \
		--key "$dir/sign.key" >"$out.pack" 2>&1; then
		diag < "$out.pack"
		timed_ok 1 "$name"
		return
	fi
	cp -n "$dir/img2/obj/"* "$dir/img/obj/"
	start_restore "$work" "$out" 10 --deadline-ms 20000
	wait "$pager"
	if [ $? -eq 137 ] && grep -q "guarantee: holder" "$out"; then
		pids=$(task_pids "$work")
		cp "$dir/img/manifest" "$dir/manifest-v1"
		cp "$dir/img2/manifest" "$dir/img/manifest"
		"$lazyboot" restore --resume "$work" >"$out.resume" 2>&1
		local rc=$?
		cp "$dir/manifest-v1" "$dir/img/manifest"
		diag < "$out.resume"
		if [ $rc -ne 1 ] || ! grep -q "is not the manifest this restore accepted" "$out.resume"; then
			echo "--resume took the republished manifest (status $rc)" | diag
		else
			for i in $(seq 1 600); do
				all_dead $pids && break
				sleep 0.1
			done
			if ! all_dead $pids; then
				echo "tasks $pids still alive after the deadline" | diag
			else
				diag < "$work/holder.log"
				grep -q "deadline passed with no pager: killed" \
					"$work/holder.log" && status=0
			fi
		fi
	else
		diag < "$out"
	fi
	cleanup "$work"
	timed_ok $status "$name"
}

echo "TAP version 13"
echo "1..11"

pattern_dump "$dir" "$MIB"
timed_ok $? dump
pattern_pack "$dir"
timed_ok $? pack

# --- with lazyboot.ko: the kernel holds the uffds -----------------------
keeper_module_on
echo "guarantee: kernel-held (lazyboot.ko)" | diag
kill_and_resume module 10 "kernel: lazyboot.ko session"
kill_and_resume module 50 "kernel: lazyboot.ko session" busy
kill_and_resume module 90 "kernel: lazyboot.ko session"
never_back module "kernel: lazyboot.ko session"

# --- without it: the holder process -------------------------------------
keeper_module_off
echo "guarantee: holder process (no lazyboot.ko)" | diag
kill_and_resume holder 10 "holder process pid"
kill_and_resume holder 50 "holder process pid" busy
kill_and_resume holder 90 "holder process pid"
never_back holder "holder process pid"
republished

keeper_module_restore
rm -rf "$dir"
exit $failed
