#!/bin/bash
# VM selftest (TAP): `lazyboot capture` on the redis and Python examples,
# plain `criu restore` of the dumps (redis DEBUG DIGEST must match the one
# recorded at dump time), CRIU's refusal explained with the process, and the
# CRIU plugin refusing a restore when a mapped file changed.
# Then each example end to end: `lazyboot profile` (3 runs for redis, with
# their Jaccard similarity printed; 1 for the others), `lazyboot pack
# --profile`, and a lazy `lazyboot restore` of the image, verified by the
# app (redis digest, pyhttp's HTTP answer, a title typed into the xterm);
# the CRIU plugin refuses a lazy restore no pager serves, and hands the
# real pids of a restore in the app set's PID namespace to the pager.
set -u
BUILD=${BUILD:-build}
LZB=$PWD/$BUILD/lazyboot
work=/tmp/lzb-capture-test
log=${LZB_RESULTS:-/tmp}
n=0
. "$(dirname "$0")/../lib/wait.sh"
rm -rf "$work"
mkdir -p "$work"

ok() { n=$((n + 1)); echo "ok $n $1"; }
fail() {
	n=$((n + 1))
	echo "not ok $n $1"
	shift
	for f in "$@"; do
		[ -f "$f" ] && tail -n 20 "$f" | sed "s|^|#   $(basename "$f"): |"
	done
}
check() { # NAME CMD... (logs in $work/NAME.out)
	local name=$1
	shift
	if "$@" >"$work/$name.out" 2>&1; then ok "$name"; else fail "$name" "$work/$name.out"; fi
}
. "$(dirname "$0")/lib/memcmp.sh"
skip_rest() {
	while [ "$n" -lt $plan ]; do n=$((n + 1)); echo "ok $n # SKIP $1"; done
	exit 0
}

echo "TAP version 13"
plan=40
echo "1..$plan"
ip link set lo up 2>/dev/null
modprobe -a nf_tables nft_ct unix_diag inet_diag tcp_diag netlink_diag af_packet_diag 2>/dev/null
command -v criu >/dev/null || skip_rest "criu not installed"
criu check >"$work/criu-check.out" 2>&1 || {
	sed 's/^/# /' "$work/criu-check.out" | tail -5
	skip_rest "criu check fails on $(uname -r)"
}

# restore DIR NAME: plain (not lazy) restore, detached, with the plugin.
restore() {
	criu restore -D "$1" -d --pidfile "$work/$2.pid" --libdir "$PWD/$BUILD" \
		-o "$work/$2-restore.log" -v4 >"$work/$2-restore.out" 2>&1
}
kill_restored() {
	local pid
	[ -f "$work/$1.pid" ] || return 0
	pid=$(cat "$work/$1.pid")
	kill -9 "$pid" 2>/dev/null
	wait_gone 30 "$pid"
}

# lazy_e2e NAME DUMP RUNS READY-CMD: profile the capture, pack it with the
# profile, restore the image lazily (file://) with the tree left stopped
# until every page is in, compare its memory with the dump, then let it
# run until READY-CMD passes.
"$LZB" keygen --out "$work/sign" >/dev/null
lazy_e2e() {
	local name=$1 dump=$2 runs=$3 ready=$4 t0
	t0=$(date +%s)
	if timeout 600 "$LZB" profile "$dump" --out "$work/$name.profile" --runs "$runs" \
		--warmup 1 --timeout 300 >"$work/$name-profile.out" 2>&1 &&
		[ "$(grep -c "^run [0-9]: ready after" "$work/$name-profile.out")" = "$runs" ] &&
		grep -q '^ready$' "$work/$name.profile" &&
		grep -Eq '^[0-9]+ 0x[0-9a-f]+ [0-9]+ # \+[0-9.]+ ms$' "$work/$name.profile"; then
		ok "profile.$name"
	else
		fail "profile.$name" "$work/$name-profile.out"
	fi
	grep -E "^(run [0-9]:|jaccard|profile:)" "$work/$name-profile.out" | sed "s/^/# $name: /"
	# It ran on partial memory: nothing of it may be left running.
	if pgrep -x lazyboot-init >"$work/$name-left.out"; then
		fail "profile.${name}_killed_the_restored_tree" "$work/$name-left.out"
		pkill -9 -x lazyboot-init
		wait_for 30 no_process lazyboot-init
	else
		ok "profile.${name}_killed_the_restored_tree"
	fi
	check "pack.$name" "$LZB" pack --criu-dir "$dump" --out "$work/$name.img" \
		--key "$work/sign.key" --profile "$work/$name.profile"
	grep "^pages:" "$work/pack.$name.out" | sed "s/^/# $name: /"
	if timeout 300 "$LZB" restore "file://$work/$name.img" --pubkey "$work/sign.pub" \
		--workdir "$work/$name-rw" >"$work/$name-lazy.out" 2>&1 -- --leave-stopped; then
		ok "lazy_restore.$name"
	else
		fail "lazy_restore.$name" "$work/$name-lazy.out" "$work/$name-rw/restore.log"
	fi
	sed -n 's/^\(restored\|pages\|fetched\): /\1: /p' "$work/$name-lazy.out" | sed "s/^/# $name: /"
	# The root's pid, also when the restore failed after CRIU finished.
	sed -n 's/.*root pid \([0-9]*\)$/\1/p' "$work/$name-lazy.out" | tail -n 1 >"$work/$name.pid"
	local root
	root=$(cat "$work/$name.pid")
	if [ -n "$root" ] && memcmp_tree "$dump" "$root" "$work/$name-memcmp.out"; then
		ok "memcmp.$name"
	else
		fail "memcmp.$name" "$work/$name-memcmp.out"
	fi
	grep -E "^# (image pid|ok|FAIL)" "$work/$name-memcmp.out" | sed "s/^# /# $name: /"
	[ -n "$root" ] && cont_tree "$root"
	if [ -n "$root" ] && wait_ready "$ready" 300; then
		ok "lazy_restore.${name}_ready"
	else
		fail "lazy_restore.${name}_ready" "$work/$name-lazy.out"
	fi
	echo "# $name: profile, pack, lazy restore and memory check took $(($(date +%s) - t0)) s"
}

