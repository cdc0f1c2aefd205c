"""The two load generators every TCP workload drives, and the metrics they record.

connrate(b, pid, port, extra): bench/build/connrate, 32 in flight for b.secs seconds, against
127.0.0.1:port (`extra`: handshake flags such as --socks5 --target IP:PORT, -n for a warm-up,
--client-close); bulk(b, pid, port, extra, budget): bench/build/bulk send of up to `budget`
bytes for b.secs seconds. `pid` is the proxy whose process tree's CPU is charged to the load
(None for the direct path). Both return the metric dict the workloads record.
"""

import os

import bench

H = "127.0.0.1"


def conn_metrics(res, cpu, charged):
    out = {k: res[k] for k in ("cps", "p50_ms", "p99_ms", "failed")}
    if charged and res.get("ok"):
        out["cpu_us_per_conn"] = cpu * 1e6 / res["ok"]
    return out


def bulk_metrics(res, cpu, charged):
    out = {"gbps": res["gbps"]}
    if charged and res.get("bytes"):
        out["cpu_s_per_gb"] = cpu / (res["bytes"] / 1e9)
    return out


def connrate(b, pid, port, extra=()):
    cmd = [os.path.join(b.tools, "connrate"), "-c", "32", "-t", str(b.secs)] + list(extra) + [
        H, str(port)]
    res, cpu = bench.cpu_delta(pid, lambda: b.run(cmd, b.secs + 30))
    return conn_metrics(res, cpu, pid is not None)


def bulk(b, pid, port, extra, budget):
    """Raises RuntimeError when the run failed (bulk exits 1: a stream broke or the sink's count
    differs)."""
    cmd = [os.path.join(b.tools, "bulk"), "send"] + list(extra) + [H, str(port), str(budget),
                                                                  str(b.secs)]
    res, cpu = bench.cpu_delta(pid, lambda: b.run(cmd, b.secs + 60))
    if res["_rc"] != 0 or not res.get("bytes"):
        raise RuntimeError("bulk to port %d moved nothing or failed" % port)
    return bulk_metrics(res, cpu, pid is not None)
