"""W6 UDP forward: 64-byte datagrams through gost, socat and nginx to a UDP echo.

Backend: bench/build/udpload echo (recvmmsg/sendmmsg batches). Load: `udpload send` from N
connected UDP sockets (N sessions = N client addresses), 64-byte datagrams carrying session id
and sequence number, counting unique echoes, reordered ones and duplicates. Peers:
  direct  the echo itself (no proxy: what the generator and echo manage on this machine)
  gost    -L udp://127.0.0.1:P/127.0.0.1:ECHO (a session per client address, ttl 60 s)
  socat   UDP4-LISTEN,fork,reuseaddr -> UDP4:ECHO (peers.socat_udp: a child process per client
          address, max-children 1024; UDP4-RECVFROM+fork would fork a process per datagram)
  nginx   stream `listen udp` + proxy_pass, its defaults: proxy_responses unlimited and
          proxy_timeout 10 min, i.e. one long-lived session per client address, which is what
          an echo stream needs (proxy_responses 1 would end the session after every reply and
          open a new upstream socket per datagram); its two workers share one listening socket
          (no reuseport), so one client's datagrams can be served by both, hence reordering
Every proxy is started fresh for each measurement and stopped after it, so sessions never pile
up across rounds; socat's children are killed by PID first (they outlive their parent).

Variants (S seconds each: 1 in quick mode, 2 otherwise, to keep 24 measurements per round
inside the time budget):
  max rate 1 session / max rate 1000 sessions   --max: as fast as echoes come back (a window
      of datagrams outstanding per session)
  25k pps / 50k pps / 100k pps                  --rate: fixed aggregate rate, 1 session
  100k pps 1000 sessions                        --rate 100000 over 1000 sessions
Metrics: pps (delivered echoes per second), loss_pct, reordered, sent_pps, and for proxies
cpu_ns_per_pkt = CPU of the proxy's process tree during the run / delivered echoes. Duplicated
echoes and echoes a proxy sent to the wrong client (udpload's dup=, bad=) are notes. Every run
opens new client sockets, so session setup (the first datagram of each of the N clients) is part
of every measurement, for every proxy alike.
"""

import os
import signal
import time

import bench
import peers
from benchlib import tree_cpu_seconds
from workloads._mem import tree_pids

TITLE = "UDP forward, 64-byte datagrams vs socat and nginx"
VARIANTS = [
    ("max rate 1 session", ["--max", "--sessions", "1"]),
    ("max rate 1000 sessions", ["--max", "--sessions", "1000"]),
    ("25k pps", ["--rate", "25000", "--sessions", "1"]),
    ("50k pps", ["--rate", "50000", "--sessions", "1"]),
    ("100k pps", ["--rate", "100000", "--sessions", "1"]),
    ("100k pps 1000 sessions", ["--rate", "100000", "--sessions", "1000"]),
]
PROXIES = [
    ("gost", lambda b, echo: b.start_peer(peers.gost_forward, echo, proto="udp")),
    ("socat", lambda b, echo: b.start_peer(peers.socat_udp, echo)),
    ("nginx", lambda b, echo: b.start_peer(peers.nginx_stream, echo, "udp")),
]


def children(pid):
    """PIDs of the live descendants of `pid`."""
    return [k for k in tree_pids(pid) if k != pid]


def stop_forked(b, srv):
    """Stop a forking server: its children first, by PID (SIGTERM, then SIGKILL after 2 s;
    only PIDs that are still its children are signalled), then the parent. Returns how many
    children it had, or raises if one survived."""
    kids = children(srv.pid)
    n = len(kids)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        deadline = time.monotonic() + 2.0
        while kids and time.monotonic() < deadline:
            for k in kids:
                try:
                    os.kill(k, sig)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
            kids = children(srv.pid)
    b.stop(srv)
    if kids:
        raise RuntimeError("%s: children %s survived SIGKILL" % (srv.name, kids))
    return n


def runner(b, variant, peer, start, echo, secs):
    tool = os.path.join(b.tools, "udpload")
    skip = bench.Skip

    def fn(rnd):
        srv = start(b, echo) if start else None
        if start and not srv:
            raise skip("did not start")
        port = srv.port if srv else echo
        cmd = [tool, "send", peers.H, str(port), "--size", "64", "--seconds", str(secs)]
        c0 = tree_cpu_seconds(srv.pid) if srv else 0.0
        try:
            kv = b.run(cmd + dict(VARIANTS)[variant], secs + 15)
            cpu = tree_cpu_seconds(srv.pid) - c0 if srv else 0.0
        except (RuntimeError, OSError) as e:
            raise skip(str(e)[:300])
        finally:
            if srv and peer == "socat":
                forked = stop_forked(b, srv)
                if rnd == 1:
                    b.note("%s: socat had %d child processes at the end" % (variant, forked))
            elif srv:
                b.stop(srv)
        out = {"pps": kv["recv_pps"], "loss_pct": kv["loss_pct"],
               "reordered": kv["reordered"], "sent_pps": kv["sent_pps"]}
        if srv and kv.get("recv"):
            out["cpu_ns_per_pkt"] = cpu * 1e9 / kv["recv"]
        if kv.get("dup") or kv.get("bad"):
            b.note("%s %s r%d: %d duplicated echoes, %d echoes malformed or on another session's"
                   " socket (not delivered)" % (variant, peer, rnd, kv["dup"], kv.get("bad", 0)))
        return out
    return fn


def run(b):
    echo = peers.udp_echo(b, name="w6-echo").port
    secs = 1 if b.quick else 2
    for variant, _ in VARIANTS:
        b.interleave(variant, [("direct", runner(b, variant, "direct", None, echo, secs))] + [
            (p, runner(b, variant, p, start, echo, secs)) for p, start in PROXIES])
