#!/bin/bash
# Host selftest (TAP): `lazyboot capture` up to the dump, on this machine's
# kernel (CRIU 3.17 does not run here: a fake criu stands in).  Needs root
# for the namespaces.  Servers listen on 127.0.0.41 only.
set -u
BUILD=${BUILD:-build}
LZB=$PWD/$BUILD/lazyboot
w=$(mktemp -d /tmp/lzb-capture-cli-XXXXXX)
n=0
trap 'rm -rf "$w"' EXIT

. "$(dirname "$0")/cli-tap.sh"

echo "TAP version 13"
echo "1..10"
if [ "$(id -u)" -ne 0 ]; then
	for i in $(seq 1 10); do echo "ok $i # SKIP needs root (namespaces)"; done
	exit 0
fi

cat >"$w/fake-criu-ok" <<'EOF2'
#!/bin/sh
echo "fake criu $*" >&2
exit 0
EOF2
cat >"$w/fake-criu-refuses" <<'EOF2'
#!/bin/sh
# criu dump -t PID -D DIR ...: a log like CRIU's, naming the root task.
pid=$3 dir=$5
printf '(00.01) Dumping task (pid: %s)\n(00.02) Error (criu/sk-unix.c:1): unix: Can'"'"'t dump half of stream unix connection.\n' "$pid" >"$dir/criu-dump.log"
exit 1
EOF2
cat >"$w/fake-criu-fds" <<'EOF2'
#!/bin/bash
# criu dump -t PID ...: refuse, as CRIU would dump it, if any task of the
# tree holds the caller's fd 10.
tree() { echo "$1"; for c in $(cat /proc/"$1"/task/*/children); do tree "$c"; done; }
for t in $(tree "$3"); do
	if [ -e "/proc/$t/fd/10" ]; then
		echo "task $t holds fd 10: $(readlink "/proc/$t/fd/10")" >&2
		exit 1
	fi
done
echo "no task holds fd 10" >&2
exit 0
EOF2
chmod +x "$w"/fake-criu-*

cat >"$w/web.ini" <<EOF2
[appset]
name = cli-test
hostname = lzb-cli
[service web]
command = /usr/bin/python3 -m http.server --bind 127.0.0.41 16410
workdir = /tmp
ready = http http://127.0.0.41:16410/
ready-timeout = 30
before-dump = /bin/sh -c 'echo marker > "\$LAZYBOOT_CAPTURE_DIR/before-dump.txt"'
EOF2

expect help 0 "new PID, UTS and IPC namespaces" "$LZB" capture --help
printf '[service a]\ncommand = x\nready = tcp h:99999\n' >"$w/bad.ini"
expect bad_appset_names_line 2 "bad.ini:3: ready: bad port" "$LZB" capture "$w/bad.ini" --out "$w/d0"
printf '[service a]\ncommand = /nonexistent/cmd\nready = tcp 127.0.0.41:16411\n' >"$w/nocmd.ini"
expect missing_command 1 "service a: cannot start '/nonexistent/cmd': No such file" \
	"$LZB" capture "$w/nocmd.ini" --out "$w/d1" --criu "$w/fake-criu-ok"
printf '[service a]\ncommand = /bin/sh -c "exit 3"\nready = tcp 127.0.0.41:16411\n' >"$w/dies.ini"
expect service_exits_before_ready 1 "service a (\(pid [0-9]+\) exited before it was ready|exited at once)" \
	"$LZB" capture "$w/dies.ini" --out "$w/d2" --criu "$w/fake-criu-ok"
printf '[service a]\ncommand = /bin/sleep 60\nready = tcp 127.0.0.41:16411\nready-timeout = 1\n' >"$w/slow.ini"
expect probe_timeout 1 "service a not ready after 1 s: probe 'tcp 127.0.0.41:16411'" \
	"$LZB" capture "$w/slow.ini" --out "$w/d3" --criu "$w/fake-criu-ok"

expect dump_ok 0 "dumped [0-9]+ tasks into $w/d4" \
	"$LZB" capture "$w/web.ini" --out "$w/d4" --criu "$w/fake-criu-ok" -- --extra-arg
if [ -s "$w/d4/appset.ini" ] && grep -q "^criu_command = .* --leave-stopped --extra-arg" "$w/d4/capture.info" &&
	grep -q "^service = web [0-9]* 2$" "$w/d4/capture.info" &&
	grep -q "/usr/bin/python3" "$w/d4/lazyboot-filedeps.txt" &&
	grep -q lazyboot-init "$w/d4/lazyboot-filedeps.txt" &&
	[ "$(cat "$w/d4/before-dump.txt")" = marker ] &&
	! pgrep -f "http.server --bind 127.0.0.41 16410" >/dev/null; then
	ok dump_dir_contents_and_tree_killed
else
	cat "$w/d4/capture.info" >"$w/out" 2>&1
	no dump_dir_contents_and_tree_killed
fi
expect criu_refusal_names_root 1 "while dumping pid [0-9]+ \(lazyboot-init, the app set's root" \
	"$LZB" capture "$w/web.ini" --out "$w/d5" --criu "$w/fake-criu-refuses"
# The caller holds fd 10 open (as a script holding a fifo would): the
# app set must not inherit it, or CRIU dumps it into every image.
exec 10>"$w/held-by-caller"
expect caller_fds_not_inherited 0 "dumped [0-9]+ tasks" \
	"$LZB" capture "$w/web.ini" --out "$w/d6" --criu "$w/fake-criu-fds"
exec 10>&-
expect out_dir_not_empty 1 "is not empty" \
	"$LZB" capture "$w/web.ini" --out "$w/d4" --criu "$w/fake-criu-ok"
exit 0
