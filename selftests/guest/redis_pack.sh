#!/bin/bash
# VM selftest (TAP): redis-server with a dataset, dumped with criu, packed
# (signed, encrypted), verified, unpacked and restored with criu from the
# unpacked directory; the restored redis must answer PING and report the
# same DEBUG DIGEST as before the dump.
set -u
BUILD=${BUILD:-build}
lazyboot=$PWD/$BUILD/lazyboot
keys=${LZB_REDIS_KEYS:-100000}
n=0
failed=0
tmp=$(mktemp -d /tmp/lzb-redis-XXXXXX)
port=6399

ok() {
	n=$((n + 1))
	echo "ok $n redis.$1${2:+ # $2}"
}

not_ok() {
	n=$((n + 1))
	echo "not ok $n redis.$1"
	failed=1
}

step() {
	local name=$1 log=$tmp/$1.log
	shift
	if "$@" >"$log" 2>&1; then
		ok "$name"
	else
		echo "# $name failed: $*"
		tail -n 25 "$log" | sed 's/^/#   /'
		not_ok "$name"
	fi
}

finish() {
	redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
	rm -rf "$tmp"
	exit "$failed"
}

echo "TAP version 13"
echo "1..8"
if ! command -v redis-server >/dev/null || ! command -v criu >/dev/null; then
	for t in dump pack verify unpack identical restore ping digest; do
		ok "$t" "SKIP redis-server or criu not installed"
	done
	exit 0
fi

step dump bench/make-redis-dump "$tmp/dump" "$keys" 200
"$lazyboot" keygen --out "$tmp/k" >/dev/null
"$lazyboot" keygen --encrypt --out "$tmp/e.key" >/dev/null
step pack "$lazyboot" pack --criu-dir "$tmp/dump" --out "$tmp/img" \
	--key "$tmp/k.key" --encrypt-key "$tmp/e.key" --no-sync
sed 's/^/# /' "$tmp/pack.log"
step verify "$lazyboot" verify "$tmp/img" --pubkey "$tmp/k.pub" \
	--encrypt-key "$tmp/e.key"
step unpack "$lazyboot" unpack "$tmp/img" --out "$tmp/unpacked" \
	--pubkey "$tmp/k.pub" --encrypt-key "$tmp/e.key"
identical() {
	local f
	for f in "$tmp"/dump/*; do
		case $f in *.log) continue ;; esac
		cmp "$f" "$tmp/unpacked/$(basename "$f")" || return 1
	done
}
step identical identical
step restore criu restore -D "$tmp/unpacked" -d -o restore.log -v4 \
	--tcp-established
[ -f "$tmp/unpacked/restore.log" ] && grep -E 'Error' "$tmp/unpacked/restore.log" |
	head -n 5 | sed 's/^/#   /'
step ping sh -c "redis-cli -p $port ping | grep -q PONG"
want=$(cat "$tmp/dump.digest")
got=$(redis-cli -p "$port" DEBUG DIGEST 2>&1)
if [ -n "$want" ] && [ "$want" = "$got" ]; then
	ok digest
else
	echo "# digest before dump '$want', after restore '$got'"
	not_ok digest
fi
finish
