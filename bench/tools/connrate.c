/* connrate: connection-rate load generator (see bench/proxy_connrate.py).
 *
 *   connrate [--socks5 | --http-connect] [--target IP:PORT] [-c CONC] [-t SECS] [-n MAX]
 *            [--timeout SECS] HOST PORT
 *
 * Keeps CONC (32) connections in flight to HOST:PORT (IPv4) for SECS (5) seconds or until MAX
 * connections were started, whichever comes first. Each connection: connect -> optional
 * handshake (--socks5: no-auth greeting, then CONNECT to the IPv4 --target; --http-connect:
 * "CONNECT ip:port HTTP/1.1", status 200 expected; none: HOST:PORT is the echo server or a
 * forwarder) -> send 64 bytes -> read the 64-byte echo and check it -> wait for the peer's EOF
 * (the backend closes first, so the TIME_WAIT state lands on the server side and the client's
 * ephemeral ports are not the limit) -> close. A connection that takes longer than --timeout
 * (5 s) fails. Prints one line:
 *   ok=<n> failed=<n> secs=<t> cps=<ok/t> p50_ms=<> p99_ms=<> fail_connect=<n> fail_proto=<n>
 *   fail_timeout=<n>
 * where t runs from the first connect to the end of the last connection and the latencies are
 * per successful connection (connect .. close). Exit 1 if no connection succeeded.
 *
 * --client-close: the client closes right after the echo instead of waiting for the peer's
 * EOF (the client closes first; TIME_WAIT lands on the client's ephemeral ports).
 *
 * Single thread, epoll, non-blocking sockets. Every wait is bounded by --timeout; the whole run
 * by SECS + --timeout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD  64
#define BUFSZ    1024 /* handshake replies larger than this are a protocol failure */
#define MAX_CONC 4096

enum mode { M_DIRECT, M_SOCKS5, M_HTTP };
enum state { S_FREE, S_CONNECTING, S_S5_GREET, S_S5_REPLY, S_HTTP_REPLY, S_ECHO, S_EOF };
enum fail { F_CONNECT, F_PROTO, F_TIMEOUT };

struct conn {
    int fd;
    enum state st;
    double t0;
    unsigned seq;
    size_t got;
    unsigned char buf[BUFSZ];
};

static enum mode mode = M_DIRECT;
static int client_close; /* --client-close */
static struct sockaddr_in proxy, target;
static int ep;
static long ok_n, fail_n[3];
static double *lat; /* ms, one per successful connection */
static size_t nlat, caplat;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: connrate [--socks5 | --http-connect] [--target IP:PORT] [--client-close] [-c CONC] "
        "[-t SECS] [-n MAX] [--timeout SECS] HOST PORT\n");
    exit(2);
}

static int parse_addr(const char *ip, const char *port, struct sockaddr_in *sa)
{
    char *end;
    long p = strtol(port, &end, 10);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)p);
    return (*end == 0 && p > 0 && p < 65536 && inet_pton(AF_INET, ip, &sa->sin_addr) == 1) ? 0 : -1;
}

static void fill_payload(unsigned seq, unsigned char *p)
{
    for (int i = 0; i < PAYLOAD; i++)
        p[i] = (unsigned char)(seq * 31u + (unsigned)i * 7u);
}

static void finish(struct conn *c, int fail)
{
    double t = now_s();
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->st = S_FREE;
    if (fail >= 0) {
        fail_n[fail]++;
        return;
    }
    ok_n++;
    if (nlat == caplat) {
        caplat = caplat ? caplat * 2 : 65536;
        lat = realloc(lat, caplat * sizeof *lat);
        if (!lat) {
            fprintf(stderr, "connrate: out of memory\n");
            exit(2);
        }
    }
    lat[nlat++] = (t - c->t0) * 1e3;
}

static int send_all(struct conn *c, const void *p, size_t n)
{
    /* a few dozen bytes on a fresh socket: a short write is treated as a failure */
    return write(c->fd, p, n) == (ssize_t)n ? 0 : -1;
}

