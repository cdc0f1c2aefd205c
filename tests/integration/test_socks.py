#!/usr/bin/env python3
"""SOCKS4/4a/5 handlers and connectors (docs/socks.md).

curl as the client of our server (socks4, socks4a, socks5, socks5h), chains of two gosts,
dante and microsocks as SOCKS5 upstreams of our socks5 connector, a stdlib UDP ASSOCIATE client,
UDP port forwarding through a SOCKS5 hop (UDP-TUN), the gost 3.2.0 wire vectors replayed against
our server, and hostile input (garbage, truncation, oversized fields, silent clients).

Run: GOST_BIN=build/gost python3 tests/integration/test_socks.py [name-filter...]
"""

import http.server
import os
import shutil
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gostlib_test import (  # noqa: E402
    STANDIN, EchoServer, TestFailure, UdpEchoServer, check, connect, dead_port, fail,
    free_port, recv_exact, recv_to_eof, run_tests, skip, spawn, start_gost, stop_process,
    _short)

H = "127.0.0.1"
VEC = os.path.join(os.environ.get("GOST_SRC", os.path.join(os.path.dirname(__file__), "..", "..")),
                   "tests", "data", "shared", "vectors", "socks5")
BODY = os.urandom(50000)


class Origin:
    """HTTP origin on 127.0.0.1: GET / answers BODY."""

    def __init__(self):
        class H_(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                self.wfile.write(BODY)

            def log_message(self, *a):
                pass

        class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.srv = S((H, 0), H_)
        self.port = self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def __enter__(self):
        return self

    def __exit__(self, *e):
        self.srv.shutdown()
        self.srv.server_close()


def need_standin_off():
    if STANDIN:
        skip("SOCKS needs the real gost")


def curl(proxy, url, user=None, timeout=10):
    if not shutil.which("curl"):
        skip("curl is not installed")
    cmd = ["curl", "-s", "-S", "--max-time", str(timeout), "-o", "-", "-x", proxy, url]
    if user:
        cmd[1:1] = ["--proxy-user", user]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout + 5)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


def curl_ok(proxy, url, user=None):
    rc, out, err = curl(proxy, url, user)
    check(rc == 0, "curl -x %s %s: exit %d: %s" % (proxy, url, rc, err))
    check(out == BODY, "curl -x %s: body %s, want %d bytes" % (proxy, _short(out), len(BODY)))


def start_or_skip_unsupported(build, **kw):
    """start_gost, but a build error 'not supported yet' (a feature another part of the
    project has not enabled) skips the test instead of failing it."""
    cm = start_gost(build, **kw)
    try:
        g = cm.__enter__()
    except TestFailure as e:
        if "not supported yet" in str(e):
            skip("gost says: %s" % str(e).splitlines()[0][:200])
        raise
    return cm, g


# ------------------------------------------------------------------ curl -> our server

def test_curl_all_variants():
    """curl's socks4, socks4a, socks5 and socks5h against handler types socks4, socks4a,
    socks5 and socks; the body must come through intact."""
    need_standin_off()
    with Origin() as o, start_gost(lambda a, b, c, d: [
            "-L", "socks4://%s:%d" % (H, a), "-L", "socks4a://%s:%d" % (H, b),
            "-L", "socks5://%s:%d" % (H, c), "-L", "socks://%s:%d" % (H, d)], tcp=4) as g:
        p4, p4a, p5, ps = g.tcp_ports
        for port in (p4, p4a):
            curl_ok("socks4://%s:%d" % (H, port), "http://%s:%d/" % (H, o.port))
            curl_ok("socks4a://%s:%d" % (H, port), "http://localhost:%d/" % o.port)
        for port in (p5, ps):
            curl_ok("socks5://%s:%d" % (H, port), "http://%s:%d/" % (H, o.port))
            curl_ok("socks5h://%s:%d" % (H, port), "http://localhost:%d/" % o.port)
            # credentials offered to a server without auth: accepted (0x00 chosen)
            curl_ok("socks5h://%s:%d" % (H, port), "http://localhost:%d/" % o.port, "a:b")
        # an unreachable target gives a SOCKS failure, not a hang
        rc, _, err = curl("socks5h://%s:%d" % (H, p5), "http://%s:%d/" % (H, dead_port()))
        check(rc != 0, "connect to a dead port through socks5 succeeded?")
        rc, _, err = curl("socks4://%s:%d" % (H, p4), "http://%s:%d/" % (H, dead_port()))
        check(rc != 0, "connect to a dead port through socks4 succeeded?")


