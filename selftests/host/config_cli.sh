#!/bin/bash
# Host selftest (TAP): lazybootd's configuration file (lazybootd.conf(5),
# daemon/service/config.c).  A table of good files, each checked by the
# settings `lazybootd restore --config FILE --dry-run` prints, and of bad
# ones, each refused at start (exit 2) with exactly "FILE:LINE: reason".
set -u
BUILD=${BUILD:-build}
LZBD=$PWD/$BUILD/lazybootd
w=$(mktemp -d /tmp/lzb-config-cli-XXXXXX)
n=0
trap 'rm -rf "$w"' EXIT

. "$(dirname "$0")/cli-tap.sh"

# good NAME [LAZYBOOTD-ARGS...]: the config on stdin, the settings wanted
# in $w/want; the dry run must print exactly those.
good() {
	local name=$1
	shift
	cat >"$w/$name.conf"
	"$LZBD" restore --config "$w/$name.conf" --dry-run "$@" >"$w/got" 2>&1
	local rc=$?
	if [ $rc -eq 0 ] && diff -u "$w/want" "$w/got" >"$w/out"; then ok "good.$name"; else
		echo "# exit status $rc" >>"$w/out"
		cat "$w/got" >>"$w/out"
		no "good.$name"
	fi
}

# bad NAME MESSAGE: the config on stdin must be refused with exit status
# 2 and MESSAGE (FILE stands for the file's path) as the whole line.
bad() {
	local name=$1 want=${2//FILE/$w/$1.conf}
	cat >"$w/$name.conf"
	"$LZBD" restore --config "$w/$name.conf" >"$w/out" 2>&1
	local rc=$?
	if [ $rc -eq 2 ] && grep -Fxq -- "lazybootd: $want" "$w/out"; then ok "bad.$name"; else
		echo "# exit status $rc, wanted 2 and the line: lazybootd: $want"
		no "bad.$name"
	fi
}

echo "TAP version 13"
echo "1..35"

check() { if [ "$1" -eq 0 ]; then ok "$2"; else no "$2"; fi; }

# --- good files ---------------------------------------------------------
cat >"$w/want" <<'WANT'
mirrors = file:///srv/img http://m1.example.net/img tftp://10.0.0.1/img
pubkey = /etc/lazyboot/keys/app.pub
allow-unsigned = no
encrypt-key = /etc/lazyboot/keys/app.key
image-id = 00112233445566778899aabbccddeeff
ready = curl -fsS http://127.0.0.1:8080/healthz#not-a-comment
takeover-deadline = 120000ms
max-background = 8
tftp-blksize = 8192
fallback = fail
coldstart = /usr/bin/app --port 8080
log-level = warning
criu = /opt/criu/sbin/criu
plugin-dir = /opt/lazyboot/plugins
criu-options = --manage-cgroups=ignore --shell-job
fetch-sandbox = no
stream = no
stream-yield = hold
fetch-user = lzb-test-fetch
# workdir /run/lazyboot/restore
WANT
good every_key <<'CONF'
# every key, spaced every way
mirrors = file:///srv/img http://m1.example.net/img
mirrors=tftp://10.0.0.1/img
	pubkey	=	/etc/lazyboot/keys/app.pub   
encrypt-key = /etc/lazyboot/keys/app.key
image-id = 00112233445566778899AABBCCDDEEFF

ready = curl -fsS http://127.0.0.1:8080/healthz#not-a-comment
takeover-deadline = 2min
max-background = 8
tftp-blksize = 8192
fallback = fail
coldstart = /usr/bin/app --port 8080
log-level = warning
criu = /opt/criu/sbin/criu
plugin-dir = /opt/lazyboot/plugins
criu-options = --manage-cgroups=ignore   --shell-job
fetch-sandbox = no
stream = no
stream-yield = hold
fetch-user = lzb-test-fetch
CONF

cat >"$w/want" <<WANT
mirrors = http://images.example.net/app
allow-unsigned = yes
takeover-deadline = 30000ms
max-background = 4
tftp-blksize = 1468
fallback = fail
log-level = info
criu = criu
plugin-dir = $("$LZBD" restore file:///x --allow-unsigned --dry-run | sed -n 's/^plugin-dir = //p')
fetch-sandbox = yes
stream = yes
stream-yield = bound
# workdir /run/lazyboot/restore
WANT
good minimal_with_defaults <<'CONF'
mirrors = http://images.example.net/app
allow-unsigned = yes
CONF

# Durations: plain seconds, ms, s.
for d in "45 45000" "750ms 750" "3s 3000"; do
	set -- $d
	printf 'mirrors = file:///i\nallow-unsigned = yes\ntakeover-deadline = %s\n' "$1" >"$w/d.conf"
	expect "good.takeover_deadline_$1" 0 "^takeover-deadline = $2ms\$" \
		"$LZBD" restore --config "$w/d.conf" --dry-run
done

# The command line takes the place of the file's settings.
printf 'mirrors = file:///from/config\npubkey = /k.pub\nmax-background = 2\n' >"$w/o.conf"
"$LZBD" restore --config "$w/o.conf" --dry-run --max-background 9 \
	--workdir /run/lazyboot/o file:///from/args http://mirror/args -- --shell-job >"$w/out" 2>&1
grep -qx 'mirrors = file:///from/args http://mirror/args' "$w/out" &&
	grep -qx 'max-background = 9' "$w/out" && grep -qx 'pubkey = /k.pub' "$w/out" &&
	grep -qx 'criu-options = --shell-job' "$w/out" && grep -qx '# workdir /run/lazyboot/o' "$w/out"
check $? good.command_line_overrides

# The example config that is installed parses as it is.
expect good.example_conf 0 '^mirrors = http://images\.example\.net/lazyboot/app http://mirror' \
	"$LZBD" restore --config daemon/systemd/example.conf --dry-run
# The old command line form, without a config, still works.
expect good.without_config 0 '^mirrors = file:///x$' \
	"$LZBD" restore file:///x --allow-unsigned --dry-run

# --- bad files: FILE:LINE: reason -------------------------------------
bad unknown_key "FILE:7: unknown key 'mirorrs'" <<'CONF'
# /etc/lazyboot/redis.conf
pubkey = /etc/lazyboot/keys/redis.pub

ready = redis-cli ping
# the mirrors
criu-options = --manage-cgroups=ignore
mirorrs = http://images.example.net/redis
CONF
bad old_environment_file_key "FILE:1: unknown key 'URL' (the old EnvironmentFile= form: now mirrors; lazybootd.conf(5))" <<'CONF'
URL=http://images.example.net/redis
CONF
bad not_key_value "FILE:2: not 'key = value': 'pubkey /k.pub'" <<'CONF'
mirrors = file:///i
pubkey /k.pub
CONF
bad empty_value "FILE:2: pubkey needs a value" <<'CONF'
mirrors = file:///i
pubkey =
CONF
bad url_scheme "FILE:1: 'ftp://host/img' is not a file://, http://, https:// or tftp:// URL" <<'CONF'
mirrors = http://ok/img ftp://host/img
CONF
bad max_background_zero "FILE:3: max-background takes 1..256, not '0'" <<'CONF'
mirrors = file:///i
allow-unsigned = yes
max-background = 0
CONF
bad tftp_blksize_small "FILE:2: tftp-blksize takes 8..65464, not '7'" <<'CONF'
mirrors = file:///i
tftp-blksize = 7
CONF
bad deadline_unit "FILE:2: takeover-deadline takes a duration like 30s, 500ms or 2min (at most 24 h), not '10h'" <<'CONF'
mirrors = file:///i
takeover-deadline = 10h
CONF
bad image_id_short "FILE:2: image-id: image id '0011' is not 32 hex digits (lazyboot inspect shows an image's id)" <<'CONF'
mirrors = file:///i
image-id = 0011
CONF
# A coldstart command alone makes coldstart the fallback (lazybootd.conf(5)).
printf 'mirrors = file:///i\nallow-unsigned = yes\ncoldstart = /usr/bin/redis-server\n' >"$w/fb.conf"
"$LZBD" restore --config "$w/fb.conf" --dry-run >"$w/out" 2>&1
[ $? -eq 0 ] && grep -qx "fallback = coldstart" "$w/out" &&
	grep -qx "coldstart = /usr/bin/redis-server" "$w/out"
check $? fallback_coldstart_by_default
bad fallback_value "FILE:1: fallback takes coldstart or fail, not 'retry'" <<'CONF'
fallback = retry
CONF
# --fallback on the command line: the same words, and it wins over the file.
"$LZBD" restore --config "$w/fb.conf" --fallback fail --dry-run >"$w/out" 2>&1
[ $? -eq 0 ] && grep -qx "fallback = fail" "$w/out"
check $? fallback_option_over_file
"$LZBD" restore --config "$w/fb.conf" --fallback retry >"$w/out" 2>&1
[ $? -eq 2 ] && grep -Fxq "lazybootd restore: --fallback takes coldstart or fail, not 'retry'" "$w/out"
check $? fallback_option_value
bad stream_yield_value "FILE:1: stream-yield takes bound, hold or off, not 'yes'" <<'CONF'
stream-yield = yes
CONF
bad log_level "FILE:2: log-level takes error, warning or info, not 'debug'" <<'CONF'
mirrors = file:///i
log-level = debug
CONF
bad key_twice "FILE:4: pubkey given again (first on line 2)" <<'CONF'
mirrors = file:///i
pubkey = /a.pub
ready = true
pubkey = /b.pub
CONF
bad pubkey_and_unsigned "FILE:3: allow-unsigned contradicts pubkey on line 2" <<'CONF'
mirrors = file:///i
pubkey = /a.pub
allow-unsigned = yes
CONF
bad bool_value "FILE:1: allow-unsigned takes yes or no, not 'maybe'" <<'CONF'
allow-unsigned = maybe
CONF
bad criu_options_quoted "FILE:1: criu-options is split at whitespace, without quotes or escapes: '--log-file \"a b\"'" <<'CONF'
criu-options = --log-file "a b"
CONF
bad no_mirrors "FILE: no mirrors: the image's URL is required" <<'CONF'
pubkey = /a.pub
CONF
bad no_pubkey "FILE: no pubkey: name the signer's public key, or say allow-unsigned = yes" <<'CONF'
mirrors = file:///i
CONF
expect bad.missing_file 2 "^lazybootd: $w/none\.conf: No such file" \
	"$LZBD" restore --config "$w/none.conf"
expect bad.run_name 2 "lazybootd run: '\.\./etc' is not an instance name" \
	"$LZBD" run ../etc

# --- the settings reach the restore -----------------------------------
# A real image (synthetic dump) and a criu that refuses: image-id is
# checked against the manifest, and log-level drops the progress lines.
cat >"$w/fake-criu" <<'EOF2'
#!/bin/sh
echo "fake criu: refusing" >&2
exit 1
EOF2
chmod +x "$w/fake-criu"
selftests/host/make-synthetic-dump "$w/dump" --mib 1 >"$w/out" 2>&1 &&
	"$PWD/$BUILD/lazyboot" pack --criu-dir "$w/dump" --out "$w/img" >>"$w/out" 2>&1
id=$("$PWD/$BUILD/lazyboot" inspect "$w/img" 2>/dev/null | sed -n 's/^  id \([0-9a-f]*\),.*/\1/p')
echo "# image id ${id:-none}"
# run LEVEL ID: a restore of that config, its output in $w/out
run() {
	printf 'mirrors = file://%s\nallow-unsigned = yes\ncriu = %s\nlog-level = %s\nimage-id = %s\n' \
		"$w/img" "$w/fake-criu" "$1" "$2" >"$w/run.conf"
	"$LZBD" restore --config "$w/run.conf" --workdir "$w/work-$1" >"$w/out" 2>&1
}
run info 0123456789abcdef0123456789abcdef
rc=$?
[ $rc -eq 1 ] && grep -Fq "manifest: image id $id is not the expected 0123456789abcdef0123456789abcdef" "$w/out" &&
	! grep -q "criu restore" "$w/out"
check $? restore.image_id_mismatch_refused
run info "$id"
rc=$?
cp "$w/out" "$w/out-info"
[ $rc -eq 1 ] && grep -Eq "^\[ *[0-9.]+\] manifest: image id $id version 1" "$w/out" &&
	grep -q "criu" "$w/out" && ! grep -q "not the expected" "$w/out"
check $? restore.image_id_match_goes_on
run warning "$id"
rc=$?
[ $rc -eq 1 ] && ! grep -q '^\[' "$w/out" && grep -q '^lazyboot restore: ' "$w/out"
check $? restore.log_level_warning_drops_progress
run error "$id"
rc=$?
# Warnings (here: how the uffds are kept) show at info, not at error.
[ $rc -eq 1 ] && grep -q '^lazyboot: ' "$w/out-info" && ! grep -q '^lazyboot: ' "$w/out" &&
	grep -q '^lazyboot restore: ' "$w/out"
check $? restore.log_level_error_drops_warnings
