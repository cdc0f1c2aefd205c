/* bulk: TCP bulk throughput, sender/receiver pair (see bench/throughput.py).
 *
 *   bulk sink
 *       listen on 127.0.0.1:<kernel port>, print "PORT <port>"; for each connection (one
 *       thread each) read until EOF, then send the byte count (8 bytes, big-endian) and close.
 *       A connection that starts with the 8 bytes "BULKFRM1" (bulk send --framed) is read as
 *       [u32 big-endian length][payload] frames instead: the count (payload bytes only) is
 *       sent when the 0-length end frame arrives, no EOF needed.
 *       Runs until stdin reaches EOF or it is signalled.
 *   bulk send [--streams N] [--socks5 IP:PORT | --http-connect IP:PORT] [--framed]
 *             <host> <port> <max_bytes> <max_seconds>
 *       (options may come before, between or after the positional arguments)
 *       open N (default 1, at most 64) parallel connections (one thread each) to host:port,
 *       send until max_bytes (a budget shared by all streams) are sent or max_seconds have
 *       passed since the start, SHUT_WR, wait for the sink's count on every stream, and print
 *       "bytes=<n> secs=<t> gbps=<g>" (n = sum of the bytes the sink acknowledged, t = first
 *       connect .. last count received, so every byte was delivered), plus " streams=<N>" when
 *       --streams is given.
 *       --socks5: host:port is a SOCKS5 proxy: no-auth greeting, CONNECT to the IPv4 target
 *       IP:PORT (the sink), reply 0x00 expected (bound address of ATYP 1/3/4 consumed).
 *       --http-connect: host:port is an HTTP proxy: "CONNECT ip:port HTTP/1.1" with a Host
 *       header, a 200 status line expected, the header read through the blank line (any bytes
 *       after it are kept as the start of the sink's count).
 *       --framed: send "BULKFRM1", then the data as frames of at most 1 MiB (4-byte header
 *       each), then an end frame, and wait for the count without SHUT_WR. Needed through
 *       proxies that close both directions on the client's EOF instead of relaying the
 *       half-close (microsocks, tinyproxy); gost, socat, haproxy relay it. For comparable
 *       numbers use the same mode on every path.
 *       Exit 1 (message on stderr, nothing on stdout) if any stream fails: connect, handshake
 *       or write error, missing count, or a count different from the bytes sent on it. A stream
 *       still running max_seconds + 30 s after the start also fails the run (watchdog, and
 *       SO_SNDTIMEO/SO_RCVTIMEO on every socket). Exit 2 on usage errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define BUF         (1 << 20)
#define MAX_STREAMS 64
#define HS_BUF      1024       /* handshake replies larger than this are a protocol failure */
#define MAGIC       "BULKFRM1" /* first bytes of a --framed connection */
#define MAGIC_LEN   8
#define GRACE_S     30 /* a stream must be done this long after max_seconds */

enum proxy { P_NONE, P_SOCKS5, P_HTTP };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static ssize_t read_some(int fd, char *p, size_t n)
{
    for (;;) {
        ssize_t k = read(fd, p, n);
        if (k >= 0 || errno != EINTR)
            return k;
    }
}

/* --framed: count the payload of [u32 length][payload] frames until a 0-length frame */
static uint64_t sink_framed(int fd, char *buf, size_t off, size_t n)
{
    uint64_t total = 0, left = 0; /* payload bytes still due in the current frame */
    unsigned char hdr[4];
    size_t hn = 0;
    for (;;) {
        const char *p = buf + off, *e = buf + n;
        while (p < e) {
            if (left) {
                size_t take = (size_t)(e - p) < left ? (size_t)(e - p) : (size_t)left;
                total += take;
                left -= take;
                p += take;
                continue;
            }
            hdr[hn++] = (unsigned char)*p++;
            if (hn == 4) {
                hn = 0;
                left = (uint64_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
                if (left == 0)
                    return total; /* end frame: nothing may follow it */
            }
        }
        ssize_t k = read_some(fd, buf, BUF);
        if (k <= 0)
            return total; /* EOF without the end frame: the sender sees the short count */
        off = 0;
        n = (size_t)k;
    }
}

static void *sink_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *buf = malloc(BUF);
    uint64_t total = 0;
    size_t got = 0;
    ssize_t n;
    while (got < MAGIC_LEN && (n = read_some(fd, buf + got, BUF - got)) > 0)
        got += (size_t)n;
    if (got >= MAGIC_LEN && memcmp(buf, MAGIC, MAGIC_LEN) == 0) {
        total = sink_framed(fd, buf, MAGIC_LEN, got);
    } else if (got > 0) {
        total = got;
        while ((n = read_some(fd, buf, BUF)) > 0)
            total += (uint64_t)n;
    }
    unsigned char be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)(total >> (56 - 8 * i));
    if (write(fd, be, 8) != 8) {
        /* the sender reports the missing count */
    }
    close(fd);
    free(buf);
    return NULL;
}