def test_curl_auth():
    """socks5 with user/pass: right credentials pass, a wrong password and no credentials are
    refused; socks4 with auth checks the user id (empty-password entry)."""
    need_standin_off()
    with Origin() as o:
        cm, g = start_or_skip_unsupported(lambda a: ["-L", "socks5://u1:p1@%s:%d" % (H, a)], tcp=1)
        try:
            proxy = "socks5h://%s:%d" % (H, g.port)
            curl_ok(proxy, "http://localhost:%d/" % o.port, "u1:p1")
            rc, out, err = curl(proxy, "http://localhost:%d/" % o.port, "u1:wrong")
            check(rc != 0 and out != BODY, "wrong password accepted (curl exit %d)" % rc)
            rc, out, err = curl(proxy, "http://localhost:%d/" % o.port)
            check(rc != 0 and out != BODY, "no credentials accepted (curl exit %d)" % rc)
            # gost -> gost with credentials: 0x82 (TLS + user/pass) by default, 0x02 with notls
            for q, user, ok in (("", "u1:p1", True), ("?notls=true", "u1:p1", True),
                                ("", "u1:bad", False), ("?notls=true", "u1:bad", False)):
                with start_gost(lambda p: ["-L", "socks5://%s:%d" % (H, p), "-F",
                                           "socks5://%s@%s:%d%s" % (user, H, g.port, q)],
                                tcp=1, name="client") as cli:
                    rc, out, err = curl("socks5h://%s:%d" % (H, cli.port),
                                        "http://localhost:%d/" % o.port)
                    check((rc == 0 and out == BODY) == ok,
                          "chain with %s%s: curl exit %d, want %s" % (user, q, rc,
                                                                    "success" if ok else "failure"))
        finally:
            cm.__exit__(None, None, None)
        # socks4: the user id is checked as a user name with an empty password
        cfg = {"services": [{"name": "s4", "addr": "%s:%d" % (H, 0), "handler": {
            "type": "socks4", "auther": "a4"}, "listener": {"type": "tcp"}}],
            "authers": [{"name": "a4", "auths": [{"username": "id4", "password": ""}]}]}

        def build(p):
            cfg["services"][0]["addr"] = "%s:%d" % (H, p)
            return cfg
        cm, g = start_or_skip_unsupported(build, tcp=1)
        try:
            curl_ok("socks4a://id4@%s:%d" % (H, g.port), "http://localhost:%d/" % o.port)
            rc, out, err = curl("socks4a://other@%s:%d" % (H, g.port),
                                "http://localhost:%d/" % o.port)
            check(rc != 0 and out != BODY, "socks4 with a wrong user id accepted")
        finally:
            cm.__exit__(None, None, None)


# ------------------------------------------------------------------ gost -> gost

def test_chain_two_gosts():
    """-L tcp://:P/echo -F socks5://server (default methods, and notls=true) and
    -F socks4://server: random data both ways, the target's close reaches the client."""
    need_standin_off()
    with EchoServer() as echo, start_gost(lambda a, b: [
            "-L", "socks5://%s:%d" % (H, a), "-L", "socks4://%s:%d" % (H, b)], tcp=2) as srv:
        s5, s4 = srv.tcp_ports
        for fwd in ("socks5://%s:%d" % (H, s5), "socks5://%s:%d?notls=true" % (H, s5),
                    "socks://%s:%d" % (H, s5), "socks4://%s:%d" % (H, s4),
                    "socks4a://%s:%d?disable4a=true" % (H, s4)):
            with start_gost(lambda p: ["-L", "tcp://%s:%d/%s:%d" % (H, p, H, echo.port),
                                       "-F", fwd], tcp=1, name="client") as cli:
                for size in (1, 70000, 1 << 20):
                    data = os.urandom(size)
                    s = connect(cli.port)
                    s.sendall(data)
                    s.shutdown(socket.SHUT_WR)
                    got, how = recv_to_eof(s, timeout=20)
                    s.close()
                    check(got == data, "%s: echo of %d bytes: got %s" % (fwd, size, _short(got)))
                    check(how == "eof", "%s: stream ended with %s, want eof" % (fwd, how))


def udp_roundtrips(port, sizes, what=""):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    try:
        for size in sizes:
            p = os.urandom(size)
            s.sendto(p, (H, port))
            try:
                got = s.recv(65536)
            except socket.timeout:
                fail("%s: no reply to a %d-byte datagram" % (what, size))
            check(got == p, "%s: %d-byte datagram: got %s" % (what, size, _short(got)))
    finally:
        s.close()


def test_udptun_port_forward():
    """-L udp://:P/uecho -F socks5://server with the server's udp=true (UDP-TUN 0xF3, over
    TLS by default, notls, and relay=udp = standard UDP ASSOCIATE): 1, 1400 and 65000-byte
    datagrams come back intact; without udp=true UDP-TUN is refused."""
    need_standin_off()
    with UdpEchoServer() as ue, start_gost(
            lambda a: ["-L", "socks5://%s:%d?udp=true" % (H, a)], tcp=1) as srv:
        for q in ("?notls=true", "", "?relay=udp"):
            with start_gost(lambda p: ["-L", "udp://%s:%d/%s:%d" % (H, p, H, ue.port),
                                       "-F", "socks5://%s:%d%s" % (H, srv.port, q)],
                            udp=1, name="client") as cli:
                udp_roundtrips(cli.port, (1, 1400, 65000, 3), q)
    with UdpEchoServer() as ue, start_gost(lambda a: ["-L", "socks5://%s:%d" % (H, a)],
                                           tcp=1) as srv:
        s = connect(srv.port)
        s.sendall(b"\x05\x01\x00" + b"\x05\xf3\x00\x01\x00\x00\x00\x00\x00\x00")
        got = recv_exact(s, 12, what="method + reply")
        check(got[:2] == b"\x05\x00" and got[3] == 2,
              "UDP-TUN without udp=true: reply %r, want REP 2 (not allowed)" % got)
        s.close()


