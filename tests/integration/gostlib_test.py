"""Shared helpers for the gost integration tests (Python 3 standard library only).

Imported by tests/integration/test_*.py; not itself a test (ctest globs test_*.py only).

Environment
  GOST_BIN            path of the gost binary under test (set by ctest)
  GOST_STANDIN        run the tests against a stand-in instead of $GOST_BIN, to prove the
                      test logic itself:  "py"    = the reference forwarder in this file
                                          "socat" = socat (plain tcp/udp forwards only;
                                                    everything else is skipped)
  GOST_START_TIMEOUT  seconds to wait for gost to listen (default 10)
  GOST_TEST_TIMEOUT   per-test watchdog in seconds (default 300)
  GOST_TEST_KEEP      if set, print the temp directory of each gost run and keep its logs

Readiness is detected without connecting: /proc/net/{tcp,tcp6,udp,udp6} is polled until the
port is in LISTEN (TCP) or bound (UDP) state on a socket owned by the started process, so
no probe connection ever reaches the forwarding target (it would show up in backend counts
and in gost's error log).
"""

import contextlib
import errno
import faulthandler
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.environ.get("GOST_STANDIN", "").strip().lower()
START_TIMEOUT = float(os.environ.get("GOST_START_TIMEOUT", "10"))
STOP_TIMEOUT = 5.0
TEST_TIMEOUT = float(os.environ.get("GOST_TEST_TIMEOUT", "300"))
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                     "ThreadSanitizer", "MemorySanitizer")
LOCALHOST = "127.0.0.1"


class TestFailure(AssertionError):
    pass


class SkipTest(Exception):
    pass


class PortInUse(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def fail(msg):
    raise TestFailure(msg)


def skip(msg):
    raise SkipTest(msg)


def _short(b, n=64):
    """Printable summary of a bytes value for failure messages."""
    if b is None:
        return "None"
    head = b[:n]
    return "%d bytes %r%s" % (len(b), head, "..." if len(b) > n else "")


def sha(b):
    return hashlib.sha256(b).hexdigest()


# --------------------------------------------------------------------------- ports

_given_ports = set()
_ports_lock = threading.Lock()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _port_is_free(port):
    """True if both a TCP and a UDP socket can bind 127.0.0.1:port right now."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((LOCALHOST, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_port():
    """A port that is free for TCP and UDP on 127.0.0.1 and was not handed out before.

    Ports are drawn at random *below* the kernel's ephemeral range, so outgoing connections
    (whose source ports come from that range) never steal them between this call and the
    moment gost binds. Other processes drawing the same number remain possible: callers
    retry on conflict (see start_gost).
    """
    low = _ephemeral_low()
    with _ports_lock:
        if low > 12000:
            for _ in range(200):
                p = random.randint(10000, low - 1)
                if p not in _given_ports and _port_is_free(p):
                    _given_ports.add(p)
                    return p
        for _ in range(200):  # fall back to the kernel's choice
            s = socket.socket()
            s.bind((LOCALHOST, 0))
            p = s.getsockname()[1]
            s.close()
            if p not in _given_ports and _port_is_free(p):
                _given_ports.add(p)
                return p
    fail("could not find a free port")


def dead_port():
    """A port nobody listens on (connections to it are refused)."""
    return free_port()


# ------------------------------------------------------------------ /proc socket state

_TCP_LISTEN = "0A"
_UDP_BOUND = "07"


def _proc_net_entries(proto):
    out = []
    for fn in ("/proc/net/%s" % proto, "/proc/net/%s6" % proto):
        try:
            with open(fn) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for ln in lines:
            parts = ln.split()
            if len(parts) < 10:
                continue
            try:
                port = int(parts[1].rsplit(":", 1)[1], 16)
            except (ValueError, IndexError):
                continue
            out.append((port, parts[3], parts[9]))
    return out


def pid_socket_inodes(pid):
    inodes = set()
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return inodes
    for fd in fds:
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    return inodes


def pid_fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def port_owner(pid, port, proto):
    """'ours' if `pid` has a LISTEN (tcp) / bound (udp) socket on `port`, 'other' if some
    other process has one, None if nobody does."""
    state = _TCP_LISTEN if proto == "tcp" else _UDP_BOUND
    hits = [e for e in _proc_net_entries(proto) if e[0] == port and e[1] == state]
    if not hits:
        return None
    mine = pid_socket_inodes(pid)
    if any(inode in mine for (_, _, inode) in hits):
        return "ours"
    return "other"


def proc_mem(pid):
    """{'VmRSS': bytes, 'VmHWM': bytes, 'Pss': bytes, ...} from /proc (missing keys omitted)."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for ln in f:
                k, _, v = ln.partition(":")
                if k in ("VmRSS", "VmHWM", "VmSize", "RssAnon", "RssFile", "Threads"):
                    parts = v.split()
                    if parts:
                        mult = 1024 if len(parts) > 1 and parts[1] == "kB" else 1
                        out[k] = int(parts[0]) * mult
    except OSError:
        pass
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for ln in f:
                k, _, v = ln.partition(":")
                if k in ("Pss", "Pss_Anon", "Private_Dirty"):
                    out[k] = int(v.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return out


# --------------------------------------------------------------------------- YAML

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _yaml_scalar(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return repr(v)
    s = str(v)
    if _PLAIN.match(s) and s.lower() not in _YAML_WORDS:
        return s
    return json.dumps(s)  # a JSON string is a valid YAML double-quoted scalar


def _yaml_emit(obj, ind, lines):
    pad = "  " * ind
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                lines.append("%s%s:" % (pad, k))
                _yaml_emit(v, ind + 1 if isinstance(v, dict) else ind, lines)
            elif isinstance(v, dict):
                lines.append("%s%s: {}" % (pad, k))
            elif isinstance(v, list):
                lines.append("%s%s: []" % (pad, k))
            else:
                lines.append("%s%s: %s" % (pad, k, _yaml_scalar(v)))
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, dict) and item:
                sub = []
                _yaml_emit(item, ind + 1, sub)
                inner = "  " * (ind + 1)
                sub[0] = pad + "- " + sub[0][len(inner):]
                lines.extend(sub)
            elif isinstance(item, (dict, list)):
                lines.append("%s- %s" % (pad, json.dumps(item)))
            else:
                lines.append("%s- %s" % (pad, _yaml_scalar(item)))
    else:
        lines.append(pad + _yaml_scalar(obj))


def to_yaml(obj):
    """Block-style YAML in the shape of GOST's documentation examples."""
    lines = []
    _yaml_emit(obj, 0, lines)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- processes

_LIVE = set()
_LIVE_LOCK = threading.Lock()
_SETPRIV = shutil.which("setpriv")


def _register(p):
    with _LIVE_LOCK:
        _LIVE.add(p)


def _unregister(p):
    with _LIVE_LOCK:
        _LIVE.discard(p)


def kill_all_live():
    """Last-resort cleanup (watchdog / runner): SIGKILL every process we started, by PID."""
    with _LIVE_LOCK:
        procs = list(_LIVE)
        _LIVE.clear()
    for p in procs:
        try:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=5)
        except Exception:
            pass


def spawn(cmd, stdout=None, stderr=None, stdin=subprocess.DEVNULL, env=None, text=False):
    """Popen that dies with the test runner: prefixed with `setpriv --pdeathsig KILL` (which
    execs, so the PID stays the child's) when started from the main thread. Registered for
    last-resort cleanup; callers still stop it by PID."""
    if _SETPRIV and threading.current_thread() is threading.main_thread():
        cmd = [_SETPRIV, "--pdeathsig", "KILL", "--"] + list(cmd)
    p = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=stderr, env=env,
                         close_fds=True, text=text)
    _register(p)
    return p


