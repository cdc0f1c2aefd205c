#!/usr/bin/env python3
"""TCP port forwarding: `gost -L tcp://HOST:PORT/TARGET[,TARGET...]` and its YAML form,
half-close, refused targets, concurrency, forward-hop chains, dead-target failover.

Run: GOST_BIN=build/gost python3 tests/integration/test_forward_tcp.py [name-filter...]
     GOST_STANDIN=py python3 tests/integration/test_forward_tcp.py   (proves the tests)
"""

import os
import random
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gostlib_test import (  # noqa: E402
    STANDIN, BulkServer, EchoServer, Job, TcpServer, bulk_both_ways, check, connect,
    dead_port, echo_check, echo_stream, fail, pid_fd_count, pid_socket_inodes, recv_exact,
    recv_to_eof, run_tests, sha, skip, start_gost, _short)

H = "127.0.0.1"
MIB = 1 << 20
BULK = int(os.environ.get("GOST_TEST_BULK_MIB", "100")) * MIB
BULK_TIMEOUT = 120.0  # generous: ASan/UBSan build on 2 cores


def tcp_fwd(port, *targets, query=""):
    return ["-L", "tcp://%s:%d/%s%s" % (H, port, ",".join("%s:%d" % (H, t) for t in targets),
                                         ("?" + query) if query else "")]


def tcp_fwd_yaml(port, *targets, selector=None, chain=None, name="fwd-tcp"):
    handler = {"type": "tcp"}
    if chain:
        handler["chain"] = chain
    svc = {"name": name, "addr": "%s:%d" % (H, port), "handler": handler,
           "listener": {"type": "tcp"}}
    if targets:
        fw = {"nodes": [{"name": "target-%d" % i, "addr": "%s:%d" % (H, t)}
                        for i, t in enumerate(targets)]}
        if selector:
            fw["selector"] = selector
        svc["forwarder"] = fw
    return {"services": [svc]}


def payload_set():
    return [b"x", os.urandom(1000), os.urandom(64 * 1024), os.urandom(MIB),
            bytes(range(256)) * 16, b"\r\n\x00\xff" * 100]


# ---------------------------------------------------------------------------- (a)

def test_cli_echo_random_data():
    with EchoServer() as echo, start_gost(lambda p: tcp_fwd(p, echo.port), tcp=1) as g:
        echo_check(g.port, payload_set())
        echo_check(g.port, [os.urandom(random.randint(1, 200000)) for _ in range(20)])
        echo.check()
        check(echo.accepted == 2, "backend saw %d connections, want 2 (one per client "
              "connection)" % echo.accepted)


