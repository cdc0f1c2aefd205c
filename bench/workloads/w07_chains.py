"""W7 chains: the cost of proxy chaining, one hop vs two hops, all gosts.

Paths to the same backend, measured in interleaved rounds:
  direct      client -> backend
  gost-1hop   client -> entry gost (tcp forward, -F socks5://S1) -> hop gost (socks5, notls)
              -> backend
  gost-2hops  client -> entry gost (-F socks5://S1 -F socks5+tls://S2) -> hop 1 (socks5,
              notls) -> hop 2 (socks5 over a TLS listener, notls: one TLS layer, no SOCKS TLS
              method inside it) -> backend
Entry and hops are separate gost processes with their default workers; TLS uses gost's
generated certificate and the client does not verify it (GOST's default).

Variants:
  bulk       bench/build/bulk send through the entry to a bulk sink for b.secs: gbps, and
             cpu_s_per_gb = CPU of every gost process of the path / GB (1e9 bytes) delivered.
  conn rate  bench/build/connrate, 32 in flight, 64-byte echo, the backend closes first
             (holder --echo-close 64): cps, p50_ms, p99_ms, failed, cpu_us_per_conn (all gosts
             of the path).
Every path is warmed up once before the rounds (first dials, TLS handshakes; not recorded).
After each gost measurement every process of the path must have used CPU (>= 2% of the path's
total); a hop that stayed idle means the data did not go through it, and the run is noted.
(Checked by hand as well: the hops' info logs show entry -> S1 -> S2 -> backend, and with hop 2
stopped the 2-hop path fails.)
"""

import os

import bench
import peers
from workloads import _load
from benchlib import tree_cpu_seconds

TITLE = "Chains: one hop vs two hops (socks5, then socks5+tls)"
H = peers.H


def _fwd(backend):
    return ["-L", "tcp://%s:{port}/%s:%d" % (H, H, backend)]


def start_paths(b, backend, tag):
    """[(peer, port, [(role, pid)])] for direct, gost-1hop and gost-2hops to `backend`."""
    paths = [("direct", backend, [])]
    s1 = b.start_peer(peers.gost, ["-L", "socks5://%s:{port}?notls=true" % H],
                      name=tag + "-1hop-s1")
    if s1:
        e1 = b.start_peer(peers.gost, _fwd(backend) + ["-F", "socks5://%s:%d" % (H, s1.port)],
                          name=tag + "-1hop-entry")
        if e1:
            paths.append(("gost-1hop", e1.port, [("entry", e1.pid), ("hop", s1.pid)]))
    h1 = b.start_peer(peers.gost, ["-L", "socks5://%s:{port}?notls=true" % H], name=tag + "-2h-s1")
    h2 = b.start_peer(peers.gost, ["-L", "socks5+tls://%s:{port}?notls=true" % H],
                      name=tag + "-2h-s2")
    if h1 and h2:
        e2 = b.start_peer(peers.gost, _fwd(backend) + [
            "-F", "socks5://%s:%d" % (H, h1.port), "-F", "socks5+tls://%s:%d" % (H, h2.port)],
            name=tag + "-2h-entry")
        if e2:
            paths.append(("gost-2hops", e2.port, [("entry", e2.pid), ("hop1", h1.pid),
                                                  ("hop2", h2.pid)]))
    return paths


def measured(b, variant, peer, procs, fn):
    """fn() with the CPU seconds of every process in `procs` summed; notes an idle hop."""
    c0 = [tree_cpu_seconds(pid) for _, pid in procs]
    res = fn()
    d = [tree_cpu_seconds(pid) - c for (_, pid), c in zip(procs, c0)]
    tot = sum(d)
    idle = [role for (role, _), x in zip(procs, d) if x < 0.02 * tot or x <= 0]
    if procs and idle:
        b.note("%s %s: %s used no CPU (%s): data did not go through every hop?" % (
            variant, peer, "/".join(idle), " ".join("%s=%.3fs" % (r, x)
                                                   for (r, _), x in zip(procs, d))))
    return res, tot


def load(b, cmd, timeout):
    """b.run(cmd) with a failed load turned into Skip (drops the peer, noted)."""
    try:
        return b.run(cmd, timeout)
    except (RuntimeError, OSError) as e:
        raise bench.Skip(str(e)[:300])


def variant(b, name, backend, cmd, warm, metrics, tag):
    """Paths to `backend`, each warmed up once with warm(port) (first dials and TLS
    handshakes, the generated certificate; not recorded), then b.interleave of cmd(port)."""
    paths = []
    for path in start_paths(b, backend.port, tag):
        try:
            load(b, warm(path[1]), 60)
            paths.append(path)
        except Exception as e:  # Skip: the path is broken; the others still run
            b.note("%s %s: warm-up failed, skipped: %s" % (name, path[0], e))

    def runner(peer, port, procs):
        return lambda rnd: metrics(*measured(b, name, peer, procs, lambda: load(
            b, cmd(port), b.secs + 60)), bool(procs))

    b.interleave(name, [(p, runner(p, port, procs)) for p, port, procs in paths])


def run(b):
    secs = "%g" % b.secs
    bulk, connrate = os.path.join(b.tools, "bulk"), os.path.join(b.tools, "connrate")
    try:
        variant(b, "bulk", peers.sink(b, name="w7-sink"),
                lambda port: [bulk, "send", H, str(port), str(1 << 40), secs],
                lambda port: [bulk, "send", H, str(port), str(1 << 24), "10"],
                _load.bulk_metrics, "w7b")
    finally:
        b.stop_all()
    variant(b, "conn rate", peers.echo_close(b, 64, name="w7-echo"),
            lambda port: [connrate, "-c", "32", "-t", secs, H, str(port)],
            lambda port: [connrate, "-c", "32", "-n", "200", "-t", "10", H, str(port)],
            _load.conn_metrics, "w7c")
