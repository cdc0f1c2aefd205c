/* relay_bench: single-stream loopback throughput through the relay vs a direct connection, and
 * the memory an idle relayed pair costs. Not part of the test suite (numbers depend on the box).
 *
 * Build (release flags, from the repository root; CORE = every src/core .c and .S file):
 *   cc -O2 -std=c11 -D_GNU_SOURCE -DGOST_VERSION='"bench"' -Isrc bench/relay_bench.c $CORE \
 *      -lpthread -o /tmp/relay_bench
 * Run:
 *   /tmp/relay_bench [-g GiB per stream (4)] [-r rounds (5)] [-n idle pairs (4000; 0 = skip)]
 *                    [-s server port (ephemeral)] [-x external proxy port -p its pid]
 * Every round runs one stream per configuration, interleaved (the box's noise hits all alike);
 * the median and the best of the rounds are printed.
 * With -x, the same streams and idle pairs also go through an external proxy (e.g. haproxy)
 * listening on 127.0.0.1:<port> and forwarding to the server port given with -s; its CPU and
 * RSS are read from /proc/<pid>.
 *
 * Layout: sender thread -> [relay worker: accept A, dial B, relay(A, B)] -> receiver thread,
 * all over 127.0.0.1; "direct" is sender -> receiver. The sender and the receiver are plain
 * blocking threads with 256 KiB read/write calls. Throughput = bytes / (first write .. EOF at
 * the receiver). Memory: mallopt(M_ARENA_MAX, 1) so mallinfo2() sees every thread's heap; the
 * delta of in-use heap bytes and of RSS across N idle relayed pairs, divided by N (the relay's
 * own state: the endpoints are raw fds, not conns).
 */
#include <errno.h>
#include <stdbool.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/clock.h"
#include "core/conn.h"
#include "core/fiber.h"
#include "core/pipe_pool.h"
#include "core/relay.h"
#include "core/sched.h"
#include "core/sock.h"
#include "core/xmalloc.h"

#define IOSZ             (256 * 1024)
#define BENCH_MAX_ROUNDS 32

enum { MODE_PUMP, MODE_FIBER };

static atomic_int relay_mode;
static atomic_int relays_started, relays_done;
static struct gaddr relay_addr, server_addr;
static sem_t relay_ready;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* ---- a pass-through layer: forces the fiber path ---- */

static ssize_t pt_read(struct conn *c, void *buf, size_t n)
{
    conn_sync_deadlines(c);
    return conn_read(c->inner, buf, n);
}
static ssize_t pt_write(struct conn *c, const void *buf, size_t n)
{
    conn_sync_deadlines(c);
    return conn_write(c->inner, buf, n);
}
static int pt_shutdown(struct conn *c)
{
    return conn_shutdown(c->inner);
}
static void pt_close(struct conn *c)
{
    conn_close(c->inner);
    free(c);
}
static int pt_ctl(struct conn *c, int op, void *arg)
{
    return op == CONN_CTL_FD ? -ENOTSUP : conn_ctl_default(c, op, arg);
}
static int pt_wait_readable(struct conn *c, int64_t dl)
{
    return conn_wait_readable(c->inner, dl);
}
static const struct conn_ops pt_ops = {"pt",     pt_read, pt_write,        pt_shutdown,
                                       pt_close, pt_ctl,  pt_wait_readable};

static struct conn *pt_wrap(struct conn *inner)
{
    struct conn *c = xmalloc(sizeof *c);
    conn_init(c, &pt_ops, inner);
    return c;
}

/* ---- the relay service on the worker ---- */

static void relay_done_cb(void *arg, const struct relay_stats *st)
{
    (void)arg;
    (void)st;
    atomic_fetch_add(&relays_done, 1);
}

struct session {
    struct conn *a, *b;
};

static void session_fiber(void *arg)
{
    struct session *s = arg;
    struct conn *a = s->a, *b = s->b;
    free(s);
    if (atomic_load(&relay_mode) == MODE_FIBER) {
        a = pt_wrap(a);
        b = pt_wrap(b);
    }
    atomic_fetch_add(&relays_started, 1);
    relay(a, b, NULL, relay_done_cb, NULL);
}

static void drain_pools(void *arg)
{
    (void)arg;
    pipe_pool_drain();
}

