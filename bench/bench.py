#!/usr/bin/env python3
"""`make bench`: every workload through a direct connection, our gost and the peers, with
rounds interleaved, into bench/results/<date>-<host>.csv, a markdown report and PNG charts.

    python3 bench/bench.py [--quick] [--only W1,W4] [--gost build/gost] [--out bench/results]
                           [--no-install] [--rounds N]

--quick: one short round of every workload (under 5 minutes). The full run: 3 rounds (at most
30 minutes). Workloads live in bench/workloads/wNN_*.py, each a module with TITLE and run(b);
they measure through b (the Bench below) and record rows (workload, variant, peer, round,
metric, value). Peers are started by bench/peers.py. The report and charts are written by
bench/report.py from the CSV alone, so an old CSV can be re-reported.

Rules every workload keeps: loopback only; every load bounded in count and time; every
process started through b.spawn / b.line_proc and stopped by PID (at the latest when the
workload ends); rounds interleaved with b.interleave so drift hits every peer alike.
"""

import argparse
import csv
import datetime
import importlib
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import BENCH, ROOT, TOOLS, LineProc, gl  # noqa: E402
import peers  # noqa: E402
from workloads._mem import tree_pids  # noqa: E402

WORKLOAD_DIR = os.path.join(BENCH, "workloads")
APT_PEERS = ["haproxy", "nginx", "libnginx-mod-stream", "socat", "microsocks", "dante-server",
             "tinyproxy", "squid", "iperf3", "wrk", "gnuplot-nox", "valgrind"]


# Run as a script this module is __main__; workloads `import bench` — let them get this one,
# so bench.Skip is the class interleave() catches.
sys.modules.setdefault("bench", sys.modules[__name__])


class Skip(Exception):
    """Raised by a workload (or a peer start) to skip a variant with a reason."""


