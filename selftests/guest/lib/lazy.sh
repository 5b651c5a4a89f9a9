# Shell helpers for the guest tests that restore lazily (sourced, not run):
# TAP lines, waiting for files and output lines, CRIU's kernel modules, and
# the servers an image is restored from.  The sourcing script sets TAP_NAME
# (the test's prefix) before calling ok.
#
#   ok STATUS NAME      one TAP line; STATUS 0 passes, anything else fails
#   diag                stdin as TAP comments
#   wait_file PATH S    0 once PATH exists, 1 after S seconds
#   wait_line FILE RE S 0 once a line of FILE matches RE, 1 after S seconds
#   criu_modules        what criu dump/restore need loaded in the guest
#   start_nginx DIR ADDR:PORT ROOT / stop_nginx DIR
#   start_atftpd ADDR ROOT / start_tftpd_hpa ADDR ROOT: set server_pid
#                       (tftpd-hpa listens on every address, port 69)
#   stop_server         kills server_pid
n=0
failed=0
server_pid=

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

start_nginx() {
	local dir=$1 listen=$2 root=$3
	cat > "$dir/nginx.conf" <<NGINX
daemon on;
user root;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
events { worker_connections 64; }
http {
	access_log off;
	server {
		listen $listen;
		root $root;
	}
}
NGINX
	nginx -c "$dir/nginx.conf" 2>&1 | diag
}

stop_nginx() {
	nginx -c "$1/nginx.conf" -s stop 2>/dev/null
}

start_atftpd() {
	atftpd --daemon --no-fork --port 69 --bind-address "$1" --user root \
		--group root --logfile /dev/null "$2" </dev/null >/dev/null 2>&1 &
	server_pid=$!
	sleep 0.5
}

# tftpd-hpa conflicts with atftpd as a package: scripts/test-tftpd-hpa has
# unpacked it into the build directory on the host (the guest has no
# network to download it).
start_tftpd_hpa() {
	local bin
	bin=$(BUILD=${BUILD:-build} scripts/test-tftpd-hpa 2>&1) || {
		echo "tftpd-hpa not available: $bin" | diag
		server_pid=
		return 1
	}
	# Not -a ADDR: tftpd-hpa resolves it with AI_ADDRCONFIG, which finds
	# nothing on a guest whose only interface is lo (exit 66); it binds
	# every address instead, so ADDR is only what the client uses.
	"$bin" -L -s "$2" -u root </dev/null >/dev/null 2>&1 &
	server_pid=$!
	sleep 0.5
}

stop_server() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null &&
		wait "$server_pid" 2>/dev/null
	server_pid=
}
