/*
 * The floor for the SDK-only benchmark: a minimal JSON-RPC client in plain C
 * (blocking socket, no threads, no JSON parser: substring checks only) that
 * does what an SDK must do against benches/peer: handshake, create a session,
 * send, count events, answer each tool call, stop at session.idle.
 *
 * Usage: raw_client HOST:PORT | stdio:PEER_PATH (spawns the peer, talks over its pipes)
 * Prints: raw: events=N seconds=S events_per_s=X tool_calls=M
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int in_fd, out_fd; /* the peer's output and input: one socket, or two pipes */
static char *buf;
static size_t buf_len, buf_cap = 1 << 20;
static int next_id = 1;

static void send_request(const char *method, const char *params) {
    char body[1024], frame[1200];
    int n = snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\",\"params\":%s}", next_id++,
                     method, params);
    int m = snprintf(frame, sizeof frame, "Content-Length: %d\r\n\r\n%s", n, body);
    if (write(out_fd, frame, (size_t)m) != m) {
        perror("write");
        exit(1);
    }
}

/* The next frame's body, NUL-terminated in place (valid until the next call). */
static char *next_frame(void) {
    static size_t pos, patched = (size_t)-1;
    static char saved;
    if (patched != (size_t)-1) {
        buf[patched] = saved; /* the first byte of this frame's header */
        pos = patched;
        patched = (size_t)-1;
    }
    for (;;) {
        size_t have = buf_len - pos;
        char *start = buf + pos;
        char *end = have >= 4 ? memmem(start, have, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t len = (size_t)atol(strstr(start, "Content-Length:") + 15);
            size_t body = (size_t)(end + 4 - buf);
            if (buf_len >= body + len) {
                patched = body + len;
                saved = buf[patched];
                buf[patched] = 0;
                return buf + body;
            }
        }
        if (pos > 0 && buf_len + 65536 > buf_cap) {
            memmove(buf, buf + pos, buf_len - pos);
            buf_len -= pos;
            pos = 0;
        }
        ssize_t r = read(in_fd, buf + buf_len, buf_cap - buf_len - 1);
        if (r <= 0) {
            fprintf(stderr, "raw_client: connection closed\n");
            exit(1);
        }
        buf_len += (size_t)r;
        buf[buf_len] = 0;
    }
}

static void call(const char *method, const char *params) {
    send_request(method, params);
    for (;;) {
        char *f = next_frame();
        if (!strstr(f, "\"method\"")) return; /* the reply */
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: raw_client HOST:PORT | stdio:PEER_PATH\n");
        return 2;
    }
    if (strncmp(argv[1], "stdio:", 6) == 0) {
        /* The peer as an SDK spawns its CLI: --stdio, its stdin and stdout our pipes. */
        int to_peer[2], from_peer[2];
        if (pipe(to_peer) != 0 || pipe(from_peer) != 0) {
            perror("pipe");
            return 1;
        }
        pid_t pid = fork();
        if (pid == 0) {
            dup2(to_peer[0], 0);
            dup2(from_peer[1], 1);
            close(to_peer[1]);
            close(from_peer[0]);
            execl(argv[1] + 6, argv[1] + 6, "--stdio", (char *)NULL);
            perror("exec");
            _exit(127);
        }
        close(to_peer[0]);
        close(from_peer[1]);
        out_fd = to_peer[1];
        in_fd = from_peer[0];
    } else {
        char host[64];
        snprintf(host, sizeof host, "%s", argv[1]);
        char *colon = strrchr(host, ':');
        *colon = 0;
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
        inet_pton(AF_INET, host, &addr.sin_addr);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
            perror("connect");
            return 1;
        }
        in_fd = out_fd = fd;
    }
    buf = malloc(buf_cap);
    call("connect", "{}");
    call("session.create", "{\"sessionId\":\"raw\"}");

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    send_request("session.send", "{\"sessionId\":\"raw\",\"prompt\":\"go\"}");
    long events = 0, tools = 0;
    for (;;) {
        char *f = next_frame();
        if (!strstr(f, "\"session.event\"")) continue;
        if (strstr(f, "\"type\":\"assistant.message_delta\"")) {
            events++;
        } else if (strstr(f, "\"type\":\"external_tool.requested\"")) {
            char *rid = strstr(f, "\"requestId\":\"") + 13;
            char params[256];
            snprintf(params, sizeof params, "{\"sessionId\":\"raw\",\"requestId\":\"%.*s\",\"result\":\"ok\"}",
                     (int)(strchr(rid, '"') - rid), rid);
            send_request("session.tools.handlePendingToolCall", params);
            tools++;
        } else if (strstr(f, "\"type\":\"session.idle\"")) {
            break;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("raw: events=%ld seconds=%.3f events_per_s=%.0f tool_calls=%ld\n", events, seconds,
           events / seconds, tools);
    close(in_fd);
    if (out_fd != in_fd) close(out_fd);
    return 0;
}
