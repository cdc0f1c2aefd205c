#!/usr/bin/env python3
"""Idle memory per forwarded TCP connection.

Starts `gost -L tcp://127.0.0.1:P/127.0.0.1:B`, where B is the echo backend of one
bench/build/holder process; a second holder opens N connections through gost and proves
each with a 1-byte echo, then holds them. gost's VmRSS and Pss (smaps_rollup) are read
before and after (after a settle of --hold seconds) and the difference is divided by N.

gost needs two descriptors per forwarded connection. N is capped to what RLIMIT_NOFILE
allows: the script raises the soft limit to the hard one (and the hard one too when it may:
root with CAP_SYS_RESOURCE); where the hard limit is 20000 that is 9950 connections.

    python3 bench/idle_mem.py [-n 10000] [--gost build/gost]

Use the release build (`make`); an ASan build is reported but its numbers mean little.
Bounded: connect phase --timeout (default 120 s), whole run well under 3 minutes.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (LineProc, TOOLS, build_tools, choose_gost, gl, is_sanitized,  # noqa: E402
                      mib, raise_nofile)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=10000, help="connections to hold (10000)")
    ap.add_argument("--inflight", type=int, default=200, help="concurrent connects (200)")
    ap.add_argument("--hold", type=float, default=2.0, help="settle time before reading (2 s)")
    ap.add_argument("--timeout", type=int, default=120, help="connect phase limit (120 s)")
    ap.add_argument("--gost", help="gost binary (default $GOST_BIN or build/gost)")
    ap.add_argument("--log-level", default="warn",
                    help="GOST_LOGGER_LEVEL for gost (default warn: no per-connection lines)")
    a = ap.parse_args()

    build_tools()
    gbin = choose_gost(a.gost)
    need = 2 * a.n + 100
    have = raise_nofile(need)
    n = a.n
    if have < need:
        n = (have - 100) // 2
        print("note: RLIMIT_NOFILE hard limit is %d (not raisable here); gost needs 2 fds per "
              "connection, so measuring %d connections instead of %d" % (have, n, a.n))

    backend_proc = LineProc([os.path.join(TOOLS, "holder")])
    holder = LineProc([os.path.join(TOOLS, "holder")])
    try:
        backend = int(backend_proc.readline(10, "BACKEND line").split()[1])
        holder.readline(10, "BACKEND line")
        with gl.start_gost(lambda p: ["-L", "tcp://127.0.0.1:%d/127.0.0.1:%d" % (p, backend)],
                           tcp=1, env={"GOST_LOGGER_LEVEL": a.log_level}) as g:
            time.sleep(1.0)
            m0, fd0 = gl.proc_mem(g.pid), gl.pid_fd_count(g.pid)
            holder.send("CONNECT 127.0.0.1 %d %d %d %d" % (g.port, n, a.inflight, a.timeout))
            held = holder.readline(a.timeout + 30, "HELD line").split()
            ok, failed, ms = int(held[1]), int(held[3]), float(held[5])
            time.sleep(a.hold)
            m1, fd1 = gl.proc_mem(g.pid), gl.pid_fd_count(g.pid)
            holder.send("CHECK")
            alive = holder.readline(30, "CHECK reply").split()
            holder.send("QUIT")
            holder.readline(30, "BYE")
            time.sleep(1.0)
            m2, fd2 = gl.proc_mem(g.pid), gl.pid_fd_count(g.pid)
    finally:
        holder.stop()
        backend_proc.stop()

    print("gost: %s%s" % (gbin, "  [ASan build: numbers are not representative]"
                          if is_sanitized(os.environ.get("GOST_BIN", "")) else ""))
    print("connections: %d proven by 1-byte echo, %d failed, in %.0f ms; after %.1f s hold: "
          "%s alive, %s dropped" % (ok, failed, ms, a.hold, alive[1], alive[3]))
    print("gost fds: idle %d, holding %d, after close %d" % (fd0, fd1, fd2))
    for key in ("VmRSS", "Pss", "RssAnon"):
        if key in m0 and key in m1:
            d = m1[key] - m0[key]
            per = d / ok if ok else float("nan")
            print("%-7s idle %-10s holding %-10s delta %-10s -> %6.0f bytes/connection   "
                  "(after close %s)" % (key, mib(m0[key]), mib(m1[key]), mib(d), per,
                                       mib(m2.get(key, 0))))
    if "VmHWM" in m1:
        print("VmHWM   %s (peak RSS)" % mib(m1["VmHWM"]))
    if ok < n:
        sys.exit(1)


if __name__ == "__main__":
    main()
