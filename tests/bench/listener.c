/*
 * tests/bench/listener.c - a minimal loopback TCP listener for bench.sh.
 *
 *     listener PORT_FILE LIFETIME_S
 *
 * Binds 127.0.0.1 on an ephemeral port with listen(fd, 4096), writes the
 * port to PORT_FILE (temp file + rename), then accepts and closes every
 * connection until LIFETIME_S seconds have passed or SIGTERM arrives.
 * Exists because tests/fixtures/listen.py listens with backlog 16, which
 * overflows (SYNs dropped, 1 s client retransmit) under -j 128.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: listener PORT_FILE LIFETIME_S\n");
        return 2;
    }
    int lifetime = atoi(argv[2]);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(fd, 4096) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        perror("listener");
        return 1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 || fclose(f) != 0 ||
        rename(tmp, argv[1]) < 0) {
        perror("listener: port file");
        return 1;
    }
    alarm((unsigned)lifetime); /* SIGALRM's default action ends us */
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c >= 0)
            close(c);
    }
}
