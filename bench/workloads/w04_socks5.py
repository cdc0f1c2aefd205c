"""W4 SOCKS5 CONNECT: gost (`-L socks5://...?notls=true`) vs dante and microsocks (and direct).

"connect rate": bench/build/connrate --socks5 keeps 32 connections in flight for b.secs
  seconds; each connects to the proxy, does the no-auth greeting and a CONNECT to the IPv4
  echo backend (holder --echo-close 64), sends 64 bytes, checks the 64-byte echo, and closes
  on the backend's EOF (the backend closes first). Direct: the same without the proxy and the
  handshake. Metrics: cps, p50_ms, p99_ms (per connection, connect..close), failed, and
  cpu_us_per_conn = CPU of the proxy's whole process tree during the run / ok connections.
  An untimed warm-up of 300 connections per peer comes first (dante forks children on demand).
"bulk 1 stream": bench/build/bulk send --framed --socks5 through the proxy to bulk sink, bounded by
  1 GiB (256 MiB quick) and b.secs; gbps counts bytes the sink acknowledged; cpu_s_per_gb =
  proxy tree CPU seconds / GB (1e9 bytes) moved. Direct: straight to the sink.
"idle 2000": one holder opens N = 2000 (1000 quick) connections through the proxy, each a
  SOCKS5 CONNECT to a plain echo holder proven with a 1-byte echo, and holds them; VmRSS and
  Pss summed over the proxy's process tree (workloads/_mem.py) are read before and 1 s after;
  rss_b_per_conn / pss_b_per_conn = delta / connections held; held. One round (memory is
  not noisy). No direct row.
"""

import os
import time

import bench
import peers
from workloads import _load as load
from workloads._mem import tree_mem

TITLE = "SOCKS5 CONNECT vs dante and microsocks"
H = "127.0.0.1"




def start_proxies(b):
    """{peer: Server or None (direct)}; a missing or broken peer is a note."""
    srv = {"direct": None,
           "gost": b.start_peer(peers.gost, ["-L", "socks5://127.0.0.1:{port}?notls=true"]),
           "dante": b.start_peer(peers.dante), "microsocks": b.start_peer(peers.microsocks)}
    return {p: s for p, s in srv.items() if s or p == "direct"}


def connrate(b, s, target, extra=()):
    if not s:
        return load.connrate(b, None, target.port, extra)
    return load.connrate(b, s.pid, s.port,
                         ["--socks5", "--target", "%s:%d" % (H, target.port)] + list(extra))


def connect_rate(b, srv):
    backend = peers.echo_close(b, 64, name="backend-close")
    for p, s in srv.items():  # warm-up, not recorded
        w = connrate(b, s, backend, ["-n", "300"])
        if w["failed"]:
            b.note("connect rate %s warm-up: %d of 300 connections failed" % (p, w["failed"]))
    b.interleave("connect rate", [(p, (lambda s: lambda rnd: connrate(b, s, backend))(s))
                                  for p, s in srv.items()])
    b.stop(backend)


def bulk(b, srv):
    sink = peers.sink(b)
    limit = (256 if b.quick else 1024) << 20

    def fn(s):
        def run1(rnd):
            extra = ["--framed"] + (["--socks5", "%s:%d" % (H, sink.port)] if s else [])
            try:  # --framed also measures microsocks, which drops a half-closed connection
                return load.bulk(b, s.pid if s else None, s.port if s else sink.port, extra,
                                 limit)
            except RuntimeError as e:
                raise bench.Skip(" ".join(str(e).split())[-160:])
        return run1

    b.interleave("bulk 1 stream", [(p, fn(s)) for p, s in srv.items()])
    b.stop(sink)


def idle(b, srv, n):
    echo = peers.echo_hold(b, name="echo-hold")

    def fn(p, s):
        def run1(rnd):
            holder = b.line_proc([os.path.join(b.tools, "holder")], "holder-" + p)
            holder.readline(10, "BACKEND line")
            time.sleep(1.0)  # settle after the previous variant's load
            m0 = tree_mem(s.pid)
            holder.send("CONNECT %s %d %d 200 60 socks5 %s:%d" % (H, s.port, n, H, echo.port))
            ln = holder.readline(90, "HELD line").split()
            held, failed = int(ln[1]), int(ln[3])
            time.sleep(1.0)
            m1 = tree_mem(s.pid)
            holder.send("CHECK")
            alive = holder.readline(30, "CHECK reply").split()
            holder.send("QUIT")
            holder.readline(30, "BYE")
            b.stop(holder.p)
            if failed or int(alive[3]):
                b.note("idle %s: %d failed, %s dropped while held" % (p, failed, alive[3]))
            if not held:
                raise bench.Skip("no connection held")
            return {"rss_b_per_conn": (m1["rss"] - m0["rss"]) / held,
                    "pss_b_per_conn": (m1["pss"] - m0["pss"]) / held, "held": held}
        return run1

    if n != 2000:
        b.note("idle 2000: quick mode holds %d connections" % n)
    b.interleave("idle 2000", [(p, fn(p, s)) for p, s in srv.items() if s], rounds=1)
    b.stop(echo)


def has_option(b, tool, word):
    with open(os.path.join(b.tools, tool), "rb") as f:
        return word in f.read()


def run(b):
    srv = start_proxies(b)
    connect_rate(b, srv)
    if has_option(b, "bulk", b"--socks5"):
        bulk(b, srv)
    else:
        b.note("bulk 1 stream skipped: bench/build/bulk has no --socks5 yet")
    if has_option(b, "holder", b"socks5"):
        idle(b, srv, 1000 if b.quick else 2000)
    else:
        b.note("idle skipped: bench/build/holder has no socks5 CONNECT yet")
