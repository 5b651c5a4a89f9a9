#!/bin/bash
# Host selftest (TAP): `lazyboot restore` and `lazybootd restore` option
# checks (exit status 2 and a line naming the option and its range), and
# that the options a successor needs reach the pager record before the
# image is fetched (`--resume` reads them back), and that no file of an
# image can replace that record (the bundle is unpacked into
# WORKDIR/images).  Restores themselves need CRIU: the VM tests cover them.  With a stand-in criu that fails or hangs:
# the workdir and its sockets are private whatever the umask, a workdir
# others may write is refused, a reader that goes away (`| head -1`) and a
# SIGHUP each end the restore with a final status and no process left.
set -u
BUILD=${BUILD:-build}
LZB=$PWD/$BUILD/lazyboot
LZBD=$PWD/$BUILD/lazybootd
w=$(mktemp -d /tmp/lzb-restore-cli-XXXXXX)
n=0
trap 'rm -rf "$w"' EXIT

. "$(dirname "$0")/cli-tap.sh"
. "$(dirname "$0")/../lib/wait.sh"

echo "TAP version 13"
echo "1..15"
expect tftp_blksize_below_8 2 "--tftp-blksize takes 8\.\.65464, not '7'" \
	"$LZB" restore --tftp-blksize 7 --allow-unsigned file:///x
expect tftp_blksize_above_65464 2 "--tftp-blksize takes .*65464, not '65465'" \
	"$LZB" restore --tftp-blksize 65465 --allow-unsigned file:///x
expect tftp_blksize_not_a_number 2 "--tftp-blksize takes .*not '1k'" \
	"$LZB" restore --tftp-blksize 1k --allow-unsigned file:///x
expect max_background_zero 2 "--max-background takes 1\.\.256, not '0'" \
	"$LZB" restore --max-background 0 --allow-unsigned file:///x
expect daemon_checks_the_same 2 "--tftp-blksize takes 8\.\.65464, not '3'" \
	"$LZBD" restore --tftp-blksize 3 --allow-unsigned file:///x
expect no_url 2 "no image URL given" "$LZB" restore --allow-unsigned

# An image that is not there: the restore fails (1) after writing its record.
"$LZB" restore "file://$w/none/img" --allow-unsigned --workdir "$w/work" \
	--tftp-blksize 65464 --max-background 7 >"$w/out" 2>&1
rc=$?
cat "$w/work/pager.record" >>"$w/out" 2>&1
if [ $rc -eq 1 ] && grep -q "manifest: No such file" "$w/out" &&
	grep -qx "tftp-blksize 65464" "$w/work/pager.record" &&
	grep -qx "max-background 7" "$w/work/pager.record"; then
	ok record_keeps_the_options
else
	no record_keeps_the_options
fi

# bytes_fetched counts every image byte fetched, metadata too: a restore
# whose criu fails at once has fetched the manifest, index and bundle.
cat >"$w/fake-criu" <<'EOF2'
#!/bin/sh
echo "fake criu: refusing" >&2
exit 1
EOF2
chmod +x "$w/fake-criu"
if selftests/host/make-synthetic-dump "$w/dump" --mib 1 >"$w/out" 2>&1 &&
	"$LZB" pack --criu-dir "$w/dump" --out "$w/img" >>"$w/out" 2>&1 &&
	"$LZB" inspect "$w/img" >"$w/inspect" 2>&1; then
	meta=$(sed -n 's/.*boot bundle \([0-9]*\) bytes, index \([0-9]*\) bytes, manifest \([0-9]*\) bytes/\1 \2 \3/p' "$w/inspect")
	# shellcheck disable=SC2086 # three numbers
	want=$(( $(echo $meta | tr ' ' '+') ))
	"$LZB" restore "file://$w/img" --allow-unsigned --criu "$w/fake-criu" \
		--workdir "$w/work2" >"$w/out" 2>&1
	got=$(sed -n 's/^bytes_fetched=//p' "$w/work2/status")
	echo "# metadata $meta = $want bytes, status bytes_fetched=$got"
	if [ -n "$meta" ] && [ "$want" -gt 0 ] && [ "$got" = "$want" ]; then
		ok bytes_fetched_counts_metadata
	else
		no bytes_fetched_counts_metadata
	fi
else
	no bytes_fetched_counts_metadata
fi

# When criu itself gives up, the restore names CRIU's own reason (its
# first "Error (" line, or the plugin's refusal), not the lazy-pages
# socket closing that followed, and never a root pid of 0.  The fake criu
# logs as CRIU 3.17 did for a file that grew since the dump, hangs up on
# the lazy-pages socket, and exits 1 (selftests/host/fake-criu-gives-up).
gives_up=$PWD/selftests/host/fake-criu-gives-up
"$LZB" restore "file://$w/img" --allow-unsigned --criu "$gives_up" \
	--workdir "$w/work3" >"$w/out" 2>&1
rc=$?
sed 's/^/# /' "$w/out"
if [ $rc -eq 1 ] &&
	grep -q "criu restore failed: Error (criu/files-reg.c:2126): File var/log/redis.log has bad size 1196 (expect 1064)" "$w/out" &&
	! grep -q "lazy-pages socket" "$w/out" && ! grep -q "pid 0\b" "$w/out"; then
	ok criu_failure_names_criu_reason
else
	no criu_failure_names_criu_reason
fi