static int send_payload(struct conn *c)
{
    unsigned char p[PAYLOAD];
    fill_payload(c->seq, p);
    c->st = S_ECHO;
    return send_all(c, p, sizeof p);
}

static void consume(struct conn *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->got - n);
    c->got -= n;
}

/* Act on what is buffered. Returns 1 to keep waiting, 0 when done (success), -1 on failure. */
static int advance(struct conn *c)
{
    for (;;) {
        switch (c->st) {
        case S_S5_GREET: {
            if (c->got < 2)
                return 1;
            if (c->buf[0] != 5 || c->buf[1] != 0)
                return -1;
            consume(c, 2);
            unsigned char req[10] = {5, 1, 0, 1};
            memcpy(req + 4, &target.sin_addr, 4);
            memcpy(req + 8, &target.sin_port, 2);
            if (send_all(c, req, sizeof req) < 0)
                return -1;
            c->st = S_S5_REPLY;
            break;
        }
        case S_S5_REPLY: {
            if (c->got < 5)
                return 1;
            if (c->buf[0] != 5 || c->buf[1] != 0)
                return -1;
            size_t need = c->buf[3] == 1   ? 10
                          : c->buf[3] == 4 ? 22
                          : c->buf[3] == 3 ? 7u + c->buf[4]
                                           : 0;
            if (need == 0)
                return -1;
            if (c->got < need)
                return 1;
            consume(c, need);
            if (send_payload(c) < 0)
                return -1;
            break;
        }
        case S_HTTP_REPLY: {
            unsigned char *end = memmem(c->buf, c->got, "\r\n\r\n", 4);
            if (!end)
                return c->got >= BUFSZ ? -1 : 1;
            if (c->got < 12 || memcmp(c->buf, "HTTP/1.", 7) != 0 || memcmp(c->buf + 8, " 200", 4))
                return -1;
            consume(c, (size_t)(end + 4 - c->buf));
            if (send_payload(c) < 0)
                return -1;
            break;
        }
        case S_ECHO: {
            if (c->got < PAYLOAD)
                return 1;
            unsigned char p[PAYLOAD];
            fill_payload(c->seq, p);
            if (memcmp(c->buf, p, PAYLOAD) != 0)
                return -1;
            consume(c, PAYLOAD);
            c->st = S_EOF;
            if (client_close)
                return c->got ? -1 : 0;
            break;
        }
        case S_EOF:
            return c->got ? -1 : 1; /* nothing may follow the echo but EOF */
        default:
            return -1;
        }
    }
}

static void on_event(struct conn *c, uint32_t ev)
{
    if (c->st == S_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || (ev & EPOLLERR)) {
            finish(c, F_CONNECT);
            return;
        }
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        int r = 0;
        if (mode == M_SOCKS5) {
            c->st = S_S5_GREET;
            r = send_all(c, "\x05\x01\x00", 3);
        } else if (mode == M_HTTP) {
            char req[160], hp[32];
            inet_ntop(AF_INET, &target.sin_addr, hp, sizeof hp);
            int n = snprintf(req, sizeof req, "CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n", hp,
                             ntohs(target.sin_port), hp, ntohs(target.sin_port));
            c->st = S_HTTP_REPLY;
            r = send_all(c, req, (size_t)n);
        } else {
            r = send_payload(c);
        }
        if (r < 0)
            finish(c, F_PROTO);
        return;
    }
    for (;;) {
        ssize_t n = read(c->fd, c->buf + c->got, BUFSZ - c->got);
        if (n > 0) {
            c->got += (size_t)n;
            int r = advance(c);
            if (r <= 0) {
                finish(c, r < 0 ? F_PROTO : -1);
                return;
            }
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        /* EOF or error: success only after the whole echo */
        finish(c, n == 0 && c->st == S_EOF && c->got == 0 ? -1 : F_PROTO);
        return;
    }
}