def test_cli_bulk_100mib_both_directions():
    with BulkServer(send_bytes=BULK, timeout=BULK_TIMEOUT) as bulk, \
            start_gost(lambda p: tcp_fwd(p, bulk.port), tcp=1) as g:
        dt = bulk_both_ways(g.port, bulk, BULK, BULK_TIMEOUT, label="cli")
        print("  %d MiB each way concurrently in %.1f s" % (BULK // MIB, dt))
        bulk.check()


# ---------------------------------------------------------------------------- (b)

def test_yaml_echo_and_bulk_both_directions():
    with EchoServer() as echo, BulkServer(send_bytes=BULK, timeout=BULK_TIMEOUT) as bulk:
        def build(p1, p2):
            cfg = tcp_fwd_yaml(p1, echo.port, name="echo-fwd")
            cfg["services"] += tcp_fwd_yaml(p2, bulk.port, name="bulk-fwd")["services"]
            return cfg
        with start_gost(build, tcp=2) as g:
            echo_check(g.tcp_ports[0], payload_set())
            dt = bulk_both_ways(g.tcp_ports[1], bulk, BULK, BULK_TIMEOUT, label="yaml")
            print("  %d MiB each way concurrently in %.1f s" % (BULK // MIB, dt))
        echo.check()
        bulk.check()


# ---------------------------------------------------------------------------- (c)

def test_half_close_client_first():
    """Client sends then SHUT_WR; backend sees EOF after all data, then replies and closes;
    client gets the whole reply then EOF."""
    request = os.urandom(300 * 1024)
    reply = os.urandom(MIB)

    def backend(c, srv):
        c.settimeout(20)
        data, how = recv_to_eof(c, timeout=20)
        srv.add_result({"data": data, "how": how})
        if how != "eof":
            return
        c.sendall(reply)
        c.shutdown(socket.SHUT_WR)
        recv_to_eof(c, timeout=5)  # wait for the other side to close

    with TcpServer(backend, name="half-close") as srv, \
            start_gost(lambda p: tcp_fwd(p, srv.port), tcp=1) as g:
        s = connect(g.port)
        try:
            s.sendall(request)
            s.shutdown(socket.SHUT_WR)
            got, how = recv_to_eof(s, timeout=20)
        finally:
            s.close()
        res = srv.wait_results(1, 10)[0]
        check(res["how"] == "eof", "backend never saw EOF after the client's SHUT_WR (%s, "
              "%d of %d bytes)" % (res["how"], len(res["data"]), len(request)))
        check(res["data"] == request, "backend got %s, want the %d-byte request (sha %s vs %s)"
              % (_short(res["data"]), len(request), sha(res["data"])[:12], sha(request)[:12]))
        check(how == "eof", "client: reply ended with %s, want EOF" % how)
        check(got == reply, "client got %d bytes (sha %s), want the %d-byte reply (sha %s)"
              % (len(got), sha(got)[:12], len(reply), sha(reply)[:12]))
        srv.check()


def test_half_close_backend_first():
    """Backend sends a greeting and SHUT_WRs first; the client sees EOF but keeps sending:
    everything the client sends before and after that EOF must still reach the backend."""
    greeting = os.urandom(64 * 1024)
    part1 = os.urandom(100 * 1024)
    part2 = os.urandom(500 * 1024)

    def backend(c, srv):
        c.settimeout(20)
        c.sendall(greeting)
        c.shutdown(socket.SHUT_WR)
        data, how = recv_to_eof(c, timeout=20)
        srv.add_result({"data": data, "how": how})

    with TcpServer(backend, name="half-close-rev") as srv, \
            start_gost(lambda p: tcp_fwd(p, srv.port), tcp=1) as g:
        s = connect(g.port)
        try:
            s.sendall(part1)
            got, how = recv_to_eof(s, timeout=10)
            check(how == "eof", "client: greeting ended with %s, want EOF" % how)
            check(got == greeting, "client got %s instead of the %d-byte greeting"
                  % (_short(got), len(greeting)))
            time.sleep(0.3)
            try:
                s.sendall(part2)
                s.shutdown(socket.SHUT_WR)
            except OSError as e:
                fail("client could not send after the backend's half-close: %r (gost closed "
                     "the whole connection instead of half-closing)" % e)
            tail, how2 = recv_to_eof(s, timeout=10)
            check(how2 == "eof" and tail == b"", "client: after its own SHUT_WR expected EOF, "
                  "got %s / %s" % (how2, _short(tail)))
        finally:
            s.close()
        res = srv.wait_results(1, 10)[0]
        want = part1 + part2
        check(res["how"] == "eof", "backend never saw the client's EOF (%s)" % res["how"])
        check(res["data"] == want, "backend got %d bytes (sha %s), want %d (sha %s): data sent "
              "after the half-close was lost" % (len(res["data"]), sha(res["data"])[:12],
                                                  len(want), sha(want)[:12]))
        srv.check()


# ---------------------------------------------------------------------------- (d)

def _is_refused_error(rec):
    lvl = str(rec.get("level", "")).lower()
    return lvl in ("error", "warn", "warning") and "refused" in str(rec.get("msg", "")).lower()


def test_refused_target_closes_client_and_logs_once():
    dead = dead_port()
    with start_gost(lambda p: tcp_fwd(p, dead), tcp=1) as g:
        s = connect(g.port)
        t0 = time.monotonic()
        try:
            try:
                s.sendall(b"hello")
            except OSError:
                pass  # a reset racing the send is fine
            data, how = recv_to_eof(s, timeout=2.0)
        finally:
            s.close()
        dt = time.monotonic() - t0
        check(how in ("eof", "reset"), "client connection to a refused target was not closed "
              "within 2 s (%s after %.2f s)" % (how, dt))
        check(data == b"", "client received data from a refused target: %s" % _short(data))
        g.require_json_logs()
        g.wait_for_log(_is_refused_error, timeout=3)
        time.sleep(0.3)  # let any duplicate line land
    recs = g.log_records()
    hits = [r for r in recs if _is_refused_error(r)]
    lines = "\n".join("    " + r["_raw"][:300] for r in hits) or "    (none)"
    check(len(hits) == 1, "want exactly 1 error/warn JSON log line with 'refused' in msg for "
          "the one failed connection, got %d:\n%s" % (len(hits), lines))
    check(str(dead) in hits[0]["_raw"], "the refused-dial log line does not name the target "
          "port %d: %s" % (dead, hits[0]["_raw"][:300]))


# ---------------------------------------------------------------------------- (e)

def test_50_concurrent_clients():
    n = 50
    barrier = threading.Barrier(n, timeout=30)

    def client(i, port):
        s = connect(port, timeout=15)
        try:
            barrier.wait()
            for r in range(3):
                p = ("client-%02d-round-%d|" % (i, r)).encode() + os.urandom(
                    random.randint(1, 64 * 1024))
                s.sendall(p)
                got = recv_exact(s, len(p), 30, what="client %d round %d echo" % (i, r))
                check(got == p, "client %d round %d: got %s, want %s"
                      % (i, r, _short(got), _short(p)))
            s.shutdown(socket.SHUT_WR)
            rest, how = recv_to_eof(s, timeout=10)
            check(how == "eof" and rest == b"", "client %d: after SHUT_WR got %s / %s"
                  % (i, how, _short(rest)))
        finally:
            s.close()

    with EchoServer() as echo, start_gost(lambda p: tcp_fwd(p, echo.port), tcp=1) as g:
        jobs = [Job(client, i, g.port, name="client-%d" % i) for i in range(n)]
        for j in jobs:
            j.start()
        errors = []
        for j in jobs:
            try:
                j.join_result(60)
            except AssertionError as e:
                errors.append(str(e))
        check(not errors, "%d of %d concurrent clients failed; first: %s"
              % (len(errors), n, errors[:1]))
        check(echo.accepted == n, "backend saw %d connections, want %d" % (echo.accepted, n))
        echo.check()


# ----------------------------------------------------------------- extra robustness

def test_no_fd_leak_after_many_connections():
    """gost's socket count returns to its idle level after 200 finished connections (normal,
    client-reset, and refused-target ones). Only sockets are compared exactly: gost keeps
    a bounded per-worker pool of idle splice pipes (src/core/pipe_pool.h, 64 per worker),
    so the total fd count only has to stay within a loose bound."""
    dead = dead_port()
    with EchoServer() as echo, \
            start_gost(lambda p1, p2: tcp_fwd(p1, echo.port) + tcp_fwd(p2, dead), tcp=2) as g:
        ok_port, dead_svc = g.tcp_ports
        echo_check(ok_port, [b"warm-up"])
        time.sleep(0.3)
        base_socks, base_fds = len(pid_socket_inodes(g.pid)), pid_fd_count(g.pid)
        for i in range(150):
            echo_check(ok_port, [b"ping-%d" % i])
        for i in range(25):  # abortive close (RST) from the client mid-connection
            s = connect(ok_port)
            s.sendall(b"x" * 1000)
            recv_exact(s, 1000, 5)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        for i in range(25):
            s = connect(dead_svc)
            recv_to_eof(s, timeout=2)
            s.close()
        deadline = time.monotonic() + 5
        socks = len(pid_socket_inodes(g.pid))
        while socks > base_socks and time.monotonic() < deadline:
            time.sleep(0.1)
            socks = len(pid_socket_inodes(g.pid))
        fds = pid_fd_count(g.pid)
        check(socks <= base_socks, "gost holds %d sockets after all connections closed, %d "
              "before: socket leak" % (socks, base_socks))
        check(fds <= base_fds + 300, "gost holds %d fds after all connections closed, %d "
              "before (more than the pipe pools can explain)" % (fds, base_fds))
        echo.check()


def test_sigterm_with_active_connection_exits_cleanly():
    """A SIGTERM while a client connection is open and idle still exits 0 within 5 s (the
    stop check in Gost.stop asserts the exit status and the absence of sanitizer reports)."""
    with EchoServer() as echo, start_gost(lambda p: tcp_fwd(p, echo.port), tcp=1) as g:
        s = connect(g.port)
        echo_check(g.port, [b"other-conn"])
        s.sendall(b"open")
        check(recv_exact(s, 4, 5) == b"open", "echo over the held connection failed")
        g.stop()
        if STANDIN == "socat":
            s.close()
            skip("socat's forked children outlive the stopped parent (gost is one process)")
        data, how = recv_to_eof(s, timeout=5)
        s.close()
        check(how in ("eof", "reset"), "held client connection not closed after gost stopped "
              "(%s)" % how)


# ---------------------------------------------------------------------------- (f)

def test_chain_forward_hop_cli():
    """client gost: -L tcp://:P/<dead> -F forward://:Q ; server gost: -L tcp://:Q/ECHO.
    The forward connector ignores the client's own target (the server decides), so a dead
    client-side target proves the data really went through the hop."""
    dead = dead_port()
    with EchoServer() as echo, \
            start_gost(lambda q: tcp_fwd(q, echo.port), tcp=1, name="gost-server") as srv, \
            start_gost(lambda p: tcp_fwd(p, dead) + ["-F", "forward://%s:%d" % (H, srv.port)],
                       tcp=1, name="gost-client") as cli:
        echo_check(cli.port, payload_set())
        echo_stream(cli.port, 10 * MIB, timeout=60)
        check(echo.accepted == 2, "backend saw %d connections, want 2" % echo.accepted)
        echo.check()


def test_chain_forward_hop_without_target():
    """The documented form: client `-L tcp://:P -F forward://:Q` (no target of its own)."""
    with EchoServer() as echo, \
            start_gost(lambda q: tcp_fwd(q, echo.port), tcp=1, name="gost-server") as srv, \
            start_gost(lambda p: ["-L", "tcp://%s:%d" % (H, p),
                                  "-F", "forward://%s:%d" % (H, srv.port)],
                       tcp=1, name="gost-client") as cli:
        echo_check(cli.port, payload_set())
        echo.check()


def test_chain_forward_hop_yaml():
    dead = dead_port()

    def client_cfg(p, q):
        cfg = tcp_fwd_yaml(p, dead, chain="chain-0")
        cfg["chains"] = [{"name": "chain-0", "hops": [{"name": "hop-0", "nodes": [{
            "name": "node-0", "addr": "%s:%d" % (H, q),
            "connector": {"type": "forward"}, "dialer": {"type": "tcp"}}]}]}]
        return cfg

    with EchoServer() as echo, \
            start_gost(lambda q: tcp_fwd_yaml(q, echo.port), tcp=1, name="gost-server") as srv, \
            start_gost(lambda p: client_cfg(p, srv.port), tcp=1, name="gost-client") as cli:
        echo_check(cli.port, payload_set())
        echo_stream(cli.port, 10 * MIB, timeout=60)
        echo.check()


# ---------------------------------------------------------------------------- (g)

def _failover(port, echo, attempts=12):
    """Sequential connections through a [dead, alive] round-robin forwarder. GOST does not
    retry another node for a failed connection, so the one that hits the dead node fails;
    that marks it (maxFails=1) and every later connection must go to the live node."""
    outcomes = []
    for i in range(attempts):
        tok = b"conn-%d|" % i + os.urandom(32)
        s = connect(port)
        try:
            try:
                s.sendall(tok)
            except OSError:
                outcomes.append("closed")
                continue
            got, how = b"", "?"
            s.settimeout(3)
            buf = bytearray()
            deadline = time.monotonic() + 3
            while len(buf) < len(tok) and time.monotonic() < deadline:
                try:
                    d = s.recv(4096)
                except (ConnectionResetError, socket.timeout):
                    break
                if not d:
                    break
                buf += d
            got = bytes(buf)
            if got == tok:
                outcomes.append("ok")
            elif got == b"":
                outcomes.append("closed")
            else:
                fail("connection %d: got %s, want %s" % (i, _short(got), _short(tok)))
        finally:
            s.close()
    failures = [i for i, o in enumerate(outcomes) if o != "ok"]
    check(len(failures) <= 1, "%d connections failed (%s): the dead target was not taken out "
          "of rotation after its first failure" % (len(failures), outcomes))
    check(all(i < 2 for i in failures), "a connection after the first two failed (%s): round "
          "robin must meet the dead node within two picks and then avoid it" % outcomes)
    check(echo.accepted == outcomes.count("ok"),
          "backend saw %d connections, %d clients succeeded" % (echo.accepted,
                                                                 outcomes.count("ok")))


def test_failover_dead_target_cli():
    dead = dead_port()
    with EchoServer() as echo, start_gost(
            lambda p: tcp_fwd(p, dead, echo.port,
                              query="strategy=round&maxFails=1&failTimeout=30s"),
            tcp=1) as g:
        _failover(g.port, echo)
        echo.check()


def test_failover_dead_target_yaml():
    dead = dead_port()
    sel = {"strategy": "round", "maxFails": 1, "failTimeout": "30s"}
    with EchoServer() as echo, start_gost(
            lambda p: tcp_fwd_yaml(p, dead, echo.port, selector=sel), tcp=1) as g:
        _failover(g.port, echo)
        echo.check()



def test_ignore_chain_dials_directly():
    """?ignoreChain=true: the service skips the CLI chain (whose only node is dead here)."""
    dead = dead_port()
    with EchoServer() as echo, \
            start_gost(lambda p: ["-L", "tcp://%s:%d/%s:%d?ignoreChain=true"
                                  % (H, p, H, echo.port),
                                  "-F", "forward://%s:%d" % (H, dead)], tcp=1) as g:
        echo_check(g.port, payload_set())
    check(echo.accepted == 1, "backend saw %d connections, want 1" % echo.accepted)


def test_hops_by_reference_yaml():
    """A chain hop and the forwarder both name top-level `hops` entries instead of listing
    nodes inline; the client's data must pass the referenced hop to the second gost."""
    with EchoServer() as echo, \
            start_gost(lambda q: tcp_fwd(q, echo.port), tcp=1, name="gost-server") as srv:
        def client(p):
            return {
                "services": [{
                    "name": "by-ref", "addr": "%s:%d" % (H, p),
                    "listener": {"type": "tcp"}, "handler": {"type": "tcp", "chain": "c0"},
                    "forwarder": {"hop": "targets"}}],
                "chains": [{"name": "c0", "hops": [{"name": "via-server"}]}],
                "hops": [
                    {"name": "via-server", "nodes": [{
                        "name": "n0", "addr": "%s:%d" % (H, srv.port),
                        "connector": {"type": "forward"}, "dialer": {"type": "tcp"}}]},
                    {"name": "targets", "nodes": [{"name": "t0", "addr": "%s:%d" % (H, dead_port())}]}]}
        with start_gost(client, tcp=1, name="gost-client") as cli:
            echo_check(cli.port, payload_set())
    check(echo.accepted == 1, "backend saw %d connections, want 1" % echo.accepted)

if __name__ == "__main__":
    run_tests(globals())