# The pager logged "plugin: image pid X is pid Y": Y's innermost pid is X,
# and Y is not X (the app set has its own PID namespace).
real_pids_right() {
	local out=$1 pairs=0 img real
	while read -r img real; do
		[ "$img" != "$real" ] || return 1
		[ "$(awk '/^NSpid:/ { print $NF }' "/proc/$real/status")" = "$img" ] || return 1
		pairs=$((pairs + 1))
	done < <(sed -n 's/.*plugin: image pid \([0-9]*\) is pid \([0-9]*\)$/\1 \2/p' "$out")
	[ "$pairs" -ge 2 ] && grep -q "^root pid $(sed -n 's/.*plugin: image pid 1 is pid \([0-9]*\)$/\1/p' "$out")$" "$out"
}

# --- redis ---------------------------------------------------------------
rd=$work/redis.dump
export REDIS_KEYS=20000
check capture.redis timeout 300 "$LZB" capture examples/redis/appset.ini --out "$rd"
check capture.redis_dir_has_images_appset_digest_filedeps \
	test -s "$rd/pstree.img" -a -s "$rd/appset.ini" -a -s "$rd/redis.digest" \
	-a -s "$rd/lazyboot-filedeps.txt" -a -s "$rd/capture.info"
crit x "$rd" ps >"$work/redis-ps.out" 2>&1
if grep -q redis-server "$work/redis-ps.out" && grep -q lazyboot-init "$work/redis-ps.out"; then
	ok capture.redis_pstree_has_init_and_redis
else
	fail capture.redis_pstree_has_init_and_redis "$work/redis-ps.out"
fi
# The dump names no cwd in the app set file's directory: a node without
# that directory (any other machine) could not restore it.
crit x "$rd" fds >"$work/redis-fds.out" 2>&1
if grep -qE '^[[:space:]]*cwd:' "$work/redis-fds.out" &&
	! grep -E '^[[:space:]]*cwd:' "$work/redis-fds.out" | grep -q examples/redis; then
	ok capture.redis_no_cwd_in_appset_dir
else
	fail capture.redis_no_cwd_in_appset_dir "$work/redis-fds.out"
fi
if grep -q " $(readlink -f /usr/bin/redis-server)$" "$rd/lazyboot-filedeps.txt"; then
	ok capture.redis_filedeps_lists_binary
else
	fail capture.redis_filedeps_lists_binary "$rd/lazyboot-filedeps.txt"
fi
if timeout 300 bash -c "$(declare -f restore); BUILD=$BUILD work=$work; restore $rd redis" &&
	redis-cli -h 127.0.0.1 -p 6390 PING 2>&1 | grep -q PONG; then
	ok restore.redis_answers_ping
else
	fail restore.redis_answers_ping "$work/redis-restore.out" "$work/redis-restore.log"
fi
digest=$(redis-cli -h 127.0.0.1 -p 6390 DEBUG DIGEST 2>&1)
if [ -n "$digest" ] && [ "$digest" = "$(cat "$rd/redis.digest")" ]; then
	ok restore.redis_digest_matches
else
	echo "# digest after restore '$digest', at dump '$(cat "$rd/redis.digest" 2>/dev/null)'"
	fail restore.redis_digest_matches