def stop_process(p, timeout=STOP_TIMEOUT):
    """SIGTERM, wait `timeout`, then SIGKILL. Returns (returncode, was_killed)."""
    killed = False
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            killed = True
            p.kill()
            p.wait(timeout=10)
    _unregister(p)
    return p.returncode, killed


def _tail(text, n=60, width=400):
    lines = text.splitlines()
    out = [ln if len(ln) <= width else ln[:width] + "..." for ln in lines[-n:]]
    pre = "[... %d earlier lines]\n" % (len(lines) - n) if len(lines) > n else ""
    return pre + "\n".join(out)


def _socat_translate(args):
    """Map the plain `-L tcp|udp://HOST:PORT/TARGET[?ttl=..]` form to socat, else skip."""
    if len(args) != 2 or args[0] != "-L":
        skip("socat stand-in only handles a single plain -L forward (got %r)" % (args,))
    u = urllib.parse.urlsplit(args[1])
    q = dict(urllib.parse.parse_qsl(u.query))
    target = u.path.lstrip("/")
    if u.scheme not in ("tcp", "udp") or not target or "," in target or \
            set(q) - {"ttl"}:
        skip("socat stand-in cannot express %r" % args[1])
    host, _, port = u.netloc.rpartition(":")
    if u.scheme == "tcp":
        return ["socat", "-b", "262144", "TCP-LISTEN:%s,bind=%s,fork,reuseaddr,backlog=512"
                % (port, host), "TCP:%s" % target]
    ttl = _parse_duration(q.get("ttl", "5s"))
    return ["socat", "-b", "65536", "-T", str(ttl),
            "UDP-LISTEN:%s,bind=%s,fork,reuseaddr" % (port, host), "UDP:%s" % target]


