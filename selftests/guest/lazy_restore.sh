#!/bin/bash
# VM selftest (TAP): lazy restore of a real CRIU dump through lazyboot.
#
# The pattern program (private anonymous memory in several VMAs, shared
# anonymous and file-backed private memory, four threads, a forked child)
# is dumped with criu at MIB MiB (default 256), packed into a signed image,
# and that one image is restored with `lazyboot restore` over file:// three
# times in a row.  The first of those is throttled (--max-background 1) and,
# as soon as CRIU has resumed the tree, the program moves one VMA (mremap),
# drops half of another (MADV_DONTNEED), forks, and lets its four threads
# check disjoint quarters of all memory at once, while the pager is still
# streaming: each of those is a test of its own.  A second dump at
# SMALL_MIB MiB (default 64) is restored over http:// (nginx), tftp://
# (atftpd: windowsize 16, 1468-byte blocks, the defaults) and tftp://
# (tftpd-hpa, which has no windowsize: --tftp-blksize 65464, one block per
# 64 KiB chunk, as the 2004 fast-boot experiment fetched its pages; in
# lock-step with 1468-byte blocks it took 49-186 s of the CI's time, and
# the host test fetch_tftp_servers covers those defaults against it).
# After each restore the processes check
# every page themselves.  Also: the hot set is restored eagerly (no chunk
# fetched when every page is hot); a tampered chunk on the first of two
# mirrors is fetched again from the second and the restore completes, the
# processes checking every page; and a tampered chunk on the only mirror
# stops the restore and kills the restored tasks.
set -u
BUILD=${BUILD:-build}
MIB=${LZB_PATTERN_MIB:-256}
SMALL_MIB=${LZB_PATTERN_SMALL_MIB:-64}
TAP_NAME=lazy_restore
lazyboot=$PWD/$BUILD/lazyboot
pattern=$PWD/$BUILD/selftests/progs/lzb-pattern
dir=$(mktemp -d /tmp/lzb-lazy.XXXXXX)
state=
. selftests/guest/lib/lazy.sh

# The first line of a result file is OK, or BAD and what was wrong.
result_ok() {
	[ "$(head -n 1 "$state/result-$1" 2>/dev/null)" = OK ] && return 0
	echo "result-$1: $(cat "$state/result-$1" 2>&1)" | diag
	return 1
}

# A live check passes when its result is OK and the range was not all
# resident yet when the program acted on it (else it proved nothing).
live_ok() {
	local line
	result_ok "$1" || return 1
	line=$(sed -n 's/^resident before the [a-z]*: //p' "$state/result-$1")
	echo "$1: resident before: $line" | diag
	set -- $line	# N of M
	[ "$#" -eq 3 ] && [ "$1" -lt "$3" ]
}

# restore NAME URL LIVE [OPTION...]: restore from URL into a fresh workdir
# and check the processes' own verdict.  With LIVE=1 the program gets
# SIGUSR2 as soon as CRIU has resumed it, while the pages still stream.
restore_and_check() {
	local name=$1 url=$2 live=$3 out=$dir/$1.out work=$dir/work-$1
	local root="" rpid status t0=$SECONDS
	shift 3
	rm -f "$state"/result-*
	timeout 900 "$lazyboot" restore "$url" --pubkey "$dir/sign.pub" \
		--workdir "$work" "$@" >"$out" 2>&1 &
	rpid=$!
	if [ "$live" = 1 ] &&
		wait_line "$out" 'criu restore finished: root pid' 600; then
		root=$(sed -n 's/.*criu restore finished: root pid //p' "$out")
		kill -USR2 "$root"
	fi
	wait "$rpid"
	status=$?
	echo "$name: lazyboot restore exited $status after $((SECONDS - t0)) s" | diag
	if [ $status -ne 0 ]; then
		diag < "$out"
		tail -n 20 "$work/restore.log" 2>/dev/null | diag
		ok 1 "$name"
		[ "$name" = "$REPORT_CASE" ] && ok 1 "report_$name"
		[ "$live" = 1 ] && for c in mremap dontneed fork threads; do
			ok 1 "live_$c"
		done
		return
	fi
	grep -E '^(restored|pages):' "$out" | diag
	root=$(sed -n 's/^root pid //p' "$out")
	if [ "$live" = 1 ]; then	# the live checks end before the final one
		wait_file "$state/result-threads" 300
		wait_file "$state/result-fork" 300
	fi
	kill -USR1 "$root" 2>/dev/null
	wait_file "$state/result-parent" 300
	wait_file "$state/result-child" 60
	result_ok parent && result_ok child
	ok $? "$name"
	if [ "$live" = 1 ]; then
		live_ok mremap
		ok $? live_mremap
		live_ok dontneed
		ok $? live_dontneed
		result_ok fork
		ok $? live_fork
		result_ok threads
		ok $? live_threads
	fi
	[ "$name" = "$REPORT_CASE" ] && report_check "$name" "$work"
	kill -KILL -- -"$root" "$root" 2>/dev/null
	rm -rf "$work"
	[ -z "$root" ] || wait_for 30 group_gone "$root"
}

