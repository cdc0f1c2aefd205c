#!/usr/bin/env python3
"""SOCKS5 MBIND (0xF2): remote TCP port forwarding over smux on the control connection
(`gost -L socks5://HOST:PORT?bind=true`). The test plays the gost client: it sends MBIND,
then runs a minimal smux v1 session in the SERVER role (the gost server is the smux client and
opens one stream per peer accepted on the bound port). Checks the bytes against the shape of
tests/data/shared/vectors/socks5/mbind-notls.*, data both ways, concurrency, FIN propagation,
and that a stream's close does not end the session.

Run: GOST_BIN=build/gost python3 tests/integration/test_socks_mbind.py [name-filter...]
"""

import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gostlib_test import (  # noqa: E402
    STANDIN, Job, check, connect, fail, free_port, recv_exact, recv_to_eof, run_tests, skip,
    start_gost, _short)

H = "127.0.0.1"
VEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "shared",
                   "vectors", "socks5")
SYN, FIN, PSH, NOP, UPD = range(5)


def socks_mbind(port, query="bind=true"):
    return ["-L", "socks5://%s:%d?%s" % (H, port, query)]


def mbind_request(bport):
    return b"\x05\xf2\x00\x01" + socket.inet_aton(H) + struct.pack(">H", bport)


def open_control(gport, bport):
    """Greeting + MBIND; returns (socket, reply bytes)."""
    c = connect(gport)
    c.sendall(b"\x05\x01\x00")
    check(recv_exact(c, 2, what="method selection") == b"\x05\x00", "method selection")
    c.sendall(mbind_request(bport))
    return c, recv_exact(c, 10, what="MBIND reply")


