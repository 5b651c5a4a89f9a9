#!/bin/bash
# Host selftest (TAP): which image a node takes (docs/security.md, "Images
# and the network").  A signed manifest must carry the expected image id
# (--image-id), be within its valid-until, and be no older than the
# version the node accepted before (LAZYBOOT_STATE_DIR, --state-dir) unless
# --allow-downgrade; --resume takes only the manifest on record; a manifest
# is refused on its signature before anything is allocated from it
# (bounded memory); verify stops at a bad signature.  A fake criu that
# notes it ran stands for CRIU: the image checks all come before it.
set -u
BUILD=${BUILD:-build}
LZB=$PWD/$BUILD/lazyboot
w=$(mktemp -d /tmp/lzb-image-trust-XXXXXX)
n=0
trap 'rm -rf "$w"' EXIT

. "$(dirname "$0")/cli-tap.sh"

export LAZYBOOT_STATE_DIR=$w/state

cat >"$w/fake-criu" <<EOF
#!/bin/sh
touch "$w/criu-ran"
echo "fake criu: refusing" >&2
exit 1
EOF
chmod +x "$w/fake-criu"

# restore NAME-OF-WORKDIR [OPTIONS...]: the image in $w/img, signed.
restore() {
	local wd=$1
	shift
	rm -f "$w/criu-ran"
	"$LZB" restore "file://$w/img" --pubkey "$w/sign.pub" \
		--criu "$w/fake-criu" --workdir "$w/$wd" "$@" >"$w/out" 2>&1
}

# accepted: the manifest passed (criu was started) and nothing else said no.
accepted() { [ -e "$w/criu-ran" ] && ! grep -q "older than\|expected\|expired" "$w/out"; }
refused() { [ ! -e "$w/criu-ran" ] && grep -Eq -- "$1" "$w/out"; }
state_version() { sed -n 's/^version //p' "$LAZYBOOT_STATE_DIR/accepted-$id"; }

echo "TAP version 13"
echo "1..19"

if ! selftests/host/make-synthetic-dump "$w/dump" --mib 1 >"$w/out" 2>&1 ||
	! "$LZB" keygen --out "$w/sign" >>"$w/out" 2>&1 ||
	! "$LZB" keygen --out "$w/other" >>"$w/out" 2>&1 ||
	! "$LZB" pack --criu-dir "$w/dump" --out "$w/img" --key "$w/sign.key" \
		--no-sync >>"$w/out" 2>&1; then
	echo "Bail out! cannot make the test image"
	sed 's/^/# /' "$w/out"
	exit 1
fi
id=$("$LZB" inspect "$w/img" | sed -n 's/^  id \([0-9a-f]*\),.*/\1/p')
cp "$w/img/manifest" "$w/manifest-v1"

# 1: version 1 is taken and recorded.
restore work1
if accepted && [ "$(state_version)" = 1 ] &&
	grep -q "image id $id version 1" "$w/out"; then
	ok first_version_accepted_and_recorded
else
	no first_version_accepted_and_recorded
fi

# 2: version 2, packed into the same directory, raises it.
"$LZB" pack --criu-dir "$w/dump" --out "$w/img" --key "$w/sign.key" \
	--no-sync >"$w/out" 2>&1
restore work2
if accepted && [ "$(state_version)" = 2 ]; then
	ok newer_version_raises_the_record
else
	no newer_version_raises_the_record
fi
cp "$w/img/manifest" "$w/manifest-v2"

# 3: the version-1 manifest put back (rollback) is refused, by name.
cp "$w/manifest-v1" "$w/img/manifest"
restore work3
if refused "manifest: image version 1 is older than version 2 already accepted for image id $id \(use --allow-downgrade\)" &&
	[ "$(state_version)" = 2 ]; then
	ok rollback_refused
else
	no rollback_refused
fi

# 4: --allow-downgrade takes it, and records the operator's choice.
restore work4 --allow-downgrade
if accepted && [ "$(state_version)" = 1 ]; then
	ok downgrade_allowed_explicitly
else
	no downgrade_allowed_explicitly
fi
cp "$w/manifest-v2" "$w/img/manifest"

