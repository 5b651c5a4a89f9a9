# Sourced by guest tests (bash): TAP output, and the pattern program dumped
# with criu, packed into a signed lazyboot image and checked once restored.
# Needs $lazyboot, $pattern and TAP_NAME (the test's name in TAP lines);
# ok, diag and wait_file come from lib/tap.sh.
#
#   pattern_dump DIR MIB     run lzb-pattern (state in DIR/state), wait until
#                            it filled its memory, criu dump it to DIR/dump;
#                            returns criu's status (its log: DIR/dump/dump.log,
#                            whose end is diag'd when it failed)
#   pattern_pack DIR         keygen DIR/sign.{key,pub} and pack DIR/dump into
#                            the image DIR/img; returns pack's status (its
#                            output: DIR/pack.out)
#   pattern_verdict STATE ROOT  ask the restored tree ROOT to check every page
#                            (SIGUSR1), wait for both processes' verdicts in
#                            STATE; 0 when both say OK, else diag them; then
#                            kill the tree

. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"

pattern_dump() {
	local dir=$1 mib=$2 pid
	criu_modules
	mkdir -p "$dir/state" "$dir/dump"
	setsid "$pattern" "$dir/state" "$mib" </dev/null >/dev/null 2>&1 &
	pid=$!
	wait_file "$dir/state/ready" 300
	criu dump -t "$pid" -D "$dir/dump" -o dump.log -v4 >/dev/null 2>&1 ||
		{ tail -n 20 "$dir/dump/dump.log" | diag; return 1; }
}

pattern_pack() {
	local dir=$1
	"$lazyboot" keygen --out "$dir/sign" >/dev/null &&
		"$lazyboot" pack --criu-dir "$dir/dump" --out "$dir/img" \
			--key "$dir/sign.key" >"$dir/pack.out" 2>&1
}

pattern_verdict() {
	local state=$1 root=$2 status
	kill -USR1 "$root" 2>/dev/null
	wait_file "$state/result-parent" 300 &&
		wait_file "$state/result-child" 60 &&
		[ "$(cat "$state/result-parent")" = OK ] &&
		[ "$(cat "$state/result-child")" = OK ]
	status=$?
	if [ $status -ne 0 ]; then
		echo "parent: $(cat "$state/result-parent" 2>&1)" | diag
		echo "child: $(cat "$state/result-child" 2>&1)" | diag
	fi
	kill -KILL -- -"$root" "$root" 2>/dev/null
	return $status
}
