"""Shared bits of the bench scripts: paths, tool build, gost binary choice, line reader, apt
install of comparators, listen wait, median/min/max, CPU time of a process tree."""

import os
import queue
import resource
import subprocess
import sys
import threading
import time

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


def apt_install(pkgs):
    """apt-get install the Debian packages `pkgs` (root only; 60 s per apt call; an update and
    retry when the first try fails). Failures are notes: the caller checks what is there."""
    if os.geteuid() != 0:
        print("note: not root, not installing %s" % " ".join(pkgs))
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + pkgs
    try:
        if subprocess.run(cmd, env=env, capture_output=True, timeout=60).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True,
                           timeout=60)
            r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                print("note: apt-get install %s failed: %s" % (" ".join(pkgs),
                                                                r.stderr.strip()[-300:]))
    except subprocess.TimeoutExpired:
        print("note: apt-get timed out; continuing without %s" % " ".join(pkgs))


def wait_listen(proc, port, what, timeout=10.0):
    """Wait until `proc` (a Popen) owns a TCP socket listening on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("bench: %s exited with status %s" % (what, proc.returncode))
        if gl.port_owner(proc.pid, port, "tcp") == "ours":
            return
        time.sleep(0.05)
    sys.exit("bench: %s did not listen on %d" % (what, port))


def stats(xs):
    """(median, min, max) of a non-empty list."""
    s = sorted(xs)
    n = len(s)
    return (s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2), s[0], s[-1]


def tree_cpu_seconds(pid):
    """utime+stime+cutime+cstime (/proc/PID/stat) summed over `pid` and all its live
    descendants, in seconds: a forking server's (dante's) children count, and children that
    exited and were reaped are in their parent's cutime/cstime. All threads are included."""
    ppid, ticks = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        f = st[st.rindex(")") + 2:].split()  # fields from 3 (state) on; comm may hold spaces
        ppid[int(d)] = int(f[1])
        ticks[int(d)] = int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    kids = {}
    for c, p in ppid.items():
        kids.setdefault(p, []).append(c)
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += ticks.get(p, 0)
        todo.extend(kids.get(p, ()))
    return total / os.sysconf("SC_CLK_TCK")
