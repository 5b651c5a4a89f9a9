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
		echo "bg_faults=17"
		echo "bg_latency_p99_us=2048"
		echo "ms_bundle=410"
		echo "ms_restored=1250"
		echo "guarantee=pager-only: the lazyboot process alone holds the userfaultfds"
		[ $# -gt 3 ] && printf '%s\n' "${@:4}"
	} >"$w/$1/status"
}

echo "TAP version 13"
echo "1..27"
sleep 0 &
dead=$!
wait "$dead"

status live streaming $$
expect live_progress 0 '\[############\.+\]  40\.0%  4000/10000 resident' "$LZB" status "$w/live"
expect live_numbers 0 'fetched  16\.8 MB at 8\.2 MB/s' "$LZB" status "$w/live"
expect live_latency 0 'faults   321, latency p50 512 us, p99 16\.4 ms; 17 during the background, p99 2048 us' "$LZB" status "$w/live"
status tftp streaming $$ "tftp_retransmits=3" "tftp_gaps=5" "tftp_windows_cut=1"
expect tftp_recoveries 0 'tftp     3 retransmits, 5 gaps, 1 windows cut to the receive buffer' "$LZB" status "$w/tftp"
"$LZB" status "$w/live" 2>&1 | grep -q '^  tftp '
[ $? -eq 1 ] && ok no_tftp_line_without_tftp || no no_tftp_line_without_tftp
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
expect newer_version 1 "status:18: status format version '2' not known" "$LZB" status "$w/newer"
status badnum streaming $$ "pages_total=12x"
expect bad_number 1 "status:18: bad value for pages_total: '12x'" "$LZB" status "$w/badnum"
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
# A bad config first: systemctl status shows FILE:LINE: reason.
printf 'mirrors = file:///i\nallow-unsigned = maybe\n' >"$w/notify.conf"
NOTIFY_SOCKET=$w/notify.sock "$PWD/$BUILD/lazybootd" restore --config "$w/notify.conf" >/dev/null 2>&1
rc_conf=$?
NOTIFY_SOCKET=$w/notify.sock "$PWD/$BUILD/lazybootd" restore "file://$w/no-such-image" \
	--allow-unsigned --quiet --workdir "$w/daemon" >/dev/null 2>&1
rc=$?
wait_for 120 grep -q '^STATUS=failed: .*manifest' "$w/notify.out"
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
if [ $rc_conf -eq 2 ] &&
	grep -Fxq "STATUS=failed: $w/notify.conf:2: allow-unsigned takes yes or no, not 'maybe'" "$w/out"; then
	ok sd_notify_bad_config
else
	echo "# lazybootd exit status $rc_conf"
	no sd_notify_bad_config
fi

# --- lazyboot status --json ---------------------------------------------
# A failure text with every character JSON must escape, bytes that are not
# UTF-8, and UTF-8 that is.
status json streaming $$ "image_id=ba563486804fe74b9036e73f6875a195" "image_version=3" \
	"image_bytes=410271" "page_size=4096" "started_unix=1796574155" \
	"$(printf 'failure=quote " backslash \\ tab \t ctl \001 del \177 bad \377\376 utf8 \303\251 end')"
"$LZB" status --json "$w/json" "$w/finished" >"$w/json.out" 2>&1
rc=$?
jq -c . "$w/json.out" >"$w/out" 2>&1
if [ $rc -eq 0 ] && [ $? -eq 0 ] && [ "$(wc -l <"$w/json.out")" -eq 2 ] &&
	python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' "$w/json.out"; then
	ok json_valid_one_object_per_line
else
	cat "$w/json.out" >>"$w/out"
	no json_valid_one_object_per_line
fi
# jq FILTER: the first object's FILTER is true
jqt() { [ -s "$w/json.out" ] && head -n 1 "$w/json.out" | jq -e "$1" >/dev/null 2>&1; }
jqt '.state == "streaming" and .phase == "running" and .ready == false and
	.workdir == "'"$w/json"'" and .status_file == "'"$w/json/status"'" and .record == null'
[ $? -eq 0 ] && ok json_state_phase_workdir || { head -n 1 "$w/json.out" >"$w/out"; no json_state_phase_workdir; }
jqt '.image == {"id": "ba563486804fe74b9036e73f6875a195", "version": 3, "bytes": 410271} and
	.pages == {"resident": 4000, "total": 10000, "page_size": 4096} and
	.bytes == {"resident": 16384000, "total": 40960000, "fetched": 16777216, "mb_per_s": 8.25} and
	.faults == {"count": 321, "latency_p50_us": 512, "latency_p99_us": 16384, "latency_max_us": 0,
		"background_count": 17, "background_latency_p99_us": 2048, "background_latency_max_us": 0}'
