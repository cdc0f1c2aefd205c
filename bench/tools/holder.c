/* holder: open N TCP connections to a target (gost) and hold them open, proving each one
 * with a 1-byte echo; the same process is the echo backend the target forwards to.
 *
 * Driven over stdin/stdout (see bench/idle_mem.py):
 *   start               -> prints "BACKEND <port>"            (echo backend on 127.0.0.1)
 *   "CONNECT <host> <port> <n> <inflight> <timeout_s> [socks5|http <ip:port>]"
 *                       -> prints "HELD <ok> FAILED <failed> MS <elapsed_ms>"
 *                          with "socks5 <ip:port>" host:port is a SOCKS5 proxy: each connection
 *                          first does the no-auth greeting and CONNECT to the IPv4 ip:port
 *                          (reply 0x00, bound address of ATYP 1/3/4 consumed); with
 *                          "http <ip:port>" it sends "CONNECT ip:port HTTP/1.1" + Host header
 *                          and expects a 200 reply header (nothing may follow it); then the
 *                          1-byte echo proof as without a proxy.
 *   "CHECK"             -> prints "ALIVE <n> DROPPED <n>"       (held conns still open)
 *   "QUIT" or EOF       -> closes everything, prints "BYE", exits 0
 *
 * Single thread, epoll, non-blocking sockets; at most <inflight> connections not yet proven
 * (connecting, handshaking or waiting for the echo). Handshake replies are parsed with
 * MSG_PEEK under edge-triggered EPOLLIN and only consumed once complete, so no per-connection
 * buffer is needed.
 * Needs RLIMIT_NOFILE >= 2*n + 16 (the soft limit is raised to the hard one at start).
 *
 * `holder --echo-close <bytes>`: the echo backend closes each connection (the backend closes
 * first) once it has echoed <bytes> bytes on it (bench/proxy_connrate.py, 64 bytes).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum kind {
    K_NONE,
    K_LISTEN,
    K_STDIN,
    K_BACKEND,
    K_CONNECTING,
    K_WAIT_ECHO,
    K_HELD,
    K_S5_GREET,  /* greeting sent, waiting for the 2-byte method reply */
    K_S5_REPLY,  /* CONNECT sent, waiting for the reply */
    K_HTTP_REPLY /* CONNECT sent, waiting for the reply header */
};
enum proxy { P_NONE, P_SOCKS5, P_HTTP };
#define HS_MAX    1024 /* handshake replies larger than this are a failure */
#define HS_EVENTS (EPOLLIN | EPOLLRDHUP | EPOLLET)

static unsigned char *kinds; /* indexed by fd */
static size_t nkinds;
static int ep;
static long ok_n, failed_n, inflight, dropped_n;
static long echo_close;  /* --echo-close: close a backend conn after this many bytes, 0 = never */
static uint32_t *echoed; /* with --echo-close: bytes echoed so far, indexed by fd */
static enum proxy proxy; /* of the current CONNECT command */
static struct sockaddr_in target; /* with a proxy: where it connects to */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
    fprintf(stderr, "holder: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void watch(int fd, enum kind k, uint32_t ev, int op)
{
    if ((size_t)fd >= nkinds) {
        fprintf(stderr, "holder: fd %d beyond table\n", fd);
        exit(2);
    }
    kinds[fd] = (unsigned char)k;
    if (echoed)
        echoed[fd] = 0;
    struct epoll_event e = {.events = ev, .data.fd = fd};
    if (epoll_ctl(ep, op, fd, &e) < 0)
        die("epoll_ctl");
}

static void drop(int fd)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    kinds[fd] = K_NONE;
    close(fd);
}

static int start_connect(const struct sockaddr_in *to)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)to, sizeof *to) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    watch(fd, K_CONNECTING, EPOLLOUT, EPOLL_CTL_ADD);
    return fd;
}

/* send s (a few dozen bytes on a fresh socket: a short write is a failure) */
static int send_str(int fd, const void *p, size_t n)
{
    return write(fd, p, n) == (ssize_t)n ? 0 : -1;
}

/* the connection is up: start the proxy handshake, or the echo proof without a proxy */
static int start_handshake(int fd)
{
    if (proxy == P_SOCKS5) {
        watch(fd, K_S5_GREET, HS_EVENTS, EPOLL_CTL_MOD);
        return send_str(fd, "\x05\x01\x00", 3);
    }
    if (proxy == P_HTTP) {
        char req[160], ip[32];
        inet_ntop(AF_INET, &target.sin_addr, ip, sizeof ip);
        int port = ntohs(target.sin_port);
        int n = snprintf(req, sizeof req, "CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n", ip, port,
                         ip, port);
        watch(fd, K_HTTP_REPLY, HS_EVENTS, EPOLL_CTL_MOD);
        return send_str(fd, req, (size_t)n);
    }
    watch(fd, K_WAIT_ECHO, EPOLLIN, EPOLL_CTL_MOD);
    return send_str(fd, "h", 1);
}