class Gost:
    """One gost process.

    spec: list of CLI args, or a dict (a config, written as YAML and passed with -C), or a
    str (YAML text, passed with -C). `tcp_ports` / `udp_ports` are waited for (LISTEN /
    bound, owned by this process) before start() returns.

    Use as a context manager (or start()/stop()). stop() sends SIGTERM, SIGKILLs after 5 s,
    and fails unless the exit status is 0 and stderr has no sanitizer report.
    """

    def __init__(self, spec, tcp_ports=(), udp_ports=(), name="gost", env=None,
                 extra_args=(), start_timeout=None):
        self.spec = spec
        self.tcp_ports = list(tcp_ports)
        self.udp_ports = list(udp_ports)
        self.name = name
        self.env = env or {}
        self.extra_args = list(extra_args)
        self.start_timeout = START_TIMEOUT if start_timeout is None else start_timeout
        self.proc = None
        self.returncode = None
        self.cmd = None
        self._tmp = tempfile.TemporaryDirectory(prefix="gost-it-")
        self.dir = self._tmp.name
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self._out = self._err = None
        self._stopped = False
        self._cache = None
        self.json_logs = STANDIN != "socat"

    # -- lifecycle
    @property
    def pid(self):
        return self.proc.pid

    @property
    def port(self):
        return (self.tcp_ports or self.udp_ports)[0]

    def _command(self):
        args = []
        spec = self.spec
        if isinstance(spec, (dict, str)):
            path = os.path.join(self.dir, "gost.yaml")
            with open(path, "w") as f:
                f.write(to_yaml(spec) if isinstance(spec, dict) else spec)
            if STANDIN == "py":
                if not isinstance(spec, dict):
                    skip("py stand-in cannot read raw YAML text")
                with open(path + ".json", "w") as f:
                    json.dump(spec, f)
            args = ["-C", path]
        else:
            args = [str(a) for a in spec]
        args += self.extra_args
        if STANDIN == "py":
            return [sys.executable, os.path.join(HERE, "gostlib_test.py"), "--standin"] + args
        if STANDIN == "socat":
            if isinstance(spec, (dict, str)):
                skip("socat stand-in cannot read a config file")
            return _socat_translate(args)
        if STANDIN:
            fail("unknown GOST_STANDIN=%r (use 'py' or 'socat')" % STANDIN)
        gbin = os.environ.get("GOST_BIN", "")
        if not gbin:
            fail("GOST_BIN is not set: run through ctest, or export GOST_BIN=/path/to/gost "
                 "(or GOST_STANDIN=py to check the tests themselves)")
        if not (os.path.isfile(gbin) and os.access(gbin, os.X_OK)):
            fail("GOST_BIN=%s is not an executable file (is the build finished?)" % gbin)
        return [gbin] + args

    def start(self):
        self.cmd = self._command()
        env = dict(os.environ)
        env.update(self.env)
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        try:
            self.proc = spawn(self.cmd, stdout=self._out, stderr=self._err, env=env)
        except OSError as e:
            self._close_files()
            fail("%s: cannot execute %s: %s" % (self.name, self.cmd[0], e))
        deadline = time.monotonic() + self.start_timeout
        while True:
            rc = self.proc.poll()
            if rc is not None:
                self._unstarted()
                err = self.stderr_text()
                if "address already in use" in err.lower() or "eaddrinuse" in err.lower():
                    raise PortInUse("%s: %s" % (self.name, _tail(err, 5)))
                fail("%s exited with status %s before it was ready\n  command: %s\n"
                     "  stderr:\n%s" % (self.name, rc, " ".join(self.cmd), _tail(err)))
            pending = []
            for port, proto in ([(p, "tcp") for p in self.tcp_ports] +
                                [(p, "udp") for p in self.udp_ports]):
                owner = port_owner(self.proc.pid, port, proto)
                if owner == "other":
                    self._kill_unstarted()
                    raise PortInUse("%s/%d is held by another process" % (proto, port))
                if owner != "ours":
                    pending.append("%s/%d" % (proto, port))
            if not pending:
                return self
            if time.monotonic() > deadline:
                self._kill_unstarted()
                fail("%s did not listen on %s within %.0f s\n  command: %s\n  stderr:\n%s"
                     % (self.name, ", ".join(pending), self.start_timeout,
                        " ".join(self.cmd), _tail(self.stderr_text())))
            time.sleep(0.05)

    def _kill_unstarted(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._unstarted()

    def _unstarted(self):
        _unregister(self.proc)
        self.returncode = self.proc.returncode
        self._stopped = True
        self._close_files()

    def _close_files(self):
        for f in (self._out, self._err):
            if f:
                f.close()
        self._out = self._err = None

    def stop(self, check_exit=True):
        """Stop by PID (SIGTERM, SIGKILL after 5 s). Returns a list of problems found; with
        check_exit it raises TestFailure if there are any."""
        if self._stopped or self.proc is None:
            return []
        self._stopped = True
        problems = []
        early = self.proc.poll()
        if early is not None:
            problems.append("%s (pid %d) had already exited with status %s before it was "
                            "asked to stop (crash?)" % (self.name, self.proc.pid, early))
        rc, killed = stop_process(self.proc)
        self.returncode = rc
        self._close_files()
        if killed:
            problems.append("%s (pid %d) did not exit within %.0f s of SIGTERM; killed"
                            % (self.name, self.proc.pid, STOP_TIMEOUT))
        elif early is None:
            ok = (0, 143, -15) if STANDIN == "socat" else (0,)
            if rc not in ok:
                problems.append("%s exited with status %s after SIGTERM (want 0)"
                                % (self.name, rc))
        err = self.stderr_text()
        for m in SANITIZER_MARKERS:
            if m in err:
                problems.append("%s stderr contains a sanitizer report (%r)" % (self.name, m))
                break
        if problems:
            msg = "\n".join(problems) + "\n  command: %s\n  stderr:\n%s" % (
                " ".join(self.cmd or []), _tail(err, 80))
            if check_exit:
                raise TestFailure(msg)
            print(msg)
        return problems

    def cleanup(self):
        # keep the output readable after the temp dir is gone
        self._cache = (self.stderr_text(), self.stdout_text())
        if os.environ.get("GOST_TEST_KEEP"):
            print("  [%s logs kept in %s]" % (self.name, self.dir))
            return
        try:
            self._tmp.cleanup()
        except OSError:
            pass

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, et, ev, tb):
        try:
            if et is None:
                self.stop(check_exit=True)
            elif issubclass(et, SkipTest):
                self.stop(check_exit=False)
            else:
                self.stop(check_exit=False)
                if self.cmd:
                    print("  [%s] command: %s\n  [%s] stderr tail:\n%s" % (
                        self.name, " ".join(self.cmd), self.name,
                        _tail(self.stderr_text(), 40)))
        finally:
            self.cleanup()
        return False

    # -- output
    def stderr_text(self):
        if self._cache is not None:
            return self._cache[0]
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stdout_text(self):
        if self._cache is not None:
            return self._cache[1]
        try:
            with open(self.stdout_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_records(self):
        """JSON log records (dicts) from stderr and stdout, in order; other lines ignored."""
        out = []
        for text in (self.stderr_text(), self.stdout_text()):
            for ln in text.splitlines():
                ln = ln.strip()
                if ln.startswith("{"):
                    try:
                        rec = json.loads(ln)
                    except ValueError:
                        continue
                    if isinstance(rec, dict):
                        rec["_raw"] = ln
                        out.append(rec)
        return out

    def wait_for_log(self, pred, timeout=3.0):
        deadline = time.monotonic() + timeout
        while True:
            hits = [r for r in self.log_records() if pred(r)]
            if hits or time.monotonic() > deadline:
                return hits
            time.sleep(0.05)

    def require_json_logs(self):
        if not self.json_logs:
            skip("this stand-in writes no GOST JSON log (the checks before this passed)")


@contextlib.contextmanager
def start_gost(build, tcp=0, udp=0, name="gost", env=None, attempts=3, extra_args=()):
    """Allocate `tcp` + `udp` fresh ports, call build(*ports) for the spec (CLI arg list,
    config dict, or YAML text), start gost and wait for all those ports. Retries with new
    ports when the start fails because a port was taken. Yields the Gost (g.tcp_ports,
    g.udp_ports, g.port)."""
    last = None
    for _ in range(attempts):
        tports = [free_port() for _ in range(tcp)]
        uports = [free_port() for _ in range(udp)]
        g = Gost(build(*(tports + uports)), tcp_ports=tports, udp_ports=uports, name=name,
                 env=env, extra_args=extra_args)
        try:
            g.start()
        except PortInUse as e:
            last = e
            g.cleanup()
            continue
        except BaseException:
            g.cleanup()
            raise
        with g:
            yield g
        return
    fail("%s: port conflict on every one of %d attempts (last: %s)" % (name, attempts, last))


# ------------------------------------------------------------------------ TCP helpers

def connect(port, timeout=5.0, host=LOCALHOST):
    s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    return s


def recv_exact(sock, n, timeout=10.0, what="data"):
    buf = bytearray()
    deadline = time.monotonic() + timeout
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            fail("timed out after %.1f s waiting for %s: got %d of %d bytes"
                 % (timeout, what, len(buf), n))
        sock.settimeout(left)
        try:
            chunk = sock.recv(min(n - len(buf), 1 << 20))
        except socket.timeout:
            continue
        except ConnectionResetError:
            fail("connection reset while waiting for %s: got %d of %d bytes"
                 % (what, len(buf), n))
        if not chunk:
            fail("EOF while waiting for %s: got %d of %d bytes" % (what, len(buf), n))
        buf += chunk
    return bytes(buf)


def recv_to_eof(sock, timeout=10.0, limit=1 << 30):
    """Read until EOF/reset/timeout. Returns (data, how) with how in eof|reset|timeout."""
    buf = bytearray()
    deadline = time.monotonic() + timeout
    while len(buf) <= limit:
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(buf), "timeout"
        sock.settimeout(left)
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return bytes(buf), "reset"
        if not chunk:
            return bytes(buf), "eof"
        buf += chunk
    return bytes(buf), "limit"


class Job(threading.Thread):
    """A thread whose exception (or result) is collected by join_result()."""

    def __init__(self, fn, *args, name=None):
        super().__init__(daemon=True, name=name)
        self.fn, self.args = fn, args
        self.result = self.exc = None

    def run(self):
        try:
            self.result = self.fn(*self.args)
        except BaseException as e:  # noqa: B902 - reported by join_result
            self.exc = e
            self.tb = traceback.format_exc()

    def join_result(self, timeout):
        self.join(timeout)
        if self.is_alive():
            fail("thread %s still running after %.0f s" % (self.name, timeout))
        if self.exc is not None:
            if isinstance(self.exc, TestFailure):
                raise self.exc
            fail("thread %s failed:\n%s" % (self.name, self.tb))
        return self.result


CHUNK = 256 * 1024


def send_stream(sock, nbytes, seed, deadline, shut=True):
    """Send `nbytes` of seeded pseudo-random data; returns its sha256 hex."""
    rng = random.Random(seed)
    h = hashlib.sha256()
    left = nbytes
    while left > 0:
        t = deadline - time.monotonic()
        if t <= 0:
            fail("send deadline passed with %d of %d bytes unsent" % (left, nbytes))
        chunk = rng.randbytes(min(CHUNK, left))
        h.update(chunk)
        sock.settimeout(t)
        sock.sendall(chunk)
        left -= len(chunk)
    if shut:
        sock.shutdown(socket.SHUT_WR)
    return h.hexdigest()


def hash_to_eof(sock, deadline):
    """Read to EOF hashing; returns (nbytes, sha256 hex, how)."""
    h = hashlib.sha256()
    n = 0
    buf = bytearray(CHUNK)
    while True:
        t = deadline - time.monotonic()
        if t <= 0:
            return n, h.hexdigest(), "timeout"
        sock.settimeout(t)
        try:
            k = sock.recv_into(buf)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return n, h.hexdigest(), "reset"
        if k == 0:
            return n, h.hexdigest(), "eof"
        h.update(memoryview(buf)[:k])
        n += k


# ------------------------------------------------------------------------ TCP servers

class TcpServer:
    """Threaded TCP server on 127.0.0.1:<kernel port>; handler(conn, server) runs in its own
    thread per connection. Exceptions in handlers are collected; check() raises them."""

    def __init__(self, handler, name="backend", backlog=1024):
        self.handler = handler
        self.name = name
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LOCALHOST, 0))
        self.sock.listen(backlog)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.errors = []
        self.accepted = 0
        self.peers = []
        self.results = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._conns = set()
        self._threads = []
        self._t = threading.Thread(target=self._loop, daemon=True, name=name)
        self._t.start()

    def _loop(self):
        while not self._stop.is_set():
            try:
                c, addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                self.peers.append(addr)
                self._conns.add(c)
            t = threading.Thread(target=self._run, args=(c,), daemon=True)
            self._threads.append(t)
            t.start()

    def _run(self, c):
        try:
            self.handler(c, self)
        except BaseException:
            with self.lock:
                self.errors.append(traceback.format_exc())
        finally:
            with self.lock:
                self._conns.discard(c)
            try:
                c.close()
            except OSError:
                pass

    def add_result(self, r):
        with self.lock:
            self.results.append(r)

    def wait_results(self, n, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.results) >= n or self.errors:
                    break
            time.sleep(0.02)
        self.check()
        with self.lock:
            if len(self.results) < n:
                fail("%s: %d of %d connection results after %.0f s"
                     % (self.name, len(self.results), n, timeout))
            return list(self.results)

    def check(self):
        with self.lock:
            if self.errors:
                fail("%s handler error(s):\n%s" % (self.name, "\n".join(self.errors[:3])))

    def close(self):
        self._stop.set()
        try:
            self.sock.close()
        except OSError:
            pass
        with self.lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._t.join(2)
        for t in self._threads:
            t.join(2)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _echo_handler(c, srv):
    c.settimeout(120)
    while True:
        try:
            d = c.recv(CHUNK)
        except (ConnectionResetError, socket.timeout):
            return
        if not d:
            break
        c.sendall(d)
        with srv.lock:
            srv.bytes += len(d)
    try:
        c.shutdown(socket.SHUT_WR)
    except OSError:
        pass


