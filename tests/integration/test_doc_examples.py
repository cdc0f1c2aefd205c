#!/usr/bin/env python3
"""Every YAML/JSON block of the GOST docs through `gost -C FILE -O json`.

For each *.yaml and *.json file in $GOST_SHARED/spec/gost-doc-examples/ the binary ($GOST_BIN)
must, within 10 s, either exit 0 printing valid JSON, or exit non-zero with at least one
positioned error (`file:line:col: message`) on stderr. A crash (signal), a hang, an exit 0
without valid JSON, or an error without a position fails the test.

Prints counts (printed / positioned error) per docs kind from index.tsv, and the error
categories. Python 3 standard library only.
"""
import collections
import json
import os
import re
import subprocess
import sys

TIMEOUT = 10
POSITIONED = re.compile(r":\d+:\d+: ")


def load_index(path):
    kinds = {}
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col_file, col_kind = header.index("file"), header.index("kind")
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) > max(col_file, col_kind):
                kinds[cols[col_file]] = cols[col_kind]
    return kinds


def categorize(stderr):
    """A short category for the first positioned error line."""
    for line in stderr.splitlines():
        m = POSITIONED.search(line)
        if not m:
            continue
        msg = line[m.end():]
        m2 = re.match(r'unknown key "([^"]*)" ((?:in|at) .*?)(?: \(did you mean.*)?$', msg)
        if m2:
            where = re.sub(r'"[^"]*"', '"…"', m2.group(2))
            where = re.sub(r"\[\d+\]", "[n]", where)
            return 'unknown key "%s" %s' % (m2.group(1), where)
        if "expected" in msg:
            return "wrong type: " + re.sub(r'"[^"]*"', '"…"', msg)
        return "unparseable/invalid YAML: " + re.sub(r'"[^"]*"', '"…"', msg)
    return "?"


def main():
    gost = os.environ.get("GOST_BIN")
    shared = os.environ.get("GOST_SHARED", "/work/shared")
    if not gost or not os.access(gost, os.X_OK):
        print("GOST_BIN is not set to an executable gost binary", file=sys.stderr)
        return 1
    corpus = os.path.join(shared, "spec", "gost-doc-examples")
    if not os.path.isdir(corpus):
        print("no doc examples under %s; skipping" % corpus)
        return 0
    kinds = load_index(os.path.join(corpus, "index.tsv"))
    files = sorted(f for f in os.listdir(corpus) if f.endswith((".yaml", ".json")))

    counts = collections.defaultdict(collections.Counter)
    categories = collections.Counter()
    failures = []
    for name in files:
        path = os.path.join(corpus, name)
        kind = kinds.get(name, "?")
        try:
            p = subprocess.run([gost, "-C", path, "-O", "json"], capture_output=True,
                               timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            failures.append("%s: hang (> %d s)" % (name, TIMEOUT))
            continue
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        if p.returncode < 0:
            failures.append("%s: killed by signal %d\n%s" % (name, -p.returncode, err[-2000:]))
            continue
        if p.returncode == 0:
            try:
                json.loads(out)
            except ValueError as e:
                failures.append("%s: exit 0 but invalid JSON (%s)" % (name, e))
                continue
            counts[kind]["printed"] += 1
            continue
        if "ERROR: AddressSanitizer" in err or "runtime error:" in err or \
                "LeakSanitizer" in err:
            failures.append("%s: sanitizer report\n%s" % (name, err[-3000:]))
            continue
        if not POSITIONED.search(err):
            failures.append("%s: exit %d without a positioned error: %s"
                            % (name, p.returncode, err.strip()[:300]))
            continue
        counts[kind]["positioned-error"] += 1
        categories[categorize(err)] += 1

    total = collections.Counter()
    print("%-16s %8s %17s" % ("kind", "printed", "positioned-error"))
    for kind in sorted(counts):
        c = counts[kind]
        total.update(c)
        print("%-16s %8d %17d" % (kind, c["printed"], c["positioned-error"]))
    print("%-16s %8d %17d" % ("total", total["printed"], total["positioned-error"]))
    print("\nerror categories (first error of each file):")
    for cat, n in categories.most_common():
        print("%5d  %s" % (n, cat))
    if failures:
        print("\nFAILURES (%d):" % len(failures))
        for f in failures:
            print("  " + f)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
