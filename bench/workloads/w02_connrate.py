"""W2 TCP forward connection rate, 32 concurrent: conn/s, p50, p99, CPU per connection.

bench/build/connrate keeps 32 connections in flight for b.secs seconds; each connects
through the forwarder, sends 64 bytes, checks the 64-byte echo and closes. "backend closes":
the echo backend closes first (holder --echo-close 64) and the client closes on EOF, so
TIME_WAIT lands on the server side — the mode that shows the forwarders' differences.
"client closes": the client closes right after the echo (plain echo backend); loopback then
tops out on the client's ephemeral ports (~14k conn/s) and hides differences, reported for
completeness. Peers: direct, gost (`-L tcp://`), haproxy, nginx stream.
"""

import peers
from workloads import _load as load

TITLE = "TCP forward connection rate, 32 concurrent"


def variant(b, name, backend, extra):
    srv = {"direct": None, "gost": peers.gost_forward(b, backend.port)}
    for p, start in (("haproxy", peers.haproxy), ("nginx", peers.nginx_stream)):
        s = b.start_peer(start, backend.port, name=p + "-" + name.split()[0])
        if s:
            srv[p] = s
    for p, s in srv.items():  # warm-up, not recorded
        load.connrate(b, None, s.port if s else backend.port, extra + ["-n", "200"])
    runners = [(p, (lambda s: lambda rnd: load.connrate(
        b, s.pid if s else None, s.port if s else backend.port, extra))(s))
        for p, s in srv.items()]
    b.interleave(name, runners)
    for s in srv.values():
        if s:
            b.stop(s)


def run(b):
    variant(b, "backend closes", peers.echo_close(b, 64), [])
    variant(b, "client closes", peers.echo_hold(b), ["--client-close"])
