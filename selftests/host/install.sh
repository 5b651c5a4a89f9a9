#!/bin/bash
# Host selftest (TAP): `make install` into a DESTDIR puts every file where
# it belongs (default PREFIX=/usr and a custom one), the unit's ExecStart
# names the installed lazybootd, the man pages render without warnings and
# name every option the commands' --help lists, the config page names every
# key the unit uses, the VM tests install the unit from its template, and
# `make uninstall` leaves no file behind.  Then `make deb` builds both
# Debian packages with the expected contents, and lintian finds no error in
# them (about 70 s; LAZYBOOT_SKIP_DEB=1 skips that part,
# reported as a skip).
set -u
BUILD=${BUILD:-build}
w=$(mktemp -d /tmp/lzb-install-XXXXXX)
n=0
trap 'rm -rf "$w"' EXIT
. "$(dirname "$0")/cli-tap.sh"
# check NAME: ok or not ok by the status of the command run just before,
# whose output is in $w/out
check() { if [ "$1" -eq 0 ]; then ok "$2"; else no "$2"; fi; }
UNITDIR=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
UNITDIR=${UNITDIR:-/lib/systemd/system}
FILES="/usr/sbin/lazyboot /usr/sbin/lazybootd /usr/sbin/lazyboot-init
/usr/lib/criu/lazyboot_plugin.so $UNITDIR/lazybootd@.service
/usr/share/doc/lazyboot/examples/example.conf
/usr/share/man/man8/lazyboot.8 /usr/share/man/man8/lazybootd.8
/usr/share/man/man8/lazyboot-init.8 /usr/share/man/man5/lazybootd.conf.5
/usr/share/man/man5/lazyboot-image.5"
# has_all ROOT PATHS: every path is a regular file under ROOT (programs
# executable); names the missing ones in $w/out
has_all() {
	local root=$1 f bad=0
	shift
	: >"$w/out"
	for f in "$@"; do
		if [ ! -f "$root$f" ]; then
			echo "missing: $f" >>"$w/out"
			bad=1
		elif [[ $f == */sbin/* ]] && [ ! -x "$root$f" ]; then
			echo "not executable: $f" >>"$w/out"
			bad=1
		fi
	done
	return $bad
}

echo "TAP version 13"
echo "1..13"

# --- a custom prefix first (it rewrites the generated unit), then /usr ---
make -s install BUILD="$BUILD" DESTDIR="$w/opt" PREFIX=/opt/lzb \
	UNITDIR=/opt/lzb/units >"$w/out" 2>&1 &&
	has_all "$w/opt" /opt/lzb/sbin/lazyboot /opt/lzb/sbin/lazybootd \
		/opt/lzb/sbin/lazyboot-init /opt/lzb/lib/criu/lazyboot_plugin.so \
		/opt/lzb/units/lazybootd@.service /opt/lzb/share/man/man8/lazyboot.8 &&
	grep -Eq '^ExecStart=/opt/lzb/sbin/lazybootd run %i$' \
		"$w/opt/opt/lzb/units/lazybootd@.service" 2>>"$w/out"
check $? install.custom_prefix_and_execstart

make -s install BUILD="$BUILD" DESTDIR="$w/root" >"$w/out" 2>&1
check $? install.make_install_succeeds
# shellcheck disable=SC2086 # FILES is a list of paths without blanks
has_all "$w/root" $FILES
check $? install.every_file_lands
others=$(cd "$w/root" && find . ! -type d | sed 's/^\.//' | sort |
	grep -vxF -f <(echo "$FILES" | tr ' ' '\n'))
echo "unexpected: $others" >"$w/out"
[ -z "$others" ]
check $? install.nothing_else_installed

unit=$w/root$UNITDIR/lazybootd@.service
grep '^ExecStart=' "$unit" >"$w/out" 2>&1
grep -Eq '^ExecStart=/usr/sbin/lazybootd run %i$' "$w/out" && ! grep -q '@' "$w/out"
check $? install.unit_execstart_is_installed_lazybootd

"$w/root/usr/sbin/lazyboot" --version >"$w/out" 2>&1 &&
	grep -q "lazyboot $(sed -n 's/^VERSION := //p' Makefile)" "$w/out" &&
	"$w/root/usr/sbin/lazybootd" --version >>"$w/out" 2>&1
check $? install.installed_programs_run

# --- man pages: render without warnings; name what the programs have ---
: >"$w/out"
for page in "$w"/root/usr/share/man/man*/*; do
	MANWIDTH=80 man --warnings -l "$page" >"$w/rendered" 2>"$w/warn"
	rc=$?
	if [ $rc -ne 0 ] || [ -s "$w/warn" ] || [ "$(wc -l <"$w/rendered")" -lt 10 ]; then
		echo "${page##*/}: man exit $rc, $(wc -l <"$w/rendered") lines" >>"$w/out"
		cat "$w/warn" >>"$w/out"
	fi
done
[ ! -s "$w/out" ]
check $? install.man_pages_render_without_warnings

lzb=$w/root/usr/sbin/lazyboot
MANWIDTH=200 man -l "$w/root/usr/share/man/man8/lazyboot.8" 2>/dev/null |
	sed 's/‐//g' >"$w/lazyboot.txt"
: >"$w/out"
cmds=0 opts=0
for cmd in $("$lzb" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'); do
	cmds=$((cmds + 1))
	grep -Eq "^   $cmd\$" "$w/lazyboot.txt" || echo "no section for '$cmd'" >>"$w/out"
	for opt in $("$lzb" "$cmd" --help 2>&1 | grep -oE '^ +(-[a-zA-Z], )?--[a-z][a-z-]*' |
		grep -oE -- '--[a-z][a-z-]*'); do
		opts=$((opts + 1))
		grep -q -- "$opt" "$w/lazyboot.txt" || echo "$cmd: $opt not in lazyboot(8)" >>"$w/out"
	done
done
echo "# lazyboot(8): $cmds commands, $opts options of their --help looked up"
[ ! -s "$w/out" ] && [ $cmds -ge 12 ] && [ $opts -ge 50 ]
check $? install.lazyboot8_names_every_command_and_option

# Every key lazybootd's config parser knows (its table in
# daemon/service/config.c): in lazybootd.conf(5) and in the example
# config; and the installed unit reads the config through lazybootd.
MANWIDTH=200 man -l "$w/root/usr/share/man/man5/lazybootd.conf.5" 2>/dev/null >"$w/conf.txt"
: >"$w/out"
keys=0
for key in $(sed -n 's/^\t\[K_[A-Z_]*\] = "\([a-z-]*\)",$/\1/p' daemon/service/config.c); do
	keys=$((keys + 1))
	grep -Eq "^       $key = " "$w/conf.txt" || echo "$key not in lazybootd.conf(5)" >>"$w/out"
	grep -Eq "^#?$key = " "$w/root/usr/share/doc/lazyboot/examples/example.conf" ||
		echo "$key not in example.conf" >>"$w/out"
done
grep -q '^ExecStart=.*/lazybootd run %i$' "$unit" || echo "the unit does not run 'lazybootd run %i'" >>"$w/out"
grep -q '^EnvironmentFile=' "$unit" && echo "the unit still has EnvironmentFile=" >>"$w/out"
echo "# $keys config keys looked up"
[ ! -s "$w/out" ] && [ $keys -ge 15 ]
check $? install.conf5_and_example_name_every_config_key

# The VM tests install the unit from its template; one that still copies
# the old unit file (gone) or edits its old ExecStart would fail only in
# the VM.
grep -rnE 'daemon/systemd/lazybootd@\.service([^.]|$)|ExecStart=/usr/local/sbin' \
	selftests scripts --exclude=install.sh >"$w/out" 2>&1
[ $? -eq 1 ]
check $? install.tests_use_the_unit_template

make -s uninstall BUILD="$BUILD" DESTDIR="$w/root" >"$w/out" 2>&1
(cd "$w/root" && find . ! -type d) >>"$w/out"
[ -z "$(cd "$w/root" && find . ! -type d)" ] && [ ! -e "$w/root/usr/share/doc/lazyboot" ]
check $? install.uninstall_leaves_nothing

# --- the Debian packages -------------------------------------------------
deb_skip=""
[ "${LAZYBOOT_SKIP_DEB:-0}" = 1 ] && deb_skip="LAZYBOOT_SKIP_DEB=1 was set"
for tool in dpkg-buildpackage dh_dkms lintian scdoc; do
	[ -z "$deb_skip" ] && ! command -v "$tool" >/dev/null &&
		deb_skip="$tool is not installed (scripts/install-deps)"
done
if [ -n "$deb_skip" ]; then
	ok "install.deb_packages_contents # SKIP $deb_skip"
	ok "install.deb_lintian_no_errors # SKIP $deb_skip"
	exit 0
fi
v=$(sed -n 's/^VERSION := //p' Makefile)
make -s deb BUILD="$BUILD" >"$w/out" 2>&1
rc=$?
dpkg-deb -c "$BUILD/deb/lazyboot_${v}_amd64.deb" 2>&1 | awk '{ print $6 }' |
	sed 's/^\.//' >"$w/tools.list"
dpkg-deb -c "$BUILD/deb/lazyboot-dkms_${v}_all.deb" 2>&1 | awk '{ print $6 }' |
	sed 's/^\.//' >"$w/dkms.list"
{
	for f in $FILES; do
		case $f in
		*/man/*) f=$f.gz ;;
		esac
		grep -qxF "$f" "$w/tools.list" || echo "lazyboot: no $f"
	done
	for f in Kbuild dkms.conf module/main.c module/genl.c module/session.c \
		module/lazyboot.h uapi/linux/lazyboot.h; do
		grep -qxF "/usr/src/lazyboot-$v/$f" "$w/dkms.list" ||
			echo "lazyboot-dkms: no /usr/src/lazyboot-$v/$f"
	done
	# the sandboxed fetcher's own user, made by systemd-sysusers
	grep -qxF /usr/lib/sysusers.d/lazyboot.conf "$w/tools.list" ||
		echo "lazyboot: no /usr/lib/sysusers.d/lazyboot.conf"
	dpkg-deb -I "$BUILD/deb/lazyboot_${v}_amd64.deb" postinst 2>&1 |
		grep -q 'systemd-sysusers' || echo "lazyboot: postinst does not make the fetcher's user"
	dpkg-deb -I "$BUILD/deb/lazyboot-dkms_${v}_all.deb" postinst 2>&1 |
		grep -q 'common.postinst' || echo "lazyboot-dkms: postinst does not call DKMS"
	# What removal does (docs/packaging.md; run for real by make check-deb)
	dpkg-deb -I "$BUILD/deb/lazyboot-dkms_${v}_all.deb" postrm 2>&1 |
		grep -q 'lazyboot.ko stays loaded' ||
		echo "lazyboot-dkms: no postrm keeping a used lazyboot.ko loaded"
	dpkg-deb -I "$BUILD/deb/lazyboot_${v}_amd64.deb" postrm 2>&1 |
		grep -q 'wants/lazybootd@\*.service' ||
		echo "lazyboot: no postrm dropping lazybootd@ links on purge"
	dpkg-deb --fsys-tarfile "$BUILD/deb/lazyboot-dkms_${v}_all.deb" |
		tar -xOf - "./usr/src/lazyboot-$v/dkms.conf" 2>&1 |
		grep -q "^PACKAGE_VERSION=\"$v\"" || echo "lazyboot-dkms: dkms.conf has no version $v"
} >"$w/missing"
[ $rc -eq 0 ] && [ ! -s "$w/missing" ]
status=$?
cat "$w/missing" >>"$w/out"
check $status install.deb_packages_contents

lintian --fail-on error "$BUILD/deb/lazyboot_${v}_amd64.changes" >"$w/out" 2>&1
rc=$?
sed 's/^/# lintian: /' "$w/out" | grep -v 'root privileges'
[ $rc -eq 0 ] && ! grep -q '^E:' "$w/out"
check $? install.deb_lintian_no_errors
