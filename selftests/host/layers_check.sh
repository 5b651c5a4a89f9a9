#!/bin/bash
# Host selftest (TAP): selftests/layers-check passes on this tree and, on
# scratch copies of it, fails naming FILE:LINE for an include that goes up a
# layer, one that goes sideways, one that does not name its layer, one of
# another layer's private header, a file outside every layer and a README
# that disagrees with the table.
set -u
n=0
w=$(mktemp -d /tmp/lzb-layers.XXXXXX)
trap 'rm -rf "$w"' EXIT
result() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n layers_check.$2"; else
		echo "not ok $n layers_check.$2"
		sed 's/^/#   /' "$w/out" | tail -n 15
	fi
}

# A fresh copy of what the check reads, in $w/tree.
scratch() {
	rm -rf "$w/tree"
	mkdir -p "$w/tree/docs"
	cp -r daemon criu-plugin "$w/tree/"
	cp docs/architecture.md "$w/tree/docs/"
}

# NAME FILE LINE-TO-APPEND TEST-THAT-MUST-FAIL: append LINE to FILE in a
# scratch copy; the check must fail that test and name FILE:its new line.
refused() {
	local name=$1 file=$2 line=$3 test=$4 no
	scratch
	no=$(($(wc -l <"$w/tree/$file") + 1))
	echo "$line" >>"$w/tree/$file"
	selftests/layers-check --root "$w/tree" >"$w/out" 2>&1
	[ $? -eq 1 ] && grep -q "^# $file:$no: " "$w/out" &&
		grep -Eq "^not ok [0-9]+ $test$" "$w/out"
	result $? "$name"
}

echo "TAP version 13"
echo "1..8"
selftests/layers-check >"$w/out" 2>&1
result $? this_tree_passes
refused upward_include_fails daemon/util/file_util.c \
	'#include "pager/restore.h"' layers.util_includes_go_down
refused sideways_include_fails daemon/fetch/fetch.c \
	'#include "engine/uffd_engine.h"' layers.fetch_includes_go_down
refused include_without_layer_fails daemon/cli/cmd_verify.c \
	'#include "image_reader.h"' layers.cli_includes_go_down
refused private_header_fails daemon/pager/image_source.c \
	'#include "fetch/fetch_internal.h"' layers.pager_includes_go_down
refused plugin_include_fails criu-plugin/lazyboot_plugin.c \
	'#include "pager/restore.h"' layers.criu-plugin_includes_allowed_layers

scratch
echo 'int stray;' >"$w/tree/daemon/stray.c"
selftests/layers-check --root "$w/tree" >"$w/out" 2>&1
[ $? -eq 1 ] && grep -q '^# daemon/stray.c: not in a layer folder' "$w/out"
result $? file_outside_layers_fails

scratch
sed -i 's/^May include: .*/May include: `pager\/`./' "$w/tree/daemon/engine/README.md"
selftests/layers-check --root "$w/tree" >"$w/out" 2>&1
[ $? -eq 1 ] && grep -q '^# daemon/engine/README.md: lacks the line' "$w/out"
result $? readme_disagreeing_with_table_fails
