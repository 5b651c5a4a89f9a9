#!/bin/bash
# Host selftest (TAP): `lazyboot status` on crafted status files (well
# formed, stale, finished, failed, malformed) and on the status file a real
# `lazyboot restore` leaves when it cannot fetch its image, and the
# STATUS= that `lazybootd restore` sends to $NOTIFY_SOCKET then.  The live
# streaming path needs CRIU: selftests/qemu/lazybootd-unit covers it.
set -u
BUILD=${BUILD:-build}
LZB=$PWD/$BUILD/lazyboot
w=$(mktemp -d /tmp/lzb-status-cli-XXXXXX)
n=0
trap 'rm -rf "$w"' EXIT

. "$(dirname "$0")/cli-tap.sh"
. "$(dirname "$0")/../lib/wait.sh"
# status DIR STATE PAGER_PID [EXTRA LINES]: a status file as the pager writes it
status() {
	mkdir -p "$w/$1"
	{
		echo "version=1"
		echo "state=$2"
		echo "url=http://127.0.0.1/images/app"
		echo "pager_pid=$3"
		echo "root_pid=$$"
		echo "pages_resident=4000"
		echo "pages_total=10000"
		echo "bytes_fetched=16777216"
		echo "mb_per_s=8.250"
		echo "faults=321"
		echo "latency_p50_us=512"
		echo "latency_p99_us=16384"
		echo "ms_bundle=410"
		echo "ms_restored=1250"
		echo "guarantee=pager-only: the lazyboot process alone holds the userfaultfds"
		[ $# -gt 3 ] && printf '%s\n' "${@:4}"
	} >"$w/$1/status"
}

echo "TAP version 13"
echo "1..13"
sleep 0 &
dead=$!
wait "$dead"

status live streaming $$
expect live_progress 0 '\[############\.+\]  40\.0%  4000/10000 resident' "$LZB" status "$w/live"
expect live_numbers 0 'fetched  16\.8 MB at 8\.2 MB/s' "$LZB" status "$w/live"
expect live_latency 0 'faults   321, latency p50 512 us, p99 16\.4 ms' "$LZB" status "$w/live"
expect live_root_and_guarantee 0 "root     pid $$ \(running\); pager pid $$ \(running\).*" \
	"$LZB" status "$w/live"
status stale restoring "$dead"
expect stale_pager 0 "restoring \(STALE: the pager died" "$LZB" status "$w/stale"
# A pid that lives, but started at another time than the pager did.
status reused streaming $$ "pager_start=1"
expect reused_pid_is_stale 0 "streaming \(STALE" "$LZB" status "$w/reused"
status finished resident "$dead" "pages_resident=10000" "ms_resident=5000"
expect finished_not_stale 0 '^.*finished: resident$' "$LZB" status "$w/finished"
status failed failed "$dead" "failure=pager stopped: chunk 7: hash mismatch"
expect failed_reason 0 'failure  pager stopped: chunk 7: hash mismatch' \
	"$LZB" status --watch 1 "$w/failed"

# Malformed files name what is wrong and the file, exit 1.
status newer streaming $$ "version=2"
expect newer_version 1 "status:16: status format version '2' not known" "$LZB" status "$w/newer"
status badnum streaming $$ "pages_total=12x"
expect bad_number 1 "status:16: bad value for pages_total: '12x'" "$LZB" status "$w/badnum"
mkdir -p "$w/junk"
printf 'state=streaming\nthis is not a status\n' >"$w/junk/status"
expect not_key_value 1 "status:2: not key=value: 'this is not a status'" "$LZB" status "$w/junk"

# A real restore that cannot fetch its manifest says so in its status.
"$LZB" restore "file://$w/no-such-image" --allow-unsigned --quiet \
	--workdir "$w/real" >/dev/null 2>&1
expect real_restore_failed 0 "real: failed.*failure  .*manifest" \
	bash -c "'$LZB' status '$w/real' | tr '\n' ' '"

# lazybootd restore tells systemd through $NOTIFY_SOCKET (here: a listener
# standing in for systemd) why it failed.
python3 - "$w/notify.sock" "$w/notify.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "w") as out:
    try:
        while True:
            out.write(s.recv(4096).decode() + "\n")
            out.flush()
    except socket.timeout:
        pass
PY
listener=$!
wait_for 120 test -S "$w/notify.sock"
NOTIFY_SOCKET=$w/notify.sock "$PWD/$BUILD/lazybootd" restore "file://$w/no-such-image" \
	--allow-unsigned --quiet --workdir "$w/daemon" >/dev/null 2>&1
rc=$?
wait_for 120 grep -q '^STATUS=failed' "$w/notify.out"
kill "$listener" 2>/dev/null
wait "$listener" 2>/dev/null
cp "$w/notify.out" "$w/out" 2>/dev/null
if [ $rc -eq 1 ] && grep -q '^STATUS=failed: .*manifest' "$w/out" &&
	! grep -q 'READY=1' "$w/out"; then
	ok sd_notify_failure
else
	echo "# lazybootd exit status $rc"
	no sd_notify_failure
fi
