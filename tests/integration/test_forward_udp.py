#!/usr/bin/env python3
"""UDP port forwarding: `gost -L udp://HOST:PORT/TARGET[?ttl=..]` and its YAML form,
datagram sizes, per-client sessions, session lifetime (ttl), forward+udp hop chains, bursts
from many clients at once (batched receive/reply paths keep each client's datagrams its own, in
order).

Session semantics tested here (intended, documented in docs/testing.md): a client's
session stays open while traffic flows and ends after `ttl` of silence (default 60 s, see
docs/udp.md), so a client may send many datagrams and get several replies per datagram on one
session. GOST's own default (listener keepalive=false) closes the session after the first
reply.

Run: GOST_BIN=build/gost python3 tests/integration/test_forward_udp.py [name-filter...]
     GOST_STANDIN=py python3 tests/integration/test_forward_udp.py   (proves the tests)
"""

import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gostlib_test import (  # noqa: E402
    Job, UdpEchoServer, check, dead_port, run_tests, start_gost, udp_client, udp_exchange,
    udp_recv, _short)

H = "127.0.0.1"
SIZES = (1, 1400, 65000)


def udp_fwd(port, target, query=""):
    return ["-L", "udp://%s:%d/%s:%d%s" % (H, port, H, target, ("?" + query) if query else "")]


def udp_fwd_yaml(port, target, listener_md=None, handler_md=None, name="fwd-udp"):
    handler = {"type": "udp"}
    if handler_md:
        handler["metadata"] = handler_md
    listener = {"type": "udp"}
    if listener_md:
        listener["metadata"] = listener_md
    return {"services": [{
        "name": name, "addr": "%s:%d" % (H, port), "handler": handler, "listener": listener,
        "forwarder": {"nodes": [{"name": "target-0", "addr": "%s:%d" % (H, target)}]}}]}


def _sizes_roundtrip(port, prefix=b""):
    s = udp_client()
    try:
        for size in SIZES + tuple(reversed(SIZES)):
            p = os.urandom(size)
            got = udp_exchange(s, port, p, 5, what="echo of a %d-byte datagram" % size)
            check(got == prefix + p, "%d-byte datagram: got %s, want %s"
                  % (size, _short(got), _short(prefix + p)))
    finally:
        s.close()


def test_cli_datagram_sizes():
    """1, 1400 and 65000-byte datagrams come back intact with the default settings (GOST
    itself would need readBufferSize/bufferSize raised above its 4096-byte default)."""
    with UdpEchoServer() as ue, start_gost(lambda p: udp_fwd(p, ue.port), udp=1) as g:
        _sizes_roundtrip(g.port)
        check(ue.received == 2 * len(SIZES), "backend received %d datagrams, want %d (no "
              "duplicates, no extras)" % (ue.received, 2 * len(SIZES)))


def test_yaml_datagram_sizes():
    """The YAML form, with GOST's buffer options spelled out (listener readBufferSize,
    handler bufferSize) and keepAlive/ttl as in the documentation example."""
    lmd = {"keepAlive": True, "ttl": "5s", "readBufferSize": 65536}
    hmd = {"bufferSize": 65536}
    with UdpEchoServer() as ue, \
            start_gost(lambda p: udp_fwd_yaml(p, ue.port, lmd, hmd), udp=1) as g:
        _sizes_roundtrip(g.port)


def test_50_concurrent_clients():
    """50 sockets, 20 datagrams each, in lock-step; every reply must be the client's own
    datagram, the backend must see each datagram exactly once, one upstream per client."""
    n, per = 50, 20
    barrier = threading.Barrier(n, timeout=30)

    def client(i, port):
        s = udp_client()
        try:
            barrier.wait()
            for k in range(per):
                p = b"client-%02d-seq-%02d|" % (i, k) + os.urandom(random.randint(1, 1200))
                got = udp_exchange(s, port, p, 5, what="reply to client %d seq %d" % (i, k))
                check(got == p, "client %d seq %d got %s, want its own %s"
                      % (i, k, _short(got, 24), _short(p, 24)))
        finally:
            s.close()

    with UdpEchoServer() as ue, start_gost(lambda p: udp_fwd(p, ue.port), udp=1) as g:
        jobs = [Job(client, i, g.port, name="uclient-%d" % i) for i in range(n)]
        for j in jobs:
            j.start()
        errors = []
        for j in jobs:
            try:
                j.join_result(120)
            except AssertionError as e:
                errors.append(str(e))
        check(not errors, "%d of %d UDP clients failed; first: %s" % (len(errors), n,
                                                                      errors[:1]))
        check(ue.received == n * per, "backend received %d datagrams, want %d"
              % (ue.received, n * per))
        peers = ue.distinct_peers()
        check(len(peers) == n, "backend saw %d distinct upstream sockets for %d clients, want "
              "one session per client" % (len(peers), n))


