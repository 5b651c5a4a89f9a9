#!/bin/bash
# Host selftest (TAP): `lazybootd stop-post NAME` acts on "every other
# process of my cgroup", which is only the restore's under its unit.  Run
# anywhere else (a shell: no $SERVICE_RESULT, no $INVOCATION_ID, no
# service's cgroup; or with the variables faked outside a service's
# cgroup) it must refuse, naming why, and signal nothing: a process
# beside it is left running, not stopped.
set -u
BUILD=${BUILD:-build}
LZBD=$PWD/$BUILD/lazybootd
w=$(mktemp -d /tmp/lzb-stoppost-XXXXXX)
sleep 100000 &
sibling=$!
trap 'kill -9 $sibling 2>/dev/null; rm -rf "$w"' EXIT

echo "TAP version 13"
echo "1..2"
state() { sed 's/.*) \([A-Za-z]\) .*/\1/' "/proc/$1/stat" 2>/dev/null; }

env -u SERVICE_RESULT -u INVOCATION_ID "$LZBD" stop-post pattern >"$w/out" 2>&1
rc=$?
sed 's/^/# /' "$w/out"
[ $rc -eq 2 ] && grep -q "only for a unit's ExecStopPost=" "$w/out" &&
	[ "$(state $sibling)" = S ]
echo "$([ $? -eq 0 ] || echo 'not ')ok 1 stop_post_refuses_outside_a_unit"

SERVICE_RESULT=signal EXIT_CODE=killed INVOCATION_ID=0123456789abcdef \
	"$LZBD" stop-post pattern >"$w/out" 2>&1
rc=$?
sed 's/^/# /' "$w/out"
if grep -qE '^0::/.*\.service$' /proc/self/cgroup; then
	echo "ok 2 stop_post_refuses_faked_env # SKIP this test runs in a service's cgroup"
else
	[ $rc -eq 2 ] && grep -q "only for a unit's ExecStopPost=" "$w/out" &&
		[ "$(state $sibling)" = S ]
	echo "$([ $? -eq 0 ] || echo 'not ')ok 2 stop_post_refuses_faked_env"
fi
