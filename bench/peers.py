"""The servers a benchmark runs against: our gost, the peers (haproxy, nginx stream, socat,
dante, microsocks, tinyproxy, squid), and the backends (echo-close, sink, udp echo, web origin).

Every starter writes its config into the run's temp dir, starts the program in the foreground
on 127.0.0.1 (bench.Bench.spawn: stderr to TMP/<name>.err, stopped by PID at the end), waits
until it listens, and returns a Server. A peer that is not installed raises Missing, which the
workload reports as a note and skips.

Peer settings follow what a user would deploy for the job, not a tuned lab setup, except where
the issue says otherwise: haproxy gets `option splice-auto` (the issue asks for splice on) and
nginx/haproxy get connection limits above the 10,000 idle connections of W3.
"""

import os
import resource
import shutil
import socket
import subprocess
import time

from benchlib import gl

H = "127.0.0.1"

PACKAGES = {  # peer -> (Debian package, executable)
    "haproxy": ("haproxy", "haproxy"),
    "nginx": ("nginx", "nginx"),
    "socat": ("socat", "socat"),
    "dante": ("dante-server", "danted"),
    "microsocks": ("microsocks", "microsocks"),
    "tinyproxy": ("tinyproxy", "tinyproxy"),
    "squid": ("squid", "squid"),
    "wrk": ("wrk", "wrk"),
}
NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"


class Missing(Exception):
    """A peer program is not installed; the message says which."""


class Server:
    """A started server: `port` where it serves, `pid` of its root process, `proc` (Popen)."""

    def __init__(self, name, proc, port):
        self.name, self.proc, self.port = name, proc, port

    @property
    def pid(self):
        return self.proc.pid


def exe(peer):
    name = PACKAGES[peer][1]
    path = shutil.which(name) or next(
        (p for p in ("/usr/sbin/" + name, "/usr/bin/" + name) if os.access(p, os.X_OK)), None)
    if not path:
        raise Missing("%s is not installed (Debian package %s)" % (name, PACKAGES[peer][0]))
    if peer == "nginx" and not os.path.exists(NGINX_STREAM_MODULE):
        raise Missing("nginx's stream module is not installed (libnginx-mod-stream)")
    return path


def version(peer):
    pkg = PACKAGES[peer][0]
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True,
                       text=True, timeout=10)
    return r.stdout.strip() if r.returncode == 0 else "?"


def _tcp_accepts(port):
    """True if something accepts TCP connections on 127.0.0.1:port (a connect probe: reading
    /proc/net/tcp takes seconds when the machine holds 100k TIME_WAIT entries)."""
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex((H, port)) == 0


def wait_port(b, proc, port, what, proto="tcp", timeout=10.0):
    """Wait until `proc` serves `port`. TCP: a connect probe (the port was free when chosen,
    and the process must still be alive); UDP: the bound socket in /proc/net/udp is its own."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with status %s: %s" % (what, proc.returncode,
                                                                 b.err_tail(what)))
        if (_tcp_accepts(port) if proto == "tcp" else
                gl.port_owner(proc.pid, port, proto) == "ours") and proc.poll() is None:
            return
        time.sleep(0.02)
    raise RuntimeError("%s did not listen on %s/%d: %s" % (what, proto, port, b.err_tail(what)))


def _start(b, name, cmd, port, proto="tcp", env=None):
    p = b.spawn(cmd, name, env=env)
    wait_port(b, p, port, name, proto)
    return Server(name, p, port)


# ----------------------------------------------------------------------------------- gost

def gost(b, args, name="gost", proto="tcp", port=None, workers=None, env=None):
    """Our gost with `args` (a list; "{port}" in an element becomes the listen port, chosen
    here unless given). Logging at warn (no per-connection lines); GOST_WORKERS if given."""
    port = port or gl.free_port()
    e = {"GOST_LOGGER_LEVEL": "warn"}
    if workers:
        e["GOST_WORKERS"] = str(workers)
    e.update(env or {})
    cmd = [b.gost] + [a.replace("{port}", str(port)) for a in args]
    return _start(b, name, cmd, port, proto, env=e)


def gost_forward(b, backend, proto="tcp", **kw):
    return gost(b, ["-L", "%s://%s:{port}/%s:%d" % (proto, H, H, backend)], proto=proto, **kw)


# ---------------------------------------------------------------------------------- peers

def max_conns():
    """Connections a proxy holding two descriptors each can carry under RLIMIT_NOFILE."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return 40000 if hard == resource.RLIM_INFINITY else min(40000, (hard - 300) // 2)