# 5: --state-dir overrides the environment.
restore work5 --state-dir "$w/state2"
if accepted && grep -qx "version 2" "$w/state2/accepted-$id"; then
	ok state_dir_option
else
	no state_dir_option
fi

# 6, 7: the right image id passes, any other is refused.
restore work6 --image-id "$id"
if accepted; then ok expected_image_id_accepted; else no expected_image_id_accepted; fi
other=0123456789abcdef0123456789abcdef
restore work7 --image-id "$other"
if refused "manifest: image id $id is not the expected $other"; then
	ok other_image_id_refused
else
	no other_image_id_refused
fi
expect image_id_must_be_hex 2 "--image-id: image id 'xyz' is not 32 hex digits" \
	"$LZB" restore "file://$w/img" --pubkey "$w/sign.pub" --image-id xyz

# 9, 10: an expired image is refused by restore and by verify.
"$LZB" pack --criu-dir "$w/dump" --out "$w/img-old" --key "$w/sign.key" \
	--no-sync --valid-until 2001-02-03 >"$w/out" 2>&1
rm -f "$w/criu-ran"
"$LZB" restore "file://$w/img-old" --pubkey "$w/sign.pub" \
	--criu "$w/fake-criu" --workdir "$w/work9" >"$w/out" 2>&1
if refused "manifest: image version 1 of image id [0-9a-f]{32} expired at 2001-02-03T00:00:00Z"; then
	ok expired_image_refused
else
	no expired_image_refused
fi
expect verify_refuses_expired 1 "BAD .*expired at 2001-02-03T00:00:00Z" \
	"$LZB" verify "$w/img-old" --pubkey "$w/sign.pub"

# 11: an image valid for a day is taken; inspect shows the date.
"$LZB" pack --criu-dir "$w/dump" --out "$w/img-day" --key "$w/sign.key" \
	--no-sync --valid-for 1d >"$w/out" 2>&1
rm -f "$w/criu-ran"
"$LZB" restore "file://$w/img-day" --pubkey "$w/sign.pub" \
	--criu "$w/fake-criu" --workdir "$w/work11" >"$w/out" 2>&1
if accepted && "$LZB" inspect "$w/img-day" | grep -q "valid until 20"; then
	ok valid_for_a_day_accepted
else
	no valid_for_a_day_accepted
fi

# 12: --resume refuses a manifest published after the restore accepted
# its own (the record names it); without one it gets past the manifest.
rm -f "$w/criu-ran"
restore work12
if grep -Eq "^manifest [0-9a-f]{64}$" "$w/work12/pager.record"; then
	"$LZB" restore --resume "$w/work12" >"$w/out" 2>&1
	if grep -q "is not the manifest this restore accepted" "$w/out"; then
		no resume_same_manifest_passes
	else
		ok resume_same_manifest_passes
	fi
	"$LZB" pack --criu-dir "$w/dump" --out "$w/img" --key "$w/sign.key" \
		--no-sync >"$w/out" 2>&1
	"$LZB" restore --resume "$w/work12" >"$w/out" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -q "manifest: image version 3 (BLAKE2b [0-9a-f]*\.\.\.) is not the manifest this restore accepted (BLAKE2b [0-9a-f]*\.\.\., on record in $w/work12/pager.record); refusing to resume onto another" "$w/out"; then
		ok resume_with_republished_manifest_refused
	else
		no resume_with_republished_manifest_refused
	fi
else
	no resume_same_manifest_passes
	no resume_with_republished_manifest_refused
fi

# 14, 15: a state file that is not what the node wrote refuses the restore
# (it never forgets a version silently), and a symlink is not followed.
mkdir -p "$w/state3"
echo "garbage" >"$w/state3/accepted-$id"
restore work14 --state-dir "$w/state3"
if refused "state3/accepted-$id: not a lazyboot accepted-version file"; then
	ok corrupt_state_refused
else
	no corrupt_state_refused
fi
rm -f "$w/state3/accepted-$id"
printf 'lazyboot-accepted v1\nversion 1\n' >"$w/elsewhere"
ln -s "$w/elsewhere" "$w/state3/accepted-$id"
restore work15 --state-dir "$w/state3"
if refused "state3/accepted-$id: .*(symbolic links|Too many levels)" &&
	grep -qx "version 1" "$w/elsewhere"; then
	ok state_symlink_not_followed
