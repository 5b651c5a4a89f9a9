#!/bin/bash
# Host selftest (TAP): the `make demo` scripts parse and reject bad
# arguments.  The demo itself (minutes in the VM) is not run by make check.
set -u
n=0
result() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n demo.$2"; else echo "not ok $n demo.$2"; fi
}

echo "TAP version 13"
echo "1..5"
bash -n scripts/demo 2>&1 | sed 's/^/# /'
result "${PIPESTATUS[0]}" host_script_parses
bash -n scripts/demo-guest 2>&1 | sed 's/^/# /'
result "${PIPESTATUS[0]}" guest_script_parses
out=$(scripts/demo --help 2>&1)
[ $? -eq 0 ] && echo "$out" | grep -q -- '--keys N'
result $? help_names_options
out=$(scripts/demo --keys many 2>&1)
[ $? -eq 2 ] && echo "$out" | grep -q "wants a positive number, not 'many'"
result $? bad_key_count_is_refused
out=$(scripts/demo-guest --frobnicate 2>&1)
[ $? -eq 2 ] && echo "$out" | grep -q "unknown option '--frobnicate'"
result $? guest_refuses_unknown_option
