#!/bin/bash
# Run in the systemd VM (run-vm --systemd -- selftests/qemu/fdstore-probe/run.sh):
# the measurements in docs/pager.md, "The systemd unit".  Not a test: it
# prints what systemd did, one block per KillMode= and case.
# systemd 252's fd store and leftover processes per KillMode and case.
here=$(cd "$(dirname "$0")" && pwd)
E=/run/exp
out=${LZB_RESULTS:-/tmp}/fdstore-experiment.txt
: > "$out"
for km in process mixed control-group; do
for case in crash stop restart limit crashstop; do
	systemctl stop toy.service 2>/dev/null; systemctl reset-failed toy.service 2>/dev/null
	rm -rf $E; mkdir -p $E; mkfifo $E/fifo
	( cat $E/fifo >/dev/null; echo released > $E/released ) &
	reader=$!
	lim=""
	[ $case = limit ] && lim="StartLimitBurst=1
StartLimitIntervalSec=1h"
	cat > /run/systemd/system/toy.service <<UNIT
[Unit]
$lim
[Service]
Type=notify
ExecStart=/usr/bin/python3 $here/toy.py $E
ExecStopPost=/bin/bash $here/post.sh $E
KillMode=$km
Restart=on-failure
RestartSec=1
FileDescriptorStoreMax=4
TimeoutStopSec=5
UNIT
	systemctl daemon-reload
	systemctl start toy.service
	main=$(systemctl show -p MainPID --value toy.service)
	left=$(cat $E/leftover)
	case $case in
	crash|limit) kill -9 "$main" ;;
	crashstop) kill -9 "$main"; sleep 0.3; systemctl stop toy.service ;;
	stop) systemctl stop toy.service ;;
	restart) systemctl restart toy.service ;;
	esac
	sleep 4
	state=$(systemctl show -p ActiveState --value toy.service)
	result=$(systemctl show -p Result --value toy.service)
	alive=no; kill -0 "$left" 2>/dev/null && alive=yes
	rel=no; [ -e $E/released ] && rel=yes
	{
		echo "== KillMode=$km case=$case: unit $state result=$result; first instance's child alive: $alive; fd store released: $rel"
		sed 's/^/   /' $E/log
	} >> "$out"
	systemctl stop toy.service 2>/dev/null
	kill -9 "$left" $(pgrep -f "toy.py") 2>/dev/null
	kill "$reader" 2>/dev/null
	rm -f /run/systemd/system/toy.service
done
done
systemctl daemon-reload
cat "$out"
