#!/bin/bash
# VM selftest (TAP): a journal that cannot be written makes the restore
# unresumable.
#
# The pattern program is dumped and packed, then restored lazily with one
# chunk in flight; the workdir's pager.journal is a file of a tmpfs that is
# full (bind-mounted over it before the restore starts), so the first
# journal line fails with ENOSPC: the one the program's MADV_DONTNEED and
# mremap (SIGUSR2, right after CRIU resumed it) cause.  The pager must say
# so on stderr and in its status, then (killed at 90 % by the fault
# injection LAZYBOOT_FAULT_KILL_AT_PCT) leave a restore that `--resume`
# refuses, naming why, instead of replaying a journal with the drop missing
# and installing stale image bytes over the dropped range; the keeper then
# kills the tasks at the deadline.  With lazyboot.ko and with the holder.
set -u
BUILD=${BUILD:-build}
MIB=${LZB_JOURNAL_MIB:-64}
lazyboot=$PWD/$BUILD/lazyboot
pattern=$PWD/$BUILD/selftests/progs/lzb-pattern
dir=$(mktemp -d /tmp/lzb-journal.XXXXXX)
TAP_NAME=journal_full
. "$(dirname "$0")/lib/pattern_image.sh"
. "$(dirname "$0")/lib/keeper.sh"

# full_journal MODE WANT: the whole case with keeper MODE (guarantee WANT).
full_journal() {
	local mode=$1 want=$2 work=$dir/work-$1 tiny=$dir/tiny-$1
	local out=$dir/$1.out pager root pids status
	rm -f "$dir/state"/result-*
	mkdir -m 700 "$work" "$tiny"
	mount -t tmpfs -o size=4k "lzb-$mode" "$tiny"
	touch "$tiny/journal" "$work/pager.journal"
	dd if=/dev/zero of="$tiny/filler" bs=4k count=16 2>/dev/null
	mount --bind "$tiny/journal" "$work/pager.journal"
	env LAZYBOOT_FAULT_KILL_AT_PCT=90 "$lazyboot" restore "file://$dir/img" \
		--pubkey "$dir/sign.pub" --workdir "$work" --max-background 1 \
		--deadline-ms 3000 >"$out" 2>&1 &
	pager=$!
	if wait_line "$out" 'criu restore finished: root pid' 600; then
		root=$(sed -n 's/.*criu restore finished: root pid //p' "$out")
		kill -USR2 "$root"
	fi
	wait_line "$out" "pager.journal: No space left on device: this restore can no longer be resumed" 300
	ok $? "${mode}_failed_journal_said_on_stderr"
	wait_for 30 grep -q "^guarantee=NOT RESUMABLE (pager.journal: No space left on device); $want" "$work/status"
	ok $? "${mode}_status_says_not_resumable"
	wait "$pager"
	status=$?
	echo "$mode: pager exit $status" | diag
	grep -E "guarantee|resident|resume" "$out" | diag
	pids=$(task_pids "$work")
	"$lazyboot" restore --resume "$work" >"$out.resume" 2>&1
	status=$?
	diag <"$out.resume"
	[ $status -eq 1 ] && grep -q "this restore cannot be resumed" "$out.resume"
	ok $? "${mode}_resume_refused"
	status=1
	if [ -n "$pids" ] && wait_for 60 all_dead $pids; then
		status=0
		[ -s "$dir/state/result-parent" ] && {
			echo "a task ran its final check: it was not killed" | diag
			status=1
		}
	else
		echo "tasks '$pids' still alive after the deadline" | diag
	fi
	ok $status "${mode}_tasks_killed_at_deadline"
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	umount "$work/pager.journal" 2>/dev/null
	umount "$tiny" 2>/dev/null
}

echo "TAP version 13"
echo "1..10"

pattern_dump "$dir" "$MIB"
ok $? dump
pattern_pack "$dir"
ok $? pack

keeper_module_on
full_journal module "kernel: lazyboot.ko session"
keeper_module_off
full_journal holder "holder process pid"
keeper_module_restore
rm -rf "$dir"
exit $failed