class Bench:
    """What a workload sees: settings (quick, rounds, secs, tmp, gost, tools), recording
    (record, note), process control (spawn, line_proc, stop, stop_all) and interleave."""

    def __init__(self, args, csv_path):
        self.quick = args.quick
        self.rounds = args.rounds or (1 if args.quick else 3)
        self.secs = 2.0 if args.quick else 5.0
        self.gost = args.gost
        self.tools = TOOLS
        self.tmp = tempfile.mkdtemp(prefix="gost-bench-")
        self.workload = None
        self.notes = []
        self._procs = []
        self._csv_file = open(csv_path, "w", newline="")
        self._csv = csv.writer(self._csv_file)
        self._csv.writerow(["workload", "variant", "peer", "round", "metric", "value"])

    # ---- recording
    def record(self, variant, peer, rnd, metric, value, workload=None):
        self._csv.writerow([workload or self.workload, variant, peer, rnd, metric,
                            "%.6g" % value])
        self._csv_file.flush()

    def note(self, text):
        print("  note: %s" % text, flush=True)
        self.notes.append((self.workload, text))

    # ---- processes
    def spawn(self, cmd, name, env=None, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL):
        """Start `cmd` with stderr in TMP/<name>.err; stopped by PID in stop_all()."""
        e = dict(os.environ)
        e.update(env or {})
        with open(os.path.join(self.tmp, name + ".err"), "ab") as err:
            p = gl.spawn(cmd, stdout=stdout, stderr=err, stdin=stdin, env=e)
        self._procs.append(p)
        return p

    def line_proc(self, cmd, name):
        """A child speaking a line protocol on stdin/stdout (benchlib.LineProc)."""
        lp = LineProc(cmd)
        self._procs.append(lp.p)
        return lp

    def err_tail(self, name, n=400):
        try:
            with open(os.path.join(self.tmp, name + ".err"), "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def stop(self, server_or_proc):
        """SIGTERM (then SIGKILL) the process, then SIGKILL every descendant it had that is
        still alive (socat's forked children are re-parented, not signalled, when it exits)."""
        p = getattr(server_or_proc, "proc", server_or_proc)
        kids = [(k, _start_time(k)) for k in tree_pids(p.pid) if k != p.pid] \
            if p.poll() is None else []
        try:
            if p.stdin:
                p.stdin.close()
        except OSError:
            pass
        gl.stop_process(p)
        for k, t0 in kids:
            if t0 is not None and _start_time(k) == t0:  # the same process, not a reused PID
                try:
                    os.kill(k, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if p in self._procs:
            self._procs.remove(p)

    def stop_all(self):
        for p in reversed(self._procs):
            self.stop(p)

    # ---- measuring
    def interleave(self, variant, runners, rounds=None):
        """runners: [(peer, fn)], fn(rnd) -> {metric: value}. Runs round 1 of every peer, then
        round 2, ...; records every metric; returns {peer: [results per round]}. A runner that
        raises Skip is dropped (noted) for the remaining rounds."""
        out = {p: [] for p, _ in runners}
        live = list(runners)
        for r in range(1, (rounds or self.rounds) + 1):
            for peer, fn in list(live):
                try:
                    res = fn(r)
                except Skip as e:
                    self.note("%s %s skipped: %s" % (variant, peer, e))
                    live.remove((peer, fn))
                    continue
                out[peer].append(res)
                for k, v in res.items():
                    self.record(variant, peer, r, k, v)
                print("  %-4s %-22s r%d %-16s %s" % (self.workload, variant, r, peer, "  ".join(
                    "%s=%.4g" % kv for kv in res.items())), flush=True)
        return out

    def start_peer(self, starter, *a, **kw):
        """peers.<starter>(self, ...) or None with a note when the peer is missing/broken."""
        try:
            return starter(self, *a, **kw)
        except (peers.Missing, RuntimeError) as e:
            self.note("%s: %s" % (starter.__name__, e))
            return None

    # ---- run helpers
    def run(self, cmd, timeout):
        """Run a load generator; returns its stdout parsed as key=value tokens (floats)."""
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        kv = {}
        for tok in r.stdout.split():
            k, sep, v = tok.partition("=")
            if sep:
                try:
                    kv[k] = float(v)
                except ValueError:
                    pass
        if r.returncode not in (0, 1) or not kv:
            raise RuntimeError("%s failed (%d): %s %s" % (os.path.basename(cmd[0]), r.returncode,
                                                          r.stdout.strip()[-300:],
                                                          r.stderr.strip()[-300:]))
        kv["_rc"] = r.returncode
        return kv

    def close(self):
        self.stop_all()
        self._csv_file.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _start_time(pid):
    """A process's start time (field 22 of /proc/PID/stat), or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        return int(st[st.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def cpu_delta(pid, fn):
    """Run fn(); return (its result, CPU seconds the process tree of `pid` used meanwhile)."""
    c0 = benchlib.tree_cpu_seconds(pid) if pid else 0.0
    res = fn()
    return res, (benchlib.tree_cpu_seconds(pid) - c0) if pid else 0.0


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                       platform.machine())
    except OSError:
        pass
    return "%s, %d CPUs, %s, Linux %s" % (cpu, os.cpu_count(), socket.gethostname(),
                                          platform.release())


def discover(only):
    mods = []
    for fn in sorted(os.listdir(WORKLOAD_DIR)):
        if not (fn.startswith("w") and fn.endswith(".py")):
            continue
        wid = "W%d" % int(fn[1:3])
        if only and wid not in only:
            continue
        mods.append((wid, importlib.import_module("workloads." + fn[:-3])))
    return mods


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated workload ids, e.g. W1,W4")
    ap.add_argument("--rounds", type=int, default=0)
    ap.add_argument("--gost", default=os.path.join(ROOT, "build", "gost"))
    ap.add_argument("--out", default=os.path.join(BENCH, "results"))
    ap.add_argument("--no-install", action="store_true")
    a = ap.parse_args()
    if a.rounds and not 1 <= a.rounds <= 5:
        sys.exit("bench: --rounds 1..5")
    a.gost = os.path.abspath(a.gost)
    if not os.access(a.gost, os.X_OK):
        sys.exit("bench: no gost binary at %s (run `make`)" % a.gost)
    if benchlib.is_sanitized(a.gost):
        sys.exit("bench: %s is a sanitizer build; benchmark the release build (`make`)" % a.gost)
    os.environ["GOST_BIN"] = a.gost
    if not a.no_install:
        benchlib.apt_install([p for p in APT_PEERS if subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True,
            timeout=10).stdout.find("ok installed") < 0])
    benchlib.build_tools()
    benchlib.raise_nofile(65536)

    os.makedirs(a.out, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc)
    base = os.path.join(a.out, "%s-%s%s" % (stamp.strftime("%Y-%m-%d"), socket.gethostname(),
                                            "-quick" if a.quick else ""))
    b = Bench(a, base + ".csv")
    only = {w.strip().upper() for w in a.only.split(",") if w.strip()}
    t0 = time.monotonic()
    failed = []
    titles = {}
    print("bench: %s; gost %s; %s" % (machine(), a.gost, "quick" if a.quick else
                                      "%d rounds" % b.rounds), flush=True)
    try:
        for wid, mod in discover(only):
            b.workload = wid
            titles[wid] = mod.TITLE
            tw = time.monotonic()
            print("%s %s" % (wid, mod.TITLE), flush=True)
            try:
                mod.run(b)
            except Exception as e:  # one broken workload must not lose the others' rows
                traceback.print_exc()
                b.note("workload failed: %s" % e)
                failed.append(wid)
            finally:
                b.stop_all()
            print("  (%.0f s)" % (time.monotonic() - tw), flush=True)
    finally:
        b.close()
    meta = {"date": stamp.strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
            "command": "make bench" + (" QUICK=1" if a.quick else ""),
            "gost": a.gost, "rounds": b.rounds, "seconds": b.secs,
            "duration_s": round(time.monotonic() - t0), "titles": titles,
            "peers": {p: peers.version(p) for p in peers.PACKAGES}}
    import report  # noqa: E402
    report.write(base + ".csv", meta, b.notes, base + ".md", base)
    print("bench: wrote %s.csv, %s.md and charts in %.0f s" % (base, base,
                                                               time.monotonic() - t0))
    if failed:
        sys.exit("bench: workloads failed: %s" % ", ".join(failed))


if __name__ == "__main__":
    main()
