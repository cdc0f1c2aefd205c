"""Shared bits of the bench scripts: paths, tool build, gost binary choice, line reader."""

import os
import queue
import resource
import subprocess
import sys
import threading

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import gostlib_test as gl  # noqa: E402  (Gost process helper, /proc readers, ports)

TOOLS = os.path.join(BENCH, "build")


def build_tools():
    r = subprocess.run(["make", "-s", "-C", BENCH, "tools"], capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        sys.exit("bench: building bench/tools failed:\n" + r.stdout + r.stderr)


def choose_gost(arg=None):
    """--gost, else $GOST_BIN, else build/gost (the release build from `make`)."""
    if gl.STANDIN:
        return "stand-in %s" % gl.STANDIN
    path = arg or os.environ.get("GOST_BIN") or os.path.join(ROOT, "build", "gost")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        sys.exit("bench: no gost binary at %s (run `make`, or pass --gost / set GOST_BIN)"
                 % path)
    os.environ["GOST_BIN"] = os.path.abspath(path)
    return os.environ["GOST_BIN"]


def is_sanitized(path):
    try:
        with open(path, "rb") as f:
            return b"AddressSanitizer" in f.read()
    except OSError:
        return False


def raise_nofile(need):
    """Raise RLIMIT_NOFILE (soft and, as root, hard) to `need`; children inherit it.
    Returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
            return need
        except (ValueError, OSError):
            pass
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class LineProc:
    """A child speaking a line protocol on stdin/stdout; readline() has a timeout."""

    def __init__(self, cmd):
        self.p = gl.spawn(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.q = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for ln in self.p.stdout:
            self.q.put(ln.strip())
        self.q.put(None)

    def readline(self, timeout, what):
        try:
            ln = self.q.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            sys.exit("bench: no %s from %s within %.0f s" % (what, self.p.args[0], timeout))
        if ln is None:
            sys.exit("bench: %s exited (status %s) while waiting for %s"
                     % (self.p.args[0], self.p.poll(), what))
        return ln

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def stop(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        gl.stop_process(self.p)


def mib(n):
    return "%.1f MiB" % (n / 1048576.0)