static void *stdin_watch(void *arg)
{
    (void)arg;
    char c;
    while (read(0, &c, 1) > 0) {
    }
    exit(0);
}

static int sink(void)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 128) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
        perror("bulk sink: listen");
        return 2;
    }
    printf("PORT %d\n", ntohs(a.sin_port));
    fflush(stdout);
    pthread_t t;
    pthread_create(&t, NULL, stdin_watch, NULL);
    for (;;) {
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("bulk sink: accept");
            return 2;
        }
        if (pthread_create(&t, NULL, sink_conn, (void *)(intptr_t)c) == 0)
            pthread_detach(t);
        else
            close(c);
    }
}

/* ---- sender ---- */

static struct {
    struct sockaddr_in addr;   /* what we connect to: the sink, or the proxy */
    struct sockaddr_in target; /* with a proxy: the sink */
    enum proxy proxy;
    int framed;
    uint64_t max_bytes;
    double t0, deadline, io_timeout;
    const char *buf;          /* BUF bytes of pseudo-random data, shared read-only */
    _Atomic uint64_t claimed; /* bytes of the budget handed out to streams */
    atomic_int abort;         /* set by the first stream that fails */
} g;

struct stream {
    int id;
    uint64_t sent, counted;
    double t_done; /* when the count was received */
    char err[160]; /* empty = success */
    unsigned char hs[HS_BUF];
    size_t got; /* bytes buffered in hs (handshake reply, then the start of the count) */
};

