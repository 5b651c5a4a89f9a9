#!/bin/bash
# Host selftest (TAP): one bad mirror does not stop a restore
# (docs/security.md, "Mirror failover").  Two mirrors served by a real
# nginx on 127.0.0.9 (and atftpd on 127.0.0.10 for TFTP): the first is bad
# in one way each time -- an HTML page answered 200 for the manifest, a
# truncated bundle, a tampered index, a manifest signed by another key, an
# older signed manifest (rollback), HTTP 500, a TFTP ERROR -- and
# `lazyboot restore` must still load the image from the second, verified:
# the fake criu runs and the bundle it is given is byte for byte the one
# a restore from the good mirror alone unpacks.  With every mirror bad the
# restore fails before criu with one line naming each mirror and its
# error.  `lazyboot fetch --size` fails over from a mirror serving more
# bytes than that.
set -u
BUILD=${BUILD:-build}
LZB=$PWD/$BUILD/lazyboot
IP=127.0.0.9
PORT=8089
TFTP_IP=127.0.0.10
w=$(mktemp -d /tmp/lzb-failover-XXXXXX)
n=0
nginx_pid= tftp_pid=
cleanup() {
	[ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
	[ -n "$tftp_pid" ] && kill "$tftp_pid" 2>/dev/null && wait "$tftp_pid" 2>/dev/null
	rm -rf "$w"
}
trap cleanup EXIT

. "$(dirname "$0")/cli-tap.sh"
. "$(dirname "$0")/../lib/wait.sh"

export LAZYBOOT_STATE_DIR=$w/state
H=http://$IP:$PORT

cat >"$w/fake-criu" <<EOF
#!/bin/sh
# Keep what a real criu would restore from, then refuse.  The pager's
# sandboxed fetcher (its child named lzb-fetcher) is alive now: keep its
# /proc status.
for c in \$(cat /proc/\$PPID/task/*/children); do
	[ "\$(cat /proc/\$c/comm 2>/dev/null)" = lzb-fetcher ] &&
		cp /proc/\$c/status "$w/fetcher-status"
done
while [ \$# -gt 0 ]; do
	[ "\$1" = "-D" ] || [ "\$1" = "--images-dir" ] && cp -r "\$2" "$w/criu-got"
	shift
done
touch "$w/criu-ran"
exit 1
EOF
chmod +x "$w/fake-criu"

listening() { grep -q "$1" /proc/net/"$2"; }	# HEXADDR:PORT tcp|udp
hexaddr() { printf '%02X%02X%02X%02X:%04X' $(echo "$1" | awk -F. '{print $4, $3, $2, $1}') "$2"; }

echo "TAP version 13"
echo "1..14"

if ! [ -x /usr/sbin/nginx ] || ! [ -x /usr/sbin/atftpd ]; then
	echo "Bail out! nginx and atftpd are needed (scripts/install-deps)"
	exit 1
fi
mkdir -p "$w/srv"
if ! selftests/host/make-synthetic-dump "$w/dump" --mib 1 >"$w/out" 2>&1 ||
	! "$LZB" keygen --out "$w/sign" >>"$w/out" 2>&1 ||
	! "$LZB" keygen --out "$w/other" >>"$w/out" 2>&1 ||
	! "$LZB" pack --criu-dir "$w/dump" --out "$w/srv/v1" --key "$w/sign.key" \
		--no-sync >>"$w/out" 2>&1 ||
	! cp -r "$w/srv/v1" "$w/srv/good" ||
	! "$LZB" pack --criu-dir "$w/dump" --out "$w/srv/good" --key "$w/sign.key" \
		--no-sync >>"$w/out" 2>&1 ||
	! "$LZB" pack --criu-dir "$w/dump" --out "$w/srv/otherkey" \
		--key "$w/other.key" --no-sync >>"$w/out" 2>&1; then
	echo "Bail out! cannot make the test image"
	sed 's/^/# /' "$w/out"
	exit 1
fi
mkdir -p "$w/ngx/tmp"
cat >"$w/ngx/nginx.conf" <<EOF
daemon off; master_process off; worker_processes 1;
error_log $w/ngx/error.log; pid $w/ngx/nginx.pid;
events { worker_connections 64; }
http {
 access_log $w/ngx/access.log;
 client_body_temp_path $w/ngx/tmp; proxy_temp_path $w/ngx/tmp;
 fastcgi_temp_path $w/ngx/tmp; uwsgi_temp_path $w/ngx/tmp;
 scgi_temp_path $w/ngx/tmp;
 server { listen $IP:$PORT; root $w/srv;
  location /err500/ { return 500; } }
}
EOF
/usr/sbin/nginx -c "$w/ngx/nginx.conf" -e "$w/ngx/error.log" >"$w/ngx/out" 2>&1 &
nginx_pid=$!
mkdir -p "$w/tftp"
/usr/sbin/atftpd --daemon --no-fork --port 69 --bind-address "$TFTP_IP" \
	--user root --group root --logfile - "$w/tftp" >"$w/tftp.log" 2>&1 &
tftp_pid=$!
if ! wait_for 60 listening "$(hexaddr $IP $PORT) 00000000:0000 0A" tcp ||
	! wait_for 60 listening "$(hexaddr $TFTP_IP 69)" udp; then
	echo "Bail out! nginx or atftpd did not start"
	sed 's/^/# /' "$w/ngx/out" "$w/ngx/error.log" "$w/tftp.log"
	exit 1
fi

# restore NAME MIRROR...: the restore's output in $w/out.
restore() {
	local name=$1
	shift
	rm -rf "$w/criu-ran" "$w/criu-got" "$w/fetcher-status"
	"$LZB" restore "$@" --pubkey "$w/sign.pub" --criu "$w/fake-criu" \
		--workdir "$w/work-$name" >"$w/out" 2>&1
}

# What a restore from the good mirror alone gives criu.
restore reference "$H/good"
if [ ! -e "$w/criu-ran" ] || [ ! -d "$w/criu-got" ]; then
	echo "Bail out! a restore from the good mirror alone did not reach criu"
	sed 's/^/# /' "$w/out"
	exit 1
fi
mv "$w/criu-got" "$w/reference"

# The restore's fetcher ran sandboxed (docs/security.md): no capability,
# not root, no_new_privs, seccomp filter mode.
status_is() { grep -q "^$1:[[:space:]]*$2\$" "$w/fetcher-status"; }
if [ -e "$w/fetcher-status" ] && status_is CapEff 0000000000000000 &&
	status_is CapPrm 0000000000000000 && status_is CapBnd 0000000000000000 &&
	status_is CapInh 0000000000000000 && status_is CapAmb 0000000000000000 &&
	! grep -q "^Uid:[[:space:]]*0[[:space:]]" "$w/fetcher-status" &&
	! grep -q "^Gid:[[:space:]]*0[[:space:]]" "$w/fetcher-status" &&
	status_is NoNewPrivs 1 && status_is Seccomp 2; then
	ok restore_fetcher_runs_sandboxed
else
	[ -e "$w/fetcher-status" ] && sed 's/^/# /' "$w/fetcher-status"
	no restore_fetcher_runs_sandboxed
fi
# --no-fetch-sandbox (debugging): no such child, the restore still loads.
restore nosandbox "$H/good" --no-fetch-sandbox
if [ -e "$w/criu-ran" ] && [ ! -e "$w/fetcher-status" ] &&
	diff -r "$w/reference" "$w/criu-got" >/dev/null; then
	ok restore_without_sandbox_has_no_fetcher_child
else
	no restore_without_sandbox_has_no_fetcher_child
fi

# passed NAME: criu ran on the same bundle as from the good mirror alone.
passed() {
	if [ -e "$w/criu-ran" ] && diff -r "$w/reference" "$w/criu-got" >/dev/null &&
		grep -q "signature verified" "$w/out" &&
		grep -q "index and boot bundle verified" "$w/out"; then
		ok "$1"
	else
		no "$1"
	fi
}

# A bad first mirror: a copy of the good image with one thing wrong.
bad_copy() { rm -rf "$w/srv/$1" && cp -r "$w/srv/good" "$w/srv/$1"; }

bad_copy html
{
	echo '<!DOCTYPE html><html><head><title>Network login</title></head>'
	echo '<body><p>This network requires you to log in before you can'
	echo 'reach the Internet.  Please open a browser and accept the terms'
	echo 'of use to continue.</p></body></html>'
} >"$w/srv/html/manifest"
restore html "$H/html" "$H/good"
passed html_page_for_the_manifest

bad_copy oversized
for f in "$w"/srv/oversized/obj/*; do echo "trailing bytes" >>"$f"; done
restore oversized "$H/oversized" "$H/good"
passed objects_larger_than_signed


# flip FILE: one bit of its byte 40 changed, the size kept.
flip() {
	local b
	b=$(od -An -tu1 -j40 -N1 "$1" | tr -d ' ')
	printf "\\$(printf %o $((b ^ 1)))" |
		dd of="$1" bs=1 seek=40 conv=notrunc 2>/dev/null
}
bad_copy tampered
for f in "$w"/srv/tampered/obj/*; do flip "$f"; done
restore tampered "$H/tampered" "$H/good"
passed tampered_index_and_bundle

bad_copy wrongkey
cp "$w/srv/otherkey/manifest" "$w/srv/wrongkey/manifest"
restore wrongkey "$H/wrongkey" "$H/good"
passed manifest_signed_by_another_key

# good (version 2) was accepted by now: version 1 on the first mirror is
# a rollback, that mirror's failure.
restore rollback "$H/v1" "$H/good"
passed older_manifest_on_the_first_mirror

restore err500 "$H/err500" "$H/good"
passed http_500

restore tftp_error "tftp://$TFTP_IP/missing" "$H/good"
passed tftp_error

# The bad mirror is demoted for the rest of the restore: after the
# manifest, nothing more is asked of it.
: >"$w/ngx/access.log"
restore demoted "$H/html" "$H/good"
if [ -e "$w/criu-ran" ] && [ "$(grep -c 'GET /html/' "$w/ngx/access.log")" -eq 1 ]; then
	ok bad_mirror_demoted_for_the_rest
else
	grep 'GET' "$w/ngx/access.log" >>"$w/out"
	no bad_mirror_demoted_for_the_rest
fi

# Every mirror bad for the manifest: one line naming each and its error.
restore allbad "$H/html" "$H/wrongkey" "$H/err500"
rc=$?
if [ $rc -eq 1 ] && [ ! -e "$w/criu-ran" ] &&
	grep -q "manifest: every mirror failed: $H/html: manifest: .*bad magic.*; $H/wrongkey: manifest: .*signature.*; $H/err500: .*HTTP 500" "$w/out"; then
	ok every_mirror_bad_names_each
else
	echo "# exit status $rc"
	no every_mirror_bad_names_each
fi

# Every mirror bad for the index (after a good manifest): each named.
restore allbad_index "$H/tampered" "$H/oversized"
rc=$?
if [ $rc -eq 1 ] && [ ! -e "$w/criu-ran" ] &&
	grep -q "obj/[0-9a-f]*: every mirror failed: $H/tampered: .*hash mismatch.*; $H/oversized: .*more than" "$w/out"; then
	ok every_mirror_bad_for_an_object_names_each
else
	echo "# exit status $rc"
	no every_mirror_bad_for_an_object_names_each
fi

# Transport errors on every mirror (a TFTP ERROR, HTTP 500): each named.
restore alltransport "tftp://$TFTP_IP/missing" "$H/err500"
rc=$?
if [ $rc -eq 1 ] && [ ! -e "$w/criu-ran" ] &&
	grep -q "manifest: every mirror failed: tftp://$TFTP_IP/missing: server error 1 .*; $H/err500: server error (HTTP 500)" "$w/out"; then
	ok transport_errors_on_every_mirror_name_each
else
	echo "# exit status $rc"
	no transport_errors_on_every_mirror_name_each
fi

# lazyboot fetch: a first mirror serving more than --size is passed over.
good_manifest=$(stat -c %s "$w/srv/good/manifest")
head -c $((good_manifest + 5000)) /dev/urandom >"$w/srv/html/big"
cp "$w/srv/good/manifest" "$w/srv/good/big"
expect fetch_fails_over_from_too_large 0 "1 failovers" \
	"$LZB" fetch -q --size "$good_manifest" "$H/html/big" "$H/good/big" \
	-o "$w/fetched"