# report_check NAME WORK: `lazyboot report` on a real restore's workdir
# draws its milestones in the order they came, one lane per task (the
# pattern program and its child); the picture is kept in the results.
REPORT_CASE=http
report_check() {
	local name=$1 work=$2 svg=$dir/report-$1.svg
	"$lazyboot" report "$work" --out "$svg" 2>&1 | diag
	python3 selftests/lib/report_check.py svg "$svg" --tasks 2 \
		manifest bundle criu-start tasks-resumed resident done 2>&1 | diag
	ok "${PIPESTATUS[0]}" "report_$name"
	if [ -n "${LZB_RESULTS:-}" ]; then
		cp "$svg" "$work/timeline" "$work/status" "$LZB_RESULTS/" 2>/dev/null
		command -v rsvg-convert >/dev/null &&
			"$lazyboot" report "$work" --out "$LZB_RESULTS/report-$name.png"
	fi
}

# dump_and_pack NAME MIB: the pattern program with MIB MiB, dumped into
# DIR/NAME/dump and packed into DIR/NAME/img; sets state for the restores.
dump_and_pack() {
	local d=$dir/$1 t0=$SECONDS status pid
	state=$d/state
	mkdir -p "$state" "$d/dump"
	setsid "$pattern" "$state" "$2" </dev/null >/dev/null 2>&1 &
	pid=$!
	disown "$pid"	# criu dump kills it: no job notice
	wait_file "$state/ready" 300
	criu dump -t "$pid" -D "$d/dump" -o dump.log -v4 >/dev/null 2>&1
	status=$?
	[ $status -eq 0 ] || tail -n 20 "$d/dump/dump.log" | diag
	echo "dump of $2 MiB: $((SECONDS - t0)) s" | diag
	ok $status "dump_$1"
	t0=$SECONDS
	"$lazyboot" pack --criu-dir "$d/dump" --out "$d/img" --key "$dir/sign.key" \
		--level 1 --no-sync >"$d/pack.out" 2>&1
	status=$?
	diag < "$d/pack.out"
	echo "pack: $((SECONDS - t0)) s" | diag
	ok $status "pack_$1"
}

echo "TAP version 13"
echo "1..24"
criu_modules
"$lazyboot" keygen --out "$dir/sign" >/dev/null

# --- the big image, restored three times in a row -----------------------
dump_and_pack big "$MIB"
rm -rf "$dir/big/dump"
# chunk by chunk, one at a time: the background path without the stream
# (an image packed by an older lazyboot, or a stream that failed)
restore_and_check file_live "file://$dir/big/img" 1 --max-background 1 --no-stream
restore_and_check file_2nd "file://$dir/big/img" 0
restore_and_check file_3rd "file://$dir/big/img" 0
rm -rf "$dir/big"

# --- a smaller image over each network transport ------------------------
# (256 MiB over every transport would cost minutes of CI time each.)
dump_and_pack small "$SMALL_MIB"
start_nginx "$dir" 127.0.0.1:18090 "$dir"
restore_and_check http "http://127.0.0.1:18090/small/img" 0
stop_nginx "$dir"

start_atftpd 127.0.0.4 "$dir"
restore_and_check tftp_atftpd "tftp://127.0.0.4/small/img" 0
stop_server

if start_tftpd_hpa 127.0.0.3 "$dir"; then
	restore_and_check tftp_hpa "tftp://127.0.0.3/small/img" 0 \
		--tftp-blksize 65464
	stop_server
else
	ok 1 tftp_hpa
fi

# --- the hot set is restored eagerly by CRIU ----------------------------
# A profile naming every dumped page before any `ready` line makes every
# page hot: CRIU must then restore all of them itself, so the pager sees no
# fault on image data and fetches no chunk, and the processes still find
# every page right.  The plain image above needed faults (count checked).
faults_plain=$(sed -n 's/^pages: .* \([0-9]*\) faults.*/\1/p' "$dir/http.out")
{
	echo "lazyboot-profile v1"
	for pm in "$dir"/small/dump/pagemap-[0-9]*.img; do	# not pagemap-shmem-*
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
"$lazyboot" pack --criu-dir "$dir/small/dump" --out "$dir/img-hot" --key "$dir/sign.key" \
	--profile "$dir/all-hot.profile" --level 1 --no-sync >"$dir/pack-hot.out" 2>&1
status=$?
diag < "$dir/pack-hot.out"
[ $status -eq 0 ] || head -n 5 "$dir/all-hot.profile" | diag
[ $status -eq 0 ] && grep -qE '^pages: .* 0 cold' "$dir/pack-hot.out"
ok $? pack_all_hot
restore_and_check all_hot "file://$dir/img-hot" 0
rm -rf "$dir/img-hot"
chunks_hot=$(sed -n 's/.*chunks: \([0-9]*\) fetched.*/\1/p' "$dir/all_hot.out")
echo "faults: $faults_plain without a profile; chunks fetched with every page hot: $chunks_hot" | diag
[ "${faults_plain:-0}" -gt 0 ] && [ "$chunks_hot" = 0 ]
ok $? hot_set_is_eager

# --- THP on, on a node's first CRIU run since boot ----------------------
# One hot page at every 2 MiB boundary, its neighbours lazy: with THP on,
# CRIU's eager write of it can fill the whole block with a huge page, whose
# lazy pages would then be present zeros.  The pager starts criu with THP
# off, but CRIU 3.17 turns it back on in its own process while it probes
# the kernel, which it does when /run/criu.kdat is missing (the first CRIU
# run since boot); the plugin turns it off again after that probe.
thp=/sys/kernel/mm/transparent_hugepage/enabled
thp_was=$(sed 's/.*\[\(.*\)\].*/\1/' "$thp" 2>/dev/null)
python3 -c '
import sys
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) != 3:
        print(line, end="")
        continue
    va, n = int(f[1], 16), int(f[2])
    for a in range((va + (2 << 20) - 1) & ~((2 << 20) - 1), va + n * 4096, 2 << 20):
        print(f[0], hex(a), 1)
