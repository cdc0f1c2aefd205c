"""W9 footprint: stripped binary size, resident memory just after start, and time to ready.

- binary_bytes (gost only): size of `strip -o TMP/gost.stripped <gost>`. Not recorded for
  the peers: their executables lean on shared libraries (haproxy, nginx: libssl, pcre, ...), so
  a byte count of the executable alone would not compare like with like.
- ready_ms: time from just before Popen (time.monotonic()) to the first successful TCP connect
  to the server's port, polling with a connect attempt every ~0.2 ms (each attempt a fresh
  socket; refused ones are closed at once), bounded to 5 s. A connect succeeds as soon as the
  server has called listen() (the kernel completes the handshake), so this is exec ->
  listening, not exec -> first accept(). The time includes Python's fork/exec and the
  `setpriv --pdeathsig` wrapper every bench child is started through (it execs the server in
  place). The peer "socat" (a plain `socat TCP-LISTEN` forwarder, a small C program that
  listens almost at once) is started the same way: its ready_ms is the floor of the method.
- rss_kib_start: VmRSS (KiB) 0.5 s after ready, summed over the process tree (nginx's master and
  its workers each count their shared pages, so nginx's figure is an over-count; gost, haproxy
  and socat are one process until a connection arrives). The one probe connection has been
  closed by then; its forward to the echo backend may still be accounted.

Every server is started fresh for each run; a run is one round (20 full, 5 quick), interleaved
over the peers, so the report shows median [min-max]. Servers: gost `-L tcp://127.0.0.1:P/
127.0.0.1:ECHO` (GOST_LOGGER_LEVEL=warn, default workers), haproxy and nginx stream forwarders
with the same settings as bench/peers.py, socat `TCP-LISTEN:P,fork` forwarding to the echo.
"""

import os
import resource
import socket
import subprocess
import time

import bench
import peers
from benchlib import gl

TITLE = "Footprint: binary size, RSS after start, time to ready"
H = "127.0.0.1"


def tree_pids(root):
    """root and its live descendants (from /proc/*/stat)."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo and len(out) < 1000:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def rss_kib(root):
    total = 0
    for pid in tree_pids(root):
        try:
            with open("/proc/%d/status" % pid) as f:
                total += next((int(ln.split()[1]) for ln in f if ln.startswith("VmRSS:")), 0)
        except (OSError, ValueError):
            pass
    return total


def wait_ready(proc, port, limit=5.0):
    """Seconds from now until a TCP connect to 127.0.0.1:port succeeds (caller subtracts its
    own t0); raises RuntimeError if the process exits or `limit` passes."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        s = socket.socket()
        s.settimeout(0.1)
        rc = s.connect_ex((H, port))
        s.close()
        if rc == 0:
            return time.monotonic()
        if proc.poll() is not None:
            raise RuntimeError("exited with status %s" % proc.returncode)
        time.sleep(0.0002)
    raise RuntimeError("not accepting on %d within %.0f s" % (port, limit))


def haproxy_maxconn():
    """peers.py's 40000, lowered to what RLIMIT_NOFILE allows (haproxy refuses to start when
    it cannot get ~2.5 fds per connection)."""
    return min(40000, (resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 100) * 2 // 5)


def spawn_floor(b, n):
    """ms from Popen to exit of `/bin/true` started like every server here (n runs)."""
    xs = []
    for _ in range(n):
        t0 = time.monotonic()
        p = b.spawn(["true"], "w9-true")
        p.wait(timeout=10)
        xs.append((time.monotonic() - t0) * 1e3)
        b.stop(p)
    return sorted(xs)


def commands(b, name, port, echo):
    """(argv, env) starting peer `name` on `port`, forwarding to `echo`."""
    if name == "gost":
        return ([b.gost, "-L", "tcp://%s:%d/%s:%d" % (H, port, H, echo)],
                {"GOST_LOGGER_LEVEL": "warn"})
    if name == "socat":
        return ([peers.exe("socat"), "TCP-LISTEN:%d,bind=%s,fork,reuseaddr" % (port, H),
                 "TCP:%s:%d" % (H, echo)], None)
    cfg = os.path.join(b.tmp, "w9-%s-%d" % (name, port))
    if name == "haproxy":
        mc = haproxy_maxconn()
        with open(cfg, "w") as f:
            f.write("global\n  maxconn %d\ndefaults\n  mode tcp\n  timeout connect 5s\n"
                    "  timeout client 600s\n  timeout server 600s\n  option splice-auto\n"
                    "frontend fe\n  bind %s:%d\n  maxconn %d\n  default_backend be\n"
                    "backend be\n  server s1 %s:%d\n" % (mc, H, port, mc, H, echo))
        return [peers.exe("haproxy"), "-db", "-f", cfg], None
    os.makedirs(cfg, exist_ok=True)  # nginx: a prefix dir per run
    conf = os.path.join(cfg, "nginx.conf")
    with open(conf, "w") as f:
        f.write("load_module %s;\nworker_processes auto;\nworker_rlimit_nofile 65536;\n"
                "error_log %s/error.log warn;\npid %s/nginx.pid;\n"
                "events { worker_connections 30000; }\n"
                "stream { server { listen %s:%d; proxy_pass %s:%d; } }\n"
                % (peers.NGINX_STREAM_MODULE, cfg, cfg, H, port, H, echo))
    return [peers.exe("nginx"), "-p", cfg, "-c", conf, "-g", "daemon off;"], None


def runner(b, name, echo):
    skip = bench.Skip

    def fn(rnd):
        port = gl.free_port()
        try:
            cmd, env = commands(b, name, port, echo)
        except peers.Missing as e:
            raise skip(str(e))
        t0 = time.monotonic()
        p = b.spawn(cmd, "w9-" + name, env=env)
        try:
            t1 = wait_ready(p, port)
            time.sleep(0.5)
            if p.poll() is not None:
                raise RuntimeError("exited with status %s" % p.returncode)
            return {"ready_ms": (t1 - t0) * 1e3, "rss_kib_start": float(rss_kib(p.pid))}
        except RuntimeError as e:
            raise skip("%s: %s %s" % (name, e, b.err_tail("w9-" + name)))
        finally:
            b.stop(p)
    return fn


def run(b):
    stripped = os.path.join(b.tmp, "gost.stripped")
    subprocess.run(["strip", "-o", stripped, b.gost], check=True, timeout=60)
    size = os.path.getsize(stripped)
    b.record("footprint", "gost", 1, "binary_bytes", size)
    b.note("gost binary %d B as built, %d B stripped (%s)" % (os.path.getsize(b.gost), size,
                                                             b.gost))
    echo = b.start_peer(peers.echo_hold)
    if not echo:
        return
    runs = 5 if b.quick else 20
    b.interleave("footprint", [(n, runner(b, n, echo.port))
                               for n in ("gost", "haproxy", "nginx", "socat")], rounds=runs)
    fl = spawn_floor(b, runs)
    b.note("spawn floor (Popen -> exit of /bin/true, same wrapper): median %.2f ms [%.2f-%.2f]"
           % (fl[len(fl) // 2], fl[0], fl[-1]))
    if haproxy_maxconn() < 40000:
        b.note("haproxy maxconn %d here (RLIMIT_NOFILE %d), not 40000" % (
            haproxy_maxconn(), resource.getrlimit(resource.RLIMIT_NOFILE)[0]))
    b.note("ready_ms = exec -> first successful connect (listening), polled every ~0.2 ms; "
           "socat (a small forwarder) shows the method's cost; %d runs, each a round; "
           "nginx's RSS sums master and workers" % runs)
