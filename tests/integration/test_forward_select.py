#!/usr/bin/env python3
"""Target selection of a port-forwarding service: selector strategies, fail marks, backup
nodes and handler `retries`, observed by which real backend receives each connection.

Run: GOST_BIN=build/gost python3 tests/integration/test_forward_select.py
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gostlib_test import (  # noqa: E402
    EchoServer, check, dead_port, echo_check, run_tests, start_gost)

H = "127.0.0.1"


def svc(port, nodes, strategy=None, retries=None, max_fails=None, fail_timeout=None):
    fwd = {"nodes": [dict(n, name=n.get("name", "t%d" % i)) for i, n in enumerate(nodes)]}
    sel = {}
    if strategy:
        sel["strategy"] = strategy
    if max_fails is not None:
        sel["maxFails"] = max_fails
    if fail_timeout:
        sel["failTimeout"] = fail_timeout
    if sel:
        fwd["selector"] = sel
    handler = {"type": "tcp"}
    if retries is not None:
        handler["retries"] = retries
    return {"services": [{"name": "sel", "addr": "%s:%d" % (H, port),
                          "listener": {"type": "tcp"}, "handler": handler, "forwarder": fwd}]}


def addr(port):
    return "%s:%d" % (H, port)


def ping(port, n):
    for i in range(n):
        echo_check(port, [b"ping %d\n" % i])


def test_retries_skip_dead_target_on_first_request():
    """retries=1: the first request to a dead target is retried on the next one, so no client
    ever sees a failure; the dead one is then marked and skipped."""
    with EchoServer() as a, start_gost(lambda p: svc(p, [{"addr": addr(dead_port())},
                                                          {"addr": addr(a.port)}],
                                                      strategy="round", retries=1),
                                       tcp=1) as g:
        ping(g.port, 8)
    check(a.accepted == 8, "live backend saw %d connections, want 8" % a.accepted)


def test_round_robin_alternates():
    with EchoServer() as a, EchoServer() as b, \
            start_gost(lambda p: svc(p, [{"addr": addr(a.port)}, {"addr": addr(b.port)}],
                                     strategy="round"), tcp=1) as g:
        ping(g.port, 6)
    check((a.accepted, b.accepted) == (3, 3),
          "round robin split %d/%d, want 3/3" % (a.accepted, b.accepted))


def test_fifo_prefers_first():
    with EchoServer() as a, EchoServer() as b, \
            start_gost(lambda p: svc(p, [{"addr": addr(a.port)}, {"addr": addr(b.port)}],
                                     strategy="fifo"), tcp=1) as g:
        ping(g.port, 5)
    check((a.accepted, b.accepted) == (5, 0),
          "fifo split %d/%d, want 5/0" % (a.accepted, b.accepted))


def test_hash_sticks_to_one_backend():
    with EchoServer() as a, EchoServer() as b, \
            start_gost(lambda p: svc(p, [{"addr": addr(a.port)}, {"addr": addr(b.port)}],
                                     strategy="hash"), tcp=1) as g:
        ping(g.port, 6)
    check(sorted((a.accepted, b.accepted)) == [0, 6],
          "hash on one client IP split %d/%d, want all on one" % (a.accepted, b.accepted))


def test_backup_used_only_when_primary_fails():
    """B is the primary, A a backup: all traffic goes to B while it lives; with B dead and
    marked failed, the backup takes over (retries=1 so the failing request is retried)."""
    with EchoServer() as a, EchoServer() as b:
        dead = dead_port()
        with start_gost(lambda p: svc(p, [{"addr": addr(a.port), "metadata": {"backup": True}},
                                          {"addr": addr(b.port)}], strategy="round"),
                        tcp=1) as g:
            ping(g.port, 4)
        check((a.accepted, b.accepted) == (0, 4),
              "with a live primary: backup %d, primary %d, want 0/4" % (a.accepted, b.accepted))
        with start_gost(lambda p: svc(p, [{"addr": addr(a.port), "metadata": {"backup": "true"}},
                                          {"addr": addr(dead)}], strategy="round", retries=1,
                                      max_fails=1, fail_timeout="30s"), tcp=1) as g:
            ping(g.port, 4)
        check(a.accepted == 4, "with a dead primary the backup served %d of 4" % a.accepted)


def test_random_weights():
    """A heavy node gets most picks (statistical, wide
    margin: 200 picks at 9:1 give the light node 20 ± 13 with overwhelming probability)."""
    with EchoServer() as a, EchoServer() as b, \
            start_gost(lambda p: svc(p, [{"addr": addr(a.port), "metadata": {"weight": 9}},
                                         {"addr": addr(b.port), "metadata": {"weight": "1"}}],
                                     strategy="random"), tcp=1) as g:
        ping(g.port, 200)
    check(a.accepted + b.accepted == 200, "lost connections: %d/%d"
          % (a.accepted, b.accepted))
    check(a.accepted >= 150 and b.accepted >= 3,
          "weighted random split %d/%d, want about 180/20" % (a.accepted, b.accepted))


if __name__ == "__main__":
    run_tests(globals())
