#!/usr/bin/env python3
"""Markdown report and PNG charts from a bench CSV (workload, variant, peer, round, metric,
value), plus the issue's bar checked against the same run.

    python3 bench/report.py results/2026-11-25-host.csv   # re-report an existing CSV

Per workload and variant: a table with one row per peer and, per metric, median [min-max]
over the rounds; the ratio of the headline metric to `direct`; and for our rows (peer names
starting with "gost") the ratio to the best peer. Charts (gnuplot, pngcairo): one PNG per
workload, the headline metric of each variant as bars (median) with min-max whiskers.
"""

import csv
import json
import os
import shutil
import subprocess
import sys

# metric -> (label, higher is better)
METRICS = {
    "gbps": ("Gbit/s", True),
    "cpu_s_per_gb": ("CPU s/GB", False),
    "cps": ("conn/s", True),
    "rps": ("req/s", True),
    "pps": ("delivered pps", True),
    "p50_ms": ("p50 ms", False),
    "p99_ms": ("p99 ms", False),
    "cpu_us_per_conn": ("CPU µs/conn", False),
    "cpu_us_per_req": ("CPU µs/req", False),
    "cpu_ns_per_pkt": ("CPU ns/pkt", False),
    "rss_b_per_conn": ("RSS B/conn", False),
    "pss_b_per_conn": ("PSS B/conn", False),
    "held": ("held", True),
    "failed": ("failed", False),
    "loss_pct": ("loss %", False),
    "reordered": ("reordered", False),
    "sent_pps": ("sent pps", True),
    "binary_bytes": ("stripped binary B", False),
    "rss_kib_start": ("RSS after start KiB", False),
    "ready_ms": ("exec→accepting ms", False),
    "instr_per_conn": ("instructions/conn", False),
    "instr_per_mib": ("instructions/MiB", False),
}
HEADLINE = ["gbps", "cps", "rps", "pps", "pss_b_per_conn", "rss_b_per_conn", "loss_pct", "ready_ms",
            "instr_per_conn", "instr_per_mib", "binary_bytes"]

# The bar: (workload, variant, metric, ours, [peers], factor, kind)
#   kind "ge": ours >= factor * best(peers)   "le": ours <= factor * best(peers)
#   "max": ours <= factor (absolute)          "eq0": ours == 0
BAR = [
    ("W1", "1 stream", "gbps", "gost", ["haproxy"], 1.0, "ge"),
    ("W1", "8 streams", "gbps", "gost", ["haproxy"], 1.0, "ge"),
    ("W1", "1 stream", "cpu_s_per_gb", "gost", ["haproxy"], 1.0, "le"),
    ("W1", "8 streams", "cpu_s_per_gb", "gost", ["haproxy"], 1.0, "le"),
    ("W2", "backend closes", "cps", "gost", ["haproxy", "nginx"], 1.0, "ge"),
    ("W2", "backend closes", "p99_ms", "gost", ["haproxy", "nginx"], 1.0, "le"),
    ("W3", "idle", "pss_b_per_conn", "gost", [], 1024, "max"),
    ("W3", "idle", "pss_b_per_conn", "gost-socks5", [], 2048, "max"),
    ("W3", "idle", "pss_b_per_conn", "gost-http", [], 2048, "max"),
    ("W3", "idle", "pss_b_per_conn", "gost", ["haproxy", "nginx"], 1.0, "lt-all"),
    ("W4", "connect rate", "cps", "gost", ["dante"], 2.0, "ge"),
    ("W4", "connect rate", "cps", "gost", ["microsocks"], 1.2, "ge"),
    ("W4", "idle 2000", "pss_b_per_conn", "gost", ["dante", "microsocks"], 1.0, "lt-all"),
    ("W5", "CONNECT rate", "cps", "gost", ["tinyproxy"], 1.4, "ge"),
    ("W5", "CONNECT rate", "cps", "gost", ["squid"], 2.0, "ge"),
    ("W5", "GET keep-alive", "rps", "gost", ["squid"], 1.5, "ge"),
    ("W5", "GET keep-alive", "rps", "gost", ["tinyproxy"], 3.0, "ge"),
    ("W5", "GET close", "rps", "gost", ["squid", "tinyproxy"], 2.0, "ge-all"),
    ("W6", "max rate 1 session", "pps", "gost", ["socat"], 2.0, "ge"),
    ("W6", "max rate 1 session", "pps", "gost", ["nginx"], 1.5, "ge"),
    ("W6", "max rate 1000 sessions", "pps", "gost", ["socat"], 2.0, "ge"),
    ("W6", "max rate 1000 sessions", "pps", "gost", ["nginx"], 1.5, "ge"),
    ("W6", "50k pps", "loss_pct", "gost", [], 0, "max"),
    ("W6", "100k pps", "loss_pct", "gost", [], 1.0, "lt"),
    ("W8", "conn rate", "cps", "gost-2w", ["gost-1w"], 1.7, "ge"),
    ("W9", "footprint", "binary_bytes", "gost", [], 3e6, "max"),
    ("W9", "footprint", "ready_ms", "gost", [], 10, "lt"),
]