# A criu that cannot be run at all is named as such, not by a wait status.
"$LZB" restore "file://$w/img" --allow-unsigned --criu "$w/no-such-criu" \
	--workdir "$w/work4" >"$w/out" 2>&1
rc=$?
sed 's/^/# /' "$w/out" | tail -n 2
if [ $rc -eq 1 ] && grep -q "criu restore failed: cannot run criu ($w/no-such-criu): No such file or directory" "$w/out"; then
	ok criu_not_found_is_named
else
	no criu_not_found_is_named
fi

# The holder of workdir $1 (from its log), and the status's state=.
holder_of() { sed -n 's/^lazyboot holder \([0-9]*\):.*/\1/p' "$1/holder.log" | head -1; }
state_of() { sed -n 's/^state=//p' "$1/status"; }

# Under umask 000 the workdir is made 0700 and every socket in it 0600.
(umask 000 && "$LZB" restore "file://$w/img" --allow-unsigned \
	--criu "$w/fake-criu" --workdir "$w/umask/work" >"$w/out" 2>&1)
modes=$(cd "$w/umask/work" 2>/dev/null && stat -c '%n %a' . ./*.socket)
echo "$modes" | sed 's/^/# /'
if [ "$(echo "$modes" | head -1)" = ". 700" ] &&
	echo "$modes" | grep -q "holder.socket 600" &&
	echo "$modes" | grep -q "lazy-pages.socket 600" &&
	! echo "$modes" | sed 1d | grep -qv " 600$"; then
	ok private_under_umask_000
else
	no private_under_umask_000
fi

# A workdir anyone may write (another user could have put a socket, the
# record or a bundle file there) is refused before anything is fetched.
mkdir -m 777 "$w/open"
expect world_writable_workdir_refused 1 \
	"$w/open: owned by uid 0 with mode 0777: .*writable by no one else" \
	"$LZB" restore "file://$w/img" --allow-unsigned --criu "$w/fake-criu" \
	--workdir "$w/open"

# `lazyboot restore | head -1`: the reader is gone after one line; the
# restore must go on as if it were there (here: criu fails), leave a final
# status, and let its holder go (not leave it to a 30 s deadline).
"$LZB" restore "file://$w/img" --allow-unsigned --criu "$w/fake-criu" \
	--workdir "$w/pipe" 2>"$w/out" | head -1 >/dev/null
st=$(state_of "$w/pipe")
holder=$(holder_of "$w/pipe")
echo "# status state=$st, holder pid ${holder:-none}"
if [ "$st" = failed ] && grep -q "^failure=criu restore failed" "$w/pipe/status" &&
	[ -n "$holder" ] && wait_gone 60 "$holder"; then
	ok reader_gone_restore_ends_cleanly
else
	no reader_gone_restore_ends_cleanly
fi

# SIGHUP while criu runs: handled as SIGTERM is (criu and what it started
# killed, status failed naming the signal, holder let go).
cat >"$w/hang-criu" <<EOF2
#!/bin/sh
echo \$\$ >"$w/hang-criu.pid"
exec sleep 1000
EOF2
chmod +x "$w/hang-criu"
rm -f "$w/hang-criu.pid"
"$LZB" restore "file://$w/img" --allow-unsigned --criu "$w/hang-criu" \
	--workdir "$w/hup" >"$w/out" 2>&1 &
pager=$!
if wait_for 60 test -s "$w/hang-criu.pid"; then
	criu=$(cat "$w/hang-criu.pid")
	holder=$(holder_of "$w/hup")
	kill -HUP "$pager"
	wait "$pager"
	rc=$?
	st=$(state_of "$w/hup")
	echo "# pager exit $rc, state=$st, criu $criu, holder ${holder:-none}"
	if [ "$rc" -eq 1 ] && [ "$st" = failed ] &&
		grep -q "^failure=stopped by signal 1" "$w/hup/status" &&
		wait_gone 60 "$criu" && [ -n "$holder" ] && wait_gone 60 "$holder"; then
		ok sighup_ends_restore_cleanly
	else
		no sighup_ends_restore_cleanly
	fi
	kill -9 "$criu" 2>/dev/null
else
	kill -9 "$pager" 2>/dev/null
	no sighup_ends_restore_cleanly
fi

# A bundle file named like a control file of the workdir lands in
# WORKDIR/images, and the pager record --resume trusts stays the pager's.
if selftests/host/make-synthetic-dump "$w/dump5" --mib 1 >"$w/out" 2>&1 &&
	echo "mirror file:///attacker/img" >"$w/dump5/pager.record" &&
	"$LZB" pack --criu-dir "$w/dump5" --out "$w/img5" >>"$w/out" 2>&1; then
	"$LZB" restore "file://$w/img5" --allow-unsigned --criu "$w/fake-criu" \
		--workdir "$w/work5" >>"$w/out" 2>&1
	{ echo "workdir/pager.record:"; cat "$w/work5/pager.record"; } >>"$w/out" 2>&1
	if head -n 1 "$w/work5/pager.record" | grep -qx "lazyboot-pager-record 1" &&
		grep -qx "mirror file://$w/img5" "$w/work5/pager.record" &&
		! grep -q attacker "$w/work5/pager.record" &&
		grep -q attacker "$w/work5/images/pager.record"; then
		ok bundle_file_cannot_replace_the_record
	else
		no bundle_file_cannot_replace_the_record
	fi
else
	no bundle_file_cannot_replace_the_record
fi
