#!/usr/bin/env python3
"""The benchmark's load generators and report work (functional checks, no timing): they are
built from bench/tools/ and run against the real gost on 127.0.0.1 with small, bounded loads,
asserting on what came through; bench/report.py checks the issue's bar from a synthetic CSV.
`make bench` itself is not run here (it takes minutes and depends on the machine's speed).

Run: GOST_BIN=build/gost python3 tests/integration/test_bench_tools.py [name-filter...]
"""

import atexit
import csv
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gostlib_test import check, run_tests, skip, spawn, start_gost, stop_process  # noqa: E402

H = "127.0.0.1"
SRC = os.environ.get("GOST_SRC") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(SRC, "bench")
_TOOLS = tempfile.mkdtemp(prefix="gost-bench-tools-")
atexit.register(shutil.rmtree, _TOOLS, True)


def tool(name):
    path = os.path.join(_TOOLS, name)
    if not os.path.exists(path):
        r = subprocess.run(["make", "-s", "-C", BENCH, "tools", "BUILD=" + _TOOLS],
                           capture_output=True, text=True, timeout=180)
        check(r.returncode == 0, "building bench/tools failed: %s" % r.stderr[-800:])
    return path


def kv(out):
    return {k: float(v) for k, _, v in (t.partition("=") for t in out.split()) if _}


