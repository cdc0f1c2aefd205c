#!/usr/bin/env python3
"""The `auto` handler (GOST's default: `gost -L :8080` answers HTTP, SOCKS4 and SOCKS5 on one
port) and the seed's proxy chains: an auto service whose chain has an http hop then a socks5
hop, and a 3-hop chain http -> socks5 -> socks5 over TLS, from the CLI and from YAML.

Run: GOST_BIN=build/gost python3 tests/integration/test_auto.py [name-filter...]
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gostlib_test import check, connect, recv_to_eof, run_tests, start_gost  # noqa: E402
from test_socks import BODY, Origin, curl, curl_ok  # noqa: E402

H = "127.0.0.1"
SCHEMES = ("http", "socks4", "socks4a", "socks5", "socks5h")


def origin_url(o):
    return "http://%s:%d/" % (H, o.port)


def targets_in_log(g, port):
    """Log records of g that name the origin's port as their destination or in the message."""
    want = ":%d" % port
    return [r for r in g.log_records()
            if want in str(r.get("dst", "")) or want in str(r.get("msg", ""))]


def tunnels_to(g, port):
    """How many connections g opened to the port (its "<remote> <-> <target>" records)."""
    return sum(1 for r in targets_in_log(g, port) if " <-> " in r.get("msg", ""))


def test_default_auto_all_protocols():
    """`-L host:port` with no scheme is auto: every client protocol works, including CONNECT."""
    with Origin() as o, start_gost(lambda p: ["-L", "%s:%d" % (H, p)], tcp=1) as g:
        for scheme in SCHEMES:
            curl_ok("%s://%s:%d" % (scheme, H, g.port), origin_url(o))
        rc, out, err = curl("http://%s:%d" % (H, g.port), origin_url(o))
        check(rc == 0, "plain GET failed: %s" % err)


def test_auto_auth_applies_to_every_protocol():
    with Origin() as o, start_gost(lambda p: ["-L", "u:s3cret@%s:%d" % (H, p)], tcp=1) as g:
        for scheme in ("http", "socks5", "socks5h"):
            proxy = "%s://%s:%d" % (scheme, H, g.port)
            curl_ok(proxy, origin_url(o), user="u:s3cret")
            rc, out, err = curl(proxy, origin_url(o), user="u:wrong")
            check(out != BODY, "%s with a wrong password got the origin's body" % scheme)
        rc, out, err = curl("http://%s:%d" % (H, g.port), origin_url(o))
        check(out != BODY, "no credentials: got the origin's body")


def test_auto_drops_silent_client():
    with start_gost(lambda p: ["-L", "%s:%d?readTimeout=1s" % (H, p)], tcp=1) as g:
        s = connect(g.port)
        t0 = time.monotonic()
        data, how = recv_to_eof(s, timeout=5)
        s.close()
        check(how in ("eof", "reset") and time.monotonic() - t0 < 4,
              "silent client not dropped after readTimeout (%s after %.1fs)"
              % (how, time.monotonic() - t0))


def test_auto_chain_http_then_socks5_cli():
    """The seed example: an auto service whose chain is an http hop then a socks5 hop; both hops
    are our own servers, and each must log the request passing through it."""
    with Origin() as o, \
            start_gost(lambda p: ["-L", "socks5://%s:%d" % (H, p)], tcp=1, name="socks-hop") as s5, \
            start_gost(lambda p: ["-L", "http://%s:%d" % (H, p)], tcp=1, name="http-hop") as hh, \
            start_gost(lambda p: ["-L", "%s:%d" % (H, p),
                                  "-F", "http://%s:%d" % (H, hh.port),
                                  "-F", "socks5://%s:%d" % (H, s5.port)], tcp=1) as g:
        for scheme in ("http", "socks5h", "socks4"):
            curl_ok("%s://%s:%d" % (scheme, H, g.port), origin_url(o))
        time.sleep(0.2)
        check(targets_in_log(s5, o.port), "the socks5 hop never connected to the origin")
        check(targets_in_log(hh, s5.port), "the http hop never connected to the socks5 hop")


def test_auto_chain_http_then_socks5_yaml():
    def cfg(p, http_port, socks_port):
        return {
            "services": [{"name": "service-0", "addr": "%s:%d" % (H, p),
                          "handler": {"type": "auto", "chain": "chain-0"},
                          "listener": {"type": "tcp"}}],
            "chains": [{"name": "chain-0", "hops": [
                {"name": "hop-0", "nodes": [{"name": "node-0", "addr": "%s:%d" % (H, http_port),
                                             "connector": {"type": "http"},
                                             "dialer": {"type": "tcp"}}]},
                {"name": "hop-1", "nodes": [{"name": "node-0", "addr": "%s:%d" % (H, socks_port),
                                             "connector": {"type": "socks5"},
                                             "dialer": {"type": "tcp"}}]}]}]}
    with Origin() as o, \
            start_gost(lambda p: ["-L", "socks5://%s:%d" % (H, p)], tcp=1, name="socks-hop") as s5, \
            start_gost(lambda p: ["-L", "http://%s:%d" % (H, p)], tcp=1, name="http-hop") as hh, \
            start_gost(lambda p: cfg(p, hh.port, s5.port), tcp=1) as g:
        curl_ok("socks5h://%s:%d" % (H, g.port), origin_url(o))
        curl_ok("http://%s:%d" % (H, g.port), origin_url(o))
        time.sleep(0.2)
        check(targets_in_log(s5, o.port), "the socks5 hop never connected to the origin")


