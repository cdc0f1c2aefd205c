#!/usr/bin/env python3
"""Single-stream TCP bulk throughput: direct vs through gost (and socat / haproxy).

bench/build/bulk sends up to --bytes (1 GiB) or for --seconds (5 s), whichever comes first,
to a sink that acknowledges the byte count; Gbit/s = bytes / (connect .. ack). Rounds are
interleaved (direct, gost, socat, haproxy, direct, gost, ...) so that drift of the machine
affects every path alike; the summary gives median/min/max per path and the ratio to
direct (per round and of the medians).

    python3 bench/throughput.py [--rounds 3] [--gost build/gost] [--no-install]
                                [--only direct,gost,socat,haproxy]

socat and haproxy are optional comparators: if missing they are installed with apt-get
(root only, bounded to 60 s per apt call) unless --no-install. Use gost's release build.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (LineProc, TOOLS, apt_install, build_tools, choose_gost, gl,  # noqa: E402
                      is_sanitized, stats, wait_listen)

GIB = 1 << 30


def run_bulk(port, nbytes, secs):
    r = subprocess.run([os.path.join(TOOLS, "bulk"), "send", "127.0.0.1", str(port),
                        str(nbytes), str(secs)], capture_output=True, text=True,
                       timeout=secs + 60)
    if r.returncode != 0:
        sys.exit("bench: bulk send to %d failed: %s %s" % (port, r.stdout, r.stderr))
    kv = dict(x.split("=") for x in r.stdout.split())
    return float(kv["gbps"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bytes", type=int, default=GIB)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--gost", help="gost binary (default $GOST_BIN or build/gost)")
    ap.add_argument("--only", default="direct,gost,socat,haproxy")
    ap.add_argument("--no-install", action="store_true")
    a = ap.parse_args()
    paths = [p for p in a.only.split(",") if p]

    build_tools()
    gbin = choose_gost(a.gost) if "gost" in paths else "-"
    missing = [p for p in ("socat", "haproxy") if p in paths and not shutil.which(p)]
    if missing and not a.no_install:
        apt_install(missing)
    for p in ("socat", "haproxy"):
        if p in paths and not shutil.which(p):
            print("note: %s not available, skipped" % p)
            paths.remove(p)

    sink = LineProc([os.path.join(TOOLS, "bulk"), "sink"])
    tmp = tempfile.TemporaryDirectory(prefix="gost-bench-")
    procs = []
    ports = {}
    try:
        sport = int(sink.readline(10, "PORT line").split()[1])
        ports["direct"] = sport
        if "socat" in paths:
            p = gl.free_port()
            sp = gl.spawn(["socat", "-b", "262144", "TCP-LISTEN:%d,bind=127.0.0.1,fork,reuseaddr"
                           % p, "TCP:127.0.0.1:%d" % sport], stderr=subprocess.DEVNULL)
            procs.append(sp)
            wait_listen(sp, p, "socat")
            ports["socat"] = p
        if "haproxy" in paths:
            p = gl.free_port()
            cfg = os.path.join(tmp.name, "haproxy.cfg")
            with open(cfg, "w") as f:
                f.write("global\n  maxconn 100\ndefaults\n  mode tcp\n  timeout connect 5s\n"
                        "  timeout client 120s\n  timeout server 120s\n"
                        "frontend fe\n  bind 127.0.0.1:%d\n  default_backend be\n"
                        "backend be\n  server sink 127.0.0.1:%d\n" % (p, sport))
            hp = gl.spawn(["haproxy", "-db", "-f", cfg], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
            procs.append(hp)
            wait_listen(hp, p, "haproxy")
            ports["haproxy"] = p

        results = {p: [] for p in paths}

        def rounds():
            for r in range(a.rounds):
                for p in paths:
                    g = run_bulk(ports[p], a.bytes, a.seconds)
                    results[p].append(g)
                    print("round %d  %-8s %7.2f Gbit/s" % (r + 1, p, g), flush=True)

        if "gost" in paths:
            with gl.start_gost(lambda p: ["-L", "tcp://127.0.0.1:%d/127.0.0.1:%d" % (p, sport)],
                               tcp=1, env={"GOST_LOGGER_LEVEL": "warn"}) as g:
                ports["gost"] = g.port
                rounds()
        else:
            rounds()
    finally:
        for p in procs:
            gl.stop_process(p)
        sink.stop()
        tmp.cleanup()

    print()
    print("gost: %s%s" % (gbin, "  [ASan build: numbers are not representative]"
                          if gbin != "-" and is_sanitized(gbin) else ""))
    print("%d rounds, up to %d MiB or %.0f s per run, single TCP stream over loopback"
          % (a.rounds, a.bytes >> 20, a.seconds))
    print("%-8s %9s %9s %9s %12s" % ("path", "median", "min", "max", "vs direct"))
    dmed = stats(results["direct"])[0] if "direct" in results else None
    for p in paths:
        med, lo, hi = stats(results[p])
        rel = ("%11.2fx" % (med / dmed)) if dmed and p != "direct" else ""
        print("%-8s %9.2f %9.2f %9.2f %12s" % (p, med, lo, hi, rel))
    if "direct" in results:
        for p in paths:
            if p == "direct":
                continue
            ratios = [x / d for x, d in zip(results[p], results["direct"])]
            med, lo, hi = stats(ratios)
            print("ratio %s/direct per round: median %.2f  min %.2f  max %.2f"
                  % (p, med, lo, hi))


if __name__ == "__main__":
    main()
