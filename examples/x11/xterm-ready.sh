#!/bin/sh
# Ready probe of examples/x11: type a command into the xterm titled
# lzb-xterm and wait until it has run (the terminal took the keystrokes).
set -eu
export DISPLAY=${1:-:7}
marker=/tmp/lzb-xterm-ready.$$
win=$(xdotool search --name '^lzb-xterm$' | head -n 1)
[ -n "$win" ]
{ xdotool windowactivate --sync "$win" || xdotool windowfocus --sync "$win"; } >/dev/null 2>&1 || true
xdotool type --window "$win" --delay 20 "touch $marker"
xdotool key --window "$win" Return
i=0
# up to 30 s: under emulation and load the shell may take that long
while [ ! -e "$marker" ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -e "$marker" ] && rm -f "$marker"
