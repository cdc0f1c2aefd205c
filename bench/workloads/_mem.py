"""Memory of a whole process tree (a forking or multi-process server: dante, squid, nginx).

tree_mem(pid) -> {"rss": bytes, "pss": bytes}: VmRSS (/proc/PID/status) and Pss
(/proc/PID/smaps_rollup) summed over `pid` and all its live descendants. Pss divides shared
pages among the processes sharing them, so the tree's Pss sum counts every page once; the RSS
sum counts pages shared between the tree's processes (e.g. a forked child's copy-on-write
pages) once per process. Threads share their process's memory and are not counted twice.
"""

import os

from benchlib import gl


def tree_pids(pid):
    """`pid` and all its live descendants (from the PPid fields of /proc/*/stat)."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])  # comm may hold spaces and parens
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo and len(out) < 100000:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, ()))
    return out


def tree_mem(pid):
    """{"rss": bytes, "pss": bytes} summed over `pid` and all its descendants."""
    rss = pss = 0
    for p in tree_pids(pid):
        m = gl.proc_mem(p)
        rss += m.get("VmRSS", 0)
        pss += m.get("Pss", 0)
    return {"rss": rss, "pss": pss}
