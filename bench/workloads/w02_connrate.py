"""W2 TCP forward connection rate, 32 concurrent: conn/s, p50, p99, CPU per connection.

bench/build/connrate keeps 32 connections in flight for b.secs seconds; each connects
through the forwarder, sends 64 bytes, checks the 64-byte echo and closes. "backend closes":
the echo backend closes first (holder --echo-close 64) and the client closes on EOF, so
TIME_WAIT lands on the server side — the mode that shows the forwarders' differences.
"client closes": the client closes right after the echo (plain echo backend); loopback then
tops out on the client's ephemeral ports (~14k conn/s) and hides differences, reported for
completeness. Peers: direct, gost (`-L tcp://`), haproxy, nginx stream.
"""

import os

import bench
import peers

TITLE = "TCP forward connection rate, 32 concurrent"


def measure(b, pid, port, extra):
    cmd = [os.path.join(b.tools, "connrate"), "-c", "32", "-t", str(b.secs)] + extra + [
        "127.0.0.1", str(port)]
    res, cpu = bench.cpu_delta(pid, lambda: b.run(cmd, b.secs + 30))
    out = {"cps": res["cps"], "p50_ms": res["p50_ms"], "p99_ms": res["p99_ms"],
           "failed": res["failed"]}
    if pid and res["ok"]:
        out["cpu_us_per_conn"] = cpu * 1e6 / res["ok"]
    return out


def variant(b, name, backend, extra):
    srv = {"direct": None, "gost": peers.gost_forward(b, backend.port)}
    for p, start in (("haproxy", peers.haproxy), ("nginx", peers.nginx_stream)):
        s = b.start_peer(start, backend.port, name=p + "-" + name.split()[0])
        if s:
            srv[p] = s
    for p, s in srv.items():  # warm-up, not recorded
        measure(b, None, s.port if s else backend.port, extra + ["-n", "200"])
    runners = [(p, (lambda s: lambda rnd: measure(
        b, s.pid if s else None, s.port if s else backend.port, extra))(s))
        for p, s in srv.items()]
    b.interleave(name, runners)
    for s in srv.values():
        if s:
            b.stop(s)


def run(b):
    variant(b, "backend closes", peers.echo_close(b, 64), [])
    variant(b, "client closes", peers.echo_hold(b), ["--client-close"])