class LineServer:
    """A tool that prints one line naming its port, then serves until its stdin closes."""

    def __init__(self, cmd):
        self.p = spawn(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline().split()
        check(len(line) == 2, "%s printed %r" % (cmd[0], line))
        self.port = int(line[1])

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().split()

    def stop(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        stop_process(self.p)


def run(cmd, timeout=60):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return r.returncode, kv(r.stdout), r.stdout + r.stderr


def test_connrate_direct_socks5_http_client_close():
    be = LineServer([tool("holder"), "--echo-close", "64"])
    echo = LineServer([tool("holder")])
    try:
        with start_gost(lambda p: ["-L", "tcp://%s:%d/%s:%d" % (H, p, H, be.port)], tcp=1) as fw, \
                start_gost(lambda p: ["-L", "socks5://%s:%d?notls=true" % (H, p)], tcp=1) as s5, \
                start_gost(lambda p: ["-L", "http://%s:%d" % (H, p)], tcp=1) as hp:
            cr = tool("connrate")
            for what, args in (
                    ("direct", [H, str(be.port)]),
                    ("forward", [H, str(fw.port)]),
                    ("socks5", ["--socks5", "--target", "%s:%d" % (H, be.port), H, str(s5.port)]),
                    ("http", ["--http-connect", "--target", "%s:%d" % (H, be.port), H,
                              str(hp.port)]),
                    ("client-close", ["--client-close", H, str(echo.port)])):
                rc, res, out = run([cr, "-c", "4", "-n", "200", "-t", "30"] + args)
                check(rc == 0 and res.get("ok") == 200 and res.get("failed") == 0,
                      "connrate %s: %s" % (what, out))
            # a proxy that refuses is counted, not hidden
            rc, res, out = run([cr, "-c", "2", "-n", "20", "-t", "30", "--socks5", "--target",
                                "%s:1" % H, H, str(s5.port)])
            check(rc == 1 and res.get("ok") == 0 and res.get("failed") == 20,
                  "connrate to a refused target: %s" % out)
    finally:
        be.stop()
        echo.stop()


def test_bulk_streams_through_gost():
    sink = LineServer([tool("bulk"), "sink"])
    try:
        with start_gost(lambda p: ["-L", "socks5://%s:%d?notls=true" % (H, p)], tcp=1) as s5, \
                start_gost(lambda p: ["-L", "tcp://%s:%d/%s:%d" % (H, p, H, sink.port)],
                           tcp=1) as fw:
            n = 16 << 20
            for what, args in (
                    ("forward, 2 streams", ["--streams", "2", H, str(fw.port)]),
                    ("socks5 framed", ["--framed", "--socks5", "%s:%d" % (H, sink.port), H,
                                       str(s5.port)])):
                rc, res, out = run([tool("bulk"), "send"] + args + [str(n), "30"], timeout=90)
                check(rc == 0 and res.get("bytes") == n, "bulk %s: %s" % (what, out))
    finally:
        sink.stop()


def test_holder_through_socks5_and_http():
    echo = LineServer([tool("holder")])
    try:
        with start_gost(lambda p: ["-L", "socks5://%s:%d?notls=true" % (H, p)], tcp=1) as s5, \
                start_gost(lambda p: ["-L", "http://%s:%d" % (H, p)], tcp=1) as hp:
            for proto, port in (("socks5", s5.port), ("http", hp.port)):
                h = LineServer([tool("holder")])
                try:
                    got = h.send("CONNECT %s %d 100 20 60 %s %s:%d" % (H, port, proto, H,
                                                                      echo.port))
                    check(got[:4] == ["HELD", "100", "FAILED", "0"], "%s: %r" % (proto, got))
                    got = h.send("CHECK")
                    check(got == ["ALIVE", "100", "DROPPED", "0"], "%s: %r" % (proto, got))
                finally:
                    h.stop()
    finally:
        echo.stop()


def test_udpload_through_gost():
    echo = LineServer([tool("udpload"), "echo"])
    try:
        with start_gost(lambda p: ["-L", "udp://%s:%d/%s:%d" % (H, p, H, echo.port)],
                        udp=1) as g:
            rc, res, out = run([tool("udpload"), "send", H, str(g.port), "--rate", "2000",
                                "--seconds", "1", "--sessions", "10", "--drain-ms", "1000"])
            check(rc == 0 and res.get("sent") == 2000 and res.get("recv", 0) > 0,
                  "udpload: %s" % out)
            check(res.get("dup") == 0 and res.get("bad") == 0, "udpload: %s" % out)
    finally:
        echo.stop()


def test_report_checks_the_bar():
    sys.path.insert(0, BENCH)
    import report  # noqa: E402
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.csv")
        rows = [("W1", "1 stream", "gost", 1, "gbps", 12), ("W1", "1 stream", "gost", 2, "gbps", 14),
                ("W1", "1 stream", "haproxy", 1, "gbps", 10),
                ("W1", "1 stream", "haproxy", 2, "gbps", 11),
                ("W1", "1 stream", "direct", 1, "gbps", 30),
                ("W1", "1 stream", "gost", 1, "cpu_s_per_gb", 0.5),
                ("W1", "1 stream", "haproxy", 1, "cpu_s_per_gb", 0.4),
                ("W3", "idle", "gost", 1, "pss_b_per_conn", 500)]
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["workload", "variant", "peer", "round", "metric", "value"])
            w.writerows(rows)
        g = report.group(report.load(path))
        bar = {(r[0], r[1], r[2], r[3], r[6]): r[7] for r in report.check_bar(g)}
        check(bar[("W1", "1 stream", "gbps", "gost", "ge")] is True, "median 13 vs 10.5 holds")
        check(bar[("W1", "1 stream", "cpu_s_per_gb", "gost", "le")] is False,
              "0.5 > 0.4 CPU misses")
        check(bar[("W3", "idle", "pss_b_per_conn", "gost", "max")] is True, "500 B <= 1 KiB")
        check(bar[("W3", "idle", "pss_b_per_conn", "gost", "lt-all")] is None,
              "no peer measured is neither")
        check(bar[("W2", "backend closes", "cps", "gost", "ge")] is None, "unmeasured is neither")
        md = report.write(path, {"date": "d"}, [("W1", "a note")], os.path.join(d, "r.md"),
                          os.path.join(d, "r"))
        with open(md) as f:
            text = f.read()
        check("| gost | 13 [12–14] |" in text, "median [min-max] cell missing:\n" + text[:1500])
        check("| 0.43 | 1.24 (haproxy) |" in text, "ratios missing:\n" + text[:1500])
        check("- note: a note" in text, "note missing")


if __name__ == "__main__":
    if not os.path.isdir(BENCH):
        skip("no bench/ directory")
    run_tests(globals())