def socks5_udp_associate(port, target_host, target_port, payloads, atyp_domain=False,
                         domain_src=False):
    """domain_src: through a chain the reply names the destination as the client gave it."""
    c = connect(port)
    c.sendall(b"\x05\x01\x00")
    check(recv_exact(c, 2) == b"\x05\x00", "method selection")
    c.sendall(b"\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00")
    rep = recv_exact(c, 4, what="UDP ASSOCIATE reply")
    check(rep[1] == 0, "UDP ASSOCIATE refused: REP %d" % rep[1])
    check(rep[3] == 1, "BND.ATYP %d, want 1 (IPv4 of the TCP connection)" % rep[3])
    b = recv_exact(c, 6)
    relay = (socket.inet_ntoa(b[:4]), struct.unpack("!H", b[4:])[0])
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(5)
    try:
        for p in payloads:
            if atyp_domain:
                hdr = b"\x00\x00\x00\x03" + bytes([len(target_host)]) + target_host.encode()
            else:
                hdr = b"\x00\x00\x00\x01" + socket.inet_aton(target_host)
            u.sendto(hdr + struct.pack("!H", target_port) + p, relay)
            got, frm = u.recvfrom(65536)
            check(frm == relay, "reply from %r, want the relay %r" % (frm, relay))
            if domain_src:
                want = hdr + struct.pack("!H", target_port)
            else:
                want = b"\x00\x00\x00\x01" + socket.inet_aton(H) + struct.pack("!H", target_port)
            check(got[:len(want)] == want, "reply header %r, want %r" % (got[:len(want)], want))
            check(got[len(want):] == p, "payload %s, want %s" % (_short(got[len(want):]), _short(p)))
        # fragmented datagrams are dropped
        u.sendto(b"\x00\x00\x01\x01" + socket.inet_aton(H) +
                 struct.pack("!H", target_port) + b"frag", relay)
        u.settimeout(1)
        try:
            got = u.recv(65536)
            fail("a fragmented datagram (FRAG=1) was relayed: %r" % got)
        except socket.timeout:
            pass
    finally:
        u.close()
        c.close()


def test_udp_associate():
    """RFC 1928 UDP ASSOCIATE from a stdlib client through our server (udp=true) to a UDP
    echo, with an IPv4 and a domain destination; refused (REP 2) without udp=true."""
    need_standin_off()
    with UdpEchoServer() as ue, start_gost(
            lambda a: ["-L", "socks5://%s:%d?udp=true" % (H, a)], tcp=1) as g:
        socks5_udp_associate(g.port, H, ue.port, [b"x", os.urandom(1400), os.urandom(60000)])
        socks5_udp_associate(g.port, "localhost", ue.port, [b"hello"], atyp_domain=True)
        check(ue.received == 4, "echo saw %d datagrams, want 4 (the fragment dropped)"
              % ue.received)
    with start_gost(lambda a: ["-L", "socks5://%s:%d" % (H, a)], tcp=1) as g:
        c = connect(g.port)
        c.sendall(b"\x05\x01\x00\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00")
        got = recv_exact(c, 12)
        check(got[3] == 2, "UDP ASSOCIATE without udp=true: REP %d, want 2" % got[3])
        c.close()


def test_udp_through_chain():
    """UDP ASSOCIATE and UDP-TUN on a server whose handler has a chain (-F socks5://next):
    the datagrams go through the next hop (UDP-TUN), with IPv4 and domain destinations."""
    need_standin_off()
    with UdpEchoServer() as ue, start_gost(
            lambda b: ["-L", "socks5://%s:%d?udp=true" % (H, b)], tcp=1, name="exit") as ex:
        with start_gost(lambda a: ["-L", "socks5://%s:%d?udp=true" % (H, a),
                                   "-F", "socks5://%s:%d" % (H, ex.port)], tcp=1,
                        name="entry") as en:
            socks5_udp_associate(en.port, H, ue.port, [b"a", os.urandom(30000)])
            socks5_udp_associate(en.port, "localhost", ue.port, [b"dom"], atyp_domain=True,
                                 domain_src=True)
            with start_gost(lambda p: ["-L", "udp://%s:%d/%s:%d" % (H, p, H, ue.port),
                                       "-F", "socks5://%s:%d" % (H, en.port)],
                            udp=1, name="client") as cli:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.settimeout(5)
                try:
                    for size in (1, 1400, 65000):
                        p = os.urandom(size)
                        s.sendto(p, (H, cli.port))
                        got = s.recv(65536)
                        check(got == p, "%d-byte datagram over 2 hops: got %s"
                              % (size, _short(got)))
                finally:
                    s.close()
        check(ue.received == 6, "echo saw %d datagrams, want 6" % ue.received)