static void service_fiber(void *arg, int wid)
{
    (void)arg;
    (void)wid;
    struct gaddr la;
    int fd;
    struct sock_listener l;
    addr_parse("127.0.0.1:0", &la);
    if (sock_listen_tcp(&la, false, 4096, &fd) < 0 || sock_listener_open(&l, fd) < 0)
        die("relay listen");
    sock_listener_addr(&l, &relay_addr);
    sem_post(&relay_ready);
    for (;;) {
        struct conn *a, *b;
        if (sock_accept(&l, &a, DEADLINE_NONE) < 0)
            break;
        if (sock_dial_tcp(&server_addr, deadline_in(5000), &b) < 0) {
            conn_close(a);
            continue;
        }
        struct session *s = xmalloc(sizeof *s);
        s->a = a;
        s->b = b;
        fiber_spawn(session_fiber, s);
    }
    sock_listener_close(&l);
}

static void *sched_thread(void *arg)
{
    (void)arg;
    sched_run();
    return NULL;
}

/* ---- plain blocking endpoints ---- */

static int server_fd;

static int tcp_connect(const struct gaddr *to)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    if (connect(fd, (const struct sockaddr *)&to->ss, to->len) < 0)
        die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

struct sink {
    int fd;
    uint64_t n;
    double t_end;
};

static void *sink_thread(void *arg)
{
    struct sink *k = arg;
    char *buf = xmalloc(IOSZ);
    for (;;) {
        ssize_t r = read(k->fd, buf, IOSZ);
        if (r <= 0)
            break;
        k->n += (uint64_t)r;
    }
    k->t_end = now_s();
    free(buf);
    return NULL;
}

/* One stream of `bytes` from a new connection to `to`; the server side sinks it. Gbit/s. */
static double stream_run(const struct gaddr *to, uint64_t bytes)
{
    int c = tcp_connect(to);
    int s = accept4(server_fd, NULL, NULL, SOCK_CLOEXEC);
    if (s < 0)
        die("accept");
    struct sink k = {.fd = s};
    pthread_t th;
    pthread_create(&th, NULL, sink_thread, &k);
    char *buf = xmalloc(IOSZ);
    memset(buf, 0x5a, IOSZ);
    double t0 = now_s();
    uint64_t sent = 0;
    while (sent < bytes) {
        ssize_t w = write(c, buf, IOSZ);
        if (w <= 0)
            die("write");
        sent += (uint64_t)w;
    }
    shutdown(c, SHUT_WR);
    pthread_join(th, NULL);
    close(c);
    close(s);
    free(buf);
    if (k.n != sent) {
        fprintf(stderr, "lost bytes: sent %llu got %llu\n", (unsigned long long)sent,
                (unsigned long long)k.n);
        exit(1);
    }
    return (double)sent * 8 / (k.t_end - t0) / 1e9;
}

static void wait_done(int target)
{
    while (atomic_load(&relays_done) < target)
        usleep(1000);
}

