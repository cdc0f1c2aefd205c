/* bulk: single-stream TCP throughput, sender/receiver pair (see bench/throughput.py).
 *
 *   bulk sink
 *       listen on 127.0.0.1:<kernel port>, print "PORT <port>"; for each connection (one
 *       thread each) read until EOF, then send the byte count (8 bytes, big-endian) and close.
 *       Runs until stdin reaches EOF or it is signalled.
 *   bulk send <host> <port> <max_bytes> <max_seconds>
 *       connect, send until max_bytes or max_seconds, SHUT_WR, wait for the sink's count, and
 *       print "bytes=<n> secs=<t> gbps=<g>" (t = connect .. count received, so every byte was
 *       delivered). Exit 1 if the sink counted a different number of bytes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF (1 << 20)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *sink_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *buf = malloc(BUF);
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, BUF);
        if (n > 0) {
            total += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        break;
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

static int sender(const char *host, int port, uint64_t max_bytes, double max_secs)
{
    char *buf = malloc(BUF);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < BUF; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (char)x;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    double t0 = now_s();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("bulk send: connect");
        return 2;
    }
    uint64_t sent = 0;
    while (sent < max_bytes && now_s() - t0 < max_secs) {
        size_t n = BUF;
        if (max_bytes - sent < n)
            n = (size_t)(max_bytes - sent);
        if (sendall(fd, buf, n) < 0) {
            perror("bulk send: write");
            return 2;
        }
        sent += n;
    }
    shutdown(fd, SHUT_WR);
    unsigned char be[8];
    size_t got = 0;
    while (got < 8) {
        ssize_t k = read(fd, be + got, 8 - got);
        if (k <= 0) {
            if (k < 0 && errno == EINTR)
                continue;
            fprintf(stderr, "bulk send: no byte count from the sink (got %zu bytes)\n", got);
            return 1;
        }
        got += (size_t)k;
    }
    double dt = now_s() - t0;
    uint64_t counted = 0;
    for (int i = 0; i < 8; i++)
        counted = counted << 8 | be[i];
    close(fd);
    printf("bytes=%llu secs=%.4f gbps=%.3f\n", (unsigned long long)sent, dt, sent * 8 / dt / 1e9);
    if (counted != sent) {
        fprintf(stderr, "bulk send: sent %llu bytes, sink counted %llu\n", (unsigned long long)sent,
                (unsigned long long)counted);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "sink") == 0)
        return sink();
    if (argc == 6 && strcmp(argv[1], "send") == 0)
        return sender(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 10), atof(argv[5]));
    fprintf(stderr, "usage: bulk sink | bulk send HOST PORT MAX_BYTES MAX_SECONDS\n");
    return 2;
}
