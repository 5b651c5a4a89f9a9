#!/bin/bash
# Host selftest (TAP): `lazyboot report`.  A real restore (a stand-in
# criu that gives up, the pager run natively) leaves WORKDIR/timeline
# with its milestones in the order they came; a written timeline with
# tasks, samples, lazyboot.ko's stalls, a resumed pager and a last line
# cut short gives a well-formed SVG with every milestone in time order
# and a task lane each, and a PNG (rsvg-convert) that is not blank.
# Refused: no timeline, a bad line (named), an --out that is neither
# .svg nor .png, a .png without rsvg-convert (said so).
set -u
BUILD=${BUILD:-build}
LZB=$PWD/$BUILD/lazyboot
check="python3 $PWD/selftests/lib/report_check.py"
sample=$PWD/selftests/host/fixtures/timeline-sample
w=$(mktemp -d /tmp/lzb-report-cli-XXXXXX)
n=0
trap 'rm -rf "$w"' EXIT

. "$(dirname "$0")/cli-tap.sh"

echo "TAP version 13"
echo "1..9"

# --- a real restore's timeline ------------------------------------------
gives_up=$PWD/selftests/host/fake-criu-gives-up
if selftests/host/make-synthetic-dump "$w/dump" --mib 1 >"$w/out" 2>&1 &&
	"$LZB" pack --criu-dir "$w/dump" --out "$w/img" >>"$w/out" 2>&1; then
	"$LZB" restore "file://$w/img" --allow-unsigned --criu "$gives_up" \
		--workdir "$w/work" >>"$w/out" 2>&1
	cat "$w/work/timeline" >>"$w/out" 2>&1
	if "$LZB" report "$w/work" --out "$w/real.svg" >>"$w/out" 2>&1 &&
		$check svg "$w/real.svg" --tasks 0 manifest bundle criu-start \
			failed >>"$w/out" 2>&1; then
		ok real_restore_milestones_in_order
	else
		no real_restore_milestones_in_order
	fi
	# Any file of the workdir names it (the record, as the issue says).
	if "$LZB" report "$w/work/pager.record" --out "$w/rec.svg" >"$w/out" 2>&1 &&
		cmp -s "$w/real.svg" "$w/rec.svg"; then
		ok record_names_its_workdir
	else
		no record_names_its_workdir
	fi
else
	no real_restore_milestones_in_order
	no record_names_its_workdir
fi

# --- a written timeline: every part of the picture ----------------------
cp "$sample" "$w/timeline"
if "$LZB" report "$w/timeline" --out "$w/sample.svg" >"$w/out" 2>&1 &&
	xmllint --noout "$w/sample.svg" >>"$w/out" 2>&1 &&
	$check svg "$w/sample.svg" --tasks 4 manifest bundle criu-start \
		first-fault tasks-resumed ready resumed resident done \
		>>"$w/out" 2>&1 &&
	grep -q 'data-name="lazyboot.ko stalls"' "$w/sample.svg" &&
	grep -q 'resumed 1 times' "$w/sample.svg"; then
	ok sample_svg_well_formed_in_order
else
	no sample_svg_well_formed_in_order
fi

if command -v rsvg-convert >/dev/null; then
	if "$LZB" report "$w/timeline" --out "$w/sample.png" >"$w/out" 2>&1 &&
		$check png "$w/sample.png" 0.03 >>"$w/out" 2>&1; then
		ok png_not_blank
	else
		no png_not_blank
	fi
else
	echo "ok $((n += 1)) png_not_blank # SKIP rsvg-convert not installed (scripts/install-deps: librsvg2-bin)"
fi

mkdir "$w/empty-path"
expect png_without_converter 1 "rsvg-convert is not installed.*librsvg2-bin" \
	env PATH="$w/empty-path" "$LZB" report "$w/timeline" --out "$w/x.png"
[ ! -e "$w/x.png" ] || no png_without_converter_left_a_file

mkdir "$w/none"
expect no_timeline 1 "none: no timeline there" \
	"$LZB" report "$w/none" --out "$w/x.svg"
printf 'lazyboot-timeline 1\nstart 5\nm 1 manifest\nq 2 what\n' >"$w/bad"
expect bad_line_named 1 "bad:4: bad line: 'q 2 what'" \
	"$LZB" report "$w/bad" --out "$w/x.svg"
expect out_svg_or_png 2 "must end in .svg or .png" \
	"$LZB" report "$w/timeline" --out "$w/x.pdf"
expect no_out 2 "usage: lazyboot report" "$LZB" report "$w/timeline"