static int start(struct conn *c, unsigned seq, double t)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&proxy, sizeof proxy) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->st = S_CONNECTING;
    c->t0 = t;
    c->seq = seq;
    c->got = 0;
    struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0) {
        close(fd);
        c->st = S_FREE;
        return -1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double p)
{
    if (!nlat)
        return 0;
    size_t i = (size_t)(p * (double)(nlat - 1) + 0.5);
    return lat[i];
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a peer that vanishes is an error to report, not a kill */
    long conc = 32, max_n = 0;
    double secs = 5, tmo = 5;
    int have_target = 0, i;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--socks5"))
            mode = M_SOCKS5;
        else if (!strcmp(a, "--http-connect"))
            mode = M_HTTP;
        else if (!strcmp(a, "--client-close"))
            client_close = 1;
        else if (v && !strcmp(a, "-c") && ++i)
            conc = atol(v);
        else if (v && !strcmp(a, "-t") && ++i)
            secs = atof(v);
        else if (v && !strcmp(a, "-n") && ++i)
            max_n = atol(v);
        else if (v && !strcmp(a, "--timeout") && ++i)
            tmo = atof(v);
        else if (v && !strcmp(a, "--target") && ++i) {
            char ip[64];
            const char *colon = strrchr(v, ':');
            if (!colon || (size_t)(colon - v) >= sizeof ip)
                usage();
            memcpy(ip, v, (size_t)(colon - v));
            ip[colon - v] = 0;
            if (parse_addr(ip, colon + 1, &target) < 0)
                usage();
            have_target = 1;
        } else
            usage();
    }
    if (argc - i != 2 || parse_addr(argv[i], argv[i + 1], &proxy) < 0 || conc < 1 ||
        conc > MAX_CONC || secs <= 0 || tmo <= 0 || max_n < 0 || (mode != M_DIRECT && !have_target))
        usage();

    struct conn *cs = calloc((size_t)conc, sizeof *cs);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (!cs || ep < 0) {
        perror("connrate: init");
        return 2;
    }
    for (long k = 0; k < conc; k++)
        cs[k].fd = -1;

    struct epoll_event evs[256];
    long launched = 0;
    double t0 = now_s(), t_stop = t0 + secs, t_hard = t_stop + tmo + 1, t_end = t0;
    for (;;) {
        double t = now_s();
        int launching = t < t_stop && (max_n == 0 || launched < max_n);
        long active = 0;
        for (long k = 0; k < conc; k++) {
            struct conn *c = &cs[k];
            if (c->st != S_FREE && t - c->t0 > tmo)
                finish(c, F_TIMEOUT);
            if (c->st == S_FREE && launching && (max_n == 0 || launched < max_n)) {
                if (start(c, (unsigned)launched, t) < 0)
                    fail_n[F_CONNECT]++;
                launched++;
            }
            active += c->st != S_FREE;
        }
        if (!active && !(launching && (max_n == 0 || launched < max_n)))
            break;
        if (t > t_hard) {
            for (long k = 0; k < conc; k++)
                if (cs[k].st != S_FREE)
                    finish(&cs[k], F_TIMEOUT);
            break;
        }
        int n = epoll_wait(ep, evs, 256, 10);
        if (n < 0 && errno != EINTR) {
            perror("connrate: epoll_wait");
            return 2;
        }
        for (int e = 0; e < n; e++)
            on_event(evs[e].data.ptr, evs[e].events);
        t_end = now_s();
    }
    double dt = t_end - t0;
    qsort(lat, nlat, sizeof *lat, cmp_double);
    long failed = fail_n[F_CONNECT] + fail_n[F_PROTO] + fail_n[F_TIMEOUT];
    printf("ok=%ld failed=%ld secs=%.4f cps=%.1f p50_ms=%.3f p99_ms=%.3f fail_connect=%ld "
           "fail_proto=%ld fail_timeout=%ld\n",
           ok_n, failed, dt, dt > 0 ? ok_n / dt : 0, pct(0.50), pct(0.99), fail_n[F_CONNECT],
           fail_n[F_PROTO], fail_n[F_TIMEOUT]);
    free(lat);
    free(cs);
    close(ep);
    return ok_n > 0 ? 0 : 1;
}