' "$dir/all-hot.profile" > "$dir/sparse-hot.profile"
"$lazyboot" pack --criu-dir "$dir/small/dump" --out "$dir/img-sparse" --key "$dir/sign.key" \
	--profile "$dir/sparse-hot.profile" --level 1 --no-sync >"$dir/pack-sparse.out" 2>&1
status=$?
diag < "$dir/pack-sparse.out"
ok $status pack_one_hot_page_per_2mib
if [ -n "$thp_was" ] && echo always > "$thp" 2>/dev/null; then
	rm -f /run/criu.kdat
	restore_and_check thp_always_fresh_kdat "file://$dir/img-sparse" 0
	echo "$thp_was" > "$thp"
	# the probe ran (CRIU keeps its result): THP was turned on in criu
	[ -f /run/criu.kdat ]
	ok $? thp_kernel_probe_ran
else
	for t in thp_always_fresh_kdat thp_kernel_probe_ran; do
		n=$((n + 1))
		echo "ok $n $TAP_NAME.$t # SKIP no transparent huge pages here"
	done
fi
rm -rf "$dir/img-sparse"

# --- a chunk that does not verify must stop the restore -----------------
# A copy of the image sharing every file but the chunk that is changed,
# changed wherever the mirror serves it: its object, and its bytes in the
# image's stream (the chunks back to back in manifest order).
cp -al "$dir/small/img" "$dir/bad"
# The smallest chunk gets one byte in its middle flipped, in its object and
# where it lies in the stream (the manifest: a 128-byte header, nr_objects
# at byte 56, then 48-byte entries of type, flags, 6 reserved, size, hash;
# slots 0 and 1 are the bundle and index).  Each changed file is a new
# one, not the hard link to the good image.
chunk=$(python3 -c '
import os, struct, sys
img = sys.argv[1]
m = open(img + "/manifest", "rb").read()
off, best = 0, None
for i in range(2, struct.unpack_from("<I", m, 56)[0]):
    e = 128 + 48 * i
    size, h = struct.unpack_from("<Q", m, e + 8)[0], m[e + 16:e + 48].hex()
    if best is None or size < best[0]:
        best = (size, h, off)
    off += size
size, h, at = best
def flip(path, pos):
    b = bytearray(open(path, "rb").read())
    b[pos] ^= 0x20
    os.unlink(path)
    open(path, "wb").write(b)
flip(img + "/obj/" + h, size // 2)
flip(img + "/stream/" + os.listdir(img + "/stream")[0], at + size // 2)
print(h)
' "$dir/bad")
[ -n "$chunk" ] || echo "no chunk changed in $dir/bad" | diag

# Two mirrors, the chunk tampered on the first: the restore goes on with
# the second mirror's copy, and the processes find every page right.
restore_and_check tampered_first_mirror "file://$dir/bad" 0 \
	"file://$dir/small/img"
# (and the first mirror's copies were asked for, and refused: in the
# stream, then alone)
grep "^pages:" "$dir/tampered_first_mirror.out" | grep -qE "[0-9]+ bad cop(y|ies) refused"
ok $? tampered_first_mirror_copy_refused

# The only mirror: the restore stops.
rm -f "$state"/result-*
timeout 900 "$lazyboot" restore "file://$dir/bad" --pubkey "$dir/sign.pub" \
	--workdir "$dir/work-bad" >"$dir/bad.out" 2>&1
status=$?
diag < "$dir/bad.out"
wait_for 30 no_match "$pattern"
survivors=$(pgrep -f "$pattern" | wc -l)
[ $status -ne 0 ] && grep -q "hash mismatch" "$dir/bad.out" &&
	grep -q "killed the restored tree" "$dir/bad.out" && [ "$survivors" -eq 0 ]
ok $? tampered_chunk_kills_restore

rm -rf "$dir"
exit $failed
