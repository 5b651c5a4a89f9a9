#!/bin/bash
# VM selftest (TAP): the module installs through DKMS against the running
# Debian kernel's headers and then loads with modprobe.  Runs in the guest,
# whose root is a throw-away overlay, so /usr/src and /lib/modules may be
# written.
set -u
BUILD=${BUILD:-build}
kver=$(uname -r)
version=$(sed -n 's/^VERSION := //p' Makefile)
n=0
failed=0

step() {
	local name=$1 log
	shift
	n=$((n + 1))
	log=${LZB_RESULTS:-/tmp}/dkms-$name.log
	if "$@" >"$log" 2>&1; then
		echo "ok $n dkms.$name"
	else
		echo "# $name failed: $*"
		sed 's/^/#   /' "$log" | tail -n 25
		[ -f "/var/lib/dkms/lazyboot/$version/build/make.log" ] &&
			sed 's/^/#   make.log: /' "/var/lib/dkms/lazyboot/$version/build/make.log" | tail -n 25
		echo "not ok $n dkms.$name"
		failed=1
	fi
}

installed_from_dkms() {
	local file
	file=$(modinfo -n lazyboot) || return 1
	echo "modinfo: $file"
	case "$file" in */updates/dkms/lazyboot.ko*) return 0 ;; esac
	return 1
}

echo "TAP version 13"
echo "1..8"
# Tests that run after this one expect the freshly built module, as loaded by
# run-suite: put it back at the end.
was_loaded=0
[ -d /sys/module/lazyboot ] && was_loaded=1
rmmod lazyboot 2>/dev/null
step headers_present test -d "/lib/modules/$kver/build"
step add bash -c "make -s dkms-tree && dkms add -m lazyboot -v $version"
step build dkms build -m lazyboot -v "$version" -k "$kver"
step install dkms install -m lazyboot -v "$version" -k "$kver"
step modinfo_points_at_dkms installed_from_dkms
step modprobe_and_query bash -c "modprobe lazyboot && $BUILD/lazyboot version"
step unload_and_remove bash -c "modprobe -r lazyboot && dkms remove -m lazyboot -v $version --all"
step module_gone bash -c "! ls /lib/modules/$kver/updates/dkms/lazyboot.ko* 2>/dev/null && ! dkms status lazyboot | grep -q ."
if [ $was_loaded = 1 ] && [ -n "${LAZYBOOT_KO:-}" ]; then
	modprobe -r lazyboot 2>/dev/null
	insmod "$LAZYBOOT_KO" || echo "# could not load $LAZYBOOT_KO again"
fi
exit $failed