def load(path):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            r["value"] = float(r["value"])
            rows.append(r)
    return rows


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def fmt(v):
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1e6:
        return "%.3g M" % (v / 1e6) if a < 1e9 else "%.3g G" % (v / 1e9)
    if a >= 100:
        return "%.0f" % v
    if a >= 1:
        return "%.3g" % v
    return "%.2g" % v


def group(rows):
    """{workload: {variant: {peer: {metric: [values]}}}} keeping first-seen order."""
    g = {}
    for r in rows:
        g.setdefault(r["workload"], {}).setdefault(r["variant"], {}).setdefault(
            r["peer"], {}).setdefault(r["metric"], []).append(r["value"])
    return g


def best_peer(variant, metric, names):
    hib = METRICS.get(metric, ("", True))[1]
    cands = [(median(variant[p][metric]), p) for p in names
             if p in variant and metric in variant[p]]
    if not cands:
        return None, None
    v, p = (max if hib else min)(cands)
    return p, v


def check_bar(g):
    out = []
    for wl, var, metric, ours, others, factor, kind in BAR:
        v = g.get(wl, {}).get(var, {})
        if ours not in v or metric not in v[ours]:
            out.append((wl, var, metric, ours, others, factor, kind, None, "not measured"))
            continue
        o = median(v[ours][metric])
        if kind in ("max", "lt", "eq0"):
            ok = o <= factor if kind == "max" else o < factor
            out.append((wl, var, metric, ours, others, factor, kind, ok,
                        "%s = %s (limit %s)" % (ours, fmt(o), fmt(factor))))
            continue
        have = [p for p in others if p in v and metric in v[p]]
        if not have:
            out.append((wl, var, metric, ours, others, factor, kind, None,
                        "no peer measured (%s)" % ", ".join(others)))
            continue
        if kind in ("ge-all", "lt-all"):
            hib = kind == "ge-all"
            pv = [(median(v[p][metric]), p) for p in have]
            ok = all((o >= factor * x) if hib else (o < factor * x) for x, _ in pv)
            txt = ", ".join("%s/%s = %.2f" % (ours, p, o / x if x else float("inf"))
                            for x, p in pv)
        else:
            p, x = best_peer(v, metric, have)
            r = o / x if x else float("inf")
            ok = r >= factor if kind == "ge" else r <= factor
            txt = "%s/%s = %.2f" % (ours, p, r)
        out.append((wl, var, metric, ours, others, factor, kind, ok, txt))
    return out


def write_charts(g, base, titles=None):
    gp = shutil.which("gnuplot")
    if not gp:
        return []
    made = []
    for wl, variants in g.items():
        panels = []
        for var, peers in variants.items():
            metric = next((m for m in HEADLINE if any(m in peers[p] for p in peers)), None)
            if not metric:
                continue
            dat = "%s-%s-%d.dat" % (base, wl, len(panels))
            with open(dat, "w") as f:
                for p, ms in peers.items():
                    if metric in ms:
                        xs = ms[metric]
                        f.write('"%s" %g %g %g\n' % (p, median(xs), min(xs), max(xs)))
            panels.append((var, metric, dat))
        if not panels:
            continue
        png = "%s-%s.png" % (base, wl)
        cols = 2 if len(panels) > 1 else 1
        nrows = (len(panels) + cols - 1) // cols
        script = ["set terminal pngcairo size %d,%d font 'sans,9'" % (520 * cols, 300 * nrows),
                  "set output '%s'" % png, "set style fill solid 0.6 border -1",
                  "set boxwidth 0.6", "set yrange [0:*]", "set grid ytics",
                  "set xtics rotate by -25", "unset key",
                  "set multiplot layout %d,%d title '%s'" % (
                      nrows, cols, ("%s %s" % (wl, (titles or {}).get(wl, ""))).replace("'", ""))]
        for var, metric, dat in panels:
            script += ["set title '%s: %s'" % (var, METRICS.get(metric, (metric,))[0]),
                       "plot '%s' using 0:2:xtic(1) with boxes lc rgb '#4a7ebb', "
                       "'' using 0:2:3:4 with yerrorbars lc rgb 'black' pt 0" % dat]
        script.append("unset multiplot")
        r = subprocess.run([gp], input="\n".join(script), text=True, capture_output=True,
                           timeout=60)
        for _, _, dat in panels:
            os.unlink(dat)
        if r.returncode == 0:
            made.append(png)
        else:
            print("report: gnuplot failed for %s: %s" % (wl, r.stderr.strip()[-300:]))
    return made


