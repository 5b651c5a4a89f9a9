#!/bin/bash
# Host selftest (TAP): `lazybootd restore --resume WORKDIR`, the same
# take-over as `lazyboot restore --resume` (pager/restore_resume.c).  A
# restore whose pager is SIGKILLed while CRIU (a stand-in that never
# finishes) still runs leaves its record; lazybootd resumes from it with
# no URL or key given: the image and keys on record.  A workdir with no
# record is refused, naming the record, with state failed in its status,
# and no cold start (the dead pager's tasks could still run).  A record
# kept by systemd's fd store, resumed with an fd named for its task that
# is not a userfaultfd (a confused or hostile environment): the fd is not
# used, the task that lives on without its uffd is killed (never left to
# run on missing pages), and lazybootd exits 1.  The resume
# of real restored tasks is the guest test pager_restart.sh; which
# workdir `lazybootd run NAME` resumes is the C test restore_resume.
set -u
BUILD=${BUILD:-build}
LZB=$PWD/$BUILD/lazyboot
LZBD=$PWD/$BUILD/lazybootd
w=$(mktemp -d /tmp/lzb-dresume-XXXXXX)
n=0
pids=
cleanup() {
	local p
	for p in $pids $(cat "$w/criu.pid" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$w"
}
trap cleanup EXIT

. "$(dirname "$0")/cli-tap.sh"
. "$(dirname "$0")/../lib/wait.sh"

echo "TAP version 13"
echo "1..3"

# criu restore that never gets anywhere: the pager keeps serving.
cat >"$w/hang-criu" <<EOS
#!/bin/sh
echo \$\$ >"$w/criu.pid"
exec sleep 100000
EOS
chmod +x "$w/hang-criu"

if ! selftests/host/make-synthetic-dump "$w/dump" --mib 1 >"$w/out" 2>&1 ||
	! "$LZB" pack --criu-dir "$w/dump" --out "$w/img" >>"$w/out" 2>&1; then
	sed 's/^/# /' "$w/out"
	echo "Bail out! cannot make the test image"
	exit 1
fi

"$LZBD" restore "file://$w/img" --allow-unsigned --criu "$w/hang-criu" \
	--workdir "$w/work" >"$w/first.out" 2>&1 &
first=$!
pids="$pids $first"
wait_for 60 grep -q "guarantee: holder process pid" "$w/first.out"
holder=$(sed -n 's/.*guarantee: holder process pid \([0-9]*\).*/\1/p' "$w/first.out")
pids="$pids $holder"
{ kill -9 "$first"; wait "$first"; } 2>/dev/null
# The record's settings are taken (the status names its image), and as
# criu never handed a task over, nothing is left to resume: said, and
# the resume ends instead of waiting for faults that cannot come.
"$LZBD" restore --resume "$w/work" >"$w/resume.out" 2>&1 &
resumed=$!
pids="$pids $resumed"
if wait_gone 60 "$resumed"; then
	wait "$resumed"
	rc=$?
else
	kill -KILL "$resumed" 2>/dev/null
	wait "$resumed" 2>/dev/null
	rc=124
fi
cp "$w/resume.out" "$w/out"
cat "$w/work/status" >>"$w/out" 2>&1
if [ $rc -eq 1 ] &&
	grep -q "nothing to resume: none of the 0 tasks on record" "$w/resume.out" &&
	grep -qx "url=file://$w/img" "$w/work/status"; then
	ok resume_takes_image_and_keys_on_record
else
	echo "# exit status $rc"
	no resume_takes_image_and_keys_on_record
fi

# No record: refused, said, and no cold start.
mkdir -m 0700 "$w/empty"
"$LZBD" restore --resume "$w/empty" --coldstart "touch $w/coldstart.ran" \
	>"$w/out" 2>&1
rc=$?
cat "$w/empty/status" >>"$w/out" 2>&1
if [ $rc -eq 1 ] && [ ! -e "$w/coldstart.ran" ] &&
	grep -q "^lazybootd: cannot resume: $w/empty/pager.record" "$w/out" &&
	grep -qx "state=failed" "$w/empty/status" &&
	grep -q "^failure=cannot resume: " "$w/empty/status"; then
	ok resume_without_record_refused
else
	echo "# exit status $rc"
	no resume_without_record_refused
fi

# The fd store's record, handed an fd that is not a uffd under the name
# of the task's.  The "task" is a sleep on record with its start time.
sleep 100000 &
task=$!
pids="$pids $task"
start=$(sed 's/.*) //' "/proc/$task/stat" | cut -d' ' -f20)
id=0123456789abcdef
mkdir -m 0700 "$w/store"
cp "$w/work/pager.record" "$w/work/pager.journal" "$w/store/"
sed -i -e 's/^keeper .*/keeper fdstore/' -e "s/^id .*/id $id/" "$w/store/pager.record"
printf 'task 1 %d 0 %s\n' "$task" "$start" >>"$w/store/pager.record"
# LISTEN_PID must be lazybootd's: the shell's own pid, kept by exec.
env -u NOTIFY_SOCKET bash -c 'exec 3</dev/null; LISTEN_PID=$$ LISTEN_FDS=1 \
	LISTEN_FDNAMES=lzb-uffd.'"$id.$task"' exec "$0" restore --resume "$1"' \
	"$LZBD" "$w/store" >"$w/out" 2>&1
rc=$?
wait_gone 30 "$task"
gone=$?
if [ $rc -eq 1 ] && [ $gone -eq 0 ] &&
	grep -q "\"lzb-uffd.$id.$task\" is not a userfaultfd: not used" "$w/out" &&
	grep -q "task $task lives on, but systemd's fd store has no uffd for it" "$w/out" &&
	grep -q "killed 1 processes of the restore that cannot be resumed" "$w/out"; then
	ok fdstore_resume_refuses_an_fd_that_is_not_a_uffd
else
	sed 's/^/# /' "$w/out"
	echo "# exit status $rc, task gone: $gone"
	no fdstore_resume_refuses_an_fd_that_is_not_a_uffd
fi
