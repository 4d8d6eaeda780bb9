/*
 * consume --metrics HOST:PORT: /metrics (Prometheus text of evbus_consumer_metrics) and
 * /healthz (evbus_consumer_health: 200 "ok", or 503 and the one-line reason), served by
 * libmicrohttpd on its own thread.
 */
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "cli.h"
#include <evbus/consumer.h>

struct evbus_cli_http_s {
    struct MHD_Daemon *d;
    evbus_consumer_t *c;
    int port;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             const char *body, size_t len) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
    evbus_cli_http_t *h = cls;
    (void)version; (void)upload; (void)upload_size; (void)con_cls;
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET only\n", 9);
    if (!strcmp(url, "/metrics")) {
        /* The text grows between calls (new types); retry with what it needs now. */
        size_t cap = 16384;
        for (int tries = 0; tries < 4; tries++) {
            char *buf = malloc(cap);
            if (!buf)
                break;
            size_t n = evbus_consumer_metrics(h->c, buf, cap);
            if (n < cap) {
                enum MHD_Result r =
                    reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", buf, n);
                free(buf);
                return r;
            }
            free(buf);
            cap = n + 4096;
        }
        return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n", 14);
    }
    if (!strcmp(url, "/healthz")) {
        char why[512];
        evbus_err_t e = evbus_consumer_health(h->c, why, sizeof(why) - 1);
        size_t n = strlen(why);
        why[n++] = '\n';
        return reply(conn, e == EVBUS_OK ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                     "text/plain; charset=utf-8", why, n);
    }
    return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", "not found: try /metrics or /healthz\n", 36);
}

evbus_cli_http_t *evbus_cli_http_start(const char *addr, evbus_consumer_t *c, char *errstr,
                                       size_t errstr_size) {
    char host[256];
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    long port;
    if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof(host) ||
        evbus_cli_parse_long(colon + 1, 0, 65535, &port) != 0) {
        evbus_cli_seterr(errstr, errstr_size, "--metrics: expected HOST:PORT, got \"%s\"",
                      addr ? addr : "");
        return NULL;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:9100 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char ports[16];
    snprintf(ports, sizeof(ports), "%ld", port);
    int gai = getaddrinfo(host, ports, &hints, &ai);
    if (gai != 0) {
        evbus_cli_seterr(errstr, errstr_size, "--metrics %s: %s", addr, gai_strerror(gai));
        return NULL;
    }
    evbus_cli_http_t *h = calloc(1, sizeof(*h));
    if (!h) {
        freeaddrinfo(ai);
        evbus_cli_seterr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    h->c = c;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    /* One scraper at a time is the norm; a few more are fine, hundreds are not our job. */
    h->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
                            ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->d) {
        evbus_cli_seterr(errstr, errstr_size, "--metrics %s: cannot listen there (in use?)", addr);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? (int)di->port : (int)port;
    return h;
}

int evbus_cli_http_port(const evbus_cli_http_t *h) { return h ? h->port : -1; }

void evbus_cli_http_stop(evbus_cli_http_t *h) {
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    free(h);
}