fi
if grep -q "files match the capture" "$work/redis-restore.out"; then
	ok plugin.accepts_unchanged_files
else
	fail plugin.accepts_unchanged_files "$work/redis-restore.out"
fi
kill_restored redis

# A lazy restore needs the pager: the plugin refuses one without it.
t0=$(date +%s)
timeout 120 criu restore -D "$rd" --lazy-pages -d --libdir "$PWD/$BUILD" \
	-o "$work/nopager-restore.log" -v4 >"$work/nopager-restore.out" 2>&1
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $(($(date +%s) - t0)) -lt 60 ] &&
	grep -q "refusing a lazy restore: no lazyboot pager serves it" "$work/nopager-restore.out" &&
	! pgrep -x lazyboot-init >/dev/null; then
	ok plugin.refuses_lazy_restore_without_pager
else
	echo "# criu exit status $rc"
	fail plugin.refuses_lazy_restore_without_pager "$work/nopager-restore.out"
fi
grep "refusing" "$work/nopager-restore.out" | sed 's/^/# criu said: /'

lazy_e2e redis "$rd" 3 "redis-cli -h 127.0.0.1 -p 6390 PING | grep -q PONG"
digest=$(redis-cli -h 127.0.0.1 -p 6390 DEBUG DIGEST 2>&1)
if [ -n "$digest" ] && [ "$digest" = "$(cat "$rd/redis.digest")" ]; then
	ok lazy_restore.redis_digest_matches
else
	echo "# digest after lazy restore '$digest', at dump '$(cat "$rd/redis.digest" 2>/dev/null)'"
	fail lazy_restore.redis_digest_matches
fi
if real_pids_right "$work/redis-lazy.out"; then
	ok plugin.hands_real_pids_to_pager
else
	fail plugin.hands_real_pids_to_pager "$work/redis-lazy.out"
fi
grep "plugin: image pid" "$work/redis-lazy.out" | sed 's/^/# pager: /'
kill_restored redis

# --- python http ---------------------------------------------------------
pd=$work/pyhttp.dump
sed "s|^workdir = .*|workdir = $PWD/examples/pyhttp|" examples/pyhttp/appset.ini >examples/pyhttp/test-appset.ini
check capture.pyhttp timeout 400 "$LZB" capture examples/pyhttp/test-appset.ini --out "$pd"
rm -f examples/pyhttp/test-appset.ini
crit x "$pd" ps >"$work/pyhttp-ps.out" 2>&1
if grep -q python3 "$work/pyhttp-ps.out"; then
	ok capture.pyhttp_pstree_has_python
else
	fail capture.pyhttp_pstree_has_python "$work/pyhttp-ps.out"
fi
get() { python3 -c "import urllib.request as u,sys; sys.stdout.write(u.urlopen('$1', timeout=20).read().decode())"; }
t0=$(date +%s%N)
if timeout 300 bash -c "$(declare -f restore); BUILD=$BUILD work=$work; restore $pd pyhttp" &&
	[ "$(get http://127.0.0.1:8090/health 2>&1)" = ok ] &&
	get http://127.0.0.1:8090/ | grep -q '"imported": 100'; then
	echo "# pyhttp: cold start to ready $(sed -n 's/^coldstart_ready_ms = //p' "$pd/capture.info") ms," \
		"plain criu restore to ready $((($(date +%s%N) - t0) / 1000000)) ms (TCG)"
	ok restore.pyhttp_answers_http
else
	fail restore.pyhttp_answers_http "$work/pyhttp-restore.out" "$work/pyhttp-restore.log"
fi
kill_restored pyhttp
lazy_e2e pyhttp "$pd" 1 "test \"\$(curl -s http://127.0.0.1:8090/health)\" = ok"
if [ "$(get http://127.0.0.1:8090/health 2>&1)" = ok ] &&
	get http://127.0.0.1:8090/ | grep -q '"imported": 100'; then
	ok lazy_restore.pyhttp_answers_http
else
	fail lazy_restore.pyhttp_answers_http "$work/pyhttp-lazy.out"
fi
kill_restored pyhttp

