#!/usr/bin/env python3
"""Connections per second through gost's SOCKS5 and HTTP CONNECT handlers vs dante,
microsocks and tinyproxy (and direct to the backend).

Each connection (bench/build/connrate, 32 in flight): connect -> SOCKS5 no-auth CONNECT to an
IPv4 target, or HTTP "CONNECT ip:port", or nothing (direct) -> 64 bytes out -> 64-byte echo
back -> the backend closes first (bench/build/holder --echo-close 64) -> the client sees EOF and
closes. Rounds are interleaved (direct, gost-socks5, dante, microsocks, gost-http, tinyproxy,
direct, ...) so that drift of the machine hits every path alike. Prints conn/s median
[min-max], p50/p99 latency, the proxy's CPU seconds per 1000 connections (utime+stime of its
process tree from /proc), and the ratios to direct and gost-socks5/dante,
gost-socks5/microsocks, gost-http/tinyproxy.

    python3 bench/proxy_connrate.py [--rounds 3] [--seconds 5] [--quick] [--concurrency 32]
                                    [--gost build/gost] [--no-install] [--only PATH,...]

dante-server, microsocks and tinyproxy are installed with apt-get when missing (root only)
unless --no-install; a peer that is not there is skipped with a note. dante needs root here.
Use gost's release build.
"""

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (LineProc, TOOLS, apt_install, build_tools, choose_gost, gl,  # noqa: E402
                      is_sanitized, stats, tree_cpu_seconds, wait_listen)

H = "127.0.0.1"
PATHS = ["direct", "gost-socks5", "dante", "microsocks", "gost-http", "tinyproxy"]
MODE = {"direct": None, "gost-socks5": "--socks5", "dante": "--socks5",
        "microsocks": "--socks5", "gost-http": "--http-connect", "tinyproxy": "--http-connect"}
PEER_PKG = {"dante": ("dante-server", "danted"), "microsocks": ("microsocks", "microsocks"),
            "tinyproxy": ("tinyproxy", "tinyproxy")}
PAIRS = [("gost-socks5", "dante"), ("gost-socks5", "microsocks"), ("gost-http", "tinyproxy")]


def peer_bin(name):
    exe = PEER_PKG[name][1]
    return shutil.which(exe) or next((p for p in ("/usr/sbin/" + exe, "/usr/bin/" + exe)
                                      if os.access(p, os.X_OK)), None)


def pkg_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True,
                       text=True, timeout=10)
    return r.stdout.strip() if r.returncode == 0 else "?"


def spawn_logged(cmd, tmp, name):
    """Start a peer with its stderr in tmp/<name>.err (only the child keeps the file open)."""
    with open(os.path.join(tmp, name + ".err"), "wb") as err:
        return gl.spawn(cmd, stdout=subprocess.DEVNULL, stderr=err)


def start_dante(tmp, bport):
    """danted -f conf: no auth, 127.0.0.1 only, logging to stderr (no per-connection log
    lines: no `log:` in the rules). Everything else is dante's default (-N 1 mother)."""
    port = gl.free_port()
    conf = os.path.join(tmp, "danted.conf")
    with open(conf, "w") as f:
        f.write("logoutput: stderr\ninternal: %s port = %d\nexternal: %s\n"
                "clientmethod: none\nsocksmethod: none\n"
                "user.privileged: root\nuser.unprivileged: nobody\n"
                "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }\n"
                "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }\n" % (H, port, H))
    return spawn_logged([peer_bin("dante"), "-f", conf, "-p", os.path.join(tmp, "danted.pid")],
                        tmp, "danted"), port


def start_microsocks(tmp, bport):
    """microsocks -i 127.0.0.1 -p P: its defaults (no auth, a thread per connection)."""
    port = gl.free_port()
    return spawn_logged([peer_bin("microsocks"), "-i", H, "-p", str(port)], tmp,
                        "microsocks"), port


def start_tinyproxy(tmp, bport):
    """tinyproxy -d -c conf: CONNECT allowed to the backend port only, MaxClients 256 (above
    the load generator's concurrency), LogLevel Warning (like gost's warn, no per-connection
    Info lines) to stderr; as root it drops to nobody/nogroup."""
    port = gl.free_port()
    conf = os.path.join(tmp, "tinyproxy.conf")
    with open(conf, "w") as f:
        f.write("Port %d\nListen %s\nTimeout 30\nMaxClients 256\nAllow 127.0.0.1\n"
                "ConnectPort %d\nLogLevel Warning\n" % (port, H, bport))
        if os.geteuid() == 0:
            f.write("User nobody\nGroup nogroup\n")
    return spawn_logged([peer_bin("tinyproxy"), "-d", "-c", conf], tmp, "tinyproxy"), port


STARTERS = {"dante": start_dante, "microsocks": start_microsocks, "tinyproxy": start_tinyproxy}