SPLICE = {"auto": "  option splice-auto\n",
          "force": "  option splice-request\n  option splice-response\n", None: ""}


def haproxy(b, backend, splice="auto", name="haproxy"):
    """haproxy TCP mode, one frontend/backend, its default threads (one per CPU), maxconn as
    high as RLIMIT_NOFILE allows (at least W3's 10,000 where it can). splice: "auto" (haproxy
    decides per transfer: small ones through its buffers), "force" (always splice: best for
    bulk, W1), None."""
    port = gl.free_port()
    mc = max_conns() - 400  # haproxy also keeps descriptors for its splice pipes (maxpipes)
    cfg = os.path.join(b.tmp, name + ".cfg")
    with open(cfg, "w") as f:
        f.write("global\n  maxconn %d\n  maxpipes 200\n"
                "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 600s\n"
                "  timeout server 600s\n%s"
                "frontend fe\n  bind %s:%d\n  maxconn %d\n  default_backend be\n"
                "backend be\n  server s1 %s:%d\n"
                % (mc, SPLICE[splice], H, port, mc, H, backend))
    return _start(b, name, [exe("haproxy"), "-db", "-f", cfg], port)


def _nginx(b, name, port, head, body, proto="tcp"):
    """nginx in the foreground (master + `worker_processes auto`) with its files in TMP/<name>:
    `head` goes before the events block (load_module), `body` after it (stream/http)."""
    d = os.path.join(b.tmp, name)
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("%sworker_processes auto;\nworker_rlimit_nofile %d;\n"
                "error_log %s/error.log warn;\npid %s/nginx.pid;\n"
                "events { worker_connections %d; }\n%s"
                % (head, 2 * max_conns() + 100, d, d, 2 * max_conns(), body))
    return _start(b, name, [exe("nginx"), "-p", d, "-c", conf, "-g", "daemon off;"], port, proto)


def nginx_stream(b, backend, proto="tcp", name="nginx"):
    """nginx stream proxy (TCP, or UDP with `listen ... udp`); TCP with `proxy_half_close on`
    (nginx >= 1.21.4; without it nginx drops the connection on the client's FIN and a byte-count
    reply never comes back); everything else nginx's defaults."""
    port = gl.free_port()
    return _nginx(b, name, port, "load_module %s;\n" % NGINX_STREAM_MODULE,
                  "stream { server { listen %s:%d%s; proxy_pass %s:%d;%s } }\n"
                  % (H, port, " udp" if proto == "udp" else "", H, backend,
                     "" if proto == "udp" else " proxy_half_close on;"), proto)


def nginx_origin(b, body_len=64, name="origin"):
    """nginx http server answering every GET with a `body_len`-byte body (the web origin of
    W5); keep-alive on with a high keepalive_requests."""
    port = gl.free_port()
    return _nginx(b, name, port, "",
                  "http { access_log off; keepalive_requests 1000000;\n"
                  "  server { listen %s:%d; location / { default_type text/plain;\n"
                  "    return 200 '%s'; } } }\n" % (H, port, "x" * (body_len - 1) + "\\n"))


def socat(b, backend, proto="tcp", name="socat"):
    """socat forking one process per connection (TCP); UDP: socat_udp."""
    if proto == "udp":
        return socat_udp(b, backend, name=name)
    port = gl.free_port()
    cmd = [exe("socat"), "-b", "262144", "TCP-LISTEN:%d,bind=%s,fork,reuseaddr,backlog=1024"
           % (port, H), "TCP:%s:%d" % (H, backend)]
    return _start(b, name, cmd, port)


def dante(b, name="dante"):
    """danted: no auth, 127.0.0.1 only, no per-connection log lines; its default process
    model. Needs root (it switches to its unprivileged user)."""
    if os.geteuid() != 0:
        raise Missing("dante needs root here")
    port = gl.free_port()
    conf = os.path.join(b.tmp, name + ".conf")
    with open(conf, "w") as f:
        f.write("logoutput: stderr\ninternal: %s port = %d\nexternal: %s\n"
                "clientmethod: none\nsocksmethod: none\n"
                "user.privileged: root\nuser.unprivileged: nobody\n"
                "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }\n"
                "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }\n" % (H, port, H))
    return _start(b, name, [exe("dante"), "-f", conf, "-p", os.path.join(b.tmp, name + ".pid")],
                  port)


