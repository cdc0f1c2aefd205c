"""W8 worker scaling: W1 (8 streams) and W2 (backend closes) with GOST_WORKERS=1 and =2.

The same measurements as W1 and W2, through `gost -L tcp://...` started with one worker
(gost-1w) and with two (gost-2w), interleaved with direct. On a 2-core machine the load
generator, the backend and gost share the two cores, so the ratio gost-2w/gost-1w is bounded
by the CPU left to gost; the report shows the CPU each used.
"""

import os

import bench
import peers
from workloads.w02_connrate import measure

TITLE = "Worker scaling: 1 vs 2 workers"


def run(b):
    sink = peers.sink(b)
    backend = peers.echo_close(b, 64)
    g = {w: (peers.gost_forward(b, sink.port, workers=w, name="gost-bulk-%dw" % w),
             peers.gost_forward(b, backend.port, workers=w, name="gost-conn-%dw" % w))
         for w in (1, 2)}
    budget = (512 if b.quick else 4096) << 20

    def bulk(s, port):
        def fn(rnd):
            cmd = [os.path.join(b.tools, "bulk"), "send", "--streams", "8", "127.0.0.1",
                   str(port), str(budget), str(b.secs)]
            res, cpu = bench.cpu_delta(s.pid if s else None, lambda: b.run(cmd, b.secs + 60))
            out = {"gbps": res["gbps"]}
            if s:
                out["cpu_s_per_gb"] = cpu / (res["bytes"] / 1e9)
            return out
        return fn

    b.interleave("bulk 8 streams", [("direct", bulk(None, sink.port))] + [
        ("gost-%dw" % w, bulk(g[w][0], g[w][0].port)) for w in (1, 2)])
    for w in (1, 2):
        measure(b, None, g[w][1].port, ["-n", "200"])  # warm-up
    b.interleave("conn rate", [("direct", lambda rnd: measure(b, None, backend.port, []))] + [
        ("gost-%dw" % w, (lambda s: lambda rnd: measure(b, s.pid, s.port, []))(g[w][1]))
        for w in (1, 2)])