def test_three_hops_http_socks5_tls_socks5():
    """http -> socks5 -> socks5 over a TLS transport (socks5+tls), all our servers."""
    with Origin() as o, \
            start_gost(lambda p: ["-L", "socks5+tls://%s:%d" % (H, p)], tcp=1,
                       name="socks-tls-hop") as s5t, \
            start_gost(lambda p: ["-L", "socks5://%s:%d?notls=true" % (H, p)], tcp=1,
                       name="socks-hop") as s5, \
            start_gost(lambda p: ["-L", "http://%s:%d" % (H, p)], tcp=1, name="http-hop") as hh, \
            start_gost(lambda p: ["-L", "http://%s:%d" % (H, p),
                                  "-F", "http://%s:%d" % (H, hh.port),
                                  "-F", "socks5://%s:%d?notls=true" % (H, s5.port),
                                  "-F", "socks5+tls://%s:%d" % (H, s5t.port)], tcp=1) as g:
        curl_ok("http://%s:%d" % (H, g.port), origin_url(o))
        time.sleep(0.2)
        check(targets_in_log(s5t, o.port), "the TLS socks5 hop never connected to the origin")
        check(targets_in_log(s5, s5t.port), "the socks5 hop never reached the TLS hop")



def test_https_proxy_with_curl():
    """`-L https://...` is http over TLS with the generated certificate; curl talks TLS to the
    proxy itself (--proxy-insecure) and tunnels or forwards through it."""
    import shutil
    import subprocess
    if not shutil.which("curl"):
        check(False, "curl is not installed (make deps installs it)")
    with Origin() as o, start_gost(lambda p: ["-L", "https://u:pw@%s:%d" % (H, p)], tcp=1) as g:
        for extra in ([], ["-p"]):
            r = subprocess.run(["curl", "-s", "-S", "--max-time", "10", "--proxy-insecure"] + extra +
                               ["-x", "https://%s:%d" % (H, g.port), "--proxy-user", "u:pw",
                                "-o", "-", origin_url(o)], capture_output=True, timeout=20)
            check(r.returncode == 0 and r.stdout == BODY, "curl %s via https proxy: rc %d, %s"
                  % (" ".join(extra), r.returncode, r.stderr.decode(errors="replace")[:200]))
        r = subprocess.run(["curl", "-s", "--max-time", "10", "--proxy-insecure", "-x",
                            "https://%s:%d" % (H, g.port), "-o", "-", "-w", "%{http_code}",
                            origin_url(o)], capture_output=True, timeout=20)
        check(r.stdout.endswith(b"407"), "no credentials over https proxy: want 407, got %r"
              % r.stdout[-40:])


def test_authers_file_in_yaml():
    """A named auther reading a users file; the handler refers to it by name."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="gost-auth-") as d, Origin() as o:
        users = os.path.join(d, "users.txt")
        with open(users, "w") as f:
            f.write("# user password\nalice secret-a\n\nbob  secret-b\n")

        def cfg(p):
            return {"services": [{"name": "s", "addr": "%s:%d" % (H, p),
                                  "handler": {"type": "auto", "auther": "file-users"},
                                  "listener": {"type": "tcp"}}],
                    "authers": [{"name": "file-users", "file": {"path": users}}]}
        with start_gost(cfg, tcp=1) as g:
            for user in ("alice:secret-a", "bob:secret-b"):
                curl_ok("socks5://%s:%d" % (H, g.port), origin_url(o), user=user)
                curl_ok("http://%s:%d" % (H, g.port), origin_url(o), user=user)
            rc, out, err = curl("socks5://%s:%d" % (H, g.port), origin_url(o), user="alice:secret-b")
            check(out != BODY, "alice with bob's password got through")



def test_hash_selector_uses_authenticated_client_id():
    """A hop of two upstream proxies with the `hash` strategy: the key is the authenticated user
    (CRC-32 mod 2: alice -> node 1, bob -> node 0, computed like Go's crc32.ChecksumIEEE), not
    the client IP that both users share."""
    import tempfile
    import zlib
    check(zlib.crc32(b"alice") % 2 == 1 and zlib.crc32(b"bob") % 2 == 0, "test premise")
    with Origin() as o, \
            start_gost(lambda p: ["-L", "http://%s:%d" % (H, p)], tcp=1, name="up-0") as up0, \
            start_gost(lambda p: ["-L", "http://%s:%d" % (H, p)], tcp=1, name="up-1") as up1:
        def cfg(p):
            nodes = [{"name": "node-%d" % i, "addr": "%s:%d" % (H, u.port),
                      "connector": {"type": "http"}, "dialer": {"type": "tcp"}}
                     for i, u in enumerate((up0, up1))]
            return {"services": [{"name": "s", "addr": "%s:%d" % (H, p),
                                  "handler": {"type": "http", "chain": "c", "auther": "users"},
                                  "listener": {"type": "tcp"}}],
                    "authers": [{"name": "users", "auths": [
                        {"username": "alice", "password": "a"},
                        {"username": "bob", "password": "b"}]}],
                    "chains": [{"name": "c", "hops": [{"name": "h", "selector": {
                        "strategy": "hash", "maxFails": 1, "failTimeout": "10s"},
                        "nodes": nodes}]}]}
        with start_gost(cfg, tcp=1) as g:
            for _ in range(3):
                curl_ok("http://%s:%d" % (H, g.port), origin_url(o), user="alice:a")
            time.sleep(0.2)
            n0, n1 = tunnels_to(up0, o.port), tunnels_to(up1, o.port)
            check((n0, n1) == (0, 3), "alice's requests went %d to node-0, %d to node-1; want 0/3"
                  % (n0, n1))
            for _ in range(3):
                curl_ok("http://%s:%d" % (H, g.port), origin_url(o), user="bob:b")
            time.sleep(0.2)
            n0 = tunnels_to(up0, o.port)
            check(n0 == 3, "bob's requests reached node-0 %d times, want 3" % n0)


if __name__ == "__main__":
    run_tests(globals())
