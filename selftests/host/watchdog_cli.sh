#!/bin/bash
# Host selftest (TAP): lazybootd's systemd watchdog (service/watchdog.c).
# With $WATCHDOG_USEC set, `lazybootd restore` sends WATCHDOG=1 on
# $NOTIFY_SOCKET (a datagram socket this test binds, standing in for
# systemd) again and again while the pager's loop runs (CRIU is a
# stand-in that never finishes, so the loop serves on); once lazybootd is
# stopped (SIGSTOP) none comes, so nothing but the loop itself pings; after
# SIGCONT they come again.  With $WATCHDOG_PID naming another process
# there is none (sd_watchdog_enabled(3)), and the processes lazybootd
# starts (CRIU here) do not inherit WATCHDOG_USEC.  Waits are on the
# socket; the one window in which nothing may arrive is 20 ping intervals
# long while lazybootd is stopped.
set -u
BUILD=${BUILD:-build}
LZB=$PWD/$BUILD/lazyboot
LZBD=$PWD/$BUILD/lazybootd
w=$(mktemp -d /tmp/lzb-watchdog-XXXXXX)
trap 'for p in $(cat "$w"/*.pid 2>/dev/null); do kill -9 "$p" 2>/dev/null; done; rm -rf "$w"' EXIT

echo "TAP version 13"
echo "1..4"

cat >"$w/hang-criu" <<EOS
#!/bin/sh
env >"\$(dirname "\$0")/criu-\$\$.env"
echo \$\$ >"\$(dirname "\$0")/criu-\$\$.pid"
exec sleep 100000
EOS
chmod +x "$w/hang-criu"
if ! selftests/host/make-synthetic-dump "$w/dump" --mib 1 >"$w/out" 2>&1 ||
	! "$LZB" pack --criu-dir "$w/dump" --out "$w/img" >>"$w/out" 2>&1; then
	sed 's/^/# /' "$w/out"
	echo "Bail out! cannot make the test image"
	exit 1
fi

python3 - "$LZBD" "$w" <<'PY'
import os, signal, socket, subprocess, sys, time

lzbd, w = sys.argv[1], sys.argv[2]
n = 0
INTERVAL = 0.1                  # WATCHDOG_USEC / 2


def tap(good, name, why=""):
    global n
    n += 1
    print(("ok %d %s" if good else "not ok %d %s") % (n, name))
    if not good and why:
        print("#   " + why)
    sys.stdout.flush()


def start(name, env):
    path = "%s/%s.sock" % (w, name)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    e = dict(os.environ, NOTIFY_SOCKET=path, **env)
    p = subprocess.Popen([lzbd, "restore", "file://%s/img" % w,
                          "--allow-unsigned", "--criu", w + "/hang-criu",
                          "--workdir", "%s/%s" % (w, name)], env=e,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open("%s/%s-lazybootd.pid" % (w, name), "w") as f:
        f.write(str(p.pid))
    return s, p


def recv(s, timeout):
    """The next datagram's lines, or None when none came in time."""
    s.settimeout(timeout)
    try:
        return s.recv(4096).decode().splitlines()
    except socket.timeout:
        return None


def count_until(s, want_pings=0, want_status=0, limit=120):
    """Read until that many WATCHDOG=1 and STATUS= came (or the limit)."""
    pings = status = 0
    end = time.monotonic() + limit
    while (pings < want_pings or status < want_status) and \
            time.monotonic() < end:
        lines = recv(s, max(0.01, end - time.monotonic()))
        if lines is None:
            break
        pings += lines.count("WATCHDOG=1")
        status += sum(1 for l in lines if l.startswith("STATUS=streaming") or
                      l.startswith("STATUS=restoring"))
    return pings, status


def stopped(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


# Pings while the loop runs: 10 in a row, while the restore goes on.
s, p = start("on", {"WATCHDOG_USEC": "200000"})
pings, status = count_until(s, want_pings=10, want_status=2)
tap(pings >= 10 and status >= 2 and p.poll() is None,
    "watchdog_pings_while_the_loop_runs",
    "%d WATCHDOG=1, %d STATUS= lines, lazybootd %s" %
    (pings, status, "running" if p.poll() is None else "exited"))

# Stopped: what it sent before the stop is drained, then 20 intervals
# pass without one.
p.send_signal(signal.SIGSTOP)
end = time.monotonic() + 60
while not stopped(p.pid) and time.monotonic() < end:
    time.sleep(0.01)
while recv(s, 0.001) is not None:
    pass
late = recv(s, 20 * INTERVAL)
p.send_signal(signal.SIGCONT)
again, _ = count_until(s, want_pings=3)
tap(late is None and again >= 3, "watchdog_stops_with_the_loop",
    "while stopped: %s; after SIGCONT: %d WATCHDOG=1" % (late, again))
stop(p)

envs = [f for f in os.listdir(w) if f.startswith("criu-") and
        f.endswith(".env")]
leaked = [f for f in envs if "WATCHDOG_" in open(os.path.join(w, f)).read()]
tap(bool(envs) and not leaked, "criu_does_not_inherit_the_watchdog",
    "criu env files %s, with WATCHDOG_: %s" % (envs, leaked))

# WATCHDOG_PID another process's: not ours to ping.
s, p = start("other", {"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"})
pings, status = count_until(s, want_status=4)
tap(pings == 0 and status >= 4, "watchdog_pid_of_another_is_off",
    "%d WATCHDOG=1 in %d STATUS= lines" % (pings, status))
stop(p)
PY
