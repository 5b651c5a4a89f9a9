#!/bin/bash
# Host selftest (TAP): lazybootd's fallback.  When the restore cannot
# start or finish, `--fallback coldstart --coldstart CMD` runs the app's
# cold start instead: READY=1 once --ready passes, with
# "STATUS=degraded: cold start because <the restore's error>" on
# $NOTIFY_SOCKET (a listener standing in for systemd), state coldstart and
# the cause in WORKDIR/status (`lazyboot status`), the cause in one line
# on stderr; SIGTERM to lazybootd ends the cold-started app and lazybootd
# with it.  The causes that arise before CRIU runs, or with CRIU faked:
# no mirror answers (a missing file:// directory, a closed loopback HTTP
# port), a signature refused (the wrong --pubkey), freshness refused
# (another --image-id), criu giving up (CRIU's
# own error line).  `--fallback fail` exits 1 without running the command.
# The plugin refusing a changed node file needs real CRIU: the VM test
# selftests/qemu/lazybootd-unit covers it.
set -u
BUILD=${BUILD:-build}
LZB=$PWD/$BUILD/lazyboot
LZBD=$PWD/$BUILD/lazybootd
w=$(mktemp -d /tmp/lzb-fallback-XXXXXX)
n=0
listener=
trap 'kill $listener 2>/dev/null; rm -rf "$w"' EXIT

. "$(dirname "$0")/cli-tap.sh"
. "$(dirname "$0")/../lib/wait.sh"

echo "TAP version 13"
echo "1..8"

# A stand-in for systemd's notify socket: every datagram into $w/NAME.notify.
listen() { # NAME
	rm -f "$w/$1.sock"
	python3 - "$w/$1.sock" "$w/$1.notify" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "w") as out:
    while True:
        out.write(s.recv(4096).decode() + "\n")
        out.flush()
PY
	listener=$!
	wait_for 60 test -S "$w/$1.sock"
}

# One cause: lazybootd restore ARGS... falls back to a cold start whose
# pid lands in $w/NAME.pid; the notification, status and log must name
# the cause (REGEX); SIGTERM ends both.
cold_start_case() { # NAME REGEX ARGS...
	local name=$1 re=$2 d app rc good=1
	shift 2
	listen "$name"
	NOTIFY_SOCKET=$w/$name.sock "$LZBD" restore "$@" --workdir "$w/$name" \
		--coldstart "echo \$\$ >$w/$name.pid.new && mv $w/$name.pid.new $w/$name.pid && exec sleep 100000" \
		--ready "test -s $w/$name.pid" >"$w/$name.out" 2>&1 &
	d=$!
	wait_for 60 grep -q '^READY=1' "$w/$name.notify" || good=0
	app=$(cat "$w/$name.pid" 2>/dev/null)
	"$LZB" status "$w/$name" >"$w/$name.status" 2>&1
	{
		echo "--- notify"; cat "$w/$name.notify"
		echo "--- status"; cat "$w/$name.status"
		echo "--- stderr"; cat "$w/$name.out"
	} >"$w/out"
	grep -Eq "^STATUS=degraded: cold start because .*($re)" "$w/$name.notify" || good=0
	grep -q "^$w/$name: coldstart" "$w/$name.status" || good=0
	grep -Eq "cold start because .*($re)" "$w/$name.status" || good=0
	grep -Eq "^lazybootd: cold start because .*($re)" "$w/$name.out" || good=0
	[ -n "$app" ] && kill -0 "$app" 2>/dev/null || good=0
	kill -0 "$d" 2>/dev/null || good=0
	kill -TERM "$d"
	wait_gone 20 "$d" ${app:+"$app"} || good=0
	wait "$d"
	rc=$?
	kill "$listener" 2>/dev/null
	wait "$listener" 2>/dev/null
	listener=
	# lazybootd dies as the app did: by SIGTERM (128 + 15).
	[ "$rc" -eq 143 ] || { echo "# lazybootd exit status $rc"; good=0; }
	grep -q "^lazybootd: cold-started app $app: signal 15" "$w/$name.out" ||
		good=0
	if [ $good = 1 ]; then ok "$name"; else no "$name"; fi
}

if ! selftests/host/make-synthetic-dump "$w/dump" --mib 1 >"$w/out" 2>&1 ||
	! "$LZB" keygen --out "$w/signer" >>"$w/out" 2>&1 ||
	! "$LZB" keygen --out "$w/other" >>"$w/out" 2>&1 ||
	! "$LZB" pack --criu-dir "$w/dump" --key "$w/signer.key" \
		--out "$w/img" >>"$w/out" 2>&1; then
	cat "$w/out" | sed 's/^/# /'
	echo "Bail out! cannot make the signed test image"
	exit 1
fi

# No --fallback: a cold-start command alone makes coldstart the policy.
cold_start_case no_mirror_file "manifest.*No such file" \
	"file://$w/no-such-dir/img" --pubkey "$w/signer.pub"
# Port 1 on loopback: nothing listens there (connection refused).
cold_start_case no_mirror_http "refused|connect" \
	"http://127.0.0.1:1/img" --pubkey "$w/signer.pub" --fallback coldstart
cold_start_case signature_refused "signature" \
	"file://$w/img" --pubkey "$w/other.pub" --fallback coldstart
# Freshness: a manifest that names another image than --image-id wants.
cold_start_case image_id_refused "image id" \
	"file://$w/img" --pubkey "$w/signer.pub" \
	--image-id 00000000000000000000000000000000 --state-dir "$w/state" \
	--fallback coldstart

# criu gives up as CRIU 3.17 did for a file that grew since the dump:
# the cause is CRIU's own error line, not the lazy-pages socket's hang-up.
gives_up=$PWD/selftests/host/fake-criu-gives-up
cold_start_case criu_fails "File var/log/redis.log has bad size 1196 \(expect 1064\)" \
	"file://$w/img" --pubkey "$w/signer.pub" --criu "$gives_up" \
	--fallback coldstart
if grep -q "lazy-pages socket" "$w/criu_fails.notify" "$w/criu_fails.status"; then
	cp "$w/criu_fails.notify" "$w/out"
	no criu_cause_is_not_the_socket
else
	ok criu_cause_is_not_the_socket
fi

# --fallback fail: the unit fails (exit 1) and the command never runs.
listen fail
NOTIFY_SOCKET=$w/fail.sock "$LZBD" restore "file://$w/no-such-dir/img" \
	--pubkey "$w/signer.pub" --workdir "$w/fail" --fallback fail \
	--coldstart "touch $w/fail.ran" >"$w/out" 2>&1
rc=$?
wait_for 60 grep -q '^STATUS=failed' "$w/fail.notify"
kill "$listener" 2>/dev/null
wait "$listener" 2>/dev/null
listener=
cat "$w/fail.notify" >>"$w/out"
if [ $rc -eq 1 ] && [ ! -e "$w/fail.ran" ] && ! grep -q 'READY=1' "$w/out" &&
	! grep -q 'cold start' "$w/out"; then
	ok fallback_fail_runs_nothing
else
	echo "# lazybootd exit status $rc"
	no fallback_fail_runs_nothing
fi

# The CLI has no fallback: only the service runs a cold start.
expect cli_has_no_fallback 2 "--fallback and --coldstart are lazybootd's" \
	"$LZB" restore "file://$w/img" --allow-unsigned --coldstart true