def test_bind():
    """BIND (bind=true): first reply = the bound port, a peer connects, second reply = the
    peer's address, then data both ways and the peer's close reaches the client. A client that
    goes away before a peer arrives frees the port."""
    need_standin_off()
    with start_gost(lambda a: ["-L", "socks5://%s:%d?bind=true&notls=true" % (H, a)],
                    tcp=1) as g:
        c = connect(g.port)
        c.sendall(b"\x05\x01\x00\x05\x02\x00\x01" + socket.inet_aton(H) + b"\x00\x00")
        rep = recv_exact(c, 12, what="first BIND reply")
        check(rep[:2] == b"\x05\x00" and rep[2:6] == b"\x05\x00\x00\x01",
              "first reply %r" % rep)
        check(rep[6:10] == socket.inet_aton(H), "BND.ADDR %r" % rep[6:10])
        bport = struct.unpack("!H", rep[10:12])[0]
        peer = connect(bport)
        rep2 = recv_exact(c, 10, what="second BIND reply")
        check(rep2[:4] == b"\x05\x00\x00\x01" and
              struct.unpack("!H", rep2[8:10])[0] == peer.getsockname()[1],
              "second reply %r, peer %r" % (rep2, peer.getsockname()))
        data = os.urandom(100000)
        peer.sendall(data)
        check(recv_exact(c, len(data)) == data, "peer -> client data")
        c.sendall(b"back")
        check(recv_exact(peer, 4) == b"back", "client -> peer data")
        peer.close()
        got, how = recv_to_eof(c)
        check(how == "eof" and got == b"", "peer close: %s %r" % (how, got))
        c.close()
        # the client goes away before any peer: the port is closed again
        c = connect(g.port)
        c.sendall(b"\x05\x01\x00\x05\x02\x00\x01" + socket.inet_aton(H) + b"\x00\x00")
        rep = recv_exact(c, 12)
        bport = struct.unpack("!H", rep[10:12])[0]
        c.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection((H, bport), timeout=1).close()
            except OSError:
                break
            time.sleep(0.05)
        else:
            fail("bound port %d still accepts after the client left" % bport)


def test_udptun_bind():
    """UDP-TUN with a port (bind=true, as gost's rudp through a SOCKS5 hop): the server binds
    that UDP port; a peer's datagram arrives framed with the peer's address, and a frame sent
    back to that address reaches the peer. Refused (REP 2) without bind=true."""
    need_standin_off()
    bport = free_port()
    with start_gost(lambda a: ["-L", "socks5://%s:%d?bind=true&notls=true" % (H, a)],
                    tcp=1) as g:
        c = connect(g.port)
        c.sendall(b"\x05\x01\x00\x05\xf3\x00\x01" + socket.inet_aton(H) +
                  struct.pack("!H", bport))
        rep = recv_exact(c, 12, what="UDP-TUN bind reply")
        check(rep[:4] == b"\x05\x00\x05\x00" and struct.unpack("!H", rep[10:12])[0] == bport,
              "reply %r, want success with port %d" % (rep, bport))
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind((H, 0))
        peer.settimeout(5)
        try:
            peer.sendto(b"ping", (H, bport))
            pp = peer.getsockname()[1]
            want = b"\x00\x04\xff\x01" + socket.inet_aton(H) + struct.pack("!H", pp) + b"ping"
            got = recv_exact(c, len(want), what="framed datagram")
            check(got == want, "frame %r, want %r" % (got, want))
            c.sendall(b"\x00\x04\xff\x01" + socket.inet_aton(H) + struct.pack("!H", pp) + b"pong")
            data, frm = peer.recvfrom(100)
            check(data == b"pong" and frm == (H, bport), "peer got %r from %r" % (data, frm))
        finally:
            peer.close()
            c.close()
    with start_gost(lambda a: ["-L", "socks5://%s:%d?notls=true" % (H, a)], tcp=1) as g:
        c = connect(g.port)
        c.sendall(b"\x05\x01\x00\x05\xf3\x00\x01" + socket.inet_aton(H) +
                  struct.pack("!H", bport))
        rep = recv_exact(c, 12)
        check(rep[3] == 2, "UDP-TUN bind without bind=true: REP %d, want 2" % rep[3])
        c.close()


