#!/usr/bin/env python3
"""TLS listener and dialer: `gost -L tls://HOST:PORT/TARGET` checked with `openssl s_client`
and Python's ssl module, a TLS chain between two gosts (forward+tls, 10 MiB both ways),
configured certificates verified by a client with secure=true + caFile (and a wrong CA that
must fail), mTLS (server caFile requires a client certificate), and the same from YAML.

Run: GOST_BIN=build/gost python3 tests/integration/test_tls.py [name-filter...]
"""

import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gostlib_test import (  # noqa: E402
    STANDIN, BulkServer, EchoServer, bulk_both_ways, check, connect, echo_check, fail,
    recv_exact, recv_to_eof, run_tests, skip, spawn, start_gost, stop_process)

H = "127.0.0.1"
MIB = 1 << 20
BULK = int(os.environ.get("GOST_TEST_TLS_BULK_MIB", "10")) * MIB
BULK_TIMEOUT = 120.0


def need_real_gost():
    if STANDIN:
        skip("the stand-ins do not speak TLS")
    if not shutil.which("openssl"):
        fail("openssl is not installed (make test installs it: TEST_DEPS)")


def openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        fail("openssl %s failed: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
    return r.stdout


class Pki:
    """A throw-away CA, a server certificate for localhost/127.0.0.1 and a client certificate,
    plus a second, unrelated CA. Files in a temp dir: ca.pem, srv.pem/srv.key, cli.pem/cli.key,
    other-ca.pem."""

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="gost-tls-")
        d = self.dir = self._tmp.name
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        for ca in ("ca", "other-ca"):
            openssl("req", "-x509", *ec, "-keyout", ca + ".key", "-out", ca + ".pem",
                    "-days", "2", "-subj", "/CN=gost test %s" % ca,
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
        with open(os.path.join(d, "srv.ext"), "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                    "extendedKeyUsage=serverAuth\n")
        with open(os.path.join(d, "cli.ext"), "w") as f:
            f.write("extendedKeyUsage=clientAuth\n")
        for who, cn in (("srv", "localhost"), ("cli", "gost client")):
            openssl("req", *ec, "-keyout", who + ".key", "-out", who + ".csr", "-subj",
                    "/CN=" + cn, cwd=d)
            openssl("x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                    "-CAcreateserial", "-out", who + ".pem", "-days", "2", "-extfile",
                    who + ".ext", cwd=d)

    def p(self, name):
        return os.path.join(self.dir, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._tmp.cleanup()
        return False


def tls_fwd(port, target, query=""):
    return ["-L", "tls://%s:%d/%s:%d%s" % (H, port, H, target, ("?" + query) if query else "")]


def ssl_client_ctx(cafile=None, cert=None, key=None, hostname=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = hostname
    if cafile:
        ctx.load_verify_locations(cafile)
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def ssl_echo(port, ctx, payloads, server_hostname="localhost"):
    """TLS-connect, echo each payload, then close_notify both ways (unwrap). Returns the
    negotiated protocol version."""
    raw = connect(port, timeout=10)
    s = ctx.wrap_socket(raw, server_hostname=server_hostname)
    try:
        for i, p in enumerate(payloads):
            s.sendall(p)
            got = bytearray()
            while len(got) < len(p):
                d = s.recv(len(p) - len(got))
                check(d, "EOF after %d of %d echoed bytes (payload %d)" % (len(got), len(p), i))
                got += d
            check(bytes(got) == p, "echo mismatch for payload %d" % i)
        version = s.version()
        # close_notify from us -> gost half-closes the target -> echo closes -> gost sends
        # close_notify back: unwrap() returns only if the half-close went all the way round.
        s.unwrap()
        return version
    finally:
        s.close()


# ---------------------------------------------------------------------------- (a)

def test_cli_forward_openssl_s_client():
    need_real_gost()
    with EchoServer() as echo, start_gost(lambda p: tls_fwd(p, echo.port), tcp=1) as g:
        payload = b"hello over tls from s_client\n" * 50
        p = spawn(["openssl", "s_client", "-connect", "%s:%d" % (H, g.port), "-quiet",
                   "-servername", "gost.run"],
                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            p.stdin.write(payload)
            p.stdin.flush()
            got = bytearray()
            deadline = time.monotonic() + 10
            os.set_blocking(p.stdout.fileno(), False)
            while len(got) < len(payload) and time.monotonic() < deadline:
                try:
                    d = p.stdout.read(65536)
                except BlockingIOError:
                    d = None
                if d:
                    got += d
                elif p.poll() is not None:
                    break
                else:
                    time.sleep(0.02)
        finally:
            stop_process(p)
        err = p.stderr.read().decode(errors="replace")
        check(bytes(got) == payload, "s_client got %d of %d echoed bytes; stderr:\n%s"
              % (len(got), len(payload), err[-2000:]))
        # The default certificate: generated, O=GOST, CN=gost.run (GOST's defaults).
        r = subprocess.run("openssl s_client -connect %s:%d </dev/null 2>/dev/null | "
                           "openssl x509 -noout -subject -ext subjectAltName,keyUsage"
                           % (H, g.port), shell=True, stdout=subprocess.PIPE, timeout=30)
        out = r.stdout.decode()
        check("O = GOST" in out and "CN = gost.run" in out and "DNS:gost.run" in out,
              "unexpected default certificate:\n%s" % out)
        echo.check()


def test_cli_forward_python_ssl_and_close_notify():
    need_real_gost()
    with EchoServer() as echo, start_gost(lambda p: tls_fwd(p, echo.port), tcp=1) as g:
        payloads = [b"x", os.urandom(1000), os.urandom(100000), os.urandom(MIB)]
        v = ssl_echo(g.port, ssl_client_ctx(), payloads)
        check(v == "TLSv1.3", "negotiated %s, want TLSv1.3 (Go's default max)" % v)
        # TLS 1.2 only also works (GOST's default minimum).
        ctx = ssl_client_ctx()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        check(ssl_echo(g.port, ctx, [b"twelve"]) == "TLSv1.2", "TLS 1.2 not negotiated")
        # TLS 1.1 is refused.
        ctx = ssl_client_ctx()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        try:
            ssl_echo(g.port, ctx, [b"eleven"])
            fail("a TLS 1.1 handshake succeeded")
        except (ssl.SSLError, OSError):
            pass
        # A plain-text client gets no echo and the connection ends (no hang).
        s = connect(g.port)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data, how = recv_to_eof(s, timeout=10)
        s.close()
        check(how in ("eof", "reset") and b"HTTP" not in data,
              "plain-text client: %s after %r" % (how, data[:40]))
        echo.check()


def test_handshake_timeout():
    need_real_gost()
    with EchoServer() as echo, \
            start_gost(lambda p: tls_fwd(p, echo.port, "handshakeTimeout=1s"), tcp=1) as g:
        s = connect(g.port)
        t0 = time.monotonic()
        data, how = recv_to_eof(s, timeout=10)
        s.close()
        dt = time.monotonic() - t0
        check(how in ("eof", "reset") and 0.5 < dt < 8,
              "a silent client was dropped after %.1f s (%s), want about 1 s" % (dt, how))


# ---------------------------------------------------------------------------- (b)

def test_chain_two_gosts_10mib():
    need_real_gost()
    with BulkServer(send_bytes=BULK, timeout=BULK_TIMEOUT) as bulk, \
            start_gost(lambda q: tls_fwd(q, bulk.port), tcp=1, name="server") as srv, \
            start_gost(lambda p: ["-L", "tcp://%s:%d/%s:%d" % (H, p, H, bulk.port),
                                  "-F", "forward+tls://%s:%d" % (H, srv.port)],
                       tcp=1, name="client") as cli:
        dt = bulk_both_ways(cli.port, bulk, BULK, BULK_TIMEOUT, label="tls-chain")
        print("  %d MiB each way through a TLS hop in %.2f s" % (BULK // MIB, dt))
        bulk.check()


# ---------------------------------------------------------------------------- (c)

def server_cli(pki, port, target, mtls=False):
    q = "certFile=%s&keyFile=%s" % (pki.p("srv.pem"), pki.p("srv.key"))
    if mtls:
        q += "&caFile=%s" % pki.p("ca.pem")
    return tls_fwd(port, target, q)


def client_cli(port, target, server_port, query):
    return ["-L", "tcp://%s:%d/%s:%d" % (H, port, H, target),
            "-F", "forward+tls://%s:%d?%s" % (H, server_port, query)]


def expect_echo(port, what):
    echo_check(port, [what.encode(), os.urandom(70000)])


def expect_refused(port, what, g):
    """The client gost cannot build its TLS hop: our connection ends without data."""
    s = connect(port)
    try:
        s.sendall(b"must not arrive")
        data, how = recv_to_eof(s, timeout=15)
    finally:
        s.close()
    check(data == b"" and how in ("eof", "reset"), "%s: got %r (%s), want a closed "
          "connection" % (what, data[:40], how))


def test_cert_files_verified_by_secure_client():
    need_real_gost()
    with Pki() as pki, EchoServer() as echo, \
            start_gost(lambda q: server_cli(pki, q, echo.port), tcp=1, name="server") as srv:
        # Python and s_client verify the configured certificate against the CA + host name.
        ssl_echo(srv.port, ssl_client_ctx(pki.p("ca.pem"), hostname=True), [b"py verified"])
        r = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (H, srv.port),
                            "-CAfile", pki.p("ca.pem"), "-verify_return_error",
                            "-verify_hostname", "localhost"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        out = r.stdout.decode(errors="replace")
        check("Verify return code: 0 (ok)" in out, "s_client did not verify:\n%s" % out[-1500:])

        cases = [
            ("secure=true&caFile=%s&serverName=localhost" % pki.p("ca.pem"), True,
             "secure + right CA"),
            # serverName defaults to the node host (127.0.0.1: checked against the IP SAN).
            ("secure=true&caFile=%s" % pki.p("ca.pem"), True, "secure + IP SAN"),
            ("secure=true&caFile=%s&serverName=wrong.example" % pki.p("ca.pem"), False,
             "secure + wrong host name"),
            ("secure=true&caFile=%s&serverName=localhost" % pki.p("other-ca.pem"), False,
             "secure + wrong CA"),
            # secure=false + caFile: chain verified, host name not (GOST's VerifyConnection).
            ("caFile=%s&serverName=wrong.example" % pki.p("ca.pem"), True,
             "insecure + right CA + wrong name"),
            ("caFile=%s" % pki.p("other-ca.pem"), False, "insecure + wrong CA"),
            ("secure=false", True, "no verification (GOST default)"),
            # secure with the system store: our private CA is unknown there.
            ("secure=true&serverName=localhost", False, "secure + system CAs"),
        ]
        for query, ok, what in cases:
            with start_gost(lambda p: client_cli(p, echo.port, srv.port, query), tcp=1,
                            name="client") as cli:
                if ok:
                    expect_echo(cli.port, what)
                else:
                    expect_refused(cli.port, what, cli)
                    hits = cli.wait_for_log(
                        lambda r: "certificate verify failed" in r["_raw"], timeout=3)
                    check(hits, "%s: no verification error in the client's log:\n%s"
                          % (what, cli.stderr_text()[-1500:]))
        echo.check()


def test_bad_cert_path_is_a_start_error():
    need_real_gost()
    gbin = os.environ.get("GOST_BIN")
    r = subprocess.run([gbin, "-L", "tls://%s:0/%s:1?certFile=/nonexistent/c.pem&"
                        "keyFile=/nonexistent/k.pem" % (H, H)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    err = r.stderr.decode(errors="replace")
    check(r.returncode != 0 and "certFile" in err and "/nonexistent/c.pem" in err,
          "status %d, stderr:\n%s" % (r.returncode, err[-1500:]))


# ---------------------------------------------------------------------------- (d)

def test_mtls_requires_client_cert():
    need_real_gost()
    with Pki() as pki, EchoServer() as echo, \
            start_gost(lambda q: server_cli(pki, q, echo.port, mtls=True), tcp=1,
                       name="server") as srv:
        # Python without a client certificate: refused (TLS 1.3 reports it on first read).
        try:
            ssl_echo(srv.port, ssl_client_ctx(pki.p("ca.pem")), [b"no cert"])
            fail("mTLS server accepted a client without a certificate")
        except (ssl.SSLError, OSError):
            pass
        # With a client certificate from the CA: accepted.
        ssl_echo(srv.port, ssl_client_ctx(pki.p("ca.pem"), pki.p("cli.pem"), pki.p("cli.key")),
                 [b"with cert"])
        # gost client with and without its certificate.
        good = "caFile=%s&certFile=%s&keyFile=%s" % (pki.p("ca.pem"), pki.p("cli.pem"),
                                                     pki.p("cli.key"))
        with start_gost(lambda p: client_cli(p, echo.port, srv.port, good), tcp=1,
                        name="client") as cli:
            expect_echo(cli.port, "mtls via gost")
        with start_gost(lambda p: client_cli(p, echo.port, srv.port, "caFile=" + pki.p("ca.pem")),
                        tcp=1, name="client-nocert") as cli:
            expect_refused(cli.port, "gost client without certificate", cli)
        echo.check()


# ---------------------------------------------------------------------------- (e)

def test_yaml_mtls_chain_and_options():
    need_real_gost()
    with Pki() as pki, EchoServer() as echo, BulkServer(send_bytes=MIB) as bulk:
        def tls_in(name, port, target):
            return {
                "name": name, "addr": "%s:%d" % (H, port),
                "handler": {"type": "forward"},
                "listener": {"type": "tls", "tls": {
                    "certFile": pki.p("srv.pem"), "keyFile": pki.p("srv.key"),
                    "caFile": pki.p("ca.pem"),
                    "options": {"minVersion": "VersionTLS12", "maxVersion": "VersionTLS13",
                                "alpn": ["gost-test"]}}},
                "forwarder": {"nodes": [{"name": "t", "addr": "%s:%d" % (H, target)}]},
            }

        def server_cfg(q, q2):
            # q: the chain's hop (to the bulk server); q2: for the ALPN probe (to echo).
            return {"services": [tls_in("tls-in", q, bulk.port),
                                 tls_in("tls-probe", q2, echo.port)]}

        def client_cfg(p, q):
            return {
                "services": [{
                    "name": "tcp-in", "addr": "%s:%d" % (H, p),
                    "handler": {"type": "forward", "chain": "to-tls"},
                    "listener": {"type": "tcp"},
                    "forwarder": {"nodes": [{"name": "t", "addr": "%s:%d" % (H, bulk.port)}]},
                }],
                "chains": [{"name": "to-tls", "hops": [{"name": "hop-0", "nodes": [{
                    "name": "tls-node", "addr": "%s:%d" % (H, q),
                    "connector": {"type": "forward"},
                    "dialer": {"type": "tls", "metadata": {"handshakeTimeout": "5s"}, "tls": {
                        "secure": True, "serverName": "localhost",
                        "caFile": pki.p("ca.pem"),
                        "certFile": pki.p("cli.pem"), "keyFile": pki.p("cli.key"),
                        "options": {"minVersion": "VersionTLS12",
                                    "maxVersion": "VersionTLS12",
                                    "cipherSuites": ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"],
                                    "alpn": ["gost-test"]}}},
                }]}]}],
            }

        with start_gost(server_cfg, tcp=2, name="server") as srv, \
                start_gost(lambda p: client_cfg(p, srv.port), tcp=1, name="client") as cli:
            bulk_both_ways(cli.port, bulk, MIB, BULK_TIMEOUT, label="yaml-mtls")
            # Python sees the pinned options of the server: ALPN and the mTLS requirement.
            ctx = ssl_client_ctx(pki.p("ca.pem"), pki.p("cli.pem"), pki.p("cli.key"), True)
            ctx.set_alpn_protocols(["gost-test"])
            raw = connect(srv.tcp_ports[1])
            s = ctx.wrap_socket(raw, server_hostname="localhost")
            try:
                check(s.selected_alpn_protocol() == "gost-test",
                      "ALPN: %r" % s.selected_alpn_protocol())
                s.sendall(b"alpn ok")
                check(recv_exact(s, 7) == b"alpn ok", "no echo over the ALPN connection")
            finally:
                s.close()
        bulk.check()
        echo.check()

    # A bad option value is a positioned start-up error.
    gbin = os.environ.get("GOST_BIN")
    with tempfile.TemporaryDirectory(prefix="gost-tls-") as d:
        path = os.path.join(d, "bad.yaml")
        with open(path, "w") as f:
            f.write("services:\n- name: s\n  addr: 127.0.0.1:0\n  handler: {type: forward}\n"
                    "  listener:\n    type: tls\n    tls:\n      options:\n"
                    "        minVersion: TLS1.2\n"
                    "  forwarder: {nodes: [{name: t, addr: 127.0.0.1:1}]}\n")
        r = subprocess.run([gbin, "-C", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        err = r.stderr.decode(errors="replace")
        check(r.returncode != 0 and "bad.yaml:9:" in err and "minVersion" in err,
              "status %d, stderr:\n%s" % (r.returncode, err[-1500:]))


def peer_subject(port):
    r = subprocess.run("openssl s_client -connect %s:%d </dev/null 2>/dev/null | "
                       "openssl x509 -noout -subject -issuer" % (H, port), shell=True,
                       stdout=subprocess.PIPE, timeout=30)
    return r.stdout.decode()


def test_yaml_top_level_tls_is_the_default():
    need_real_gost()
    with Pki() as pki, EchoServer() as echo:
        def svc(port):
            return {"name": "tls-%d" % port, "addr": "%s:%d" % (H, port),
                    "handler": {"type": "forward"}, "listener": {"type": "tls"},
                    "forwarder": {"nodes": [{"name": "e", "addr": "%s:%d" % (H, echo.port)}]}}

        # Top-level tls without files: the generated certificate takes its names.
        gen = lambda p: {"tls": {"commonName": "my.test", "organization": "Acme",
                                 "validity": "48h"}, "services": [svc(p)]}
        with start_gost(gen, tcp=1) as g:
            sub = peer_subject(g.port)
            check("O = Acme" in sub and "CN = my.test" in sub, "generated cert: %s" % sub)
            ssl_echo(g.port, ssl_client_ctx(), [b"generated"])
        # Top-level tls with files: used by every tls listener without its own tls.
        files = lambda p: {"tls": {"certFile": pki.p("srv.pem"), "keyFile": pki.p("srv.key")},
                           "services": [svc(p)]}
        with start_gost(files, tcp=1) as g:
            ssl_echo(g.port, ssl_client_ctx(pki.p("ca.pem"), hostname=True), [b"top-level"])
        echo.check()


if __name__ == "__main__":
    run_tests(globals())
