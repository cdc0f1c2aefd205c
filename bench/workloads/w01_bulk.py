"""W1 TCP forward bulk: 1 and 8 streams through a port forward to a byte-counting sink.

bench/build/bulk sends for b.secs seconds (or up to a byte budget) over 1 or 8 parallel
streams and counts only bytes the sink acknowledged after EOF; Gbit/s = acknowledged bytes /
(first connect .. last acknowledgement). CPU seconds per GB = utime+stime of the proxy's whole
process tree during the run / GB moved. Peers: direct to the sink, gost (`-L tcp://...`),
haproxy (splice forced both ways), nginx stream, socat (a process per connection).
"""

import peers
from workloads import _load as load

TITLE = "TCP forward bulk, 1 and 8 streams"


def run(b):
    sink = peers.sink(b)
    srv = {"direct": None}
    srv["gost"] = peers.gost_forward(b, sink.port)
    for name, start, kw in (("haproxy", peers.haproxy, {"splice": "force"}),
                            ("nginx", peers.nginx_stream, {}), ("socat", peers.socat, {})):
        s = b.start_peer(start, sink.port, **kw)
        if s:
            srv[name] = s
    budget = (512 if b.quick else 4096) << 20

    def runner(peer, streams):
        s = srv[peer]
        port = s.port if s else sink.port

        def fn(rnd):
            extra = ["--streams", str(streams)] if streams > 1 else []
            return load.bulk(b, s.pid if s else None, port, extra, budget)
        return fn

    for streams, variant in ((1, "1 stream"), (8, "8 streams")):
        b.interleave(variant, [(p, runner(p, streams)) for p in srv])
