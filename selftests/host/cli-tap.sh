# Sourced by the host CLI tests (not run by itself: not executable).
# TAP helpers: ok NAME, no NAME, expect NAME STATUS REGEX CMD...; the
# caller sets n=0 and w (a scratch directory; command output goes to $w/out).
ok() { n=$((n + 1)); echo "ok $n $1"; }
no() { n=$((n + 1)); echo "not ok $n $1"; sed 's/^/#   /' "$w/out" | tail -n 15; }
expect() { # NAME STATUS REGEX CMD...
	local name=$1 want=$2 re=$3 rc
	shift 3
	"$@" >"$w/out" 2>&1
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -Eq -- "$re" "$w/out"; then ok "$name"; else
		echo "# exit status $rc, wanted $want and /$re/"
		no "$name"
	fi
}
