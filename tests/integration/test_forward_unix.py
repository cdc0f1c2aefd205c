#!/usr/bin/env python3
"""Unix sockets and virtual nodes: the `unix` listener, handler, dialer and connector, and the
`direct`/`virtual` dialer+connector pair (GOST's "virtual node").

- unix listener -> forward handler -> TCP echo (a client connects with AF_UNIX);
- tcp listener -> unix handler -> a unix-socket echo server;
- a chain whose hop is reached over a unix socket (dialer unix, connector forward) to a second
  gost listening on that socket;
- a chain hop made of a virtual node (direct/direct) behaves as a direct connection, and
  `action: reject` on it refuses the request (the client is closed, the backend sees nothing).

Run: GOST_BIN=build/gost python3 tests/integration/test_forward_unix.py
"""

import os
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gostlib_test import (  # noqa: E402
    EchoServer, Gost, check, connect, echo_check, recv_to_eof, run_tests, start_gost)

H = "127.0.0.1"
PAYLOADS = [b"x", b"hello over unix\n", os.urandom(70000), b"end"]


def wait_for_path(path, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return
        check(proc.proc.poll() is None, "%s exited before creating %s:\n%s"
              % (proc.name, path, proc.stderr_text()[-2000:]))
        time.sleep(0.02)
    check(False, "%s did not create %s within %.0f s" % (proc.name, path, timeout))


def unix_echo_check(path, payloads, timeout=10.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    try:
        for i, p in enumerate(payloads):
            s.sendall(p)
            got = bytearray()
            while len(got) < len(p):
                chunk = s.recv(len(p) - len(got))
                check(chunk, "EOF before the echo of payload %d" % i)
                got += chunk
            check(bytes(got) == p, "echo mismatch for payload %d" % i)
    finally:
        s.close()


class UnixEchoServer:
    """Threaded unix-socket echo server (half-closes back on EOF)."""

    def __init__(self, path):
        self.path = path
        self.accepted = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.stop = False
        self.t = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *a):
        self.stop = True
        self.t.join(5)
        self.sock.close()

    def _loop(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _serve(c):
        c.settimeout(30)
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                c.sendall(b)
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            c.close()


def test_unix_listener_to_tcp_target():
    with tempfile.TemporaryDirectory(prefix="gost-unix-") as d, EchoServer() as echo:
        path = os.path.join(d, "in.sock")
        cfg = {"services": [{
            "name": "unix-in", "addr": path,
            "listener": {"type": "unix"}, "handler": {"type": "forward"},
            "forwarder": {"nodes": [{"name": "target-0", "addr": "%s:%d" % (H, echo.port)}]}}]}
        with Gost(cfg) as g:
            wait_for_path(path, g)
            unix_echo_check(path, PAYLOADS)
            unix_echo_check(path, PAYLOADS)
        check(echo.accepted == 2, "backend saw %d connections, want 2" % echo.accepted)


def test_unix_handler_to_unix_target():
    with tempfile.TemporaryDirectory(prefix="gost-unix-") as d:
        target = os.path.join(d, "echo.sock")
        with UnixEchoServer(target) as us, start_gost(lambda p: {"services": [{
                "name": "to-unix", "addr": "%s:%d" % (H, p),
                "listener": {"type": "tcp"}, "handler": {"type": "unix"},
                "forwarder": {"nodes": [{"name": "target-0", "addr": target}]}}]},
                tcp=1) as g:
            echo_check(g.port, PAYLOADS)
            check(us.accepted == 1, "unix backend saw %d connections, want 1" % us.accepted)


def test_chain_hop_over_unix_socket():
    """Client: tcp :P -> chain hop (dialer unix, connector forward) -> server gost on a unix
    socket -> TCP echo. The client's own target is dead, so data can only pass the hop."""
    with tempfile.TemporaryDirectory(prefix="gost-unix-") as d, EchoServer() as echo:
        srv_path = os.path.join(d, "srv.sock")
        server = {"services": [{
            "name": "srv", "addr": srv_path,
            "listener": {"type": "unix"}, "handler": {"type": "forward"},
            "forwarder": {"nodes": [{"name": "t", "addr": "%s:%d" % (H, echo.port)}]}}]}
        with Gost(server, name="gost-server") as srv:
            wait_for_path(srv_path, srv)
            client = lambda p: {  # noqa: E731
                "services": [{
                    "name": "cli", "addr": "%s:%d" % (H, p),
                    "listener": {"type": "tcp"}, "handler": {"type": "tcp", "chain": "c0"},
                    "forwarder": {"nodes": [{"name": "t", "addr": "%s:1" % H}]}}],
                "chains": [{"name": "c0", "hops": [{"name": "h0", "nodes": [{
                    "name": "n0", "addr": srv_path,
                    "dialer": {"type": "unix"}, "connector": {"type": "forward"}}]}]}]}
            with start_gost(client, tcp=1, name="gost-client") as cli:
                echo_check(cli.port, PAYLOADS)
        check(echo.accepted == 1, "backend saw %d connections, want 1" % echo.accepted)


def _virtual_chain(port, target, action=None):
    connector = {"type": "virtual"}
    if action:
        connector["metadata"] = {"action": action}
    return {
        "services": [{
            "name": "v", "addr": "%s:%d" % (H, port),
            "listener": {"type": "tcp"}, "handler": {"type": "tcp", "chain": "egress"},
            "forwarder": {"nodes": [{"name": "t", "addr": "%s:%d" % (H, target)}]}}],
        "chains": [{"name": "egress", "hops": [{"name": "h0", "nodes": [{
            "name": "direct-0", "addr": ":0",
            "dialer": {"type": "direct"}, "connector": connector}]}]}]}


def test_virtual_node_dials_directly():
    with EchoServer() as echo, start_gost(lambda p: _virtual_chain(p, echo.port), tcp=1) as g:
        echo_check(g.port, PAYLOADS)
    check(echo.accepted == 1, "backend saw %d connections, want 1" % echo.accepted)


def test_virtual_node_reject():
    with EchoServer() as echo, \
            start_gost(lambda p: _virtual_chain(p, echo.port, action="reject"), tcp=1) as g:
        s = connect(g.port)
        s.sendall(b"nobody should see this")
        data, how = recv_to_eof(s, timeout=3)
        s.close()
        check(data == b"" and how in ("eof", "reset"),
              "rejected request: got %r (%s), want a closed connection" % (data[:40], how))
        g.wait_for_log(lambda r: r.get("level") == "error" and "reject" in r.get("msg", ""))
    check(echo.accepted == 0, "backend saw %d connections, want 0" % echo.accepted)


if __name__ == "__main__":
    run_tests(globals())
