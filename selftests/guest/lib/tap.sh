# Shell helpers every guest TAP test shares (sourced, not run).  The
# sourcing script sets TAP_NAME (the test's prefix) before calling ok.
#
#   ok STATUS NAME      one TAP line; STATUS 0 passes, anything else fails
#                       (and sets failed=1)
#   diag                stdin as TAP comments
#   wait_file PATH S    0 once PATH exists, 1 after S seconds
#   wait_line FILE RE S 0 once a line of FILE matches RE, 1 after S seconds
#   criu_modules        what criu dump/restore need loaded in the guest
# and wait_for, wait_gone and their conditions from selftests/lib/wait.sh.
n=0
failed=0
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/wait.sh"

ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n $TAP_NAME.$2"
	else
		echo "not ok $n $TAP_NAME.$2"
		failed=1
	fi
}

diag() { sed 's/^/# /'; }

# Deadlines by the clock: a poll loop's iterations take far longer than
# its sleep when the emulated guest is busy.
wait_file() {
	local end=$((SECONDS + $2))
	while [ "$SECONDS" -lt "$end" ]; do
		[ -e "$1" ] && return 0
		sleep 0.2
	done
	[ -e "$1" ]
}

wait_line() {
	local end=$((SECONDS + $3))
	while [ "$SECONDS" -lt "$end" ]; do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	grep -qE "$2" "$1" 2>/dev/null
}

criu_modules() {
	ip link set lo up
	modprobe -a nf_tables nft_ct unix_diag inet_diag tcp_diag netlink_diag \
		af_packet_diag 2>/dev/null
}