def run_connrate(mode, port, bport, secs, conc, max_n=0):
    cmd = [os.path.join(TOOLS, "connrate"), "-c", str(conc), "-t", str(secs)]
    if max_n:
        cmd += ["-n", str(max_n)]
    if mode:
        cmd += [mode, "--target", "%s:%d" % (H, bport)]
    r = subprocess.run(cmd + [H, str(port)], capture_output=True, text=True, timeout=secs + 30)
    if r.returncode not in (0, 1) or not r.stdout.strip():
        sys.exit("bench: connrate to %d failed (%d): %s %s" % (port, r.returncode, r.stdout,
                                                                r.stderr))
    kv = dict(x.split("=") for x in r.stdout.split())
    return {k: float(v) for k, v in kv.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--quick", action="store_true", help="1 round of 2 s")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--gost", help="gost binary (default $GOST_BIN or build/gost)")
    ap.add_argument("--only", default=",".join(PATHS))
    ap.add_argument("--no-install", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.seconds = 1, 2.0
    if not (1 <= a.rounds <= 10 and 0 < a.seconds <= 10):
        sys.exit("bench: --rounds 1..10 and --seconds up to 10 (keeps a run under 3 minutes)")
    paths = [p for p in PATHS if p in a.only.split(",")]

    build_tools()
    gbin = choose_gost(a.gost) if any(p.startswith("gost") for p in paths) else "-"
    missing = [PEER_PKG[p][0] for p in paths if p in PEER_PKG and not peer_bin(p)]
    if missing and not a.no_install:
        apt_install(missing)
    for p in list(paths):
        if p in PEER_PKG and not peer_bin(p):
            print("note: %s not available, skipped" % p)
            paths.remove(p)
        elif p == "dante" and os.geteuid() != 0:
            print("note: dante needs root here (it switches to its unprivileged user), skipped")
            paths.remove(p)

    backend = LineProc([os.path.join(TOOLS, "holder"), "--echo-close", "64"])
    tmp = tempfile.TemporaryDirectory(prefix="gost-connrate-")
    procs, pid, port = [], {}, {}
    results = {p: [] for p in paths}
    try:
        with contextlib.ExitStack() as stack:
            bport = int(backend.readline(10, "BACKEND line").split()[1])
            port["direct"], pid["direct"] = bport, backend.p.pid
            genv = {"GOST_LOGGER_LEVEL": "warn"}
            if "gost-socks5" in paths:
                g = stack.enter_context(gl.start_gost(
                    lambda q: ["-L", "socks5://%s:%d?notls=true" % (H, q)], tcp=1, env=genv,
                    name="gost-socks5"))
                port["gost-socks5"], pid["gost-socks5"] = g.port, g.pid
            if "gost-http" in paths:
                g = stack.enter_context(gl.start_gost(
                    lambda q: ["-L", "http://%s:%d" % (H, q)], tcp=1, env=genv,
                    name="gost-http"))
                port["gost-http"], pid["gost-http"] = g.port, g.pid
            for p in paths:
                if p in STARTERS:
                    proc, port[p] = STARTERS[p](tmp.name, bport)
                    procs.append(proc)
                    wait_listen(proc, port[p], p)
                    pid[p] = proc.pid

            for p in paths:  # warm-up (not counted): dante forks its children on demand
                w = run_connrate(MODE[p], port[p], bport, 2, a.concurrency, 300)
                if w["ok"] == 0:
                    sys.exit("bench: %s: no connection succeeded in the warm-up (%s)"
                             % (p, " ".join("%s=%g" % kv for kv in w.items())))
            for r in range(a.rounds):
                for p in paths:
                    c0 = tree_cpu_seconds(pid[p])
                    res = run_connrate(MODE[p], port[p], bport, a.seconds, a.concurrency)
                    res["cpu1k"] = ((tree_cpu_seconds(pid[p]) - c0) * 1000 / res["ok"]
                                    if res["ok"] else float("nan"))
                    results[p].append(res)
                    print("round %d  %-12s %8.0f conn/s  p50 %6.2f ms  p99 %6.2f ms  "
                          "failed %d  cpu %.3f s/1k" % (r + 1, p, res["cps"], res["p50_ms"],
                                                        res["p99_ms"], res["failed"],
                                                        res["cpu1k"]), flush=True)
    finally:
        for proc in procs:
            gl.stop_process(proc)
        backend.stop()
        tmp.cleanup()

    print()
    print("gost: %s%s" % (gbin, "  [ASan build: numbers are not representative]"
                          if gbin != "-" and is_sanitized(gbin) else ""))
    print("peers: %s" % ", ".join("%s %s" % (PEER_PKG[p][0], pkg_version(PEER_PKG[p][0]))
                                   for p in paths if p in PEER_PKG))
    print("%d rounds x %.0f s per path, %d connections in flight, 64-byte echo, backend closes "
          "first; %d CPUs" % (a.rounds, a.seconds, a.concurrency, os.cpu_count()))
    print("%-12s %28s %9s %9s %7s %11s %10s" % ("path", "conn/s median [min-max]", "p50 ms",
                                               "p99 ms", "failed", "cpu s/1k", "vs direct"))
    med = {p: stats([x["cps"] for x in results[p]])[0] for p in paths}
    for p in paths:
        m, lo, hi = stats([x["cps"] for x in results[p]])
        rel = ("%9.2fx" % (m / med["direct"])) if "direct" in med and p != "direct" else ""
        cpu = "%.3f" % stats([x["cpu1k"] for x in results[p]])[0] if p != "direct" else "-"
        print("%-12s %28s %9.2f %9.2f %7d %11s %10s" % (
            p, "%.0f [%.0f-%.0f]" % (m, lo, hi), stats([x["p50_ms"] for x in results[p]])[0],
            stats([x["p99_ms"] for x in results[p]])[0],
            sum(x["failed"] for x in results[p]), cpu, rel))
    for ours, peer in PAIRS:
        if ours not in results or peer not in results:
            continue
        rs = [x["cps"] / y["cps"] for x, y in zip(results[ours], results[peer]) if y["cps"]]
        cr = stats([x["cpu1k"] for x in results[ours]])[0] / \
            stats([x["cpu1k"] for x in results[peer]])[0]
        if rs:
            m, lo, hi = stats(rs)
            print("ratio %s/%s conn/s: %.2f (per round median %.2f [%.2f-%.2f]); "
                  "CPU per connection %.2f" % (ours, peer, med[ours] / med[peer], m, lo, hi, cr))


if __name__ == "__main__":
    main()