def microsocks(b, name="microsocks"):
    """microsocks: its defaults (no auth, a thread per connection)."""
    port = gl.free_port()
    return _start(b, name, [exe("microsocks"), "-i", H, "-p", str(port)], port)


def tinyproxy(b, max_clients=2048, name="tinyproxy"):
    """tinyproxy: CONNECT to any port, LogLevel Warning (no per-connection lines), MaxClients
    above the load's concurrency; as root it drops to nobody/nogroup."""
    port = gl.free_port()
    conf = os.path.join(b.tmp, name + ".conf")
    with open(conf, "w") as f:
        f.write("Port %d\nListen %s\nTimeout 600\nMaxClients %d\nAllow 127.0.0.1\n"
                "LogLevel Warning\n" % (port, H, max_clients))
        if os.geteuid() == 0:
            f.write("User nobody\nGroup nogroup\n")
    return _start(b, name, [exe("tinyproxy"), "-d", "-c", conf], port)


def squid(b, name="squid"):
    """squid as a plain forward proxy: no disk cache, caching off, no access log, CONNECT to
    any port, one worker (its default); foreground (-N). No ICMP pinger helper (it outlives
    squid's exit by 10-30 s and is of no use on loopback)."""
    port = gl.free_port()
    d = os.path.join(b.tmp, name)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o777)
    os.chmod(b.tmp, os.stat(b.tmp).st_mode | 0o011)  # as root squid runs as `proxy`: let it in
    conf = os.path.join(d, "squid.conf")
    with open(conf, "w") as f:
        f.write("http_port %s:%d\nhttp_access allow all\ncache deny all\naccess_log none\n"
                "cache_store_log none\ncache_log %s/cache.log\npid_filename %s/squid.pid\n"
                "coredump_dir %s\nshutdown_lifetime 1 seconds\nmax_filedescriptors 65536\n"
                "via off\nforwarded_for delete\npinger_enable off\n" % (H, port, d, d, d))
    p = b.spawn([exe("squid"), "-N", "-f", conf], name)
    wait_port(b, p, port, name, timeout=30)  # 1.5-6 s to listen on a loaded 2-core box
    return Server(name, p, port)


# ------------------------------------------------------------------------------- backends

def echo_close(b, nbytes=64, name="backend"):
    """bench/build/holder --echo-close N: echoes and closes each connection after N bytes
    (the backend closes first). Returns a Server."""
    lp = b.line_proc([os.path.join(b.tools, "holder"), "--echo-close", str(nbytes)], name)
    return Server(name, lp.p, int(lp.readline(10, "BACKEND line").split()[1]))


def echo_hold(b, name="echo"):
    """bench/build/holder as a plain echo backend (never closes first)."""
    lp = b.line_proc([os.path.join(b.tools, "holder")], name)
    return Server(name, lp.p, int(lp.readline(10, "BACKEND line").split()[1]))


def sink(b, name="sink"):
    """bench/build/bulk sink: counts the bytes of each connection and acknowledges them."""
    lp = b.line_proc([os.path.join(b.tools, "bulk"), "sink"], name)
    return Server(name, lp.p, int(lp.readline(10, "PORT line").split()[1]))


def udp_echo(b, name="udpecho"):
    """bench/build/udpload echo: batched UDP echo server."""
    lp = b.line_proc([os.path.join(b.tools, "udpload"), "echo"], name)
    return Server(name, lp.p, int(lp.readline(10, "PORT line").split()[1]))


def socat_udp(b, backend, max_children=1024, name="socat"):
    """socat as a UDP forwarder the usual way (W6): UDP4-LISTEN with fork, one child process per
    client address (its socket connected to that client; reuseaddr lets the parent bind again),
    at most `max_children` children, each ending after 30 s idle. socat()'s UDP4-RECVFROM+fork
    forks one process per *datagram* instead. The children outlive a SIGTERM to the parent
    (they are re-parented, not signalled): stop them by PID first (see w06_udp.stop_forked)."""
    port = gl.free_port()
    cmd = [exe("socat"), "-T", "30", "UDP4-LISTEN:%d,bind=%s,fork,reuseaddr,max-children=%d"
           % (port, H, max_children), "UDP4:%s:%d" % (H, backend)]
    return _start(b, name, cmd, port, "udp")
