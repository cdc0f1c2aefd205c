"""W8 worker scaling: W1 (8 streams) and W2 (backend closes) with GOST_WORKERS=1 and =2.

The same measurements as W1 and W2, through `gost -L tcp://...` started with one worker
(gost-1w) and with two (gost-2w), interleaved with direct. On a 2-core machine the load
generator, the backend and gost share the two cores, so the ratio gost-2w/gost-1w is bounded
by the CPU left to gost; the report shows the CPU each used.
"""

import peers
from workloads import _load as load

TITLE = "Worker scaling: 1 vs 2 workers"


def run(b):
    sink = peers.sink(b)
    backend = peers.echo_close(b, 64)
    g = {w: (peers.gost_forward(b, sink.port, workers=w, name="gost-bulk-%dw" % w),
             peers.gost_forward(b, backend.port, workers=w, name="gost-conn-%dw" % w))
         for w in (1, 2)}
    budget = (512 if b.quick else 4096) << 20

    def bulk(s, port):
        return lambda rnd: load.bulk(b, s.pid if s else None, port, ["--streams", "8"], budget)

    b.interleave("bulk 8 streams", [("direct", bulk(None, sink.port))] + [
        ("gost-%dw" % w, bulk(g[w][0], g[w][0].port)) for w in (1, 2)])
    for w in (1, 2):
        load.connrate(b, None, g[w][1].port, ["-n", "200"])  # warm-up
    b.interleave("conn rate", [("direct", lambda rnd: load.connrate(b, None, backend.port, []))] + [
        ("gost-%dw" % w, (lambda s: lambda rnd: load.connrate(b, s.pid, s.port, []))(g[w][1]))
        for w in (1, 2)])