[ $? -eq 0 ] && ok json_image_pages_bytes_faults || { head -n 1 "$w/json.out" >"$w/out"; no json_image_pages_bytes_faults; }
jqt '.tftp == {"retransmits": 0, "gaps": 0, "windows_cut": 0}'
[ $? -eq 0 ] && ok json_tftp || { head -n 1 "$w/json.out" >"$w/out"; no json_tftp; }
jqt '.times == {"started_unix": 1796574155, "updated_unix": null, "elapsed_ms": 0,
		"bundle_ms": 410, "restored_ms": 1250, "ready_ms": null, "resident_ms": null} and
	.root == {"pid": '$$', "running": true, "exit": null} and
	.pager == {"pid": '$$', "running": true} and
	(.guarantee | startswith("pager-only"))'
[ $? -eq 0 ] && ok json_times_root_pager || { head -n 1 "$w/json.out" >"$w/out"; no json_times_root_pager; }
jqt '.error == "quote \" backslash \\ tab \t ctl \u0001 del \u007f bad \ufffd\ufffd utf8 é end"'
[ $? -eq 0 ] && ok json_strings_escaped || { head -n 1 "$w/json.out" >"$w/out"; no json_strings_escaped; }
[ "$(wc -l <"$w/json.out")" -eq 2 ] && tail -n 1 "$w/json.out" | jq -e '.state == "resident" and .phase == "finished" and .ready == true and
	.image.id == null and .bytes.total == null' >/dev/null 2>&1
[ $? -eq 0 ] && ok json_finished_and_unknown_image || { tail -n 1 "$w/json.out" >"$w/out"; no json_finished_and_unknown_image; }
# (jq -e on no input at all exits 0: count the objects too)
"$LZB" status --json "$w/stale" >"$w/out" 2>&1 && [ "$(wc -l <"$w/out")" -eq 1 ] &&
	jq -e '.phase == "stale" and .pager.running == false' "$w/out" >/dev/null 2>&1
[ $? -eq 0 ] && ok json_stale || no json_stale

# --- journal priorities -------------------------------------------------
# A restore of a real (synthetic) image whose criu refuses: progress on
# stdout, warnings and the error on stderr.  With $JOURNAL_STREAM naming
# the file they go to, every line carries its priority.
cat >"$w/fake-criu" <<'EOF2'
#!/bin/sh
echo "fake criu: refusing" >&2
exit 1
EOF2
chmod +x "$w/fake-criu"
selftests/host/make-synthetic-dump "$w/dump" --mib 1 >"$w/out" 2>&1 &&
	"$LZB" pack --criu-dir "$w/dump" --out "$w/img" >>"$w/out" 2>&1
: >"$w/journal"
JOURNAL_STREAM=$(stat -c '%d:%i' "$w/journal") "$LZB" restore "file://$w/img" --allow-unsigned \
	--criu "$w/fake-criu" --workdir "$w/jw" >>"$w/journal" 2>&1
cp "$w/journal" "$w/out"
grep -Eq '^<6>\[ *[0-9.]+\] manifest: ' "$w/journal" &&
	grep -q '^<3>lazyboot restore: criu restore failed' "$w/journal" &&
	! grep -Ev '^<[346]>' "$w/journal" | grep -q . &&
	{ lsmod 2>/dev/null | grep -q '^lazyboot ' || grep -q '^<4>lazyboot: lazyboot.ko' "$w/journal"; }
[ $? -eq 0 ] && ok journal_prefixes_by_priority || no journal_prefixes_by_priority
# Another stream (the variable inherited, the output elsewhere): no prefix.
: >"$w/other"
JOURNAL_STREAM=$(stat -c '%d:%i' "$w/other") "$LZB" restore "file://$w/img" --allow-unsigned \
	--criu "$w/fake-criu" --workdir "$w/jw2" >"$w/out" 2>&1
! grep -q '^<' "$w/out" && grep -q '^lazyboot restore: criu restore failed' "$w/out"
[ $? -eq 0 ] && ok journal_other_stream_no_prefix || no journal_other_stream_no_prefix
# lazybootd's refusal of a bad config is an error to the journal.
printf 'mirrors = file:///i\nmirorrs = x\n' >"$w/bad.conf"
: >"$w/journal"
JOURNAL_STREAM=$(stat -c '%d:%i' "$w/journal") "$PWD/$BUILD/lazybootd" restore \
	--config "$w/bad.conf" >>"$w/journal" 2>&1
cp "$w/journal" "$w/out"
grep -Fxq "<3>lazybootd: $w/bad.conf:2: unknown key 'mirorrs'" "$w/journal"
[ $? -eq 0 ] && ok journal_config_error || no journal_config_error
