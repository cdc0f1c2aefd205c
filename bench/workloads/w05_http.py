"""W5 HTTP proxy: gost (`-L http://...`) vs tinyproxy and squid (and direct).

"CONNECT rate": bench/build/connrate --http-connect keeps 32 connections in flight for b.secs
  seconds; each sends "CONNECT 127.0.0.1:<echo> HTTP/1.1" to the proxy, expects 200, sends
  64 bytes, checks the 64-byte echo and closes on the echo backend's EOF (holder --echo-close
  64: the backend closes first). Direct: the same without proxy and handshake. Metrics: cps,
  p50_ms, p99_ms, failed, cpu_us_per_conn = CPU of the proxy's process tree / ok connections.
  An untimed warm-up of 300 connections per peer comes first.
"GET keep-alive": `wrk -t1 -c32 -d<secs>s --latency` at the proxy with a Lua script setting
  the request to "GET http://127.0.0.1:<origin>/ HTTP/1.1" + "Host: 127.0.0.1:<origin>" (the
  absolute-form a client sends to a proxy; the script sets wrk.path/wrk.headers, so wrk sends
  the same pre-formatted bytes every time, no Lua call per request). The origin is nginx
  answering a 64-byte body. Direct: the same request straight at nginx. Metrics: rps, p50_ms,
  p99_ms (wrk's latency distribution), failed (socket errors + non-2xx/3xx responses),
  cpu_us_per_req = proxy tree CPU / requests completed.
"GET close": the same with a "Connection: close" request header: every request is a new
  client connection (wrk reconnects after each response).
Before measuring, one GET through each proxy must return status 200 and the 64-byte body, or
the peer is dropped from the GET variants with a note.
"""

import os
import re
import socket
import subprocess
import time

import bench
import peers
from workloads import _load as load

TITLE = "HTTP proxy vs tinyproxy and squid"
H = "127.0.0.1"
BODY = 64


def connrate(b, s, target, extra=()):
    if not s:
        return load.connrate(b, None, target.port, extra)
    return load.connrate(b, s.pid, s.port,
                         ["--http-connect", "--target", "%s:%d" % (H, target.port)] + list(extra))


def probe(port, origin):
    """Two GETs (absolute-form) on one connection at `port`, the second with Connection:
    close. Returns (status, body bytes) of the first, and False when the proxy closed the
    connection after the first response without announcing it (`Connection: close`)."""
    req = (b"GET http://%s:%d/ HTTP/1.1\r\nHost: %s:%d\r\n" % (H.encode(), origin, H.encode(),
                                                            origin))
    with socket.create_connection((H, port), timeout=5) as c:
        c.sendall(req + b"\r\n")
        data, deadline = b"", time.monotonic() + 5
        while time.monotonic() < deadline and len(data) < 65536:
            head, sep, body = data.partition(b"\r\n\r\n")
            m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if sep and m and len(body) >= int(m.group(1)):
                break
            d = c.recv(65536)
            if not d:
                break
            data += d
        head, _, body = data.partition(b"\r\n\r\n")
        status = head.split(b" ", 2)[1].decode() if head.count(b" ") >= 2 else "?"
        announced = re.search(rb"(?im)^connection:\s*close", head) is not None
        try:
            c.sendall(req + b"Connection: close\r\n\r\n")
            again = c.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            again = False
    return status, len(body), again or announced


def ms(v, unit):
    return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def parse_wrk(out, closes):
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+),", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s*50(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    p99 = re.search(r"^\s*99(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    if not (m and rps and p50 and p99):
        raise RuntimeError("cannot parse wrk output: %s" % out[-300:])
    err = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2 = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = sum(int(x) for x in err.groups()) if err else 0
    if err and closes:  # a read error per response: the proxy's close after each one
        errors -= min(int(err.group(2)), int(m.group(1)))
    return {"requests": int(m.group(1)), "rps": float(rps.group(1)),
            "p50_ms": ms(*p50.groups()), "p99_ms": ms(*p99.groups()),
            "failed": errors + (int(non2.group(1)) if non2 else 0)}


def wrk(b, s, origin, script, closes):
    url = "http://%s:%d/" % (H, s.port if s else origin.port)
    cmd = [peers.exe("wrk"), "-t1", "-c32", "-d%ds" % max(1, round(b.secs)), "--latency",
           "-s", script, url]

    def go():
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=b.secs + 30)
        if r.returncode:
            raise RuntimeError("wrk failed (%d): %s" % (r.returncode, r.stderr[-300:]))
        return parse_wrk(r.stdout, closes)
    res, cpu = bench.cpu_delta(s.pid if s else None, go)
    n = res.pop("requests")
    if s and n:
        res["cpu_us_per_req"] = cpu * 1e6 / n
    return res


def lua(b, origin, close):
    path = os.path.join(b.tmp, "w5-get%s.lua" % ("-close" if close else ""))
    with open(path, "w") as f:
        f.write('wrk.method = "GET"\nwrk.path = "http://%s:%d/"\n'
                'wrk.headers["Host"] = "%s:%d"\n' % (H, origin.port, H, origin.port))
        if close:
            f.write('wrk.headers["Connection"] = "close"\n')
    return path


def run(b):
    skip = bench.Skip
    t = time.monotonic()
    srv = {"direct": None, "gost": b.start_peer(peers.gost, ["-L", "http://127.0.0.1:{port}"]),
           "tinyproxy": b.start_peer(peers.tinyproxy), "squid": b.start_peer(peers.squid)}
    srv = {p: s for p, s in srv.items() if s or p == "direct"}
    print("  proxies up in %.1f s" % (time.monotonic() - t), flush=True)

    backend = peers.echo_close(b, 64, name="backend-close")
    for p, s in srv.items():  # warm-up, not recorded
        w = connrate(b, s, backend, ["-n", "300"])
        if w["failed"]:
            b.note("CONNECT rate %s warm-up: %d of 300 connections failed" % (p, w["failed"]))
    b.interleave("CONNECT rate", [(p, (lambda s: lambda rnd: connrate(b, s, backend))(s))
                                  for p, s in srv.items()])
    b.stop(backend)

    try:
        peers.exe("wrk")
    except peers.Missing as e:
        b.note("GET variants skipped: %s" % e)
        return
    origin = peers.nginx_origin(b, BODY)
    closers = set()
    for p, s in list(srv.items()):
        try:
            status, n, keep = probe(s.port if s else origin.port, origin.port)
        except OSError as e:
            status, n, keep = str(e), 0, True
        if status != "200" or n != BODY:
            b.note("%s: a GET through it gave status %s and %d body bytes (want 200, %d): "
                   "dropped from the GET variants" % (p, status, n, BODY))
            del srv[p]
        elif not keep:
            closers.add(p)
            b.note("%s closes the client connection after every response without saying "
                   "`Connection: close`: wrk counts each close as a socket read error and "
                   "reconnects; those are not counted in failed" % p)

    def runner(p, s, script):
        def fn(rnd):
            try:
                return wrk(b, s, origin, script, p in closers)
            except RuntimeError as e:
                raise skip(" ".join(str(e).split())[-160:])
        return fn

    for variant, close in (("GET keep-alive", False), ("GET close", True)):
        script = lua(b, origin, close)
        b.interleave(variant, [(p, runner(p, s, script)) for p, s in srv.items()])
