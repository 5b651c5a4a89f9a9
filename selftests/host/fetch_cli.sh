#!/bin/bash
# Host selftest (TAP): `lazyboot fetch` end to end on file:// URLs — a whole
# object with the progress display, a range, mirror failover, exit status 1
# with one clear line (and no temporary file left) on failure, 2 on bad usage.
set -u
BUILD=${BUILD:-build}
LZB=$BUILD/lazyboot
dir=$(mktemp -d /tmp/lzb-cli-XXXXXX)
trap 'rm -rf "$dir"' EXIT
n=0 fails=0

result() {	# status name [diagnostic]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n fetch_cli.$2"
	else
		[ -n "${3:-}" ] && echo "$3" | sed 's/^/# /'
		echo "not ok $n fetch_cli.$2"
		fails=$((fails + 1))
	fi
}

echo "TAP version 13"
echo "1..7"
head -c 3000001 /dev/urandom > "$dir/obj"

out=$("$LZB" fetch --progress "file://$dir/obj" -o "$dir/a" 2>&1)
cmp -s "$dir/obj" "$dir/a" && echo "$out" | grep -q ' of 2.9 MiB' &&
	echo "$out" | grep -q '^fetched 3000001 bytes'
result $? whole_object_with_progress "$out"

out=$("$LZB" fetch -q --range 1000+5000 "file://$dir/obj" -o "$dir/r" 2>&1)
cmp -s <(tail -c +1001 "$dir/obj" | head -c 5000) "$dir/r"
result $? range "$out"

out=$("$LZB" fetch -q "file://$dir/missing" "file://$dir/obj" -o "$dir/m" 2>&1)
cmp -s "$dir/obj" "$dir/m" && echo "$out" | grep -q '1 failovers'
result $? mirror_failover "$out"

out=$("$LZB" fetch -q --size 5 "file://$dir/obj" -o "$dir/s" 2>&1)
st=$?
[ $st -eq 1 ] && [ ! -e "$dir/s" ] && [ -z "$(find "$dir" -name '.lzb-*')" ] &&
	[ "$(echo "$out" | wc -l)" -eq 1 ] && echo "$out" | grep -q "file://$dir/obj"
result $? failure_is_one_line_and_leaves_nothing "status $st: $out"

"$LZB" fetch "gopher://x/y" -o "$dir/g" >/dev/null 2>&1
[ $? -eq 2 ]
result $? unknown_scheme_is_usage_error

"$LZB" fetch "file://$dir/obj" >/dev/null 2>&1
[ $? -eq 2 ]
result $? missing_out_is_usage_error

out=$("$LZB" fetch --help)
[ $? -eq 0 ] && echo "$out" | grep -q -- '--windowsize' &&
	"$LZB" --help | grep -q '^  fetch'
result $? help
exit $((fails > 0))