def test_udp_bind_range_public_addr():
    """udp.bindRange.min/max pick the UDP ASSOCIATE port; publicAddr replaces the host in the
    reply; a bad range is a start-up error."""
    need_standin_off()
    up = free_port()
    with UdpEchoServer() as ue, start_gost(lambda a: [
            "-L", "socks5://%s:%d?udp=true&udp.bindRange.min=%d&udp.bindRange.max=%d"
            % (H, a, up, up)], tcp=1) as g:
        c = connect(g.port)
        c.sendall(b"\x05\x01\x00\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00")
        rep = recv_exact(c, 12)
        check(rep[3] == 0 and rep[5] == 1 and struct.unpack("!H", rep[10:12])[0] == up,
              "reply %r, want port %d" % (rep, up))
        c.close()
        socks5_udp_associate(g.port, H, ue.port, [b"in-range"])
    with start_gost(lambda a: ["-L", "socks5://%s:%d?udp=true&publicAddr=192.0.2.7:1"
                               % (H, a)], tcp=1) as g:
        c = connect(g.port)
        c.sendall(b"\x05\x01\x00\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00")
        rep = recv_exact(c, 12)
        check(rep[3] == 0 and rep[5] == 1 and rep[6:10] == socket.inet_aton("192.0.2.7"),
              "reply %r, want BND.ADDR 192.0.2.7" % rep)
        c.close()
    p = subprocess.run([os.environ.get("GOST_BIN", "gost"), "-L",
                        "socks5://127.0.0.1:%d?udp.bindRange.min=9&udp.bindRange.max=8"
                        % free_port()], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=10)
    check(p.returncode != 0 and b"bindRange" in p.stderr,
          "bad bind range: exit %d, %r" % (p.returncode, p.stderr[-300:]))


# ------------------------------------------------------------------ wire vectors

def _line_server():
    """TCP server: reads a line, answers pong\\n, closes (the vectors' target)."""
    ls = socket.socket()
    ls.bind((H, 0))
    ls.listen(8)

    def loop():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            c.settimeout(5)
            buf = b""
            try:
                while not buf.endswith(b"\n"):
                    d = c.recv(100)
                    if not d:
                        break
                    buf += d
                c.sendall(b"pong\n")
            except OSError:
                pass
            c.close()

    threading.Thread(target=loop, daemon=True).start()
    return ls


def _vec(name):
    with open(os.path.join(VEC, name), "rb") as f:
        return f.read()


def test_vectors_replayed():
    """gost 3.2.0's client bytes (connect-notls, connect-notls-auth, udptun-notls) sent to our
    server (targets rewritten to local ports): the answers match gost's server bytes."""
    need_standin_off()
    ls = _line_server()
    tport = ls.getsockname()[1]
    try:
        with start_gost(lambda a: ["-L", "socks5://%s:%d" % (H, a)], tcp=1) as g:
            c2s, s2c = _vec("connect-notls.c2s.bin"), _vec("connect-notls.s2c.bin")
            req = c2s[3:11] + struct.pack("!H", tport)
            s = connect(g.port)
            s.sendall(c2s[:3])
            check(recv_exact(s, 2) == s2c[:2], "method selection differs from gost's")
            s.sendall(req)
            check(recv_exact(s, 10) == s2c[2:12], "CONNECT reply differs from gost's")
            s.sendall(c2s[13:])
            got, how = recv_to_eof(s)
            check(got == s2c[12:], "data %r, want %r" % (got, s2c[12:]))
            check(how == "eof", "target's close not passed on (%s)" % how)
            s.close()
        with UdpEchoServer() as ue, start_gost(
                lambda a: ["-L", "socks5://%s:%d?udp=true" % (H, a)], tcp=1) as g:
            c2s, s2c = _vec("udptun-notls.c2s.bin"), _vec("udptun-notls.s2c.bin")
            s = connect(g.port)
            s.sendall(c2s[:3])
            check(recv_exact(s, 2) == s2c[:2], "method selection")
            s.sendall(c2s[3:13])
            rep = recv_exact(s, 22, what="UDP-TUN reply")
            check(rep[:20] == s2c[2:22], "UDP-TUN reply %r, want [::]:port like gost" % rep)
            frame = c2s[13:13 + 8] + struct.pack("!H", ue.port) + c2s[23:]
            s.sendall(frame)
            got = recv_exact(s, len(frame), what="echoed frame")
            check(got == frame, "echoed frame %r, want %r" % (got, frame))
            s.close()
    finally:
        ls.close()


def _greeting_of_client(fwd):
    """The greeting our socks5 connector sends to a fake server (answered with 0xFF)."""
    ls = socket.socket()
    ls.bind((H, 0))
    ls.listen(1)
    ls.settimeout(10)
    port = ls.getsockname()[1]
    try:
        with start_gost(lambda p: ["-L", "tcp://%s:%d/%s:%d" % (H, p, H, dead_port()),
                                   "-F", fwd % port], tcp=1, name="client") as cli:
            s = connect(cli.port)
            c, _ = ls.accept()
            c.settimeout(5)
            got = c.recv(64)
            c.sendall(b"\x05\xff")
            c.close()
            s.close()
            return got
    finally:
        ls.close()


