"""W10 deterministic counts: instructions gost executes per SOCKS5 connection and per MiB of
TLS relay, counted by callgrind (valgrind --tool=callgrind), so the figure does not depend on
the machine's load or clock.

callgrind counts user-space instructions only (gost and the libraries it calls: libc,
libcrypto, libssl), never the kernel's work for its system calls. Valgrind runs gost's threads
one at a time and emulates the CPU: its CPUID has no AVX-512, so OpenSSL takes its AES-NI/AVX2
paths, which may differ from what it picks natively on this machine.

- "socks5 conn", instr_per_conn: gost `-L socks5://127.0.0.1:P?notls=true` (GOST_WORKERS=1,
  GOST_LOGGER_LEVEL=warn) under callgrind, driven by `connrate --socks5 -c 1 -n N` (greeting,
  CONNECT, 64 bytes echoed by `holder --echo-close 64`, which closes first). gost, connrate and
  the backend are pinned to one CPU: with them on different CPUs the number of event-loop
  wake-ups per connection (and so the count) depends on which side wins each race, by ~3 %
  run to run; on one CPU two runs agree to ~0.1 %. gost is stopped with SIGTERM so callgrind
  writes its totals. instr_per_conn = (total(N2) - total(N1)) / (N2 - N1), which cancels
  start-up and shutdown.
- "tls MiB", instr_per_mib: gost `-L tls://127.0.0.1:P/127.0.0.1:SINK` (the TLS listener with
  the forward handler; its generated self-signed ECDSA certificate) under callgrind; a Python
  ssl client (no verification) sends M MiB, shuts down its TCP write side at a record boundary
  (gost reads that as EOF, as Go does), and reads the sink's 8-byte count relayed back over TLS
  (the count must equal M MiB). instr_per_mib = (total(M2) - total(M1)) / (M2 - M1): decrypting
  and relaying one MiB, handshake and start-up cancelled. The negotiated cipher is noted.

Sizes: full N = 200/2000, M = 8/40 MiB; quick N = 100/600, M = 4/12 MiB. Each round is one
pair of runs.
"""

import os
import socket
import ssl
import struct
import subprocess
import time

import peers
from benchlib import gl

TITLE = "Instruction counts (callgrind)"
H = "127.0.0.1"


def cpu():
    """One CPU for gost and its clients (the last one we may run on)."""
    return max(os.sched_getaffinity(0))


def callgrind(b, args, tag, fn):
    """Run gost `args` under callgrind (one worker, pinned), call fn(port) while it runs, stop
    it with SIGTERM; returns (total instructions, fn's result)."""
    port = gl.free_port()
    out = os.path.join(b.tmp, "callgrind.%s" % tag)
    if os.path.exists(out):
        os.unlink(out)
    cmd = ["taskset", "-c", str(cpu()), "valgrind", "--tool=callgrind", "-q",
           "--callgrind-out-file=" + out, b.gost] + [a.replace("{port}", str(port))
                                                     for a in args]
    p = b.spawn(cmd, "w10-gost", env={"GOST_WORKERS": "1", "GOST_LOGGER_LEVEL": "warn"})
    try:
        peers.wait_port(b, p, port, "w10-gost", timeout=60)
        res = fn(port)
        p.terminate()
        p.wait(timeout=60)
    finally:
        b.stop(p)
    with open(out) as f:
        tot = {ln.split(":")[0]: ln.split()[1] for ln in f
               if ln.startswith(("totals:", "summary:"))}
    if not tot:
        raise RuntimeError("no totals in %s: %s" % (out, b.err_tail("w10-gost")))
    return int(tot.get("totals", tot.get("summary"))), res


def socks5_total(b, backend, n):
    def drive(port):
        r = b.run(["taskset", "-c", str(cpu()), os.path.join(b.tools, "connrate"), "--socks5",
                   "--target", "%s:%d" % (H, backend), "-c", "1", "-n", str(n), "-t", "150",
                   "--timeout", "20", H, str(port)], timeout=200)
        if r.get("ok") != n:
            raise RuntimeError("connrate: %d of %d connections ok" % (r.get("ok", 0), n))
    return callgrind(b, ["-L", "socks5://%s:{port}?notls=true" % H], "socks5-%d" % n, drive)[0]


def tls_send(port, nbytes):
    """TLS-connect, send nbytes, half-close the TCP socket, return (sink count, cipher)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((H, port), timeout=120) as raw:
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        chunk = b"\x5a" * (256 << 10)
        left = nbytes
        while left > 0:
            k = min(left, len(chunk))
            s.sendall(chunk[:k])
            left -= k
        socket.socket.shutdown(s, socket.SHUT_WR)  # TCP FIN, keeps the TLS state readable
        got = b""
        deadline = time.monotonic() + 120
        while len(got) < 8 and time.monotonic() < deadline:
            d = s.recv(8 - len(got))
            if not d:
                break
            got += d
        if len(got) != 8:
            raise RuntimeError("no byte count from the sink (%d bytes)" % len(got))
        c = s.cipher()
        return struct.unpack(">Q", got)[0], "%s %s" % (c[1], c[0])


def tls_total(b, sink, mib):
    def drive(port):
        count, cipher = tls_send(port, mib << 20)
        if count != mib << 20:
            raise RuntimeError("sink counted %d of %d bytes" % (count, mib << 20))
        return cipher
    return callgrind(b, ["-L", "tls://%s:{port}/%s:%d" % (H, H, sink)], "tls-%d" % mib, drive)


def pin(pid):
    """Pin `pid` and its threads to cpu()."""
    for t in os.listdir("/proc/%d/task" % pid):
        os.sched_setaffinity(int(t), {cpu()})


def run(b):
    if not subprocess.run(["sh", "-c", "command -v valgrind && command -v taskset"],
                          capture_output=True, timeout=10).returncode == 0:
        b.note("valgrind or taskset missing: W10 skipped")
        return
    n1, n2 = (100, 600) if b.quick else (200, 2000)
    m1, m2 = (4, 12) if b.quick else (8, 40)
    backend = b.start_peer(peers.echo_close, 64)
    sink = b.start_peer(peers.sink)
    if not backend or not sink:
        return
    pin(backend.pid)
    pin(sink.pid)
    ciphers = set()

    def conn(rnd):
        t0 = time.monotonic()
        t1, t2 = socks5_total(b, backend.port, n1), socks5_total(b, backend.port, n2)
        print("  W10  socks5 totals N=%d: %d  N=%d: %d  (%.0f s)" % (n1, t1, n2, t2,
              time.monotonic() - t0), flush=True)
        return {"instr_per_conn": (t2 - t1) / (n2 - n1)}

    def tls(rnd):
        t0 = time.monotonic()
        (t1, c1), (t2, c2) = tls_total(b, sink.port, m1), tls_total(b, sink.port, m2)
        ciphers.update((c1, c2))
        print("  W10  tls totals %d MiB: %d  %d MiB: %d  (%.0f s)" % (m1, t1, m2, t2,
              time.monotonic() - t0), flush=True)
        return {"instr_per_mib": (t2 - t1) / (m2 - m1)}

    b.interleave("socks5 conn", [("gost", conn)])
    b.interleave("tls MiB", [("gost", tls)])
    b.note("socks5: N = %d and %d connections; tls: %d and %d MiB; negotiated %s; user-space "
           "instructions only (callgrind); gost, clients and backends pinned to CPU %d"
           % (n1, n2, m1, m2, ", ".join(sorted(ciphers)) or "?", cpu()))