/* Peek at the buffered reply; once complete, consume it and take the next step. Called on
 * every edge (new data or EOF). Returns 1 to keep waiting, 0 on progress, -1 on failure. */
static int handshake(int fd)
{
    unsigned char b[HS_MAX];
    ssize_t got = recv(fd, b, sizeof b, MSG_PEEK);
    if (got < 0)
        return errno == EAGAIN || errno == EINTR ? 1 : -1;
    if (got == 0)
        return -1; /* EOF before the reply was complete */
    size_t need = 0;
    switch (kinds[fd]) {
    case K_S5_GREET:
        if (got < 2)
            return 1;
        if (b[0] != 5 || b[1] != 0 || got > 2) /* nothing may follow before our request */
            return -1;
        need = 2;
        break;
    case K_S5_REPLY:
        if (got < 5)
            return 1;
        if (b[0] != 5 || b[1] != 0)
            return -1;
        /* VER REP RSV ATYP BND.ADDR BND.PORT: ATYP 1 = 4 bytes, 4 = 16, 3 = 1 + len */
        need = b[3] == 1 ? 10 : b[3] == 4 ? 22 : b[3] == 3 ? 7u + b[4] : 0;
        if (need == 0 || (size_t)got > need) /* the echo cannot come before our 'h' */
            return -1;
        if ((size_t)got < need)
            return 1;
        break;
    case K_HTTP_REPLY: {
        unsigned char *end = memmem(b, (size_t)got, "\r\n\r\n", 4);
        if (!end)
            return got == (ssize_t)sizeof b ? -1 : 1;
        need = (size_t)(end + 4 - b);
        if ((size_t)got > need || need < 12 || memcmp(b, "HTTP/1.", 7) != 0 ||
            memcmp(b + 8, " 200", 4) != 0)
            return -1;
        break;
    }
    default:
        return -1;
    }
    if (read(fd, b, need) != (ssize_t)need)
        return -1;
    if (kinds[fd] == K_S5_GREET) {
        unsigned char req[10] = {5, 1, 0, 1};
        memcpy(req + 4, &target.sin_addr, 4);
        memcpy(req + 8, &target.sin_port, 2);
        watch(fd, K_S5_REPLY, HS_EVENTS, EPOLL_CTL_MOD);
        return send_str(fd, req, sizeof req);
    }
    watch(fd, K_WAIT_ECHO, EPOLLIN, EPOLL_CTL_MOD);
    return send_str(fd, "h", 1);
}

static void on_event(int fd, uint32_t ev, int lfd, char *line, size_t *linelen, int *cmd_ready)
{
    char buf[4096];
    switch (kinds[fd]) {
    case K_LISTEN:
        for (;;) {
            int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (c < 0) {
                if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                    break;
                die("accept4");
            }
            watch(c, K_BACKEND, EPOLLIN, EPOLL_CTL_ADD);
        }
        break;
    case K_BACKEND: {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            if (write(fd, buf, (size_t)n) != n)
                drop(fd);
            else if (echo_close && (echoed[fd] += (uint32_t)n) >= echo_close)
                drop(fd);
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            drop(fd);
        }
        break;
    }
    case K_CONNECTING: {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || (ev & (EPOLLERR | EPOLLHUP)) || start_handshake(fd) < 0) {
            failed_n++;
            inflight--;
            drop(fd);
        }
        break;
    }
    case K_S5_GREET:
    case K_S5_REPLY:
    case K_HTTP_REPLY: {
        int r = handshake(fd);
        if (r < 0 || (r == 1 && (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))) {
            failed_n++;
            inflight--;
            drop(fd);
        }
        break;
    }
    case K_WAIT_ECHO: {
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n == 1 && c == 'h') {
            ok_n++;
            inflight--;
            watch(fd, K_HELD, EPOLLRDHUP, EPOLL_CTL_MOD); /* only hangups from now on */
        } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || n == 1) {
            failed_n++;
            inflight--;
            drop(fd);
        }
        break;
    }
    case K_HELD:
        dropped_n++;
        drop(fd);
        break;
    case K_STDIN: {
        ssize_t n = read(0, line + *linelen, 255 - *linelen);
        if (n <= 0) {
            strcpy(line, "QUIT\n");
            *linelen = 5;
            *cmd_ready = 1;
            break;
        }
        *linelen += (size_t)n;
        line[*linelen] = 0;
        if (strchr(line, '\n') || *linelen >= 255)
            *cmd_ready = 1;
        break;
    }
    default:
        break;
    }
}

