# Sourced by guest tests (bash) that restore with each keeper in turn:
# lazyboot.ko, then the holder process.  Needs lib/tap.sh (diag, wait_for).
#
#   keeper_module_on        load lazyboot.ko ($LAZYBOOT_KO) unless loaded;
#                           remembers whether it was
#   keeper_module_off       unload it, waiting up to 10 s for its sessions to
#                           go; says so (and lists them) if it cannot
#   keeper_module_restore   load it again if it was loaded at the start
#   task_pids WORKDIR       the real pids of the tasks on WORKDIR's record
#                           (pager.record, or the one moved aside as
#                           unresumable)
#   all_dead PID...         0 when every PID is gone or a zombie

keeper_module_was_loaded=0

keeper_module_on() {
	[ -d /sys/module/lazyboot ] && keeper_module_was_loaded=1
	[ $keeper_module_was_loaded = 1 ] ||
		insmod "${LAZYBOOT_KO:-lazyboot.ko}" 2>&1 | diag
}

keeper_module_off() {
	wait_for 10 rmmod lazyboot >/dev/null && return 0
	echo "lazyboot.ko cannot be unloaded: the holder cases cannot run" | diag
	"$lazyboot" sessions 2>&1 | diag
	return 1
}

keeper_module_restore() {
	[ $keeper_module_was_loaded = 1 ] &&
		insmod "${LAZYBOOT_KO:-lazyboot.ko}" 2>&1 | diag
}

task_pids() {
	sed -n 's/^task [0-9-]* \([0-9]*\) .*/\1/p' "$1"/pager.record* 2>/dev/null
}

all_dead() {
	local p st
	for p in "$@"; do
		st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)
		[ -z "$st" ] || [ "$st" = Z ] || return 1
	done
	return 0
}
