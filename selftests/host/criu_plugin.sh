#!/bin/bash
# Host selftest (TAP): lazyboot_plugin.so as CRIU would call it, without
# CRIU (which needs a kernel it supports: the guest test capture.sh runs
# the real thing).  Installed in /usr/lib/criu, the plugin is loaded by
# every criu run on the node, so: it must leave dumps alone and let through
# a restore that is not lazyboot's (lazy or eager, silently), and still
# refuse a lazy restore of lazyboot's images that no pager serves.  A
# stand-in for CRIU's criu_get_image_dir() is built next to it and both
# are loaded with Python's ctypes; "--lazy-pages" on the command line makes
# the plugin see a lazy restore, as it reads /proc/self/cmdline.
set -u
BUILD=${BUILD:-build}
PLUGIN=$PWD/$BUILD/lazyboot_plugin.so
w=$(mktemp -d /tmp/lzb-plugin-XXXXXX)
n=0
trap 'rm -rf "$w"' EXIT
. "$(dirname "$0")/cli-tap.sh"

cat >"$w/stub.c" <<'C'
#include <fcntl.h>
#include <stdlib.h>
int criu_get_image_dir(void);
int criu_get_image_dir(void)
{
	return open(getenv("STUB_IMAGE_DIR"), O_RDONLY | O_DIRECTORY);
}
C
cat >"$w/call.py" <<'PY'
import ctypes, sys
ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)
plugin = ctypes.CDLL(sys.argv[2])
INIT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)
EXIT = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_int)
class Desc(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("init", INIT), ("exit", EXIT)]
desc = Desc.in_dll(plugin, "CR_PLUGIN_DESC")
stage = {"dump": 0, "pre-dump": 1, "restore": 2}[sys.argv[3]]
ret = desc.init(stage)
desc.exit(stage, 0)
print("init returned %d" % ret, flush=True)
PY
# call NAME STAGE DIR [lazy] [ENV=VALUE...]: the plugin's init and exit
call() {
	local dir=$1 stage=$2 lazy=""
	shift 2
	[ "${1:-}" = lazy ] && { lazy=--lazy-pages; shift; }
	env -u LAZYBOOT_PAGER_SOCKET -u LAZYBOOT_SKIP_FILE_CHECK STUB_IMAGE_DIR="$dir" "$@" \
		python3 "$w/call.py" "$w/stub.so" "$PLUGIN" "$stage" $lazy 2>&1 | tr '\n' ' '
}
# quiet NAME: the plugin said nothing and returned 0
quiet() {
	if [ "$(cat "$w/out")" = "init returned 0 " ]; then ok "$1"; else no "$1"; fi
}

echo "TAP version 13"
echo "1..9"
mkdir -p "$w/plain" "$w/capture" "$w/bundle"
touch "$w/plain/inventory.img" "$w/plain/pagemap-1.img"
echo "# lazyboot-filedeps 1" >"$w/capture/lazyboot-filedeps.txt"
touch "$w/bundle/lazyboot-orig-pagemap-1.img"
cc -shared -fPIC -o "$w/stub.so" "$w/stub.c" >"$w/out" 2>&1 && [ -f "$PLUGIN" ]
if [ $? -ne 0 ]; then
	no plugin.stub_builds
	exit 1
fi
ok plugin.stub_builds

call "$w/plain" dump >"$w/out"
quiet plugin.dump_untouched_and_silent
call "$w/plain" restore >"$w/out"
quiet plugin.plain_eager_restore_silent
call "$w/plain" restore lazy >"$w/out"
quiet plugin.plain_lazy_restore_let_through
expect plugin.capture_lazy_without_pager_refused 0 \
	"refusing a lazy restore: no lazyboot pager serves it.*init returned -1" \
	call "$w/capture" restore lazy
expect plugin.bundle_lazy_without_pager_refused 0 "refusing a lazy restore.*init returned -1" \
	call "$w/bundle" restore lazy
expect plugin.pager_socket_nobody_answers_refused 0 \
	"pager at $w/none.sock does not answer.*init returned -1" \
	call "$w/plain" restore lazy LAZYBOOT_PAGER_SOCKET="$w/none.sock"
# A socket served by a root process that is not the one that started criu
# (the pager is criu's parent): refused, whatever it would answer.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(4)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"ok\n" * 64)
' "$w/other.sock" >"$w/other.out" 2>&1 &
other=$!
. "$(dirname "$0")/../lib/wait.sh"
wait_for 60 grep -q ready "$w/other.out"
expect plugin.pager_socket_of_a_stranger_refused 0 \
	"served by pid $other .*not by the pager that started criu.*init returned -1" \
	call "$w/plain" restore lazy LAZYBOOT_PAGER_SOCKET="$w/other.sock"
kill "$other" 2>/dev/null
wait "$other" 2>/dev/null
expect plugin.capture_eager_restore_checks_files 0 \
	"0 files match the capture.*init returned 0" call "$w/capture" restore