class MuxStream:
    def __init__(self, mux, sid):
        self.mux, self.sid = mux, sid
        self.buf = bytearray()
        self.fin = False

    def read_exact(self, n, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self.mux.cond:
            while len(self.buf) < n:
                left = deadline - time.monotonic()
                if self.fin or self.mux.dead or left <= 0:
                    fail("stream %d: got %d of %d bytes (fin=%s dead=%s)"
                         % (self.sid, len(self.buf), n, self.fin, self.mux.dead))
                self.mux.cond.wait(left)
            out = bytes(self.buf[:n])
            del self.buf[:n]
            return out

    def read_to_fin(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self.mux.cond:
            while not self.fin:
                left = deadline - time.monotonic()
                if self.mux.dead or left <= 0:
                    fail("stream %d: no FIN (have %d bytes)" % (self.sid, len(self.buf)))
                self.mux.cond.wait(left)
            out = bytes(self.buf)
            self.buf.clear()
            return out

    def write(self, data):
        for i in range(0, len(data), 32768):
            self.mux.send(PSH, self.sid, data[i:i + 32768])

    def close(self):
        self.mux.send(FIN, self.sid)


class Mux:
    """Minimal smux v1, server role: streams are opened by the peer (SYN)."""

    def __init__(self, sock):
        self.sock = sock
        self.cond = threading.Condition()
        self.wlock = threading.Lock()
        self.streams, self.accepted = {}, []
        self.dead = False
        self.frames = []  # (cmd, sid, len) as received
        self.raw = bytearray()  # every byte received after the MBIND reply
        sock.settimeout(None)
        self.t = threading.Thread(target=self._reader, daemon=True)
        self.t.start()

    def _recv_exact(self, n):
        b = bytearray()
        while len(b) < n:
            chunk = self.sock.recv(n - len(b))
            if not chunk:
                raise EOFError
            b += chunk
        self.raw += b
        return bytes(b)

    def _reader(self):
        try:
            while True:
                ver, cmd, ln, sid = struct.unpack("<BBHI", self._recv_exact(8))
                data = self._recv_exact(ln) if cmd == PSH and ln else b""
                with self.cond:
                    self.frames.append((cmd, sid, ln))
                    if ver != 1:
                        raise ValueError("version %d" % ver)
                    if cmd == SYN:
                        st = MuxStream(self, sid)
                        self.streams[sid] = st
                        self.accepted.append(st)
                    elif cmd == PSH and sid in self.streams:
                        self.streams[sid].buf += data
                    elif cmd == FIN and sid in self.streams:
                        self.streams[sid].fin = True
                    self.cond.notify_all()
        except (EOFError, OSError, ValueError):
            pass
        with self.cond:
            self.dead = True
            self.cond.notify_all()

    def send(self, cmd, sid, data=b""):
        with self.wlock:
            self.sock.sendall(struct.pack("<BBHI", 1, cmd, len(data), sid) + data)

    def close(self):
        """shutdown() first: a plain close() does not end the reader thread's recv()."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.t.join(5.0)

    def accept(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.accepted:
                left = deadline - time.monotonic()
                if self.dead or left <= 0:
                    fail("no stream opened by the server (dead=%s)" % self.dead)
                self.cond.wait(left)
            return self.accepted.pop(0)

    def wait_dead(self, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.dead and time.monotonic() < deadline:
                self.cond.wait(max(0.01, deadline - time.monotonic()))
            return self.dead


def peer_reply(st):
    rep = st.read_exact(10, timeout=10.0)
    check(rep[:4] == b"\x05\x00\x00\x01", "stream reply header %s" % _short(rep))
    return socket.inet_ntoa(rep[4:8]), struct.unpack(">H", rep[8:10])[0]


def needs_real():
    if STANDIN:
        skip("MBIND needs the real gost")


# ----------------------------------------------------------------------------- tests

def test_mbind_vector_bytes():
    """The exchange of socks5/mbind-notls: reply, SYN 3, PSH(reply with the peer address),
    PSH('ping\\n') byte for byte (the peer port is the only varying field); pong comes back."""
    needs_real()
    with open(os.path.join(VEC, "mbind-notls.s2c.bin"), "rb") as f:
        vs2c = f.read()
    with open(os.path.join(VEC, "mbind-notls.c2s.bin"), "rb") as f:
        vc2s = f.read()
    bport = free_port()
    with start_gost(lambda p: socks_mbind(p), tcp=1) as g:
        c, rep = open_control(g.port, bport)
        want = b"\x05\x00\x00\x01\x7f\x00\x00\x01" + struct.pack(">H", bport)
        check(rep == want, "MBIND reply %s, want %s" % (rep.hex(), want.hex()))
        check(vs2c[2:10] == rep[:8], "vector reply prefix differs: %s" % vs2c[2:12].hex())
        peer = connect(bport)
        peer.sendall(b"ping\n")
        got = recv_exact(c, 51 - 12, what="SYN + reply + ping frames")
        pport = peer.getsockname()[1]
        exp = bytearray(vs2c[12:])
        exp[0x24 - 12:0x26 - 12] = struct.pack(">H", pport)
        check(got == bytes(exp), "server->client smux bytes\n got  %s\n want %s"
              % (got.hex(), bytes(exp).hex()))
        c.sendall(vc2s[13:])  # PSH sid 3 'pong\n', exactly as the gost client sent it
        check(recv_exact(peer, 5, what="pong") == b"pong\n", "peer got pong")
        c.sendall(struct.pack("<BBHI", 1, FIN, 0, 3))
        data, how = recv_to_eof(peer, timeout=5.0)
        check(data == b"" and how == "eof", "peer after FIN: %r %s" % (data, how))
        peer.close()
        c.close()


def test_mbind_disabled_and_port_in_use():
    needs_real()
    bport = free_port()
    with start_gost(lambda p: ["-L", "socks5://%s:%d" % (H, p)], tcp=1) as g:
        c, rep = open_control(g.port, bport)
        check(rep[:2] == b"\x05\x02", "without bind=true: reply %s, want REP 02" % rep.hex())
        check(recv_to_eof(c, timeout=5.0)[1] in ("eof", "reset"), "connection closed")
        c.close()
    busy = socket.socket()
    busy.bind((H, 0))
    busy.listen(1)
    try:
        with start_gost(lambda p: socks_mbind(p), tcp=1) as g:
            c, rep = open_control(g.port, busy.getsockname()[1])
            check(rep[:2] == b"\x05\x01", "port in use: reply %s, want REP 01" % rep.hex())
            c.close()
    finally:
        busy.close()


def echo_streams(mux, n, stop):
    """Local-service side: accept n streams, echo each until FIN, then FIN back."""
    def one(st):
        peer_reply(st)
        data = st.read_to_fin(timeout=60.0)
        st.write(data)
        st.close()
    jobs = []
    for _ in range(n):
        st = mux.accept(timeout=20.0)
        j = Job(one, st)
        j.start()
        jobs.append(j)
    for j in jobs:
        j.join_result(90.0)


def test_mbind_concurrent_peers_both_ways():
    needs_real()
    bport = free_port()
    n = 8
    with start_gost(lambda p: socks_mbind(p), tcp=1) as g:
        c, rep = open_control(g.port, bport)
        check(rep[1] == 0, "MBIND reply %s" % rep.hex())
        mux = Mux(c)
        server = Job(echo_streams, mux, n, None)
        server.start()

        def peer(i):
            data = os.urandom(100000 + i * 37000)
            s = connect(bport)
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            back, how = recv_to_eof(s, timeout=60.0)
            s.close()
            check(how == "eof", "peer %d: %s" % (i, how))
            check(back == data, "peer %d: %d bytes back of %d, equal=%s"
                  % (i, len(back), len(data), back == data))
        peers = [Job(peer, i) for i in range(n)]
        for p in peers:
            p.start()
        for p in peers:
            p.join_result(90.0)
        server.join_result(90.0)
        sids = sorted(sid for cmd, sid, _ in mux.frames if cmd == SYN)
        check(sids == list(range(3, 3 + 2 * n, 2)), "stream ids %s" % sids)
        check(not mux.dead, "session still alive after %d streams ended" % n)
        mux.close()


def test_mbind_peer_close_fin_session_survives():
    needs_real()
    bport = free_port()
    with start_gost(lambda p: socks_mbind(p), tcp=1) as g:
        c, rep = open_control(g.port, bport)
        mux = Mux(c)
        p1 = connect(bport)
        st1 = mux.accept()
        host, port = peer_reply(st1)
        check((host, port) == p1.getsockname(), "peer address %s:%d" % (host, port))
        p1.sendall(b"hello")
        p1.close()
        check(st1.read_to_fin(timeout=10.0) == b"hello", "data then FIN from a closing peer")
        st1.close()
        time.sleep(0.3)
        check(not mux.dead, "a stream's FIN ended the session")
        p2 = connect(bport)
        st2 = mux.accept()
        peer_reply(st2)
        st2.write(b"second")
        check(recv_exact(p2, 6, what="second") == b"second", "second peer gets data")
        p2.sendall(b"back")
        check(st2.read_exact(4) == b"back", "second stream gets data")
        st2.close()
        data, how = recv_to_eof(p2, timeout=5.0)
        check(how == "eof", "second peer sees EOF after FIN: %s" % how)
        p2.close()
        mux.close()


def test_mbind_comp_no_reply_and_client_gone():
    needs_real()
    bport = free_port()
    with start_gost(lambda p: socks_mbind(p, "bind=true&comp=true"), tcp=1) as g:
        c, rep = open_control(g.port, bport)
        mux = Mux(c)
        p = connect(bport)
        st = mux.accept()
        p.sendall(b"raw!")
        check(st.read_exact(4) == b"raw!", "comp=true: stream starts with the peer's data")
        mux.close()
        data, how = recv_to_eof(p, timeout=10.0)
        check(how in ("eof", "reset"), "peer closed when the client goes: %s" % how)
        p.close()
        deadline = time.monotonic() + 5.0
        while True:
            try:
                s = socket.create_connection((H, bport), timeout=1.0)
                s.close()
            except OSError:
                break
            if time.monotonic() > deadline:
                fail("bound port still listening after the client went away")
            time.sleep(0.1)


def test_mbind_keepalive_nop():
    """mux.keepaliveInterval=1s: NOPs arrive; a silent client is dropped after the timeout."""
    needs_real()
    bport = free_port()
    q = "bind=true&mux.keepaliveInterval=1s&mux.keepaliveTimeout=3s"
    with start_gost(lambda p: socks_mbind(p, q), tcp=1) as g:
        c, rep = open_control(g.port, bport)
        mux = Mux(c)
        check(mux.wait_dead(8.0), "silent client not dropped after keepaliveTimeout")
        nops = [f for f in mux.frames if f[0] == NOP]
        check(len(nops) >= 2, "want >= 2 NOPs, got %s" % mux.frames)
        mux.close()


if __name__ == "__main__":
    run_tests(globals())