def test_session_kept_while_client_active():
    """A client that keeps sending gets every reply, on one session: 20 datagrams sent
    back-to-back, then 10 more spaced 0.2 s apart (well inside the default ttl)."""
    with UdpEchoServer() as ue, start_gost(lambda p: udp_fwd(p, ue.port), udp=1) as g:
        s = udp_client()
        try:
            sent = [b"burst-%02d|" % k + os.urandom(100) for k in range(20)]
            for p in sent:
                s.sendto(p, (H, g.port))
            got = [udp_recv(s, 5, what="reply %d of a 20-datagram burst" % k)
                   for k in range(20)]
            check(sorted(got) == sorted(sent), "burst: %d of 20 replies match what was sent"
                  % len(set(got) & set(sent)))
            for k in range(10):
                time.sleep(0.2)
                p = b"spaced-%02d|" % k + os.urandom(50)
                got1 = udp_exchange(s, g.port, p, 5, what="spaced reply %d" % k)
                check(got1 == p, "spaced %d: got %s, want %s" % (k, _short(got1), _short(p)))
        finally:
            s.close()
        peers = ue.distinct_peers()
        check(len(peers) == 1, "backend saw %d upstream sockets (%s) for one continuously "
              "active client: the session was not kept" % (len(peers), peers[:5]))


def test_multiple_replies_per_request():
    """The backend answers each datagram three times; all three reach the client."""
    with UdpEchoServer(replies=3) as ue, start_gost(lambda p: udp_fwd(p, ue.port), udp=1) as g:
        s = udp_client()
        try:
            for k in range(3):
                p = b"req-%d|" % k + os.urandom(200)
                s.sendto(p, (H, g.port))
                got = sorted(udp_recv(s, 5, what="reply %d/3 to request %d" % (i + 1, k))
                             for i in range(3))
                want = sorted(b"#%d:" % i + p for i in range(3))
                check(got == want, "request %d: replies %s, want %s"
                      % (k, [_short(x, 12) for x in got], [_short(x, 12) for x in want]))
        finally:
            s.close()


def test_ttl_expiry_new_session():
    """With ?ttl=1s: traffic 0.3 s apart stays on one session; after 3 s of silence the
    session is gone (the backend sees a new upstream socket) and the new one works."""
    with UdpEchoServer() as ue, \
            start_gost(lambda p: udp_fwd(p, ue.port, query="ttl=1s"), udp=1) as g:
        s = udp_client()
        try:
            for k in range(2):
                p = b"before-%d|" % k + os.urandom(64)
                check(udp_exchange(s, g.port, p, 5) == p, "exchange %d before the pause" % k)
                time.sleep(0.3)
            check(len(ue.distinct_peers()) == 1, "traffic 0.3 s apart used %d sessions with "
                  "ttl=1s, want 1" % len(ue.distinct_peers()))
            time.sleep(3.0)
            for k in range(2):
                p = b"after-%d|" % k + os.urandom(64)
                got = udp_exchange(s, g.port, p, 5, what="reply after the idle pause")
                check(got == p, "after the pause: got %s, want %s" % (_short(got), _short(p)))
        finally:
            s.close()
        peers = ue.distinct_peers()
        check(len(peers) == 2, "backend saw %d upstream sockets (%s): want 2 - the session "
              "must expire after 1 s idle and a new one be made" % (len(peers), peers))


def test_chain_forward_udp_hop():
    """client gost: -L udp://:P/<dead> -F forward+udp://:Q ; server gost:
    -L udp://:Q/UECHO. The forward connector ignores the client's target (the server
    decides); the backend's 'B:' prefix proves the path went through the hop."""
    dead = dead_port()
    with UdpEchoServer(prefix=b"B:") as ue, \
            start_gost(lambda q: udp_fwd(q, ue.port), udp=1, name="gost-server") as srv, \
            start_gost(lambda p: udp_fwd(p, dead) +
                       ["-F", "forward+udp://%s:%d" % (H, srv.port)],
                       udp=1, name="gost-client") as cli:
        _sizes_roundtrip(cli.port, prefix=b"B:")
        s = udp_client()
        try:
            for k in range(20):
                p = b"chain-%d|" % k + os.urandom(500)
                got = udp_exchange(s, cli.port, p, 5)
                check(got == b"B:" + p, "chain datagram %d: got %s" % (k, _short(got)))
        finally:
            s.close()