static int sendall(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* one frame: 4-byte big-endian length, then n bytes of g.buf (n = 0: the end frame) */
static int send_frame(int fd, size_t n)
{
    unsigned char hdr[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};
    struct iovec iov[2] = {{hdr, 4}, {(void *)g.buf, n}}, *v = iov;
    int cnt = 2;
    while (cnt > 0) {
        ssize_t w = writev(fd, v, cnt);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        size_t left = (size_t)w;
        for (; cnt > 0 && left >= v->iov_len; v++, cnt--)
            left -= v->iov_len;
        if (cnt > 0) {
            v->iov_base = (char *)v->iov_base + left;
            v->iov_len -= left;
        }
    }
    return 0;
}

static int fail(struct stream *s, const char *fmt, const char *what)
{
    snprintf(s->err, sizeof s->err, fmt, what);
    atomic_store(&g.abort, 1);
    return -1;
}

/* read until s->hs holds at least `need` bytes; 0 ok, -1 on EOF / error / timeout */
static int fill(int fd, struct stream *s, size_t need)
{
    while (s->got < need) {
        ssize_t k = read(fd, s->hs + s->got, sizeof s->hs - s->got);
        if (k > 0) {
            s->got += (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        return -1;
    }
    return 0;
}

static void consume(struct stream *s, size_t n)
{
    memmove(s->hs, s->hs + n, s->got - n);
    s->got -= n;
}

static int socks5_handshake(int fd, struct stream *s)
{
    if (sendall(fd, "\x05\x01\x00", 3) < 0)
        return fail(s, "socks5 greeting: %s", strerror(errno));
    if (fill(fd, s, 2) < 0)
        return fail(s, "socks5 greeting: %s", "no reply");
    if (s->hs[0] != 5 || s->hs[1] != 0)
        return fail(s, "socks5 greeting: %s", "method refused");
    consume(s, 2);
    unsigned char req[10] = {5, 1, 0, 1};
    memcpy(req + 4, &g.target.sin_addr, 4);
    memcpy(req + 8, &g.target.sin_port, 2);
    if (sendall(fd, (const char *)req, sizeof req) < 0)
        return fail(s, "socks5 connect: %s", strerror(errno));
    if (fill(fd, s, 5) < 0)
        return fail(s, "socks5 connect: %s", "no reply");
    if (s->hs[0] != 5 || s->hs[1] != 0) {
        char what[32];
        snprintf(what, sizeof what, "reply code %u", s->hs[1]);
        return fail(s, "socks5 connect: %s", what);
    }
    /* VER REP RSV ATYP BND.ADDR BND.PORT: ATYP 1 = 4 bytes, 4 = 16, 3 = 1 + len */
    size_t need = s->hs[3] == 1 ? 10 : s->hs[3] == 4 ? 22 : s->hs[3] == 3 ? 7u + s->hs[4] : 0;
    if (need == 0)
        return fail(s, "socks5 connect: %s", "bad ATYP in reply");
    if (fill(fd, s, need) < 0)
        return fail(s, "socks5 connect: %s", "short reply");
    consume(s, need);
    return 0;
}

static int http_handshake(int fd, struct stream *s)
{
    char req[160], ip[32];
    inet_ntop(AF_INET, &g.target.sin_addr, ip, sizeof ip);
    int port = ntohs(g.target.sin_port);
    int n = snprintf(req, sizeof req, "CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n", ip, port, ip,
                     port);
    if (sendall(fd, req, (size_t)n) < 0)
        return fail(s, "http connect: %s", strerror(errno));
    unsigned char *end;
    while (!(end = memmem(s->hs, s->got, "\r\n\r\n", 4))) {
        if (s->got == sizeof s->hs)
            return fail(s, "http connect: %s", "reply header too long");
        if (fill(fd, s, s->got + 1) < 0)
            return fail(s, "http connect: %s", "no complete reply");
    }
    if (s->got < 12 || memcmp(s->hs, "HTTP/1.", 7) != 0 || memcmp(s->hs + 8, " 200", 4) != 0) {
        char *eol = memchr(s->hs, '\r', s->got);
        char line[64];
        snprintf(line, sizeof line, "%.*s", (int)(eol ? eol - (char *)s->hs : 0), s->hs);
        return fail(s, "http connect: status line \"%s\"", line);
    }
    consume(s, (size_t)(end + 4 - s->hs)); /* keep what follows the blank line */
    return 0;
}

/* claim the next chunk of the shared byte budget; 0 when it is used up */
static size_t claim(void)
{
    uint64_t c = atomic_load(&g.claimed);
    for (;;) {
        if (c >= g.max_bytes)
            return 0;
        uint64_t n = g.max_bytes - c < BUF ? g.max_bytes - c : BUF;
        if (atomic_compare_exchange_weak(&g.claimed, &c, c + n))
            return (size_t)n;
    }
}

static void *stream_run(void *arg)
{
    struct stream *s = arg;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail(s, "socket: %s", strerror(errno));
        return NULL;
    }
    struct timeval tv = {.tv_sec = (time_t)g.io_timeout};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&g.addr, sizeof g.addr) < 0) {
        fail(s, "connect: %s", strerror(errno));
        goto out;
    }
    if ((g.proxy == P_SOCKS5 && socks5_handshake(fd, s) < 0) ||
        (g.proxy == P_HTTP && http_handshake(fd, s) < 0))
        goto out;
    if (g.framed && sendall(fd, MAGIC, MAGIC_LEN) < 0) {
        fail(s, "write: %s", strerror(errno));
        goto out;
    }
    while (!atomic_load(&g.abort) && now_s() < g.deadline) {
        size_t n = claim();
        if (n == 0)
            break;
        if ((g.framed ? send_frame(fd, n) : sendall(fd, g.buf, n)) < 0) {
            fail(s, "write: %s", strerror(errno));
            goto out;
        }
        s->sent += n;
    }
    if (atomic_load(&g.abort))
        goto out;
    if (!g.framed) {
        shutdown(fd, SHUT_WR);
    } else if (send_frame(fd, 0) < 0) {
        fail(s, "write: %s", strerror(errno));
        goto out;
    }
    if (fill(fd, s, 8) < 0) {
        char what[64];
        snprintf(what, sizeof what, "no byte count from the sink (got %zu bytes)", s->got);
        fail(s, "%s", what);
        goto out;
    }
    s->t_done = now_s();
    for (int i = 0; i < 8; i++)
        s->counted = s->counted << 8 | s->hs[i];
    if (s->got != 8) {
        fail(s, "%s", "unexpected bytes after the sink's count");
    } else if (s->counted != s->sent) {
        char what[96];
        snprintf(what, sizeof what, "sent %llu bytes, sink counted %llu",
                 (unsigned long long)s->sent, (unsigned long long)s->counted);
        fail(s, "%s", what);
    }
out:
    close(fd);
    return NULL;
}

