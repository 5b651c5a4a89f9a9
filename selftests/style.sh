#!/bin/bash
# Host selftest (TAP): the module is checkpatch-clean (strict), builds with
# W=1 without a warning, and the uapi header matches the YAML spec.
set -u
BUILD=${BUILD:-build}
KDIR=${KDIR:-$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1)}
[ -d "$KDIR" ] || { echo "style.sh: no kernel build tree; set KDIR" >&2; exit 2; }
checkpatch=$BUILD/linux-source/scripts/checkpatch.pl
n=0

result() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; fi
}

echo "TAP version 13"
echo "1..5"

out=$("$checkpatch" --no-tree --strict --terse --show-types -f \
	module/*.c module/*.h uapi/linux/*.h 2>&1)
echo "$out" | grep -E "ERROR|WARNING|CHECK" | sed 's/^/# /'
! echo "$out" | grep -qE "ERROR|WARNING|CHECK"
result $? style.checkpatch_strict

# Build a scratch copy (so every file is compiled again) with W=1 against
# the kernel tree $2; any warning fails.  $3...: extra make arguments.
build_w1() {
	local name=$1 kdir=$2 scratch status
	shift 2
	scratch=$(mktemp -d)
	cp -r Kbuild module uapi "$scratch/"
	make -C "$kdir" M="$scratch" W=1 "$@" modules >"$scratch/build.log" 2>&1
	status=$?
	echo "# $name: $kdir"
	grep -iE "warning|error" "$scratch/build.log" | sed 's/^/# /'
	! grep -qiE "warning|error" "$scratch/build.log" && [ $status -eq 0 ] &&
		[ -f "$scratch/lazyboot.ko" ]
	result $? "style.module_builds_w1_without_warnings.$name"
	rm -rf "$scratch"
}

build_w1 "$(basename "$KDIR" | sed 's/^linux-headers-//')" "$KDIR"

# The oldest and newest supported series (scripts/kernel-trees unpacks
# Debian's trees; install-deps runs it).  Debian built 5.10 with gcc-10,
# which Debian 12 lacks: its gcc-12 stands in.
trees=$(scripts/kernel-trees 2>&1)
for series in 5.10 6.12; do
	tree=$(echo "$trees" | awk -v s="$series" '$1 == s { print $2 }')
	if [ -z "$tree" ]; then
		echo "$trees" | sed 's/^/# /'
		result 1 "style.module_builds_w1_without_warnings.$series"
		continue
	fi
	build_w1 "$series" "$tree" CC=gcc
done

selftests/uapi-spec-check uapi/lazyboot.yaml uapi/linux/lazyboot.h | sed 's/^/# /'
result "${PIPESTATUS[0]}" style.uapi_header_matches_spec