def _burst_sessions(port, n=8, per=240, what="burst"):
    """n client sockets send `per` numbered datagrams each, interleaved so that every receive
    batch of the forwarder mixes clients (round-robin phases) and also holds runs from one
    client (phases of 12 back-to-back), in rounds of at most ~100 datagrams with 20 ms pauses
    (a modest rate: nothing needs to be dropped). Runs are of one size (the forwarder sends them
    as UDP GSO groups), singles of random sizes, every 40th datagram is 20000 bytes. Each client
    must get exactly its own replies, in order, none lost, none extra."""
    socks = [udp_client() for _ in range(n)]
    try:
        sent = [[] for _ in range(n)]

        def dgram(i, k, run):
            # Runs carry equal sizes (GSO groups on both sides), single ones random sizes.
            size = 20000 if k % 40 == 39 else 100 if run > 1 else random.randint(1, 200)
            return b"c%02d-%04d|" % (i, k) + os.urandom(size)

        k = 0
        phase = 0
        while k < per:
            run = 1 if phase % 2 == 0 else 12
            count = min(run * max(1, 96 // (run * n)), per - k)
            for r in range(0, count, run):
                for i in range(n):
                    for q in range(k + r, min(k + r + run, k + count)):
                        p = dgram(i, q, run)
                        sent[i].append(p)
                        socks[i].sendto(p, (H, port))
            k += count
            phase += 1
            time.sleep(0.02)
        for i in range(n):
            got = [udp_recv(socks[i], 5, what="%s reply %d of client %d" % (what, j, i))
                   for j in range(per)]
            bad = [j for j in range(per) if got[j] != sent[i][j]]
            check(not bad, "%s: client %d: %d of %d replies differ from what it sent, in order "
                  "(first at %d: got %s, want %s)" % (what, i, len(bad), per, bad[0] if bad else
                                                       -1, _short(got[bad[0]] if bad else b"", 12),
                                                       _short(sent[i][bad[0]] if bad else b"", 12)))
            socks[i].settimeout(0.2)
            try:
                extra = socks[i].recv(65536)
            except OSError:
                extra = None
            check(extra is None, "%s: client %d got an extra datagram %s" % (what, i,
                                                                             _short(extra or b"")))
    finally:
        for s in socks:
            s.close()


def test_burst_many_sessions_in_order():
    """Batching: 8 clients' datagrams interleaved in bursts (the listener takes them in batches
    and the replies go back in batches): each client gets exactly its own replies, in order,
    none lost; the backend sees each datagram once, from one upstream socket per client."""
    n, per = 8, 240
    with UdpEchoServer() as ue, start_gost(lambda p: udp_fwd(p, ue.port), udp=1) as g:
        _burst_sessions(g.port, n, per)
        check(ue.received == n * per, "backend received %d datagrams, want %d"
              % (ue.received, n * per))
        check(len(ue.distinct_peers()) == n, "backend saw %d upstream sockets for %d clients"
              % (len(ue.distinct_peers()), n))


def test_burst_through_chain_hops():
    """The same bursts through hops. forward+udp hands the session a bare UDP socket, so both
    gosts relay socket to socket; a SOCKS5 UDP-TUN hop (notls) gives a layered upstream, so the
    client-side gost relays with the queued (fiber) path."""
    dead = dead_port()
    with UdpEchoServer() as ue, \
            start_gost(lambda q: udp_fwd(q, ue.port), udp=1, name="gost-server") as srv, \
            start_gost(lambda p: udp_fwd(p, dead) +
                       ["-F", "forward+udp://%s:%d" % (H, srv.port)],
                       udp=1, name="gost-client") as cli:
        _burst_sessions(cli.port, 4, 120, what="forward+udp burst")
    with UdpEchoServer() as ue, \
            start_gost(lambda a: ["-L", "socks5://%s:%d?udp=true" % (H, a)], tcp=1,
                       name="gost-socks5") as srv, \
            start_gost(lambda p: udp_fwd(p, ue.port) +
                       ["-F", "socks5://%s:%d?notls=true" % (H, srv.port)],
                       udp=1, name="gost-client") as cli:
        _burst_sessions(cli.port, 4, 120, what="socks5 UDP-TUN burst")
        check(ue.received == 4 * 120, "backend received %d datagrams, want %d"
              % (ue.received, 4 * 120))

if __name__ == "__main__":
    run_tests(globals())
