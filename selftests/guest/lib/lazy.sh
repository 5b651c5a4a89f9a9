# Shell helpers for the guest tests that restore lazily (sourced, not run):
# the servers an image is restored from, on top of lib/tap.sh (TAP lines,
# waits, CRIU's kernel modules).  The sourcing script sets TAP_NAME.
#
#   start_nginx DIR ADDR:PORT ROOT / stop_nginx DIR
#   start_atftpd ADDR ROOT / start_tftpd_hpa ADDR ROOT: set server_pid
#                       (tftpd-hpa listens on every address, port 69)
#   stop_server         kills server_pid
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"
server_pid=

start_nginx() {	# start_nginx DIR LISTEN ROOT [SERVER-DIRECTIVES]
	local dir=$1 listen=$2 root=$3 extra=${4:-}
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
		$extra
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
	wait_for 30 udp_port_bound 69
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
	wait_for 30 udp_port_bound 69
}

stop_server() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null &&
		wait "$server_pid" 2>/dev/null
	server_pid=
}