# --- Xvfb + blackbox + xterm: ready = the xterm takes typed input -------
xd=$work/x11.dump
if command -v Xvfb >/dev/null && command -v xdotool >/dev/null; then
	check capture.x11 timeout 400 "$LZB" capture examples/x11/appset.ini --out "$xd"
	# The probe types into the xterm: retried until it takes the keys,
	# as lazyboot's --ready does (the X clients map their windows after
	# the restore returns).
	if timeout 300 bash -c "$(declare -f restore); BUILD=$BUILD work=$work; restore $xd x11" &&
		wait_for 300 /bin/sh examples/x11/xterm-ready.sh :7; then
		ok restore.x11_xterm_takes_keystrokes
	else
		fail restore.x11_xterm_takes_keystrokes "$work/x11-restore.out" "$work/x11-restore.log"
	fi
	kill_restored x11
	lazy_e2e x11 "$xd" 1 "/bin/sh $PWD/examples/x11/xterm-ready.sh :7"
	# A title set from the shell the restored xterm runs: keystrokes went
	# in, bash ran them, and xterm redrew its window title.
	title=lzb-typed-$RANDOM
	win=$(DISPLAY=:7 xdotool search --name '^lzb-xterm$' 2>/dev/null | head -n 1)
	if [ -n "$win" ]; then
		DISPLAY=:7 xdotool type --window "$win" --delay 20 "printf '\\033]2;$title\\007'"
		DISPLAY=:7 xdotool key --window "$win" Return
		title_is() { [ "$(DISPLAY=:7 xdotool getwindowname "$1" 2>/dev/null)" = "$2" ]; }
		wait_for 120 title_is "$win" "$title"
	fi
	got=$(DISPLAY=:7 xdotool getwindowname "$win" 2>&1)
	if [ -n "$win" ] && [ "$got" = "$title" ]; then
		ok lazy_restore.x11_typed_title_shows
	else
		echo "# window '$win' title '$got', typed '$title'"
		fail lazy_restore.x11_typed_title_shows "$work/x11-lazy.out"
	fi
	kill_restored x11
else
	for t in capture.x11 restore.x11_xterm_takes_keystrokes profile.x11 \
		profile.x11_killed_the_restored_tree pack.x11 lazy_restore.x11 \
		memcmp.x11 lazy_restore.x11_ready lazy_restore.x11_typed_title_shows; do
		n=$((n + 1)); echo "ok $n # SKIP $t: xvfb/xdotool not installed"
	done
fi

# --- CRIU refuses: the message names the process -----------------------
# The service connects to this listener outside the app set as soon as it
# starts: the listener says when it listens (ext.ready), and the capture
# starts only then.
python3 -c "
import socket, os, time
s = socket.socket(socket.AF_UNIX); s.bind('$work/ext.sock'); s.listen(4)
open('$work/ext.ready', 'w').close()
c = [s.accept() for _ in range(1)]; time.sleep(600)" &
ext=$!
wait_for 60 test -e "$work/ext.ready"
cat >"$work/ext.ini" <<EOT
[service holder]
command = /usr/bin/python3 -c "import socket,time; s=socket.socket(socket.AF_UNIX); s.connect('$work/ext.sock'); time.sleep(1e6)"
ready = command /bin/sleep 1
EOT
timeout 300 "$LZB" capture "$work/ext.ini" --out "$work/ext.dump" >"$work/ext.out" 2>&1
rc=$?
kill "$ext" 2>/dev/null
if [ $rc -eq 1 ] && grep -q "^criu: " "$work/ext.out" &&
	grep -q "while dumping pid [0-9]* (python3, service holder)" "$work/ext.out" &&
	grep -q "hint: .*--ext-unix-sk" "$work/ext.out"; then
	ok capture.criu_refusal_names_process
else
	echo "# exit status $rc"
	fail capture.criu_refusal_names_process "$work/ext.out"
fi
sed 's/^/# capture said: /' "$work/ext.out" | grep -E "criu:|while|hint" | head -6

# --- plugin: a mapped file changed -> refused, naming it ----------------
head -c 65536 /dev/urandom >"$work/data.bin"
cat >"$work/map.ini" <<EOT
[service mapper]
command = /usr/bin/python3 -c "import mmap,time; f=open('$work/data.bin','rb'); m=mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ); f.close(); time.sleep(1e6)"
ready = command /bin/sleep 1
EOT
check capture.mapper timeout 300 "$LZB" capture "$work/map.ini" --out "$work/map.dump"
if grep -Eq "^map(\+open)? 65536 .* $work/data.bin\$" "$work/map.dump/lazyboot-filedeps.txt"; then
	ok capture.filedeps_lists_mapped_file
else
	fail capture.filedeps_lists_mapped_file "$work/map.dump/lazyboot-filedeps.txt"
fi
# Same size, new content: CRIU's own size check would not notice.
printf 'changed!' | dd of="$work/data.bin" bs=1 seek=100 conv=notrunc 2>/dev/null
if ! timeout 300 bash -c "$(declare -f restore); BUILD=$BUILD work=$work; restore $work/map.dump mapper" &&
	grep -q "refusing to restore.*$work/data.bin.*different content" "$work/mapper-restore.out"; then
	ok plugin.refuses_changed_mapped_file
else
	kill_restored mapper
	fail plugin.refuses_changed_mapped_file "$work/mapper-restore.out"
fi
grep "refusing" "$work/mapper-restore.out" | sed 's/^/# criu said: /'
exit 0
