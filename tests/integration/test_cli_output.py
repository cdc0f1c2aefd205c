#!/usr/bin/env python3
"""CLI → configuration translation, end to end: `gost <args> -O json`.

For each command line (the examples of inventory §4 and a set of docs examples from
../shared/spec/gost-doc-examples/*.cmd) the JSON that `$GOST_BIN <args> -O json` prints is parsed
and compared with the structure GOST itself prints for the same arguments (written here from the
rules of go-gost/x config/cmd/cmd.go and the JSON tags of go-gost/x config/config.go: omitempty
fields absent, durations in struct fields as integer nanoseconds, metadata values as the strings
given on the command line except so_mark/proxyProtocol integers and the dns list). Then the output
is fed back with `-C <file> -O json` and must come out unchanged (round trip).

Environment:
  GOST_BIN                path of the gost binary (required)
  GOST_CLI_TEST_LOOSE=1   compare after dropping empty/zero values and converting Go duration
                          strings to nanoseconds: separates translation bugs from emitter
                          formatting differences while the emitter is being written.

Python 3 standard library only.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

GOST_BIN = os.environ.get("GOST_BIN", "")
LOOSE = os.environ.get("GOST_CLI_TEST_LOOSE") == "1"
S30 = 30 * 10**9  # GOST's CLI default failTimeout (30s) as JSON prints it


# ---- expected-structure helpers (GOST JSON field order does not matter: dicts compare) ----

def svc(name, addr, handler, listener, forwarder=None, metadata=None, **refs):
    d = {"name": name}
    if addr:
        d["addr"] = addr
    d.update(refs)  # admission, bypass, resolver, hosts, limiter, climiter, rlimiter
    d["handler"] = handler
    d["listener"] = listener
    if forwarder is not None:
        d["forwarder"] = forwarder
    if metadata:
        d["metadata"] = metadata
    return d


def typed(type_, chain=None, auth=None, tls=None, metadata=None, retries=None):
    d = {"type": type_}
    if retries:
        d["retries"] = retries
    if chain:
        d["chain"] = chain
    if auth:
        d["auth"] = auth
    if tls:
        d["tls"] = tls
    if metadata:
        d["metadata"] = metadata
    return d


def auth(user, password=None):
    d = {"username": user}
    if password:
        d["password"] = password
    return d


def fwd(*addrs, selector=None, first=0):
    d = {}
    if selector:
        d["selector"] = selector
    d["nodes"] = [{"name": "target-%d" % (first + i), "addr": a} if a else
                  {"name": "target-%d" % (first + i)} for i, a in enumerate(addrs)]
    return d


def sel(strategy="round", max_fails=1, fail_timeout=S30):
    return {"strategy": strategy, "maxFails": max_fails, "failTimeout": fail_timeout}


def node(i, addr, connector, dialer, metadata=None):
    d = {"name": "node-%d" % i, "addr": addr, "connector": connector, "dialer": dialer}
    if metadata:
        d["metadata"] = metadata
    return d


def hop(i, nodes, selector=None, metadata=None, **refs):
    d = {"name": "hop-%d" % i}
    if selector:
        d["selector"] = selector
    d.update(refs)  # bypass, resolver, hosts
    d["nodes"] = nodes
    if metadata:
        d["metadata"] = metadata
    return d


def chain(*hops):
    return [{"name": "chain-0", "hops": list(hops)}]


def sni(host):
    return {"serverName": host}


H, L = typed, typed
C0 = "chain-0"

# ---- the cases: (argument list, expected JSON) ----

CASES = []


def case(args, expected):
    CASES.append((args, expected))


# inventory §4, table "Examples of normalisation"
case(["-L", ":8080"],
     {"services": [svc("service-0", ":8080", H("auto"), L("tcp"))]})
case(["-L", "http://u:p@:8080", "-F", "socks5+tls://1.2.3.4:1080"],
     {"services": [svc("service-0", ":8080", H("http", chain=C0, auth=auth("u", "p")), L("tcp"))],
      "chains": chain(hop(0, [node(0, "1.2.3.4:1080", typed("socks5"),
                                   typed("tls", tls=sni("1.2.3.4")))]))})
case(["-L", "tcp://:8080/192.168.1.1:80,192.168.1.2:80?strategy=rand"],
     {"services": [svc("service-0", ":8080", H("tcp"), L("tcp"),
                       fwd("192.168.1.1:80", "192.168.1.2:80", selector=sel("rand")))]})
case(["-L", "rtcp://:2222/:22", "-F", "socks5://srv:1080"],
     {"services": [svc("service-0", ":2222", H("rtcp"), L("rtcp", chain=C0), fwd(":22"))],
      "chains": chain(hop(0, [node(0, "srv:1080", typed("socks5"),
                                   typed("tcp", tls=sni("srv")))]))})
_ka = {"keepalive": "true", "ttl": "60s"}
case(["-L", "udp://:5353/8.8.8.8:53?keepalive=true&ttl=60s"],
     {"services": [svc("service-0", ":5353", H("udp", metadata=_ka), L("udp", metadata=_ka),
                       fwd("8.8.8.8:53"), metadata=_ka)]})
case(["-L", "ss://chacha20-ietf-poly1305:pass@:8338"],
     {"services": [svc("service-0", ":8338",
                       H("ss", auth=auth("chacha20-ietf-poly1305", "pass")), L("tcp"))]})
_net = {"net": "192.168.123.1/24"}
case(["-L", "tun://:8421?net=192.168.123.1/24"],
     {"services": [svc("service-0", ":8421", H("tun", metadata=_net), L("tun", metadata=_net),
                       metadata=_net)]})

# docs examples (gost-doc-examples/*.cmd)
_bp = {"bypass": "example.com"}
case(["-L", "http://:8080?bypass=example.com"],  # blog_posts_bypass-1
     {"services": [svc("service-0", ":8080", H("http"), L("tcp", metadata=_bp), metadata=_bp,
                       bypass="bypass-0")],
      "bypasses": [{"name": "bypass-0", "matchers": ["example.com"]}]})
case(["-L", "http://:8080", "-F",
      "http://192.168.1.1:8080?bypass=~172.10.0.0/16,127.0.0.1,localhost,*.example.com,.example.org"],
     {"services": [svc("service-0", ":8080", H("http", chain=C0), L("tcp"))],
      "chains": chain(hop(0, [node(0, "192.168.1.1:8080", typed("http"),
                                   typed("tcp", tls=sni("192.168.1.1")))], bypass="bypass-0")),
      "bypasses": [{"name": "bypass-0", "whitelist": True,
                    "matchers": ["172.10.0.0/16", "127.0.0.1", "localhost", "*.example.com",
                                 ".example.org"]}]})
case(["-L", "tcp://:8000-8003/192.168.1.1:8000-8003"],
     {"services": [svc("service-%d" % i, ":%d" % (8000 + i), H("tcp"), L("tcp"),
                       fwd("192.168.1.1:%d" % (8000 + i), first=i)) for i in range(4)]})
case(["-L", "tcp://:8080/192.168.1.1:80", "-F", "sshd://user:pass@192.168.1.2:22"],
     {"services": [svc("service-0", ":8080", H("tcp", chain=C0), L("tcp"), fwd("192.168.1.1:80"))],
      "chains": chain(hop(0, [node(0, "192.168.1.2:22", typed("sshd"),
                                   typed("sshd", auth=auth("user", "pass"),
                                         tls=sni("192.168.1.2")))]))})
_two = sni("192.168.1.1:1080,192.168.1.2")  # Go's Hostname() of "a:1,b:2"
case(["-L", "http://:8080", "-F", "socks5://192.168.1.1:1080,192.168.1.2:1080?strategy=hash"],
     {"services": [svc("service-0", ":8080", H("http", chain=C0), L("tcp"))],
      "chains": chain(hop(0, [node(0, "192.168.1.1:1080", typed("socks5"), typed("tcp", tls=_two)),
                              node(1, "192.168.1.2:1080", typed("socks5"), typed("tcp", tls=_two))],
                          selector=sel("hash")))})
case(["-L", "http://:8080", "-F", "https://192.168.1.1:8080", "-F", "socks5+ws://192.168.1.2:1080"],
     {"services": [svc("service-0", ":8080", H("http", chain=C0), L("tcp"))],
      "chains": chain(hop(0, [node(0, "192.168.1.1:8080", typed("http"),
                                   typed("tls", tls=sni("192.168.1.1")))]),
                      hop(1, [node(0, "192.168.1.2:1080", typed("socks5"),
                                   typed("ws", tls=sni("192.168.1.2")))]))})
_udp = {"mode": "udp"}
case(["-L", "dns://:10053/1.1.1.1,tls://1.1.1.1:853?mode=udp"],
     {"services": [svc("service-0", ":10053", H("dns", metadata=_udp), L("dns", metadata=_udp),
                       fwd("1.1.1.1", "tls://1.1.1.1:853"), metadata=_udp)]})
case(["-L", "sshd://gost:gost@:2222"],
     {"services": [svc("service-0", ":2222", H("sshd"), L("sshd", auth=auth("gost", "gost")))]})
_lim = {"limiter.in": "100MB", "limiter.out": "100MB", "limiter.conn.in": "10MB",
        "limiter.conn.out": "10MB"}
case(["-L", ":8080?limiter.in=100MB&limiter.out=100MB&limiter.conn.in=10MB&limiter.conn.out=10MB"],
     {"services": [svc("service-0", ":8080", H("auto"), L("tcp", metadata=_lim), metadata=_lim,
                       limiter="limiter-0")],
      "limiters": [{"name": "limiter-0", "limits": ["$ 100MB 100MB", "$$ 10MB 10MB"]}]})
case(["-L", ":8080?climiter=1000"],
     {"services": [svc("service-0", ":8080", H("auto"), L("tcp", metadata={"climiter": "1000"}),
                       metadata={"climiter": "1000"}, climiter="climiter-0")],
      "climiters": [{"name": "climiter-0", "limits": ["$ 1000"]}]})
case(["-L", ":8080?rlimiter=10"],
     {"services": [svc("service-0", ":8080", H("auto"), L("tcp", metadata={"rlimiter": "10"}),
                       metadata={"rlimiter": "10"}, rlimiter="rlimiter-0")],
      "rlimiters": [{"name": "rlimiter-0", "limits": ["$ 10"]}]})
_adm = {"admission": "~127.0.0.1,192.168.0.0/16"}
case(["-L", "http://:8080?admission=~127.0.0.1,192.168.0.0/16"],
     {"services": [svc("service-0", ":8080", H("http"), L("tcp", metadata=_adm), metadata=_adm,
                       admission="admission-0")],
      "admissions": [{"name": "admission-0", "whitelist": True,
                      "matchers": ["127.0.0.1", "192.168.0.0/16"]}]})
_hosts = {"hosts": "example.org:127.0.0.1,example.org:::1,example.com:2001:db8::1"}
case(["-L", "http://:8080?hosts=example.org:127.0.0.1,example.org:::1,example.com:2001:db8::1"],
     {"services": [svc("service-0", ":8080", H("http"), L("tcp", metadata=_hosts),
                       metadata=_hosts, hosts="hosts-0")],
      "hosts": [{"name": "hosts-0", "mappings": [
          {"ip": "127.0.0.1", "hostname": "example.org"},
          {"ip": "::1", "hostname": "example.org"},
          {"ip": "2001:db8::1", "hostname": "example.com"}]}]})
_rs = "1.1.1.1,tcp://8.8.8.8,tls://8.8.8.8:853,https://1.0.0.1/dns-query"
case(["-L", "http://:8080?resolver=" + _rs],
     {"services": [svc("service-0", ":8080", H("http"), L("tcp", metadata={"resolver": _rs}),
                       metadata={"resolver": _rs}, resolver="resolver-0")],
      "resolvers": [{"name": "resolver-0",
                     "nameservers": [{"addr": a} for a in _rs.split(",")]}]})
case(["-L", "red://:12345?tproxy=true", "-L", "redu://:12345?ttl=30s", "-F",
      "relay://10.0.10.1:8420?so_mark=100"],
     {"services": [svc("service-0", ":12345", H("red", chain=C0, metadata={"tproxy": "true"}),
                       L("red", metadata={"tproxy": "true"}), metadata={"tproxy": "true"}),
                   svc("service-1", ":12345", H("redu", chain=C0, metadata={"ttl": "30s"}),
                       L("redu", metadata={"ttl": "30s"}), metadata={"ttl": "30s"})],
      "chains": chain(hop(0, [node(0, "10.0.10.1:8420", typed("relay"),
                                   typed("tcp", tls=sni("10.0.10.1")))],
                          metadata={"so_mark": 100}))})
_tid = {"tunnel.id": "f8baa731-4057-4300-ab75-c4e603834f1b"}
case(["-L", "rtcp://:0/192.168.1.1:80", "-F",
      "tunnel+wss://tunnel.gost.plus:443?tunnel.id=f8baa731-4057-4300-ab75-c4e603834f1b"],
     {"services": [svc("service-0", ":0", H("rtcp"), L("rtcp", chain=C0), fwd("192.168.1.1:80"))],
      "chains": chain(hop(0, [node(0, "tunnel.gost.plus:443", typed("tunnel", metadata=_tid),
                                   typed("wss", tls=sni("tunnel.gost.plus"), metadata=_tid),
                                   metadata=_tid)], metadata=_tid))})
_ns2 = {"netns": "ns2"}
case(["-L", "tcp://10.0.0.1:8000/10.0.1.11:8000?netns=ns1", "-F",
      "http://10.0.1.1:8080?netns=ns2"],
     {"services": [svc("service-0", "10.0.0.1:8000", H("tcp", chain=C0), L("tcp"),
                       fwd("10.0.1.11:8000"), metadata={"netns": "ns1"})],
      "chains": chain(hop(0, [node(0, "10.0.1.1:8080", typed("http", metadata=_ns2),
                                   typed("tcp", tls=sni("10.0.1.1"), metadata=_ns2),
                                   metadata=_ns2)], metadata=_ns2))})
case(["-L", "http://:8080", "-F", "socks5://:1080?auth=dXNlcjpwYXNz"],
     {"services": [svc("service-0", ":8080", H("http", chain=C0), L("tcp"))],
      # the hop metadata is taken before the auth key is consumed (GOST quirk)
      "chains": chain(hop(0, [node(0, ":1080", typed("socks5", auth=auth("user", "pass")),
                                   typed("tcp"))], metadata={"auth": "dXNlcjpwYXNz"}))})
case(["-L", "relay+wss://:8420/:18080"],
     {"services": [svc("service-0", ":8420", H("relay"), L("wss"), fwd(":18080"))]})
case(["-L", ":8080", "-F", "ss://AEAD_CHACHA20_POLY1305:123456@:8338"],
     {"services": [svc("service-0", ":8080", H("auto", chain=C0), L("tcp"))],
      "chains": chain(hop(0, [node(0, ":8338",
                                   typed("ss", auth=auth("AEAD_CHACHA20_POLY1305", "123456")),
                                   typed("tcp"))]))})
_ic = {"ignoreChain": "true"}
case(["-L", "http://:8080?ignoreChain=true", "-L", "socks://:1080", "-F", "http://:8000"],
     {"services": [svc("service-0", ":8080", H("http", chain=C0, metadata=_ic),
                       L("tcp", metadata=_ic), metadata=_ic),
                   svc("service-1", ":1080", H("socks", chain=C0), L("tcp"))],
      "chains": chain(hop(0, [node(0, ":8000", typed("http"), typed("tcp"))]))})
case(["-L", "https://:8443"],
     {"services": [svc("service-0", ":8443", H("http"), L("tls"))]})
case(["-L", "kcp://:8443/:8080", "-L", "ss://:8080"],
     {"services": [svc("service-0", ":8443", H("forward"), L("kcp"), fwd(":8080")),
                   svc("service-1", ":8080", H("ss"), L("tcp"))]})
case(["-L", "tcp://:8080/:8081,:8082?strategy=round&maxFails=2&failTimeout=10s"],
     {"services": [svc("service-0", ":8080", H("tcp"), L("tcp"),
                       fwd(":8081", ":8082", selector=sel("round", 2, 10 * 10**9)))]})
case(["-L", "unix:///var/run/gost.sock", "-L", "unix://gost.sock/gost2.sock"],
     {"services": [svc("service-0", "/var/run/gost.sock", H("unix"), L("unix")),
                   svc("service-1", "gost.sock", H("unix"), L("unix"), fwd("gost2.sock"))]})
_sk = {"bind": "true", "udp": "true"}
case(["-L", "socks5://user:pass@:1080?bind=true&udp=true&retries=2"],
     {"services": [svc("service-0", ":1080",
                       H("socks5", auth=auth("user", "pass"), metadata=_sk, retries=2),
                       L("tcp", metadata=dict(_sk, retries="2")),
                       metadata=dict(_sk, retries="2"))]})


# ---- running gost -------------------------------------------------------------------------

def run_gost(args):
    p = subprocess.run([GOST_BIN] + args + ["-O", "json"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != 0:
        raise AssertionError("gost %s -O json exited %d\nstdout: %s\nstderr: %s"
                             % (" ".join(args), p.returncode, out, err))
    try:
        return json.loads(out)
    except ValueError as e:
        raise AssertionError("gost %s -O json printed no valid JSON (%s):\n%s\nstderr: %s"
                             % (" ".join(args), e, out, err))


_DUR = re.compile(r"^(\d+(\.\d+)?(ns|us|\u00b5s|ms|s|m|h))+$")
_UNIT = {"ns": 1, "us": 10**3, "\u00b5s": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
         "h": 3600 * 10**9}


def _go_duration(s):
    total = 0
    for num, _frac, unit in re.findall(r"(\d+(\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)", s):
        total += int(float(num) * _UNIT[unit])
    return total


def loose(v, key=None):
    """omitempty-style normalisation (only with GOST_CLI_TEST_LOOSE=1)."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            x = loose(x, k)
            if x in (None, "", [], {}, False, 0) and k != "metadata":
                continue
            if k == "metadata" and x in (None, {}):
                continue
            out[k] = x
        return out
    if isinstance(v, list):
        return [loose(x) for x in v]
    if key in ("failTimeout",) and isinstance(v, str) and _DUR.match(v):
        return _go_duration(v)
    return v


def show(v):
    return json.dumps(v, indent=2, sort_keys=True)


class CliOutput(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        if not GOST_BIN or not os.access(GOST_BIN, os.X_OK):
            raise AssertionError("GOST_BIN (%r) is not an executable gost binary" % GOST_BIN)

    def compare(self, got, want, what):
        if LOOSE:
            got, want = loose(got), loose(want)
        if got != want:
            self.fail("%s\n--- want\n%s\n--- got\n%s" % (what, show(want), show(got)))

    def test_cases(self):
        for args, want in CASES:
            with self.subTest(args=" ".join(args)):
                got = run_gost(args)
                self.compare(got, want, "gost %s -O json" % " ".join(args))

    def test_round_trip(self):
        for args, _want in CASES:
            with self.subTest(args=" ".join(args)):
                first = run_gost(args)
                with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                    json.dump(first, f)
                    path = f.name
                try:
                    second = run_gost(["-C", path])
                finally:
                    os.unlink(path)
                self.compare(second, first, "round trip of gost %s -O json" % " ".join(args))


if __name__ == "__main__":
    if not GOST_BIN:
        sys.stderr.write("GOST_BIN is not set\n")
        sys.exit(1)
    unittest.main(verbosity=2)
