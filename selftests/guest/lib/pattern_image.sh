# Sourced by guest tests (bash): the pattern program dumped with criu and
# packed into a signed lazyboot image.  Needs $lazyboot and $pattern.
#
#   wait_file FILE SECS      wait until FILE exists; 1 on timeout
#   pattern_dump DIR MIB     run lzb-pattern (state in DIR/state), wait until
#                            it filled its memory, criu dump it to DIR/dump;
#                            returns criu's status (its log: DIR/dump/dump.log)
#   pattern_pack DIR         keygen DIR/sign.{key,pub} and pack DIR/dump into
#                            the image DIR/img; returns pack's status (its
#                            output: DIR/pack.out)

wait_file() {
	local i
	for i in $(seq 1 "$2"); do
		[ -e "$1" ] && return 0
		sleep 1
	done
	return 1
}

pattern_dump() {
	local dir=$1 mib=$2 pid
	modprobe -a nf_tables nft_ct unix_diag inet_diag tcp_diag netlink_diag \
		af_packet_diag 2>/dev/null
	mkdir -p "$dir/state" "$dir/dump"
	setsid "$pattern" "$dir/state" "$mib" </dev/null >/dev/null 2>&1 &
	pid=$!
	wait_file "$dir/state/ready" 300
	criu dump -t "$pid" -D "$dir/dump" -o dump.log -v4 >/dev/null 2>&1
}

pattern_pack() {
	local dir=$1
	"$lazyboot" keygen --out "$dir/sign" >/dev/null &&
		"$lazyboot" pack --criu-dir "$dir/dump" --out "$dir/img" \
			--key "$dir/sign.key" >"$dir/pack.out" 2>&1
}
