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
echo "1..3"

out=$("$checkpatch" --no-tree --strict --terse --show-types -f \
	module/*.c module/*.h uapi/linux/*.h 2>&1)
echo "$out" | grep -E "ERROR|WARNING|CHECK" | sed 's/^/# /'
! echo "$out" | grep -qE "ERROR|WARNING|CHECK"
result $? style.checkpatch_strict

# A scratch copy, so that every file is compiled again with W=1.
scratch=$(mktemp -d)
cp -r Kbuild module uapi "$scratch/"
make -C "$KDIR" M="$scratch" W=1 modules >"$scratch/build.log" 2>&1
status=$?
grep -iE "warning|error" "$scratch/build.log" | sed 's/^/# /'
! grep -qiE "warning|error" "$scratch/build.log" && [ $status -eq 0 ] &&
	[ -f "$scratch/lazyboot.ko" ]
result $? style.module_builds_w1_without_warnings
rm -rf "$scratch"

selftests/uapi-spec-check uapi/lazyboot.yaml uapi/linux/lazyboot.h | sed 's/^/# /'
result "${PIPESTATUS[0]}" style.uapi_header_matches_spec