/* "socks5"|"http" and "ip:port" of a CONNECT command */
static int parse_proxy(const char *kind, const char *ipport)
{
    char ip[64];
    const char *colon = strrchr(ipport, ':');
    if (!colon || (size_t)(colon - ipport) >= sizeof ip)
        return -1;
    memcpy(ip, ipport, (size_t)(colon - ipport));
    ip[colon - ipport] = 0;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 1 || p > 65535 || inet_pton(AF_INET, ip, &target.sin_addr) != 1)
        return -1;
    target.sin_family = AF_INET;
    target.sin_port = htons((uint16_t)p);
    if (!strcmp(kind, "socks5"))
        proxy = P_SOCKS5;
    else if (!strcmp(kind, "http"))
        proxy = P_HTTP;
    else
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a peer that vanishes is an error to report, not a kill */
    if (argc == 3 && strcmp(argv[1], "--echo-close") == 0 && atol(argv[2]) > 0) {
        echo_close = atol(argv[2]);
    } else if (argc != 1) {
        fprintf(stderr, "usage: holder [--echo-close BYTES]\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    nkinds = rl.rlim_cur > 4000000 ? 4000000 : (size_t)rl.rlim_cur;
    kinds = calloc(nkinds, 1);
    if (echo_close && !(echoed = calloc(nkinds, sizeof *echoed)))
        die("calloc");
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (!kinds || ep < 0)
        die("init");

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4096) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) < 0)
        die("backend listen");
    watch(lfd, K_LISTEN, EPOLLIN, EPOLL_CTL_ADD);
    watch(0, K_STDIN, EPOLLIN, EPOLL_CTL_ADD);
    printf("BACKEND %d\n", ntohs(a.sin_port));
    fflush(stdout);

    char line[256];
    size_t linelen = 0;
    struct epoll_event evs[512];
    long want = 0, launched = 0, max_inflight = 256;
    double t0 = 0, deadline = 0;
    int connecting = 0;
    struct sockaddr_in to = {.sin_family = AF_INET};

    for (;;) {
        int cmd_ready = 0;
        int n = epoll_wait(ep, evs, 512, 50);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++)
            on_event(evs[i].data.fd, evs[i].events, lfd, line, &linelen, &cmd_ready);

        if (connecting) {
            while (launched < want && inflight < max_inflight) {
                if (start_connect(&to) < 0)
                    failed_n++;
                else
                    inflight++;
                launched++;
            }
            if ((launched >= want && inflight == 0) || now_ms() > deadline) {
                printf("HELD %ld FAILED %ld MS %.0f\n", ok_n, failed_n + inflight, now_ms() - t0);
                fflush(stdout);
                connecting = 0;
            }
        }
        if (!cmd_ready)
            continue;
        char host[64], pkind[16], ptarget[64];
        int port, tmo, nf;
        if ((nf = sscanf(line, "CONNECT %63s %d %ld %ld %d %15s %63s", host, &port, &want,
                         &max_inflight, &tmo, pkind, ptarget)) == 5 ||
            (nf == 7 && parse_proxy(pkind, ptarget) == 0)) {
            if (nf == 5)
                proxy = P_NONE;
            inet_pton(AF_INET, host, &to.sin_addr);
            to.sin_port = htons((uint16_t)port);
            t0 = now_ms();
            deadline = t0 + tmo * 1000.0;
            launched = ok_n = failed_n = inflight = dropped_n = 0;
            connecting = 1;
        } else if (strncmp(line, "CONNECT", 7) == 0) {
            fprintf(stderr, "holder: bad command: %s", line);
        } else if (strncmp(line, "CHECK", 5) == 0) {
            long alive = 0;
            for (size_t fd = 0; fd < nkinds; fd++)
                alive += kinds[fd] == K_HELD;
            printf("ALIVE %ld DROPPED %ld\n", alive, dropped_n);
            fflush(stdout);
        } else if (strncmp(line, "QUIT", 4) == 0) {
            for (size_t fd = 3; fd < nkinds; fd++)
                if (kinds[fd] != K_NONE)
                    close((int)fd);
            printf("BYE\n");
            fflush(stdout);
            return 0;
        }
        linelen = 0;
        line[0] = 0;
    }
}
