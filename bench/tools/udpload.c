/* udpload: UDP load generator and echo server (workload W6, UDP forwarding).
 *
 *   udpload echo [--port P] [--threads T]
 *   udpload send HOST PORT [--size B] [--rate PPS | --max] [--seconds S] [--sessions N]
 *                [--window W] [--drain-ms MS]
 *
 * echo: binds a UDP socket on 127.0.0.1 (kernel-chosen port unless --port; T (1) threads, each
 * with its own SO_REUSEPORT socket on the same port), prints "PORT <port>" on stdout and echoes
 * every datagram back to its sender with recvmmsg/sendmmsg batches of 64. Runs until stdin
 * reaches EOF (keep a pipe open; /dev/null stops it at once) or SIGTERM/SIGINT.
 *
 * send: opens N (1, max 4096) connected UDP sockets to HOST:PORT (IPv4), each on its own
 * ephemeral port, so a forwarder sees N distinct clients. For S (5) seconds it sends B-byte (64,
 * 16..1472) datagrams round-robin over the sessions, either paced by the clock at an aggregate
 * PPS (default 10000; batches via sendmmsg, a per-session burst of max(1, 64/N)) or, with --max,
 * as fast as the echoes come back: at most W datagrams outstanding per session (default
 * min(256, max(2, 4096/N))), topped up as echoes return; datagrams overtaken by a later echo are
 * written off, and a session whose whole window got no echo for 200 ms is reset. Each datagram
 * carries magic, session id and per-session sequence number; the same sockets (epoll + recvmmsg)
 * count unique echoes, duplicates and reordered ones (seq below the highest seen on the
 * session). After the sending period it waits up to MS (500) ms for late echoes (less if all
 * came back). Prints one line:
 *   sent=<n> recv=<n> lost=<n> loss_pct=<x> reordered=<n> dup=<n> secs=<t> sent_pps=<x>
 *   recv_pps=<x> sessions=<n> bad=<n>
 * where t is the sending period, lost = sent - recv, recv_pps = recv / t, and bad counts echoes
 * that were malformed (incl. wrong length) or came back on another session's socket (a forwarder
 * mixing up its clients; not counted in recv). Exit 0 if any echo was received, 1 if none, 2 on
 * usage/setup errors. Socket buffers are 4 MiB (SO_*BUFFORCE when privileged); RLIMIT_NOFILE is
 * raised to the hard limit. Every wait is bounded; the whole run by S + MS + a few ms.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
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

#define BATCH        64
#define MAX_SESSIONS 4096
#define MAX_THREADS  16
#define MAGIC        0x55444c44u /* "UDLD" */
#define HDR          16
#define MAX_SIZE     1472
#define BUFBYTES     (4 << 20)
#define STALL_S      0.2

struct hdr {
    uint32_t magic, sess;
    uint64_t seq;
};

struct session {
    int fd;
    uint64_t next;  /* next sequence number to send */
    uint64_t base;  /* everything below is acked or written off (--max window) */
    uint64_t high;  /* highest seq echoed + 1 (0: none yet) */
    double last_rx; /* time of last echo or window reset */
    uint8_t *seen;  /* bitmap of echoed seqs, grows with next */
    size_t seen_bytes;
};

static volatile sig_atomic_t stop;
static struct session *ss;
static int nsess = 1, size = 64, maxmode;
static long window;
static long long n_sent, n_recv, n_dup, n_reord, n_bad, n_err;

static void die(const char *what)
{
    fprintf(stderr, "udpload: %s: %s\n", what, strerror(errno));
    exit(2);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void set_bufs(int fd)
{
    int v = BUFBYTES;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
}

static void *xrealloc(void *p, size_t n)
{
    if (!(p = realloc(p, n)))
        die("realloc");
    return p;
}

static long arg_long(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s ? s : "", &end, 10);
    if (!s || *end || v < lo || v > hi) {
        fprintf(stderr, "udpload: bad number '%s' (want %ld..%ld)\n", s ? s : "", lo, hi);
        exit(2);
    }
    return v;
}