/* ---- CPU and memory ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static pid_t worker_tid;

static void get_tid(void *arg)
{
    (void)arg;
    worker_tid = gettid();
}

/* utime + stime in seconds of /proc/self/task/<tid> (tid > 0) or /proc/<pid> (pid > 0). */
static double cpu_s(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[1024];
    if (!f || !fgets(buf, sizeof buf, f))
        die(path);
    fclose(f);
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    /* fields after the comm: state(3) ... utime(14) stime(15) */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        die("stat parse");
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static char cpu_path[64];

static long status_kib(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && sscanf(line + kl, " %ld", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

/* Best of `runs` streams; *cpu gets the proxy's CPU seconds per GiB in that best run. */
static double best_of_cpu(int runs, const struct gaddr *to, uint64_t bytes, double *cpu)
{
    double best = 0;
    for (int i = 0; i < runs; i++) {
        double c0 = cpu_path[0] ? cpu_s(cpu_path) : 0;
        double g = stream_run(to, bytes);
        double c1 = cpu_path[0] ? cpu_s(cpu_path) : 0;
        if (g > best) {
            best = g;
            *cpu = (c1 - c0) / ((double)bytes / (1 << 30));
        }
    }
    return best;
}

static void wait_started(int target)
{
    while (atomic_load(&relays_started) < target)
        usleep(1000);
}

/* N idle pairs through the proxy at `to`; memory of `status_path` (our /proc/self/status or the
 * external proxy's). ours: wait for our relay counters. */
static void idle_pairs(const char *label, const struct gaddr *to, const char *status_path,
                       bool ours, int n)
{
    int *cl = xcalloc((size_t)n, sizeof *cl), *sv = xcalloc((size_t)n, sizeof *sv);
    int base_started = atomic_load(&relays_started);
    int base_done = atomic_load(&relays_done);
    /* warm up: one pair through, so pools and lazy init are not counted */
    {
        int c = tcp_connect(to);
        int s = accept4(server_fd, NULL, NULL, SOCK_CLOEXEC);
        char b = 'w';
        if (write(c, &b, 1) != 1 || read(s, &b, 1) != 1)
            die("warmup");
        close(c);
        close(s);
        if (ours) {
            wait_done(base_done + 1);
            base_done++;
            base_started++;
        }
    }
    usleep(200000);
    struct mallinfo2 m0 = mallinfo2();
    long rss0 = status_kib(status_path, "VmRSS:"), slab0 = status_kib("/proc/meminfo", "Slab:");
    for (int i = 0; i < n; i++) {
        cl[i] = tcp_connect(to);
        sv[i] = accept4(server_fd, NULL, NULL, SOCK_CLOEXEC);
        if (sv[i] < 0)
            die("accept idle");
    }
    if (ours)
        wait_started(base_started + n);
    /* one byte each way through every pair: pipes / buffers are used, then given back */
    for (int i = 0; i < n; i++) {
        char b = 'x';
        if (write(cl[i], &b, 1) != 1 || read(sv[i], &b, 1) != 1 || write(sv[i], &b, 1) != 1 ||
            read(cl[i], &b, 1) != 1)
            die("idle ping");
    }
    usleep(300000);
    struct mallinfo2 m1 = mallinfo2();
    long rss1 = status_kib(status_path, "VmRSS:"), slab1 = status_kib("/proc/meminfo", "Slab:");
    if (ours)
        printf("  %-8s %d idle pairs: heap %5.0f B/pair, RSS %6.0f B/pair, kernel slab %6.0f "
               "B/pair\n",
               label, n, ((double)m1.uordblks - (double)m0.uordblks) / n,
               (double)(rss1 - rss0) * 1024 / n, (double)(slab1 - slab0) * 1024 / n);
    else
        printf("  %-8s %d idle pairs:                RSS %6.0f B/pair, kernel slab %6.0f "
               "B/pair\n",
               label, n, (double)(rss1 - rss0) * 1024 / n, (double)(slab1 - slab0) * 1024 / n);
    for (int i = 0; i < n; i++) {
        close(cl[i]);
        close(sv[i]);
    }
    if (ours)
        wait_done(base_done + n);
    else
        usleep(500000);
    free(cl);
    free(sv);
}

int main(int argc, char **argv)
{
    double gib = 4;
    int npairs = 4000, rounds = 5, sport = 0, xport = 0, xpid = 0, opt;
    const char *only = "";
    while ((opt = getopt(argc, argv, "g:n:r:s:x:p:o:")) != -1) {
        switch (opt) {
        case 'g':
            gib = atof(optarg);
            break;
        case 'n':
            npairs = atoi(optarg);
            break;
        case 'r':
            rounds = atoi(optarg);
            if (rounds < 1 || rounds > BENCH_MAX_ROUNDS)
                rounds = 5;
            break;
        case 's':
            sport = atoi(optarg);
            break;
        case 'x':
            xport = atoi(optarg);
            break;
        case 'p':
            xpid = atoi(optarg);
            break;
        case 'o':
            only = optarg; /* "pump": only the default pump stream (for perf/strace) */
            break;
        default:
            fprintf(stderr, "usage: %s [-g GiB] [-n pairs] [-s port] [-x port -p pid]\n", argv[0]);
            return 2;
        }
    }
    uint64_t bytes = (uint64_t)(gib * (1 << 30));
    mallopt(M_ARENA_MAX, 1);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if ((rlim_t)npairs * 4 + 64 > rl.rlim_cur)
        npairs = (int)((rl.rlim_cur - 64) / 4);

    /* server */
    struct gaddr la;
    addr_from_numeric("127.0.0.1", (uint16_t)sport, &la);
    server_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(server_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (server_fd < 0 || bind(server_fd, (struct sockaddr *)&la.ss, la.len) < 0 ||
        listen(server_fd, 4096) < 0)
        die("server");
    server_addr.len = sizeof server_addr.ss;
    getsockname(server_fd, (struct sockaddr *)&server_addr.ss, &server_addr.len);

    /* relay on one worker */
    sem_init(&relay_ready, 0, 0);
    sched_set_grace_ms(0);
    if (sched_init(1) < 0)
        die("sched_init");
    sched_on_each_worker(service_fiber, NULL);
    sched_post(0, get_tid, NULL);
    pthread_t st;
    pthread_create(&st, NULL, sched_thread, NULL);
    sem_wait(&relay_ready);
    while (!worker_tid)
        usleep(1000);

    printf("relay_bench: %.1f GiB per stream, %d interleaved rounds (median / best), %ld CPUs; "
           "CPU = the relay's CPU seconds per GiB (worker thread, or proxy process), median\n",
           gib, rounds, sysconf(_SC_NPROCESSORS_ONLN));
    char self_stat[64], xstat[64] = "", xstatus[64] = "";
    snprintf(self_stat, sizeof self_stat, "/proc/self/task/%d/stat", (int)worker_tid);
    struct gaddr xa;
    if (xport) {
        addr_from_numeric("127.0.0.1", (uint16_t)xport, &xa);
        snprintf(xstat, sizeof xstat, "/proc/%d/stat", xpid);
        snprintf(xstatus, sizeof xstatus, "/proc/%d/status", xpid);
    }
    struct cfg {
        const char *name;
        const struct gaddr *to;
        const char *stat; /* CPU of the relay */
        int mode;
        size_t pipe;
        double g[BENCH_MAX_ROUNDS], cpu[BENCH_MAX_ROUNDS];
    } cfgs[] = {
        {"direct", &server_addr, "", 0, 0, {0}, {0}},
        {"splice pump, pipe   64 KiB", &relay_addr, self_stat, MODE_PUMP, 64 << 10, {0}, {0}},
        {"splice pump, pipe  256 KiB", &relay_addr, self_stat, MODE_PUMP, 256 << 10, {0}, {0}},
        {"splice pump, pipe 1024 KiB", &relay_addr, self_stat, MODE_PUMP, 1024 << 10, {0}, {0}},
        {"fiber path, 16 KiB buffer", &relay_addr, self_stat, MODE_FIBER, 0, {0}, {0}},
        {"external proxy", &xa, xstat, 0, 0, {0}, {0}},
    };
    int ncfg = xport ? 6 : 5;
    if (strcmp(only, "pump") == 0) {
        printf("worker tid %d\n", (int)worker_tid);
        fflush(stdout);
        sleep(1);
        cfgs[0] = cfgs[2];
        cfgs[0].pipe = pipe_pool_get_size();
        ncfg = 1;
    }
    int ours = 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < ncfg; i++) {
            struct cfg *c = &cfgs[i];
            bool relayed = c->to == &relay_addr;
            if (relayed) {
                atomic_store(&relay_mode, c->mode);
                if (c->pipe) {
                    pipe_pool_set_size(c->pipe);
                    sched_post(0, drain_pools, NULL);
                }
            }
            memcpy(cpu_path, c->stat, sizeof cpu_path);
            double cpu = 0;
            c->g[r] = best_of_cpu(1, c->to, bytes, &cpu);
            c->cpu[r] = cpu;
            if (relayed)
                wait_done(++ours);
        }
    }
    pipe_pool_set_size(PIPE_POOL_DEFAULT_SIZE);
    sched_post(0, drain_pools, NULL);
    qsort(cfgs[0].g, (size_t)rounds, sizeof(double), cmp_double);
    double direct = cfgs[0].g[rounds / 2];
    for (int i = 0; i < ncfg; i++) {
        struct cfg *c = &cfgs[i];
        qsort(c->g, (size_t)rounds, sizeof(double), cmp_double);
        qsort(c->cpu, (size_t)rounds, sizeof(double), cmp_double);
        printf("  %-27s %6.2f / %6.2f Gbit/s  %4.0f%% of direct", c->name, c->g[rounds / 2],
               c->g[rounds - 1], 100 * c->g[rounds / 2] / direct);
        if (c->stat[0])
            printf("  CPU %.3f s/GiB", c->cpu[rounds / 2]);
        printf("\n");
    }
    if (strcmp(only, "pump") == 0)
        return 0;

    printf("  pump state: sizeof(struct relay_pump) = %zu B (malloc'd per relayed pair)\n",
           relay_pump_state_size());
    if (npairs <= 0)
        goto out;
    atomic_store(&relay_mode, MODE_PUMP);
    idle_pairs("pump", &relay_addr, "/proc/self/status", true, npairs);
    atomic_store(&relay_mode, MODE_FIBER);
    idle_pairs("fiber", &relay_addr, "/proc/self/status", true, npairs);
    if (xport)
        idle_pairs("external", &xa, xstatus, false, npairs);

out:
    sched_stop();
    close(server_fd);
    pthread_join(st, NULL);
    return 0;
}