def test_vectors_client_greeting():
    """Our socks5 connector's method offer is byte-exact with gost 3.2.0's: 00 80 by default,
    00 02 80 82 with credentials, 00 with notls, 00 02 with notls and credentials."""
    need_standin_off()
    want = _vec("method-tls.c2s.bin")[:4]
    got = _greeting_of_client("socks5://127.0.0.1:%d")
    check(got == want, "greeting %r, want gost's %r" % (got, want))
    want = _vec("method-tls-auth.c2s.bin")[:6]
    got = _greeting_of_client("socks5://gost:gostpass@127.0.0.1:%d")
    check(got == want, "greeting with auth %r, want gost's %r" % (got, want))
    want = _vec("udptun-notls.c2s.bin")[:3]
    got = _greeting_of_client("socks5://127.0.0.1:%d?notls=true")
    check(got == want, "notls greeting %r, want gost's %r" % (got, want))
    want = _vec("connect-notls-auth.c2s.bin")[:4]
    got = _greeting_of_client("socks5://gost:gostpass@127.0.0.1:%d?notls=true")
    check(got == want, "notls greeting with auth %r, want gost's %r" % (got, want))


def test_tls_method_python_client():
    """GOST's method 0x80 against our server: method selection, then a TLS handshake on the
    raw connection (Python's ssl, no verification, as gost's client), then CONNECT inside TLS;
    with notls=true the server picks 0x00 from the same offer."""
    need_standin_off()
    import ssl
    with Origin() as o, start_gost(lambda a, b: [
            "-L", "socks5://%s:%d" % (H, a), "-L", "socks5://%s:%d?notls=true" % (H, b)],
            tcp=2) as g:
        s = connect(g.tcp_ports[0])
        s.sendall(b"\x05\x02\x00\x80")
        check(recv_exact(s, 2) == b"\x05\x80", "method selection: want 0x80")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        t = ctx.wrap_socket(s)
        t.sendall(b"\x05\x01\x00\x01" + socket.inet_aton(H) + struct.pack("!H", o.port))
        rep = recv_exact(t, 10, what="CONNECT reply inside TLS")
        check(rep == b"\x05\x00\x00\x01" + bytes(6), "reply %r" % rep)
        t.sendall(b"GET / HTTP/1.0\r\n\r\n")
        got, how = recv_to_eof(t)
        check(got.endswith(BODY), "body through TLS: %s" % _short(got))
        t.close()
        s = connect(g.tcp_ports[1])
        s.sendall(b"\x05\x02\x00\x80")
        check(recv_exact(s, 2) == b"\x05\x00", "notls: method selection, want 0x00")
        s.close()


# ------------------------------------------------------------------ hostile input

def _expect_close(port, data, want_prefix=None, what=""):
    s = connect(port)
    try:
        s.sendall(data)
    except OSError:
        pass
    got, how = recv_to_eof(s, timeout=5)
    s.close()
    check(how in ("eof", "reset"), "%s: connection not closed (%s), got %r" % (what, how, got))
    if want_prefix is not None:
        check(got.startswith(want_prefix), "%s: got %r, want %r..." % (what, got, want_prefix))
    return got