def markdown(g, meta, notes, charts):
    L = ["# gost (C) benchmark — %s" % meta.get("date", "?"), "",
         "- Machine: %s" % meta.get("machine", "?"),
         "- Command: `%s` (%s round(s), %s s per measurement; run took %s s)"
         % (meta.get("command"), meta.get("rounds"), meta.get("seconds"),
            meta.get("duration_s")),
         "- Peers: %s" % ", ".join("%s %s" % kv for kv in sorted(meta.get("peers", {}).items())),
         "- Cells are median [min–max] over the rounds; rounds were interleaved across peers.",
         ""]
    bar = check_bar(g)
    L += ["## The bar", "", "| workload | variant | metric | target | measured | holds |",
          "|---|---|---|---|---|---|"]
    for wl, var, metric, ours, others, factor, kind, ok, txt in bar:
        tgt = {"ge": "%s ≥ %g× %s" % (ours, factor, "/".join(others)),
               "le": "%s ≤ %g× %s" % (ours, factor, "/".join(others)),
               "ge-all": "%s ≥ %g× each of %s" % (ours, factor, ", ".join(others)),
               "lt-all": "%s < each of %s" % (ours, ", ".join(others)),
               "max": "%s ≤ %s" % (ours, fmt(factor)),
               "lt": "%s < %s" % (ours, fmt(factor))}.get(kind, kind)
        L.append("| %s | %s | %s | %s | %s | %s |" % (
            wl, var, METRICS.get(metric, (metric,))[0], tgt, txt,
            "—" if ok is None else ("yes" if ok else "**no**")))
    L.append("")
    for wl, variants in g.items():
        L += ["## %s %s" % (wl, meta.get("titles", {}).get(wl, "")), ""]
        for var, peers in variants.items():
            metrics = []
            for p in peers.values():
                for m in p:
                    if m not in metrics:
                        metrics.append(m)
            head = next((m for m in HEADLINE if m in metrics), metrics[0])
            L += ["### %s — %s" % (wl, var), "",
                  "| peer | " + " | ".join(METRICS.get(m, (m,))[0] for m in metrics) +
                  " | %s × direct | %s gost ÷ best peer |" % ((METRICS.get(head, (head,))[0],) * 2),
                  "|---|" + "---|" * (len(metrics) + 2)]
            others = [p for p in peers if p != "direct" and not p.startswith("gost")]
            bp, bv = best_peer(peers, head, others)
            dv = median(peers["direct"][head]) if "direct" in peers and head in peers[
                "direct"] else None
            for p, ms in peers.items():
                cells = []
                for m in metrics:
                    xs = ms.get(m)
                    if not xs:
                        cells.append("")
                    elif len(xs) == 1:
                        cells.append(fmt(xs[0]))
                    else:
                        cells.append("%s [%s–%s]" % (fmt(median(xs)), fmt(min(xs)),
                                                     fmt(max(xs))))
                v = median(ms[head]) if head in ms else None
                rd = "%.2f" % (v / dv) if v is not None and dv and p != "direct" else ""
                rb = ("%.2f (%s)" % (v / bv, bp) if p.startswith("gost") and v is not None
                      and bv else "")
                L.append("| %s | %s | %s | %s |" % (p, " | ".join(cells), rd, rb))
            L.append("")
        for n_wl, text in notes:
            if n_wl == wl:
                L.append("- note: %s" % text)
        png = [c for c in charts if c.endswith("-%s.png" % wl)]
        if png:
            L += ["", "![%s](%s)" % (wl, os.path.basename(png[0]))]
        L.append("")
    return "\n".join(L) + "\n"


def write(csv_path, meta, notes, md_path, base):
    g = group(load(csv_path))
    charts = write_charts(g, base, meta.get("titles"))
    with open(md_path, "w") as f:
        f.write(markdown(g, meta, notes, charts))
    with open(base + ".json", "w") as f:
        json.dump({"meta": meta, "notes": notes}, f, indent=1)
    return md_path


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    base = path[:-4] if path.endswith(".csv") else path
    meta, notes = {}, []
    if os.path.exists(base + ".json"):
        with open(base + ".json") as f:
            j = json.load(f)
        meta, notes = j.get("meta", {}), [tuple(n) for n in j.get("notes", [])]
    print(write(path, meta, notes, base + ".md", base))


if __name__ == "__main__":
    main()
