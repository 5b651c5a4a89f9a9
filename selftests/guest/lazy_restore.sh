#!/bin/bash
# VM selftest (TAP): lazy restore of a real CRIU dump through lazyboot.
#
# The pattern program (MIB MiB of private, shared and file-backed memory,
# four threads, a forked child) is dumped with criu, packed into a signed
# image, served, and restored with `lazyboot restore` over each transport;
# then the restored processes check every page of their memory themselves.
# Also: the same image restored again (CRIU's own lazy-pages server can
# serve an image once), and a tampered chunk that must stop the restore
# and kill the restored tasks instead of letting them run on.
set -u
BUILD=${BUILD:-build}
MIB=${LZB_PATTERN_MIB:-64}
lazyboot=$PWD/$BUILD/lazyboot
pattern=$PWD/$BUILD/selftests/progs/lzb-pattern
dir=$(mktemp -d /tmp/lzb-lazy.XXXXXX)
tap_name=lazy_restore
. "$(dirname "$0")/lib/pattern_image.sh"

# Restore from URL into a fresh workdir; check the processes' own verdict.
restore_and_check() {
	local name=$1 url=$2 state=$dir/state work=$dir/work-$1 root
	shift 2
	rm -f "$state"/result-*
	if ! timeout 900 "$lazyboot" restore "$url" --pubkey "$dir/sign.pub" \
		--workdir "$work" "$@" >"$dir/$name.out" 2>&1; then
		diag < "$dir/$name.out"
		tail -n 20 "$work/restore.log" 2>/dev/null | diag
		ok 1 "$name"
		return
	fi
	grep -E '^(restored|pages):' "$dir/$name.out" | diag
	root=$(sed -n 's/^root pid //p' "$dir/$name.out")
	pattern_verdict "$state" "$root"
	ok $? "$name"
	sleep 1
}

echo "TAP version 13"
echo "1..10"
# --- dump and pack -----------------------------------------------------
pattern_dump "$dir" "$MIB"
status=$?
[ $status -eq 0 ] || tail -n 20 "$dir/dump/dump.log" | diag
ok $status dump
pattern_pack "$dir"
status=$?
diag < "$dir/pack.out"
ok $status pack

# --- restore over each transport ----------------------------------------
restore_and_check file "file://$dir/img"
restore_and_check file_again "file://$dir/img" --max-background 1

conf=$dir/nginx.conf
cat > "$conf" <<NGINX
daemon on;
user root;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
events { worker_connections 64; }
http {
	access_log off;
	server {
		listen 127.0.0.1:18090;
		root $dir;
	}
}
NGINX
nginx -c "$conf" 2>&1 | diag
restore_and_check http "http://127.0.0.1:18090/img"
nginx -c "$conf" -s stop 2>/dev/null

atftpd --daemon --port 69 --bind-address 127.0.0.1 --user root --group root \
	"$dir" 2>&1 | diag
restore_and_check tftp "tftp://127.0.0.1/img"
pkill -f "atftpd --daemon --port 69 --bind-address 127.0.0.1" 2>/dev/null

# --- the hot set is restored eagerly by CRIU ----------------------------
# A profile naming every dumped page before any `ready` line makes every
# page hot: CRIU must then restore all of them itself, so the pager sees no
# fault on image data and fetches no chunk, and the processes still find
# every page right.  The plain image above needed faults (count checked).
faults_plain=$(sed -n 's/^pages: .* \([0-9]*\) faults.*/\1/p' "$dir/file.out")
{
	echo "lazyboot-profile v1"
	for pm in "$dir"/dump/pagemap-[0-9]*.img; do	# not pagemap-shmem-*
		pid=${pm##*/pagemap-}
		pid=${pid%.img}
		crit decode -i "$pm" 2>>"$dir/crit.err" | python3 -c '
import json, sys
pid = sys.argv[1]
for e in json.load(sys.stdin)["entries"][1:]:
    va = int(str(e["vaddr"]), 0)
    if va < 1 << 47:    # user memory, not the vsyscall page
        print(pid, hex(va), e.get("nr_pages", e.get("pages", 1)))
' "$pid"
	done
} > "$dir/all-hot.profile"
"$lazyboot" pack --criu-dir "$dir/dump" --out "$dir/img-hot" --key "$dir/sign.key" \
	--profile "$dir/all-hot.profile" >"$dir/pack-hot.out" 2>&1
status=$?
diag < "$dir/pack-hot.out"
[ $status -eq 0 ] || head -n 5 "$dir/all-hot.profile" | diag
[ $status -eq 0 ] && grep -qE '^pages: .* 0 cold' "$dir/pack-hot.out"
ok $? pack_all_hot
restore_and_check all_hot "file://$dir/img-hot"
chunks_hot=$(sed -n 's/.*chunks: \([0-9]*\) fetched.*/\1/p' "$dir/all_hot.out")
echo "faults: $faults_plain without a profile; chunks fetched with every page hot: $chunks_hot" | diag
[ "${faults_plain:-0}" -gt 0 ] && [ "$chunks_hot" = 0 ]
ok $? hot_set_is_eager

# --- a chunk that does not verify must stop the restore -----------------
cp -a "$dir/img" "$dir/bad"
# The smallest object is a chunk (the bundle and index are far larger).
chunk=$(ls -S "$dir/bad/obj" | tail -n 1)
printf '\x5a' | dd of="$dir/bad/obj/$chunk" bs=1 seek=100 conv=notrunc 2>/dev/null
rm -f "$dir/state"/result-*
timeout 900 "$lazyboot" restore "file://$dir/bad" --pubkey "$dir/sign.pub" \
	--workdir "$dir/work-bad" >"$dir/bad.out" 2>&1
status=$?
diag < "$dir/bad.out"
sleep 2
survivors=$(pgrep -f "$pattern" | wc -l)
[ $status -ne 0 ] && grep -q "hash mismatch" "$dir/bad.out" &&
	grep -q "killed the restored tree" "$dir/bad.out" && [ "$survivors" -eq 0 ]
ok $? tampered_chunk_kills_restore

rm -rf "$dir"
exit $failed
