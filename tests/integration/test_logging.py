#!/usr/bin/env python3
"""GOST's `log` section and -D: JSON records on stderr by default, text format, file output,
`none`, debug level; one record when a session opens and one when it closes with the byte
counts that really passed.

Run: GOST_BIN=build/gost python3 tests/integration/test_logging.py
"""

import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gostlib_test import (  # noqa: E402
    EchoServer, check, echo_check, run_tests, start_gost)

H = "127.0.0.1"


def fwd_cfg(port, target, log=None):
    cfg = {"services": [{
        "name": "logged", "addr": "%s:%d" % (H, port), "listener": {"type": "tcp"},
        "handler": {"type": "tcp"},
        "forwarder": {"nodes": [{"name": "target-0", "addr": "%s:%d" % (H, target)}]}}]}
    if log:
        cfg["log"] = log
    return cfg


def wait_until(pred, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_default_json_open_and_close_records():
    payload = b"0123456789" * 7
    with EchoServer() as echo, start_gost(lambda p: fwd_cfg(p, echo.port), tcp=1) as g:
        echo_check(g.port, [payload])
        check(wait_until(lambda: any(r.get("msg", "").find(" >< ") > 0
                                     for r in g.log_records())), "no closing record")
        recs = g.log_records()
    opens = [r for r in recs if " <> " in r.get("msg", "")]
    closes = [r for r in recs if " >< " in r.get("msg", "")]
    check(len(opens) == 1 and len(closes) == 1,
          "want one open and one close record, got %d/%d" % (len(opens), len(closes)))
    c = closes[0]
    for key in ("time", "level", "service", "sid", "remote", "local", "duration"):
        check(key in c, "close record lacks %r: %s" % (key, c))
    check(c["service"] == "logged" and c["level"] == "info", "bad record: %s" % c)
    check(c.get("inputBytes") == len(payload) and c.get("outputBytes") == len(payload),
          "byte counts %s/%s, want %d both ways"
          % (c.get("inputBytes"), c.get("outputBytes"), len(payload)))
    check(opens[0]["sid"] == c["sid"], "open and close records carry different sids")
    check(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$", c["time"]),
          "time %r is not RFC 3339 with milliseconds" % c["time"])


def test_text_format_to_file_and_debug_level():
    with tempfile.TemporaryDirectory(prefix="gost-log-") as d, EchoServer() as echo:
        path = os.path.join(d, "sub", "gost.log")
        log = {"format": "text", "level": "debug", "output": path}
        with start_gost(lambda p: fwd_cfg(p, echo.port, log), tcp=1) as g:
            echo_check(g.port, [b"hi"])
            check(wait_until(lambda: os.path.exists(path) and " >< " in open(path).read()),
                  "log file %s has no closing record" % path)
            check(g.stderr_text().strip() == "", "stderr not empty with a log file: %r"
                  % g.stderr_text()[:300])
        text = open(path).read()
        lines = [ln for ln in text.splitlines() if ln]
        check(all(ln.startswith("time=") and " level=" in ln for ln in lines),
              "not logfmt: %r" % lines[:3])
        check(any("level=debug" in ln for ln in lines), "no debug record at level debug")
        check(any('msg="' in ln and "inputBytes=2" in ln for ln in lines),
              "closing record without inputBytes=2: %r" % lines[-3:])


def test_output_none_and_cli_debug_flag():
    with EchoServer() as echo:
        with start_gost(lambda p: fwd_cfg(p, echo.port, {"output": "none"}), tcp=1) as g:
            echo_check(g.port, [b"quiet"])
            time.sleep(0.3)
            check(g.stderr_text() == "", "output none still wrote: %r" % g.stderr_text()[:200])
        with start_gost(lambda p: ["-D", "-L", "tcp://%s:%d/%s:%d" % (H, p, H, echo.port)],
                        tcp=1) as g:
            echo_check(g.port, [b"loud"])
            check(wait_until(lambda: any(r.get("level") == "debug" for r in g.log_records())),
                  "-D gave no debug record")
            check(all("caller" in r for r in g.log_records() if r.get("level") == "debug"),
                  "debug records without caller")


def test_bad_log_config_is_an_error():
    with tempfile.TemporaryDirectory(prefix="gost-log-") as d:
        cfg = os.path.join(d, "gost.yaml")
        with open(cfg, "w") as f:
            f.write("services:\n- name: s\n  addr: 127.0.0.1:0\n  handler: {type: tcp}\n"
                    "  forwarder: {nodes: [{name: t, addr: '127.0.0.1:1'}]}\n"
                    "log:\n  level: loud\n")
        import subprocess
        r = subprocess.run([os.environ["GOST_BIN"], "-C", cfg], capture_output=True,
                           timeout=10, text=True)
        check(r.returncode != 0, "gost accepted log level 'loud'")
        check("loud" in r.stderr, "error does not name the bad level: %r" % r.stderr[:300])
        check(re.search(r"gost\.yaml:7:10: ", r.stderr),
              "error is not positioned at the level value (line 7, col 10): %r" % r.stderr[:300])


if __name__ == "__main__":
    run_tests(globals())