def test_bad_input():
    """Garbage, truncated requests, bad address types, unsupported commands, oversized
    fields: the protocol's failure reply (where it has one) and a closed connection; a silent
    client is dropped after readTimeout; the server keeps serving."""
    need_standin_off()
    with Origin() as o, start_gost(lambda a, b, c: [
            "-L", "socks5://%s:%d?readTimeout=1s" % (H, a),
            "-L", "socks4://%s:%d?readTimeout=1s" % (H, b),
            "-L", "socks5://%s:%d?udp=true&notls=true" % (H, c)], tcp=3) as g:
        p5, p4, pu = g.tcp_ports
        # a malformed UDP-TUN frame (unknown ATYP) ends the association
        s = connect(pu)
        s.sendall(b"\x05\x01\x00\x05\xf3\x00\x01" + bytes(6))
        head = recv_exact(s, 6)
        check(head[:4] == b"\x05\x00\x05\x00", "UDP-TUN accepted: %r" % head)
        recv_exact(s, (16 if head[5] == 4 else 4) + 2)
        s.sendall(b"\x00\x04\xff\x09" + os.urandom(20))
        got, how = recv_to_eof(s, timeout=5)
        s.close()
        check(how in ("eof", "reset"), "bad UDP-TUN frame: connection %s" % how)
        _expect_close(p5, b"GET / HTTP/1.0\r\n\r\n", b"", "http on socks5")
        _expect_close(p5, b"\x05\x00", b"", "NMETHODS 0")
        _expect_close(p5, b"\x05\x01\x00\x05\x01\x00\x09" + b"\x00" * 6, b"\x05\x00\x05\x08",
                      "unknown ATYP")
        _expect_close(p5, b"\x05\x01\x00\x05\x01\x00\x03\x00\x00\x50", b"\x05\x00\x05\x01",
                      "empty domain")
        _expect_close(p5, b"\x05\x01\x00\x04\x01\x00\x01" + b"\x00" * 6, b"\x05\x00\x05\x01",
                      "bad request version")
        _expect_close(p5, b"\x05\x01\x00\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50",
                      b"\x05\x00\x05\x02", "BIND without bind=true")
        _expect_close(p5, b"\x05\x01\x00\x05\xf2\x00\x01\x7f\x00\x00\x01\x00\x50",
                      b"\x05\x00\x05\x02", "MBIND without bind=true")
        _expect_close(p5, b"\x05\x01\x82", b"\x05\xff", "only TLS+auth offered, no auth")
        _expect_close(p5, b"\x05\x01\x00\x05\x01", b"\x05\x00", "truncated request")
        _expect_close(p4, b"\x04\x01\x00\x50\x7f\x00\x00\x01" + b"u" * 400,
                      b"\x00\x5b", "socks4 user id over 255 bytes")
        _expect_close(p4, b"\x04\x03\x00\x50\x7f\x00\x00\x01\x00", b"\x00\x5b", "socks4 cmd 3")
        _expect_close(p4, b"\x04\x01\x00\x50\x00\x00\x00\x01\x00\x00", b"\x00\x5b",
                      "socks4a empty host")
        _expect_close(p4, b"\x04\x02\x00\x50\x7f\x00\x00\x01\x00", b"\x00\x5b", "socks4 BIND")
        for port in (p5, p4):
            s = connect(port)
            s.sendall(b"\x05" if port == p5 else b"\x04\x01")
            t0 = time.monotonic()
            got, how = recv_to_eof(s, timeout=10)
            dt = time.monotonic() - t0
            s.close()
            check(how in ("eof", "reset") and 0.5 < dt < 5,
                  "silent client on %d: %s after %.1fs (readTimeout=1s)" % (port, how, dt))
        # a client that picks GOST's TLS method and then stalls in the handshake
        s = connect(p5)
        s.sendall(b"\x05\x01\x80")
        check(recv_exact(s, 2) == b"\x05\x80", "TLS method selected")
        t0 = time.monotonic()
        got, how = recv_to_eof(s, timeout=10)
        s.close()
        check(how in ("eof", "reset") and time.monotonic() - t0 < 5,
              "stalled TLS handshake: %s after %.1fs" % (how, time.monotonic() - t0))
        for _ in range(20):
            s = connect(p5)
            s.sendall(os.urandom(300))
            s.close()
        curl_ok("socks5h://%s:%d" % (H, p5), "http://localhost:%d/" % o.port)
        curl_ok("socks4a://%s:%d" % (H, p4), "http://localhost:%d/" % o.port)


# ------------------------------------------------------------------ third-party upstreams

def _run_upstream(cmd, port, name, cwd=None):
    p = spawn(cmd)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if p.poll() is not None:
            stop_process(p)
            fail("%s exited at start (status %s)" % (name, p.returncode))
        try:
            socket.create_connection((H, port), timeout=0.5).close()
            return p
        except OSError:
            time.sleep(0.05)
    stop_process(p)
    fail("%s did not listen on %d" % (name, port))


def test_microsocks_upstream():
    """Our socks5 connector (with user/pass) to microsocks: curl -> our socks5 server ->
    -F socks5://user:pass@microsocks -> origin. A wrong password fails."""
    need_standin_off()
    ms = shutil.which("microsocks")
    if not ms:
        skip("microsocks is not installed")
    mport = free_port()
    p = _run_upstream([ms, "-i", H, "-p", str(mport), "-u", "muser", "-P", "mpass"], mport,
                      "microsocks")
    try:
        with Origin() as o:
            with start_gost(lambda a: ["-L", "socks5://%s:%d" % (H, a), "-F",
                                       "socks5://muser:mpass@%s:%d" % (H, mport)], tcp=1) as g:
                curl_ok("socks5h://%s:%d" % (H, g.port), "http://localhost:%d/" % o.port)
                curl_ok("socks5://%s:%d" % (H, g.port), "http://%s:%d/" % (H, o.port))
            with start_gost(lambda a: ["-L", "socks5://%s:%d" % (H, a), "-F",
                                       "socks5://muser:bad@%s:%d" % (H, mport)], tcp=1) as g:
                rc, out, _ = curl("socks5h://%s:%d" % (H, g.port), "http://localhost:%d/" % o.port)
                check(rc != 0 and out != BODY, "wrong upstream password worked")
    finally:
        stop_process(p)