class EchoServer(TcpServer):
    """Echoes every byte; on EOF half-closes back and closes."""

    def __init__(self, name="echo"):
        self.bytes = 0
        super().__init__(_echo_handler, name=name)


def _bulk_handler(c, srv):
    """Concurrently: hash everything received until EOF, and send srv.send_bytes seeded
    bytes then SHUT_WR. Records one result dict per connection."""
    deadline = time.monotonic() + srv.timeout
    seed = random.getrandbits(64)
    sender = Job(send_stream, c, srv.send_bytes, seed, deadline, name="bulk-send")
    sender.start()
    n, digest, how = hash_to_eof(c, deadline)
    tx = sender.join_result(max(1.0, deadline - time.monotonic()))
    srv.add_result({"rx_bytes": n, "rx_sha": digest, "rx_end": how,
                    "tx_bytes": srv.send_bytes, "tx_sha": tx})


class BulkServer(TcpServer):
    """Per connection: receive-and-hash until EOF while sending `send_bytes` of random data."""

    def __init__(self, send_bytes, timeout=120.0, name="bulk"):
        self.send_bytes = send_bytes
        self.timeout = timeout
        super().__init__(_bulk_handler, name=name)


def bulk_both_ways(port, server, nbytes, timeout, label="bulk"):
    """Client side of BulkServer through `port`: send nbytes while receiving server.send_bytes;
    both directions verified by sha256. Returns elapsed seconds."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    before = len(server.results)
    s = connect(port, timeout=10)
    try:
        sender = Job(send_stream, s, nbytes, random.getrandbits(64), deadline,
                     name=label + "-client-send")
        sender.start()
        n, rx_sha, how = hash_to_eof(s, deadline)
        tx_sha = sender.join_result(max(1.0, deadline - time.monotonic()))
    finally:
        s.close()
    res = server.wait_results(before + 1, max(2.0, deadline - time.monotonic()))[before]
    check(res["rx_end"] == "eof",
          "%s: backend did not see a clean EOF (%s) after %d of %d bytes"
          % (label, res["rx_end"], res["rx_bytes"], nbytes))
    check(res["rx_bytes"] == nbytes and res["rx_sha"] == tx_sha,
          "%s client->server corrupted: sent %d bytes sha %s, backend got %d bytes sha %s"
          % (label, nbytes, tx_sha[:16], res["rx_bytes"], res["rx_sha"][:16]))
    check(how == "eof", "%s: client stream ended with %s after %d of %d bytes"
          % (label, how, n, server.send_bytes))
    check(n == server.send_bytes and rx_sha == res["tx_sha"],
          "%s server->client corrupted: backend sent %d bytes sha %s, client got %d sha %s"
          % (label, server.send_bytes, res["tx_sha"][:16], n, rx_sha[:16]))
    return time.monotonic() - t0


def echo_check(port, payloads, timeout=10.0):
    """One connection; for each payload send it and expect it back exactly."""
    s = connect(port, timeout=timeout)
    try:
        for i, p in enumerate(payloads):
            s.sendall(p)
            got = recv_exact(s, len(p), timeout, what="echo of payload %d" % i)
            check(got == p, "echo mismatch for payload %d: sent %s, got %s"
                  % (i, _short(p), _short(got)))
    finally:
        s.close()


def echo_stream(port, nbytes, timeout):
    """Stream nbytes through an echo path while reading it back concurrently; sha256 check."""
    deadline = time.monotonic() + timeout
    s = connect(port, timeout=10)
    try:
        sender = Job(send_stream, s, nbytes, random.getrandbits(64), deadline, name="echo-send")
        sender.start()
        n, rx_sha, how = hash_to_eof(s, deadline)
        tx_sha = sender.join_result(max(1.0, deadline - time.monotonic()))
    finally:
        s.close()
    check(how == "eof", "echo stream ended with %s after %d of %d bytes" % (how, n, nbytes))
    check(n == nbytes and rx_sha == tx_sha,
          "echo stream corrupted: sent %d sha %s, got %d sha %s"
          % (nbytes, tx_sha[:16], n, rx_sha[:16]))


# ------------------------------------------------------------------------ UDP helpers

class UdpEchoServer:
    """Replies to each datagram `replies` times with prefix + data (for replies > 1 each
    reply is prefix + b'#<i>:' + data). Records the source address of every datagram."""

    def __init__(self, prefix=b"", replies=1, name="uecho"):
        self.prefix = prefix
        self.replies = replies
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, opt, 4 << 20)
            except OSError:
                pass
        self.sock.bind((LOCALHOST, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.peers = []  # source address per datagram, in arrival order
        self.received = 0
        self.errors = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True, name=name)
        self._t.start()

    def _loop(self):
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError as e:
                if self._stop.is_set():
                    return
                if e.errno in (errno.ECONNREFUSED,):
                    continue
                with self.lock:
                    self.errors.append(repr(e))
                continue
            with self.lock:
                self.peers.append(addr)
                self.received += 1
            try:
                for i in range(self.replies):
                    tag = (b"#%d:" % i) if self.replies > 1 else b""
                    self.sock.sendto(self.prefix + tag + data, addr)
            except OSError as e:
                with self.lock:
                    self.errors.append(repr(e))

    def distinct_peers(self):
        with self.lock:
            return sorted(set(self.peers))

    def close(self):
        self._stop.set()
        self._t.join(2)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def udp_client(timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    except OSError:
        pass
    s.bind((LOCALHOST, 0))
    s.settimeout(timeout)
    return s


def udp_recv(sock, timeout, what="reply"):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            fail("no UDP %s within %.1f s" % (what, timeout))
        sock.settimeout(left)
        try:
            data, addr = sock.recvfrom(65536)
            return data
        except socket.timeout:
            continue
        except ConnectionRefusedError:
            fail("ICMP port unreachable while waiting for UDP %s (nobody listening?)" % what)


def udp_exchange(sock, port, payload, timeout=5.0, what="reply"):
    sock.sendto(payload, (LOCALHOST, port))
    return udp_recv(sock, timeout, what)


# ------------------------------------------------------------------------ test runner

def _on_timeout(name):
    print("\nTIMEOUT: %s ran longer than %.0f s; thread stacks follow" % (name, TEST_TIMEOUT),
          flush=True)
    try:
        faulthandler.dump_traceback(file=sys.stdout, all_threads=True)
    except Exception:
        pass
    kill_all_live()
    print("FAIL %s (watchdog timeout)\n0 passed, 1 failed" % name, flush=True)
    os._exit(1)


def run_tests(ns, argv=None):
    """Run the module's test_* functions in source order. argv: optional name filters.
    Prints PASS/FAIL/SKIP with timing and a closing 'N passed, N failed, N skipped' line;
    exits 1 if anything failed."""
    argv = sys.argv[1:] if argv is None else argv
    tests = [(n, f) for n, f in ns.items() if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda nf: nf[1].__code__.co_firstlineno)
    if argv:
        tests = [(n, f) for n, f in tests if any(a in n for a in argv)]
    mode = ("stand-in %s" % STANDIN) if STANDIN else ("GOST_BIN=%s" % os.environ.get("GOST_BIN"))
    print("%s: %d tests against %s" % (os.path.basename(sys.argv[0]), len(tests), mode),
          flush=True)
    passed = failed = skipped = 0
    for name, fn in tests:
        t0 = time.monotonic()
        timer = threading.Timer(TEST_TIMEOUT, _on_timeout, args=(name,))
        timer.daemon = True
        timer.start()
        try:
            fn()
        except SkipTest as e:
            skipped += 1
            print("SKIP %s (%.2fs): %s" % (name, time.monotonic() - t0, e), flush=True)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                kill_all_live()
                raise
            failed += 1
            print("FAIL %s (%.2fs)" % (name, time.monotonic() - t0))
            if isinstance(e, TestFailure):
                print("  " + str(e).replace("\n", "\n  "))
                tb = traceback.extract_tb(e.__traceback__)
                for fr in tb:
                    if os.path.basename(fr.filename).startswith("test_"):
                        print("  at %s:%d in %s" % (os.path.basename(fr.filename),
                                                     fr.lineno, fr.name))
            else:
                print("  " + traceback.format_exc().replace("\n", "\n  "))
            sys.stdout.flush()
        else:
            passed += 1
            print("PASS %s (%.2fs)" % (name, time.monotonic() - t0), flush=True)
        finally:
            timer.cancel()
            kill_all_live()
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped), flush=True)
    sys.exit(1 if failed else 0)


# ====================================================================== py stand-in
#
# A small reference forwarder with the behaviour the tests expect of gost, used only to
# prove the tests (GOST_STANDIN=py). Understands: -L tcp|udp://HOST:PORT[/T1,T2..][?ttl=&
# strategy=&maxFails=&failTimeout=], -F forward[+tcp|+udp]://HOST:PORT, and -C FILE
# (reads FILE.json, the config dict that Gost wrote alongside the YAML).
#
# GOST_STANDIN_FAULT=<name>[,<name>] makes it misbehave on purpose, to show that the tests
# catch it: corrupt, no-halfclose, no-failmark, double-log, leak, ignore-hop,
# udp-one-reply, udp-no-ttl, udp-truncate, bad-exit.

FAULTS = set(filter(None, os.environ.get("GOST_STANDIN_FAULT", "").split(",")))
_LEAKED = []

def _parse_duration(v, default=None):
    if v is None or v == "":
        return default
    if isinstance(v, (int, float)):
        return float(v)
    m = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s|m|h)?\s*", str(v))
    if not m:
        return default
    n = float(m.group(1))
    return n * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


class _Log:
    lock = threading.Lock()

    @staticmethod
    def emit(level, msg, **fields):
        rec = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime()) + "Z",
               "level": level, "kind": "handler"}
        rec.update(fields)
        rec["msg"] = msg
        line = json.dumps(rec) + "\n"
        with _Log.lock:
            sys.stderr.write(line)
            sys.stderr.flush()


class _Selector:
    def __init__(self, nodes, strategy="round", max_fails=1, fail_timeout=10.0):
        self.nodes = nodes
        self.max_fails = max_fails
        self.fail_timeout = fail_timeout
        self.fails = {n: [0, 0.0] for n in nodes}
        self.counter = 0
        self.lock = threading.Lock()

    def pick(self):
        with self.lock:
            now = time.monotonic()
            cand = self.nodes
            if len(cand) > 1:
                cand = [n for n in cand if self.fails[n][0] < self.max_fails or
                        now - self.fails[n][1] >= self.fail_timeout] or cand
            n = cand[self.counter % len(cand)]
            self.counter += 1
            return n

    def mark(self, node, ok):
        if "no-failmark" in FAULTS:
            return
        with self.lock:
            if ok:
                self.fails[node] = [0, 0.0]
            else:
                self.fails[node][0] += 1
                self.fails[node][1] = time.monotonic()


def _pipe(src, dst, done):
    n = 0
    try:
        while True:
            d = src.recv(CHUNK)
            if not d:
                break
            n += 1
            if "corrupt" in FAULTS and n == 20:
                d = bytes([d[0] ^ 1]) + d[1:]
            dst.sendall(d)
        try:
            if "no-halfclose" in FAULTS:
                src.shutdown(socket.SHUT_RDWR)
                dst.shutdown(socket.SHUT_RDWR)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    except OSError:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    finally:
        done.release()


class _Service:
    def __init__(self, name, net, addr, targets, selector, hop, md):
        self.name, self.net, self.addr = name, net, addr
        self.targets, self.selector, self.hop, self.md = targets, selector, hop, md
        host, _, port = addr.rpartition(":")
        self.bind = (host or "0.0.0.0", int(port))

    def target(self):
        node = self.selector.pick() if self.selector else None
        dial = self.hop if self.hop else node
        if "ignore-hop" in FAULTS and node:
            dial = node
        return node, dial

    def start(self):
        if self.net == "tcp":
            self.sock = socket.socket()
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(self.bind)
            self.sock.listen(1024)
            threading.Thread(target=self._tcp_loop, daemon=True).start()
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(self.bind)
            self.sessions = {}
            self.slock = threading.Lock()
            threading.Thread(target=self._udp_loop, daemon=True).start()
            threading.Thread(target=self._udp_reaper, daemon=True).start()

    def _tcp_loop(self):
        while True:
            try:
                c, addr = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._tcp_conn, args=(c, addr), daemon=True).start()

    def _tcp_conn(self, c, addr):
        node, dial = self.target()
        _Log.emit("info", "%s:%d <> %s" % (addr[0], addr[1], self.addr), service=self.name)
        if dial is None:
            _Log.emit("error", "node not available", service=self.name)
            c.close()
            return
        host, _, port = dial.rpartition(":")
        try:
            u = socket.create_connection((host, int(port)), timeout=15)
            u.settimeout(None)
        except OSError as e:
            for _ in range(2 if "double-log" in FAULTS else 1):
                _Log.emit("error", "dial tcp %s: connect: %s"
                          % (dial, (e.strerror or str(e)).lower()), service=self.name, dst=dial)
            if node and self.selector:
                self.selector.mark(node, False)
            c.close()
            return
        if node and self.selector:
            self.selector.mark(node, True)
        done = threading.Semaphore(0)
        threading.Thread(target=_pipe, args=(c, u, done), daemon=True).start()
        threading.Thread(target=_pipe, args=(u, c, done), daemon=True).start()
        done.acquire()
        done.acquire()
        c.close()
        if "leak" in FAULTS:
            _LEAKED.append(u)  # keep it referenced so it is never closed
        else:
            u.close()
        _Log.emit("info", "%s:%d >< %s" % (addr[0], addr[1], self.addr), service=self.name)

    def _udp_loop(self):
        bufsize = int(self.md.get("readbuffersize", 65536))
        while True:
            try:
                data, addr = self.sock.recvfrom(max(bufsize, 65536))
            except OSError:
                return
            with self.slock:
                sess = self.sessions.get(addr)
            if sess is None:
                node, dial = self.target()
                if dial is None:
                    continue
                host, _, port = dial.rpartition(":")
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                u.connect((host, int(port)))
                sess = {"up": u, "last": time.monotonic(), "closed": False}
                with self.slock:
                    self.sessions[addr] = sess
                threading.Thread(target=self._udp_up, args=(addr, sess), daemon=True).start()
            sess["last"] = time.monotonic()
            try:
                sess["up"].send(data)
            except OSError:
                pass

    def _udp_up(self, addr, sess):
        u = sess["up"]
        u.settimeout(0.1)
        while not sess["closed"]:
            try:
                d = u.recv(4096 if "udp-truncate" in FAULTS else 65536)
            except socket.timeout:
                continue
            except OSError:
                if sess["closed"]:
                    return
                continue
            sess["last"] = time.monotonic()
            self.sock.sendto(d, addr)
            if "udp-one-reply" in FAULTS:  # GOST's keepalive=false behaviour
                sess["closed"] = True
                with self.slock:
                    if self.sessions.get(addr) is sess:
                        del self.sessions[addr]
                return

    def _udp_reaper(self):
        ttl = _parse_duration(self.md.get("ttl"), 60.0)  # docs/udp.md default
        while True:
            time.sleep(0.05)
            now = time.monotonic()
            with self.slock:
                for addr, s in list(self.sessions.items()):
                    if now - s["last"] > ttl and "udp-no-ttl" not in FAULTS:
                        s["closed"] = True
                        del self.sessions[addr]
                        _Log.emit("info", "session %s:%d closed (idle)" % addr,
                                  service=self.name)


def _standin_main(argv):
    # Block the stop signals before any thread exists (threads inherit the mask), then
    # sigwait for them: a Python-level handler that touches locks can deadlock.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    services, hops, config = [], [], None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-L", "-F", "-C") and i + 1 < len(argv):
            if a == "-L":
                services.append(argv[i + 1])
            elif a == "-F":
                hops.append(argv[i + 1])
            else:
                config = argv[i + 1]
            i += 2
        else:
            i += 1
    svcs = []
    hop = None
    for f in hops:
        u = urllib.parse.urlsplit(f)
        if u.scheme not in ("forward", "forward+tcp", "forward+udp"):
            print("stand-in: unsupported -F %s" % f, file=sys.stderr)
            return 2
        hop = u.netloc
    for idx, l in enumerate(services):
        u = urllib.parse.urlsplit(l)
        if u.scheme not in ("tcp", "udp"):
            print("stand-in: unsupported -L %s" % l, file=sys.stderr)
            return 2
        q = {k.lower(): v for k, v in urllib.parse.parse_qsl(u.query)}
        targets = [t for t in u.path.lstrip("/").split(",") if t]
        sel = None
        if targets:
            sel = _Selector(targets, q.get("strategy", "round"), int(q.get("maxfails", 1)),
                            _parse_duration(q.get("failtimeout"), 30.0))
        svcs.append(_Service("service-%d" % idx, u.scheme, u.netloc, targets, sel, hop, q))
    if config:
        with open(config + ".json") as f:
            cfg = json.load(f)
        chains = {c["name"]: c for c in cfg.get("chains", [])}
        for s in cfg.get("services", []):
            net = s.get("listener", {}).get("type", "tcp")
            h = s.get("handler", {})
            md = {k.lower(): v for k, v in s.get("listener", {}).get("metadata", {}).items()}
            fw = s.get("forwarder", {})
            targets = [n["addr"] for n in fw.get("nodes", [])]
            sl = fw.get("selector", {})
            sel = _Selector(targets, sl.get("strategy", "round"), int(sl.get("maxFails", 1)),
                            _parse_duration(sl.get("failTimeout"), 10.0)) if targets else None
            shop = None
            if h.get("chain"):
                shop = chains[h["chain"]]["hops"][0]["nodes"][0]["addr"]
            svcs.append(_Service(s.get("name", "service"), net, s["addr"], targets, sel,
                                 shop, md))
    for s in svcs:
        try:
            s.start()
        except OSError as e:
            _Log.emit("fatal", "listen %s %s: bind: %s" % (s.net, s.addr, e.strerror.lower()))
            return 1
        _Log.emit("info", "listening on %s/%s" % (s.addr, s.net), kind="service",
                  service=s.name)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    sys.stderr.flush()
    os.write(2, b'{"level":"info","kind":"service","msg":"shutdown"}\n')
    os._exit(1 if "bad-exit" in FAULTS else 0)


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--standin":
    sys.exit(_standin_main(sys.argv[2:]))