static void usage(void)
{
    fprintf(stderr, "usage: udpload echo [--port P] [--threads T]\n"
                    "       udpload send HOST PORT [--size B] [--rate PPS | --max] [--seconds S]\n"
                    "                    [--sessions N] [--window W] [--drain-ms MS]\n");
    exit(2);
}

/* ---- echo server ---- */

struct echo_thread {
    int fd, watch_stdin;
    pthread_t tid;
};

static void *echo_loop(void *arg)
{
    struct echo_thread *et = arg;
    unsigned char(*bufs)[65536] = xrealloc(NULL, BATCH * sizeof *bufs);
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_in from[BATCH];
    struct pollfd pfd[2] = {{.fd = et->fd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
    while (!stop) {
        int r = poll(pfd, et->watch_stdin ? 2 : 1, 200);
        if (r < 0 && errno != EINTR)
            die("poll");
        if (et->watch_stdin && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            char c[256];
            ssize_t n = read(0, c, sizeof c);
            if (n <= 0 && !(n < 0 && errno == EINTR))
                stop = 1;
        }
        for (int rounds = 0; r > 0 && (pfd[0].revents & POLLIN) && rounds < 64; rounds++) {
            for (int i = 0; i < BATCH; i++) {
                iov[i] = (struct iovec){bufs[i], sizeof bufs[i]};
                msgs[i].msg_hdr = (struct msghdr){.msg_name = &from[i],
                                                  .msg_namelen = sizeof from[i],
                                                  .msg_iov = &iov[i],
                                                  .msg_iovlen = 1};
            }
            int n = recvmmsg(et->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
            if (n <= 0)
                break;
            for (int i = 0; i < n; i++)
                iov[i].iov_len = msgs[i].msg_len;
            for (int done = 0; done < n;) {
                int m = sendmmsg(et->fd, msgs + done, (unsigned)(n - done), MSG_DONTWAIT);
                if (m <= 0) /* buffer full or error: drop the rest, like a real network */
                    break;
                done += m;
            }
            if (n < BATCH)
                break;
        }
    }
    free(bufs);
    return NULL;
}

static int run_echo(int argc, char **argv)
{
    int port = 0, nthreads = 1;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--port"))
            port = (int)arg_long(argv[++i], 1, 65535);
        else if (!strcmp(argv[i], "--threads"))
            nthreads = (int)arg_long(argv[++i], 1, MAX_THREADS);
        else
            usage();
    }
    struct echo_thread et[MAX_THREADS];
    for (int t = 0; t < nthreads; t++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int one = 1, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            die("socket");
        if (nthreads > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
            die("SO_REUSEPORT");
        set_bufs(fd);
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
            die("bind");
        socklen_t len = sizeof sa;
        if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
            die("getsockname");
        port = ntohs(sa.sin_port); /* later threads join the first one's port */
        et[t] = (struct echo_thread){.fd = fd, .watch_stdin = t == 0};
    }
    printf("PORT %d\n", port);
    fflush(stdout);
    for (int t = 1; t < nthreads; t++)
        if (pthread_create(&et[t].tid, NULL, echo_loop, &et[t]) != 0)
            die("pthread_create");
    echo_loop(&et[0]);
    stop = 1; /* the others notice within one poll timeout */
    for (int t = 1; t < nthreads; t++)
        pthread_join(et[t].tid, NULL);
    return 0;
}

/* ---- sender ---- */

/* Send up to `count` datagrams on session s in one sendmmsg; returns how many went out. */
static int send_burst(struct session *s, int count, double now)
{
    static unsigned char bufs[BATCH][MAX_SIZE];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    if (count > BATCH)
        count = BATCH;
    size_t need = (size_t)(s->next + (uint64_t)count) / 8 + 1;
    if (need > s->seen_bytes) {
        size_t nb = s->seen_bytes ? s->seen_bytes : 64;
        while (nb < need)
            nb *= 2;
        uint8_t *p = xrealloc(s->seen, nb);
        memset(p + s->seen_bytes, 0, nb - s->seen_bytes);
        s->seen = p;
        s->seen_bytes = nb;
    }
    for (int i = 0; i < count; i++) {
        struct hdr h = {MAGIC, (uint32_t)(s - ss), s->next + (uint64_t)i};
        memcpy(bufs[i], &h, sizeof h);
        iov[i] = (struct iovec){bufs[i], (size_t)size};
        msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
    }
    int n = sendmmsg(s->fd, msgs, (unsigned)count, MSG_DONTWAIT);
    if (n < 0) {
        if (errno != EAGAIN && errno != ENOBUFS)
            n_err++; /* e.g. ECONNREFUSED from an earlier ICMP error */
        return 0;
    }
    if (s->next == s->base)
        s->last_rx = now; /* window was empty: start the stall clock now */
    s->next += (uint64_t)n;
    n_sent += n;
    return n;
}

static void on_echo(struct session *s, const unsigned char *p, size_t len)
{
    struct hdr h;
    memcpy(&h, p, sizeof h); /* the buffer is always large enough; len is checked first below */
    if (len != (size_t)size || h.magic != MAGIC || h.sess != (uint32_t)(s - ss) ||
        h.seq >= s->next) {
        n_bad++;
        return;
    }
    uint8_t bit = (uint8_t)(1u << (h.seq & 7));
    if (s->seen[h.seq / 8] & bit) {
        n_dup++;
        return;
    }
    s->seen[h.seq / 8] |= bit;
    n_recv++;
    if (h.seq + 1 < s->high)
        n_reord++;
    else
        s->high = h.seq + 1;
    if (s->base < s->high)
        s->base = s->high; /* anything older that is still missing is written off */
}

/* Drain session s's socket (bounded); returns echoes processed. */
static int recv_session(struct session *s, double now)
{
    static unsigned char bufs[BATCH][2048];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    int total = 0;
    for (int rounds = 0; rounds < 16; rounds++) {
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){bufs[i], sizeof bufs[i]};
            msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
        }
        int n = recvmmsg(s->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                n_err++;
            break;
        }
        for (int i = 0; i < n; i++)
            on_echo(s, bufs[i], msgs[i].msg_len);
        total += n;
        s->last_rx = now;
        if (n < BATCH)
            break;
    }
    return total;
}

static void top_up(struct session *s, double now)
{
    for (int k = 0; k < 8 && (long)(s->next - s->base) < window; k++)
        if (send_burst(s, (int)(window - (long)(s->next - s->base)), now) == 0)
            break;
}

/* Paced mode: send what is due after `elapsed` seconds (datagram k is due at k / rate, at most
 * rate * secs in all), round-robin over sessions in bursts. Returns how many are still due. */
static long long pace(double elapsed, double rate, double secs, int burst, int *cur, double now)
{
    double target = elapsed * rate + 1 < rate * secs ? elapsed * rate + 1 : rate * secs;
    long long due = (long long)target - n_sent;
    for (int k = 0; due > 0 && k < 4096;) {
        int want = due < burst ? (int)due : burst;
        int n = send_burst(&ss[*cur], want, now);
        *cur = (*cur + 1) % nsess;
        due -= n;
        k += want;
        if (n < want)
            break; /* socket buffer full: catch up on the next round */
    }
    return due;
}

static int run_send(int argc, char **argv)
{
    if (argc < 4)
        usage();
    struct sockaddr_in dst = {.sin_family = AF_INET};
    dst.sin_port = htons((uint16_t)arg_long(argv[3], 1, 65535));
    if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1)
        usage();
    double rate = 10000, secs = 5, drain = 0.5;
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--size"))
            size = (int)arg_long(argv[++i], HDR, MAX_SIZE);
        else if (!strcmp(argv[i], "--rate"))
            rate = (double)arg_long(argv[++i], 1, 100000000);
        else if (!strcmp(argv[i], "--max"))
            maxmode = 1;
        else if (!strcmp(argv[i], "--seconds"))
            secs = (double)arg_long(argv[++i], 1, 86400);
        else if (!strcmp(argv[i], "--sessions"))
            nsess = (int)arg_long(argv[++i], 1, MAX_SESSIONS);
        else if (!strcmp(argv[i], "--window"))
            window = arg_long(argv[++i], 1, 1000000);
        else if (!strcmp(argv[i], "--drain-ms"))
            drain = (double)arg_long(argv[++i], 0, 60000) / 1e3;
        else
            usage();
    }
    if (!window) {
        window = 4096 / nsess;
        window = window < 2 ? 2 : window > 256 ? 256 : window;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    ss = xrealloc(NULL, (size_t)nsess * sizeof *ss);
    memset(ss, 0, (size_t)nsess * sizeof *ss);
    for (int i = 0; i < nsess; i++) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            die("socket");
        set_bufs(fd);
        if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0)
            die("connect");
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            die("epoll_ctl");
        ss[i].fd = fd;
    }
    int burst = BATCH / nsess > 1 ? BATCH / nsess : 1, cur = 0;
    struct epoll_event evs[256];
    double t0 = now_s(), t_end = t0 + secs, t_stop = t_end + drain, now = t0, last_scan = t0;
    int sending = 1, no_pwait2 = 0;
    if (maxmode)
        for (int i = 0; i < nsess; i++)
            top_up(&ss[i], now);
    while (now < t_stop && !stop) {
        double wait = (sending ? t_end : t_stop) - now;
        if (sending && !maxmode) { /* nothing due: sleep >= 100 us, so wakeups send batches */
            long long due = pace(now - t0, rate, secs, burst, &cur, now);
            wait = due > 0 ? 0 : (n_sent - (now - t0) * rate) / rate;
            wait = due > 0 ? 0 : wait < 1e-4 ? 1e-4 : wait;
        }
        double cap = sending && !maxmode ? 0.001 : 0.01;
        struct timespec to = {0, (long)((wait < 0 ? 0 : wait > cap ? cap : wait) * 1e9)};
        int n = no_pwait2 ? -1 : epoll_pwait2(ep, evs, 256, &to, NULL);
        if (n < 0 && (no_pwait2 || errno == ENOSYS)) /* old kernel/valgrind: ms resolution */
            no_pwait2 = 1, n = epoll_wait(ep, evs, 256, (int)((to.tv_nsec + 999999) / 1000000));
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        now = now_s();
        if (sending && now >= t_end) {
            if (!maxmode) /* send what was due up to t_end */
                pace(secs, rate, secs, burst, &cur, t_end);
            sending = 0;
            now = t_end; /* the sending period ends here, whatever arrives next */
        }
        for (int i = 0; i < n; i++) {
            struct session *s = &ss[evs[i].data.u32];
            if (recv_session(s, now) > 0 && sending && maxmode)
                top_up(s, now);
        }
        if (sending && maxmode && now - last_scan >= 0.05) {
            last_scan = now; /* revive sessions whose whole window was lost */
            for (int i = 0; i < nsess; i++) {
                struct session *s = &ss[i];
                if (s->next > s->base && now - s->last_rx > STALL_S)
                    s->base = s->next;
                top_up(s, now);
            }
        }
        if (!sending) {
            now = now_s();
            if (n_recv >= n_sent)
                break;
        }
    }
    double period = secs < now_s() - t0 ? secs : now_s() - t0 + 1e-9;
    long long lost = n_sent - n_recv;
    printf("sent=%lld recv=%lld lost=%lld loss_pct=%.3f reordered=%lld dup=%lld secs=%.3f "
           "sent_pps=%.0f recv_pps=%.0f sessions=%d bad=%lld\n",
           n_sent, n_recv, lost, n_sent ? 100.0 * (double)lost / (double)n_sent : 0.0, n_reord,
           n_dup, period, (double)n_sent / period, (double)n_recv / period, nsess, n_bad);
    if (n_err)
        fprintf(stderr, "udpload: %lld socket errors (e.g. ECONNREFUSED)\n", n_err);
    for (int i = 0; i < nsess; i++) {
        close(ss[i].fd);
        free(ss[i].seen);
    }
    free(ss);
    close(ep);
    return n_recv > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && !strcmp(argv[1], "echo"))
        return run_echo(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "send"))
        return run_send(argc, argv);
    usage();
}
