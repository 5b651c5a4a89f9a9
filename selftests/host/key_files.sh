#!/bin/bash
# Host selftest (TAP): key files against another user of the node.
# `lazyboot keygen` run by root into a directory another user can write
# must not put the secret key into a file that user planted (at the name
# the old temporary file had, KEY.tmp.PID, or as a symlink at the key's
# own name); and lazyboot refuses a secret key others may read, a key
# others may write and (as root) a key another user owns, with a line
# naming the file and its mode.  The planting needs root (setpriv to
# another uid): without it those cases SKIP, saying so.
set -u
BUILD=${BUILD:-build}
LZB=$PWD/$BUILD/lazyboot
w=$(mktemp -d /tmp/lzb-key-files-XXXXXX)
n=0
trap 'rm -rf "$w"' EXIT

. "$(dirname "$0")/cli-tap.sh"
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
nobody=65534
as_nobody() { setpriv --reuid=$nobody --regid=$nobody --clear-groups -- "$@"; }
can_plant() { [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; }

echo "TAP version 13"
echo "1..8"

# A directory another user may write (not sticky: fs.protected_regular
# would not stand in the way), as a shared output directory might be.
chmod 0755 "$w"
mkdir "$w/shared"
chmod 0777 "$w/shared"

# --- keygen: a file planted at KEY.tmp.PID --------------------------------
# The shell that plants it execs keygen, so the PID is keygen's.
if can_plant; then
	bash -c 'as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
		as_nobody sh -c "umask 0; : >\"$1/k.key.tmp.$$\" && ln \"$1/k.key.tmp.$$\" \"$1/stolen\"" &&
		exec "$2" keygen --out "$1/k"' _ "$w/shared" "$LZB" >"$w/out" 2>&1
	rc=$?
	ls -ln "$w/shared" >>"$w/out"
	echo "stolen: $(cat "$w/shared/stolen" 2>&1)" >>"$w/out"
	if [ $rc -eq 0 ] && [ -s "$w/shared/k.key" ] && [ -e "$w/shared/stolen" ] &&
		! grep -q lazyboot-sign-secret "$w/shared/stolen" &&
		[ "$(stat -c '%u %a' "$w/shared/k.key")" = "0 600" ]; then
		ok keygen_does_not_reuse_a_planted_temporary_file
	else
		no keygen_does_not_reuse_a_planted_temporary_file
	fi
	rm -f "$w/shared/"*

	# ... and a symlink planted there, to a file the other user owns
	as_nobody sh -c "umask 0; : >'$w/shared/mine'"
	bash -c 'setpriv --reuid=65534 --regid=65534 --clear-groups -- \
			ln -s "$1/mine" "$1/k.key.tmp.$$" &&
		exec "$2" keygen --out "$1/k"' _ "$w/shared" "$LZB" >"$w/out" 2>&1
	rc=$?
	echo "mine: $(cat "$w/shared/mine" 2>&1)" >>"$w/out"
	if [ $rc -eq 0 ] && [ -e "$w/shared/mine" ] && [ ! -s "$w/shared/mine" ] &&
		grep -q lazyboot-sign-secret "$w/shared/k.key"; then
		ok keygen_does_not_follow_a_planted_temporary_symlink
	else
		no keygen_does_not_follow_a_planted_temporary_symlink
	fi
	rm -f "$w/shared/"*

	# ... and a symlink planted at the key's own name
	as_nobody sh -c "umask 0; : >'$w/shared/mine' && ln -s '$w/shared/mine' '$w/shared/k.key'"
	"$LZB" keygen --out "$w/shared/k" >"$w/out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && [ -e "$w/shared/mine" ] && [ ! -s "$w/shared/mine" ] &&
		[ ! -L "$w/shared/k.key" ] &&
		[ "$(stat -c '%u %a' "$w/shared/k.key")" = "0 600" ]; then
		ok keygen_replaces_a_planted_symlink_at_the_key
	else
		no keygen_replaces_a_planted_symlink_at_the_key
	fi
	rm -f "$w/shared/"*
else
	for t in keygen_does_not_reuse_a_planted_temporary_file \
		keygen_does_not_follow_a_planted_temporary_symlink \
		keygen_replaces_a_planted_symlink_at_the_key; do
		skip "$t" "needs root and setpriv to plant files as uid $nobody"
	done
fi

# --- key files lazyboot is given: owner and mode -------------------------
umask 022
if ! { "$LZB" keygen --out "$w/sign" >/dev/null &&
	"$LZB" keygen --encrypt --out "$w/enc.key" >/dev/null &&
	selftests/host/make-synthetic-dump "$w/dump" --mib 1 >/dev/null 2>&1; }; then
	echo "Bail out! cannot make keys and a dump"
	exit 1
fi
expect good_keys_are_taken 0 "" \
	"$LZB" pack --criu-dir "$w/dump" --out "$w/img" --key "$w/sign.key" \
	--encrypt-key "$w/enc.key"

chmod 0644 "$w/sign.key"
expect secret_key_readable_by_others_refused 1 \
	"$w/sign.key: mode 0644: a secret key must be readable by its owner only" \
	"$LZB" pack --criu-dir "$w/dump" --out "$w/img2" --key "$w/sign.key"
chmod 0600 "$w/sign.key"

chmod 0640 "$w/enc.key"
expect encryption_key_readable_by_group_refused 1 \
	"$w/enc.key: mode 0640: a secret key must be readable by its owner only" \
	"$LZB" verify "$w/img" --pubkey "$w/sign.pub" --encrypt-key "$w/enc.key"
chmod 0600 "$w/enc.key"

chmod 0664 "$w/sign.pub"
expect public_key_writable_by_group_refused 1 \
	"$w/sign.pub: mode 0664: a key must be writable by its owner only" \
	"$LZB" verify "$w/img" --pubkey "$w/sign.pub" --encrypt-key "$w/enc.key"
chmod 0644 "$w/sign.pub"

if [ "$(id -u)" = 0 ]; then
	chown $nobody "$w/sign.pub"
	expect public_key_of_another_user_refused_for_root 1 \
		"$w/sign.pub: owned by uid $nobody: a key file must be owned by root" \
		"$LZB" verify "$w/img" --pubkey "$w/sign.pub" --encrypt-key "$w/enc.key"
	chown 0 "$w/sign.pub"
else
	skip public_key_of_another_user_refused_for_root "needs root to chown"
fi