def test_dante_upstream():
    """Our socks5 and socks4 connectors to Debian's dante (danted, no auth, foreground, a
    config in a temp dir): curl -> our socks5 server -> dante -> origin."""
    need_standin_off()
    d = shutil.which("danted") or ("/usr/sbin/danted" if os.path.exists("/usr/sbin/danted")
                                    else None)
    if not d:
        skip("danted is not installed")
    if os.geteuid() != 0:
        skip("danted needs to run as root here (it switches to its unprivileged user)")
    dport = free_port()
    tmp = tempfile.mkdtemp(prefix="gost-dante-")
    conf = os.path.join(tmp, "danted.conf")
    with open(conf, "w") as f:
        f.write("""logoutput: stderr
internal: 127.0.0.1 port = %d
external: 127.0.0.1
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
""" % dport)
    p = _run_upstream([d, "-f", conf, "-N", "1", "-p", os.path.join(tmp, "danted.pid")], dport,
                      "danted")
    try:
        with Origin() as o:
            for fwd in ("socks5://%s:%d" % (H, dport), "socks4://%s:%d?disable4a=true" % (H, dport)):
                with start_gost(lambda a: ["-L", "socks5://%s:%d" % (H, a), "-F", fwd],
                                tcp=1) as g:
                    curl_ok("socks5://%s:%d" % (H, g.port), "http://%s:%d/" % (H, o.port))
                    if fwd.startswith("socks5"):
                        curl_ok("socks5h://%s:%d" % (H, g.port), "http://localhost:%d/" % o.port)
        with UdpEchoServer() as ue, start_gost(
                lambda p: ["-L", "udp://%s:%d/%s:%d" % (H, p, H, ue.port),
                           "-F", "socks5://%s:%d?relay=udp" % (H, dport)], udp=1) as g:
            udp_roundtrips(g.port, (1, 1400, 8000), "relay=udp via dante")
        # an HTTP proxy front (the http handler, when this build has it) with dante behind
        with Origin() as o:
            cm, g = start_or_skip_unsupported(lambda a: [
                "-L", "http://%s:%d" % (H, a), "-F", "socks5://%s:%d" % (H, dport)], tcp=1)
            try:
                curl_ok("http://%s:%d" % (H, g.port), "http://localhost:%d/" % o.port)
            finally:
                cm.__exit__(None, None, None)
    finally:
        stop_process(p)
        shutil.rmtree(tmp, ignore_errors=True)



def test_dante_upstream_with_auth():
    """dante with username/password (RFC 1929) as the upstream of our socks5 connector. dante
    checks system accounts, so it runs in a private mount namespace where copies of
    /etc/passwd and /etc/shadow carry one extra test user: the machine's own files are never
    touched. A wrong password must fail."""
    import subprocess
    need_standin_off()
    d = shutil.which("danted") or ("/usr/sbin/danted" if os.path.exists("/usr/sbin/danted")
                                    else None)
    if not d:
        skip("danted is not installed")
    if os.geteuid() != 0 or not shutil.which("unshare"):
        skip("needs root and unshare(1) for a private /etc/passwd")
    tmp = tempfile.mkdtemp(prefix="gost-dante-auth-")
    try:
        passwd, shadow = os.path.join(tmp, "passwd"), os.path.join(tmp, "shadow")
        shutil.copy("/etc/passwd", passwd)
        shutil.copy("/etc/shadow", shadow)
        h = subprocess.run(["openssl", "passwd", "-6", "gostpass"], capture_output=True,
                           text=True, check=True).stdout.strip()
        with open(passwd, "a") as f:
            f.write("gostuser:x:4242:4242::/nonexistent:/usr/sbin/nologin\n")
        with open(shadow, "a") as f:
            f.write("gostuser:%s:19000:0:99999:7:::\n" % h)
        dport = free_port()
        conf = os.path.join(tmp, "danted.conf")
        with open(conf, "w") as f:
            f.write("""logoutput: stderr
internal: 127.0.0.1 port = %d
external: 127.0.0.1
clientmethod: none
socksmethod: username
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 socksmethod: username }
""" % dport)
        script = ("mount --bind %s /etc/passwd && mount --bind %s /etc/shadow && exec %s -f %s "
                  "-N 1 -p %s" % (passwd, shadow, d, conf, os.path.join(tmp, "danted.pid")))
        p = _run_upstream(["unshare", "-m", "sh", "-c", script], dport, "danted (auth)")
        try:
            with Origin() as o:
                with start_gost(lambda a: ["-L", "socks5://%s:%d" % (H, a), "-F",
                                           "socks5://gostuser:gostpass@%s:%d" % (H, dport)],
                                tcp=1) as g:
                    curl_ok("socks5h://%s:%d" % (H, g.port), "http://localhost:%d/" % o.port)
                with start_gost(lambda a: ["-L", "http://%s:%d" % (H, a), "-F",
                                           "socks5://gostuser:wrong@%s:%d" % (H, dport)],
                                tcp=1) as g:
                    rc, out, _ = curl("http://%s:%d" % (H, g.port), "http://%s:%d/" % (H, o.port))
                    check(out != BODY, "a wrong upstream password got through dante")
        finally:
            stop_process(p)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_tests(globals())
