#!/bin/bash
# VM selftest (TAP): redis-server with a dataset of more than 100 MiB,
# dumped with criu (bench/make-redis-dump), packed, served by nginx and
# restored lazily over http://.  Redis must answer queries while its pages
# are still streaming (the answer comes before the pager reports every page
# resident: both times are printed), and DBSIZE and DEBUG DIGEST after the restore must equal what
# they were before the dump.
set -u
BUILD=${BUILD:-build}
TAP_NAME=lazy_redis
lazyboot=$PWD/$BUILD/lazyboot
keys=${LZB_REDIS_LAZY_KEYS:-300000}	# 113 MiB of used_memory
size=256
port=6399
dir=$(mktemp -d /tmp/lzb-lazy-redis.XXXXXX)
. selftests/guest/lib/lazy.sh

now_ms() { echo $(($(date +%s%N) / 1000000)); }

finish() {
	redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
	stop_nginx "$dir"
	rm -rf "$dir"
	exit "$failed"
}

echo "TAP version 13"
echo "1..6"
criu_modules

t0=$SECONDS
bench/make-redis-dump "$dir/dump" "$keys" "$size" >"$dir/dump.out" 2>&1
status=$?
mem=$(sed -n 's/^used_memory_human:\([0-9]*\).*M.*/\1/p' "$dir/dump.out" | tr -d '\r')
echo "redis dump: used_memory ${mem:-?} MiB, DBSIZE $(cat "$dir/dump.dbsize"), $((SECONDS - t0)) s" | diag
[ $status -eq 0 ] || tail -n 20 "$dir/dump.out" | diag
[ $status -eq 0 ] && [ "${mem:-0}" -ge 100 ]
ok $? dump_100mib

t0=$SECONDS
"$lazyboot" keygen --out "$dir/sign" >/dev/null &&
	"$lazyboot" pack --criu-dir "$dir/dump" --out "$dir/img" \
		--key "$dir/sign.key" --level 1 --no-sync >"$dir/pack.out" 2>&1
status=$?
diag < "$dir/pack.out"
echo "pack: $((SECONDS - t0)) s" | diag
ok $status pack
rm -rf "$dir/dump"

# The image's stream (every cold chunk in one GET) at 512 KiB/s: about
# 11 s for the 5.7 MB this dataset packs to, so that redis is asked while
# the background still streams (unthrottled, loopback brings it all in
# about a second, before the question).  Faults fetch their chunks alone,
# unthrottled: the answer must not wait for the stream.
start_nginx "$dir" 127.0.0.1:18091 "$dir" 'location ~ /stream/ { limit_rate 512k; }'
start=$(now_ms)
# the output also goes to the VM's results directory, to be read live
out=${LZB_RESULTS:-$dir}/lazy_redis-restore.out
timeout -k 30 900 "$lazyboot" restore "http://127.0.0.1:18091/img" \
	--pubkey "$dir/sign.pub" --workdir "$dir/work" \
	-- --tcp-established >"$out" 2>&1 &
rpid=$!
# CRIU's restore log too, copied while it grows
if [ -n "${LZB_RESULTS:-}" ]; then
	while kill -0 "$rpid" 2>/dev/null; do
		cp "$dir/work/restore.log" "$LZB_RESULTS/lazy_redis-criu-restore.log" 2>/dev/null
		sleep 5	# a copy every 5 s while it runs: a rate, not a wait
	done &
fi

# As soon as CRIU has resumed redis: ask it while the pager streams.
live=1
if wait_line "$out" 'criu restore finished' 300; then
	strlen=$(timeout 120 redis-cli -p "$port" STRLEN key:123457 2>&1)
	live_dbsize=$(timeout 120 redis-cli -p "$port" DBSIZE 2>&1)
	answered=$(($(now_ms) - start))
	# still streaming: the pager is running and has not said it is done
	kill -0 "$rpid" 2>/dev/null &&
		! grep -q 'every page resident' "$out" && live=0
else
	echo "criu restore did not finish within 300 s" | diag
	tail -n 30 "$dir/work/restore.log" 2>/dev/null | diag
	kill "$rpid"
fi
wait "$rpid"
status=$?
diag < "$out"
[ $status -eq 0 ] || tail -n 20 "$dir/work/restore.log" 2>/dev/null | diag
ok $status restore_http
resident=$(sed -n 's/.*all resident \([0-9]*\) ms.*/\1/p' "$out")
echo "answered STRLEN=${strlen:-?} DBSIZE=${live_dbsize:-?} at ${answered:-?} ms;" \
	"every page resident at ${resident:-?} ms (both from the start of lazyboot restore)" | diag
[ "$live" -eq 0 ] && [ "${strlen:-}" = "$size" ] &&
	[ "${live_dbsize:-}" = "$(cat "$dir/dump.dbsize")" ] &&
	[ -n "$resident" ] && [ "$answered" -lt "$resident" ]
ok $? query_while_streaming

got=$(redis-cli -p "$port" DBSIZE 2>&1)
echo "DBSIZE before dump $(cat "$dir/dump.dbsize"), after restore $got" | diag
[ "$got" = "$(cat "$dir/dump.dbsize")" ]
ok $? dbsize
want=$(cat "$dir/dump.digest")
got=$(redis-cli -p "$port" DEBUG DIGEST 2>&1)
echo "DEBUG DIGEST before dump $want, after restore $got" | diag
[ -n "$want" ] && [ "$want" = "$got" ]
ok $? digest
finish
