"""W3 idle memory per relayed connection.

One bench/build/holder opens N connections through the proxy — plain forward, or a SOCKS5 or
HTTP CONNECT handshake first — proves each with a 1-byte echo against a second holder (the
echo backend) and holds them. The proxy's memory (VmRSS and Pss summed over its process
tree) is read before and 1 s after; the delta divided by the connections held is the cost of
an idle relayed connection. Peers: gost forward, gost SOCKS5, gost HTTP CONNECT, haproxy
(splice-auto), nginx stream. N is 10,000 unless RLIMIT_NOFILE's hard limit (which the
proxy needs two descriptors per connection under) makes it smaller: then N is the most the
limit allows and a note says so.
"""

import os
import resource
import time

import peers
from workloads._mem import tree_mem

TITLE = "Idle memory per relayed connection"


def run(b):
    want = 2000 if b.quick else 10000
    n = min(want, peers.max_conns() - 500)  # haproxy's maxconn is the lowest (its pipes)
    if n < want:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        b.note("RLIMIT_NOFILE hard limit is %d here (not raisable): %d connections held "
               "instead of %d" % (hard, n, want))
    echo = peers.echo_hold(b)
    srv = {
        "gost": (peers.gost_forward(b, echo.port), ""),
        "gost-socks5": (peers.gost(b, ["-L", "socks5://127.0.0.1:{port}?notls=true"],
                                   name="gost-socks5"), "socks5"),
        "gost-http": (peers.gost(b, ["-L", "http://127.0.0.1:{port}"], name="gost-http"),
                      "http"),
    }
    for p, start in (("haproxy", peers.haproxy), ("nginx", peers.nginx_stream)):
        s = b.start_peer(start, echo.port)
        if s:
            srv[p] = (s, "")

    def runner(peer):
        s, proto = srv[peer]

        def fn(rnd):
            holder = b.line_proc([os.path.join(b.tools, "holder")], "holder-" + peer)
            holder.readline(10, "BACKEND line")
            time.sleep(0.3)
            m0 = tree_mem(s.pid)
            cmd = "CONNECT 127.0.0.1 %d %d 200 120" % (s.port, n)
            if proto:
                cmd += " %s 127.0.0.1:%d" % (proto, echo.port)
            holder.send(cmd)
            held = int(holder.readline(150, "HELD line").split()[1])
            time.sleep(1.0)
            m1 = tree_mem(s.pid)
            holder.send("QUIT")
            holder.readline(60, "BYE")
            b.stop(holder.p)
            if held == 0:
                raise RuntimeError("%s: no connection held" % peer)
            return {"rss_b_per_conn": (m1["rss"] - m0["rss"]) / held,
                    "pss_b_per_conn": (m1["pss"] - m0["pss"]) / held, "held": held}
        return fn

    b.interleave("idle", [(p, runner(p)) for p in srv], rounds=1)