static int parse_ipport(const char *v, struct sockaddr_in *sa)
{
    char ip[64];
    const char *colon = strrchr(v, ':');
    if (!colon || (size_t)(colon - v) >= sizeof ip)
        return -1;
    memcpy(ip, v, (size_t)(colon - v));
    ip[colon - v] = 0;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)p);
    return (*end == 0 && p > 0 && p < 65536 && inet_pton(AF_INET, ip, &sa->sin_addr) == 1) ? 0 : -1;
}

static int usage(void)
{
    fprintf(stderr, "usage: bulk sink | bulk send [--streams N] [--socks5 IP:PORT | "
                    "--http-connect IP:PORT] [--framed] HOST PORT MAX_BYTES MAX_SECONDS\n");
    return 2;
}

static int sender(int argc, char **argv)
{
    const char *pos[4];
    int npos = 0, nstreams = 1, show_streams = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strncmp(a, "--", 2) != 0) {
            if (npos == 4)
                return usage();
            pos[npos++] = a;
            continue;
        }
        if (!strcmp(a, "--framed")) {
            g.framed = 1;
            continue;
        }
        if (!v)
            return usage();
        i++;
        if (!strcmp(a, "--streams")) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > MAX_STREAMS)
                return usage();
            nstreams = (int)n;
            show_streams = 1;
        } else if ((!strcmp(a, "--socks5") || !strcmp(a, "--http-connect")) && g.proxy == P_NONE) {
            g.proxy = a[2] == 's' ? P_SOCKS5 : P_HTTP;
            if (parse_ipport(v, &g.target) < 0)
                return usage();
        } else {
            return usage();
        }
    }
    if (npos != 4)
        return usage();
    char ipport[96];
    snprintf(ipport, sizeof ipport, "%s:%s", pos[0], pos[1]);
    char *end1, *end2;
    g.max_bytes = strtoull(pos[2], &end1, 10);
    double max_secs = strtod(pos[3], &end2);
    if (parse_ipport(ipport, &g.addr) < 0 || *end1 || *end2 || !(max_secs > 0))
        return usage();

    char *buf = malloc(BUF);
    struct stream *ss = calloc((size_t)nstreams, sizeof *ss);
    pthread_t th[MAX_STREAMS];
    if (!buf || !ss) {
        fprintf(stderr, "bulk send: out of memory\n");
        return 2;
    }
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < BUF; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (char)x;
    }
    g.buf = buf;
    g.io_timeout = max_secs < 86400 ? max_secs + GRACE_S : 86400;
    g.t0 = now_s();
    g.deadline = g.t0 + max_secs;
    struct timespec hard; /* watchdog: every stream must be done by then */
    clock_gettime(CLOCK_REALTIME, &hard);
    hard.tv_sec += (time_t)g.io_timeout;
    int started = 0;
    for (int i = 0; i < nstreams; i++, started++) {
        ss[i].id = i;
        int e = pthread_create(&th[i], NULL, stream_run, &ss[i]);
        if (e) {
            fail(&ss[i], "pthread_create: %s", strerror(e));
            break;
        }
    }
    for (int i = 0; i < started; i++) {
        if (pthread_timedjoin_np(th[i], NULL, &hard) == ETIMEDOUT) {
            fprintf(stderr, "bulk send: stream %d: not done %.0f s after the start\n", i,
                    g.io_timeout);
            fflush(stderr);
            _exit(1);
        }
    }
    int rc = 0;
    uint64_t total = 0;
    double t_end = g.t0;
    for (int i = 0; i < nstreams; i++) {
        if (ss[i].err[0]) {
            fprintf(stderr, "bulk send: stream %d: %s\n", i, ss[i].err);
            rc = 1;
        }
        total += ss[i].counted;
        if (ss[i].t_done > t_end)
            t_end = ss[i].t_done;
    }
    if (rc == 0) {
        double dt = t_end - g.t0;
        printf("bytes=%llu secs=%.4f gbps=%.3f", (unsigned long long)total, dt,
               total * 8 / dt / 1e9);
        if (show_streams)
            printf(" streams=%d", nstreams);
        printf("\n");
    }
    free(ss);
    free(buf);
    return rc;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a peer that vanishes is an error to report, not a kill */
    if (argc == 2 && strcmp(argv[1], "sink") == 0)
        return sink();
    if (argc >= 2 && strcmp(argv[1], "send") == 0)
        return sender(argc, argv);
    return usage();
}