else
	no state_symlink_not_followed
fi

# 16: verify with the wrong key stops at the signature: the objects,
# removed here, are not even looked at.
cp -r "$w/img" "$w/img-stripped"
rm -rf "$w/img-stripped/obj"
"$LZB" verify "$w/img-stripped" --pubkey "$w/other.pub" >"$w/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "BAD .*bad signature" "$w/out" &&
	! grep -q "obj/" "$w/out"; then
	ok verify_stops_at_bad_signature
else
	no verify_stops_at_bad_signature
fi

# 17-19: manifests signed by another key, at the object cap (2^20: 48 MiB)
# and far past it (2^22: 201 MB), are refused with the pager's memory
# bounded by one copy of the cap: nothing is allocated from them before
# the signature.  (Before: the table was copied before the check, twice
# the manifest in memory, 401 MB for the larger one.)
fake_manifest() { # DIR NR_OBJECTS: well-formed entries, signature zeros
	mkdir -p "$1"
	python3 - "$1/manifest" "$2" <<'EOF'
import struct, sys
path, n = sys.argv[1], int(sys.argv[2])
hdr = bytearray(128)
hdr[0:8] = b"LZBMANIF"
struct.pack_into("<HHI", hdr, 8, 1, 128, 2)          # version, size, signed
struct.pack_into("<IIII", hdr, 48, 4096, 65536, n, 3)
def entry(t):
    return struct.pack("<BB6xQ", t, 0, 1000) + bytes(range(32))
with open(path, "wb") as f:
    f.write(hdr + entry(1) + entry(2))
    block = entry(3) * 65536
    left = n - 2
    while left:
        k = min(left, 65536)
        f.write(block[:48 * k])
        left -= k
    f.write(bytes(64))
EOF
}
maxrss_kib() { # CMD...: the command's max RSS in KiB (wait4's rusage, via
	# python3's RUSAGE_CHILDREN), its output in $w/out
	python3 -c '
import resource, subprocess, sys
with open(sys.argv[1], "w") as out:
    subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
' "$w/out" "$@"
}
fake_manifest "$w/big20" $((1 << 20))
fake_manifest "$w/big22" $((1 << 22))
cap_kib=$(( (128 + 48 * (1 << 20) + 64) / 1024 ))
rm -f "$w/criu-ran"
rss=$(maxrss_kib "$LZB" restore "file://$w/big20" --pubkey "$w/sign.pub" \
	--criu "$w/fake-criu" --workdir "$w/work15")
echo "# manifest of 2^20 objects ($cap_kib KiB): max RSS $rss KiB"
if grep -q "manifest: bad signature" "$w/out" &&
	[ "$rss" -lt $((cap_kib + 32 * 1024)) ]; then
	ok manifest_at_cap_refused_with_bounded_memory
else
	no manifest_at_cap_refused_with_bounded_memory
fi
rm -f "$w/criu-ran"
rss=$(maxrss_kib "$LZB" restore "file://$w/big22" --pubkey "$w/sign.pub" \
	--criu "$w/fake-criu" --workdir "$w/work16")
echo "# manifest of 2^22 objects: max RSS $rss KiB"
if grep -q "manifest" "$w/out" && [ ! -e "$w/criu-ran" ] &&
	[ "$rss" -lt $((cap_kib + 32 * 1024)) ]; then
	ok oversized_manifest_refused_with_bounded_memory
else
	no oversized_manifest_refused_with_bounded_memory
fi
rm -f "$w/criu-ran"
rss=$(maxrss_kib "$LZB" verify "$w/big20" --pubkey "$w/sign.pub")
echo "# verify, manifest of 2^20 objects: max RSS $rss KiB"
if grep -q "BAD .*bad signature" "$w/out" &&
	[ "$rss" -lt $((cap_kib + 32 * 1024)) ]; then
	ok verify_bounded_memory_on_bad_signature
else
	no verify_bounded_memory_on_bad_signature
fi
