#!/usr/bin/python3
# A toy notify service: stores one fd (the write end of a FIFO whose reader
# is outside the unit) in the fd store, leaves a child running, logs what
# it was given at start.
import os, socket, sys, time
exp = sys.argv[1]
log = open(exp + "/log", "a")
log.write("start pid=%d LISTEN_FDS=%s LISTEN_FDNAMES=%s\n" % (os.getpid(), os.environ.get("LISTEN_FDS"), os.environ.get("LISTEN_FDNAMES")))
log.flush()
child = os.fork()
if child == 0:
    os.setsid() if False else None
    while True:
        time.sleep(100)
open(exp + "/leftover", "w").write(str(child))
fd = os.open(exp + "/fifo", os.O_WRONLY | os.O_CLOEXEC)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
addr = os.environ["NOTIFY_SOCKET"]
if addr.startswith("@"):
    addr = "\0" + addr[1:]
gen = len(open(exp + "/log").read().splitlines())
s.sendmsg([("FDSTORE=1\nFDNAME=gen%d" % gen).encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fd.to_bytes(4, "little"))], 0, addr)
os.close(fd)
s.sendto(b"READY=1", addr)
while True:
    time.sleep(100)
