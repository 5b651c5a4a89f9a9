# Shell helpers (sourced, not run) for comparing a lazily restored tree's
# memory with its dump: the restore runs with `-- --leave-stopped`, so
# CRIU leaves every task stopped where the restorer left it, the pager
# installs every lazy page, and lzb-memcmp (selftests/tools) reads each
# dumped page back from /proc/PID/mem before anything runs.
#
#   restored_tree ROOT        ROOT and its descendants, a pid a line
#   tree_stopped ROOT         every task of the tree in a job-control stop
#   memcmp_tree DUMP ROOT OUT once the tree is stopped (CRIU stops each task
#                             as it detaches: a task may take a moment to
#                             get there), lzb-memcmp into OUT; 0 when every
#                             page matches
#   cont_tree ROOT            let the whole tree run (SIGCONT)
#   wait_ready CMD S          0 once `sh -c CMD` passes, 1 after S seconds
#                             (wait_for of selftests/lib/wait.sh, which the
#                             sourcing script has loaded)

restored_tree() {
	local child
	echo "$1"
	for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		restored_tree "$child"
	done
}

tree_stopped() {
	local pid
	for pid in $(restored_tree "$1"); do
		grep -q '^State:.*T (stopped)' "/proc/$pid/status" || return 1
	done
}

memcmp_tree() {
	local end=$((SECONDS + 120))
	until tree_stopped "$2"; do
		if [ "$SECONDS" -ge "$end" ]; then
			{ echo "the restored tree did not stop within 120 s:"
			  for pid in $(restored_tree "$2"); do
				grep -H '^State:' "/proc/$pid/status"
			  done; } >"$3" 2>&1
			return 1
		fi
		sleep 0.2
	done
	"$BUILD/selftests/tools/lzb-memcmp" "$1" "$2" >"$3" 2>&1
}

cont_tree() {
	local pid
	for pid in $(restored_tree "$1"); do
		kill -CONT "$pid" 2>/dev/null
	done
}

wait_ready() {
	wait_for "$2" sh -c "$1"
}
