/*
 * evbus-cli broker: librdkafka's in-process mock cluster as a development broker.
 *
 * librdkafka 2.0.2's mock brokers always listen on ephemeral ports (rdkafka_mock.h has no
 * way to choose one), so --port P runs a small TCP forwarder on 127.0.0.1:P to the first
 * broker.  That is enough for a stable bootstrap address: clients bootstrap through P, then
 * connect to the brokers' advertised (ephemeral) addresses from the metadata.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "cli.h"

static const char usage[] =
    "Usage: evbus-cli broker [--brokers N] [--port P] [--topic NAME[:PARTITIONS]]...\n"
    "\n"
    "Run an embedded development broker (librdkafka's mock cluster) on 127.0.0.1 until\n"
    "SIGINT or SIGTERM.  The first line on stdout is bootstrap.servers=<host:port,...>.\n"
    "Topics are created on first produce (4 partitions) or up front with --topic.\n"
    "Data lives in memory only, and only about the last 5 MiB of each partition is kept:\n"
    "older events are dropped (100,000 events of 1 KiB on one 4-partition topic keep only the\n"
    "newest ~20%).  For development and tests, not for data you want to keep.\n"
    "\n"
    "Options:\n"
    "      --brokers N               number of brokers (1..16, default 1)\n"
    "      --port P                  also accept bootstrap connections on 127.0.0.1:P\n"
    "                                (forwarded to the first broker)\n"
    "      --topic NAME[:PARTITIONS] create a topic at start (default 1 partition; repeatable)\n"
    "\n"
    "Example:\n"
    "  evbus-cli broker --topic orders:3 > broker.out &\n"
    "  kcat -b \"$(sed -n 's/^bootstrap.servers=//p' broker.out)\" -L\n";

enum { OPT_BROKERS = 1, OPT_PORT, OPT_TOPIC };

static const struct option longopts[] = {
    {"brokers", required_argument, NULL, OPT_BROKERS},
    {"port", required_argument, NULL, OPT_PORT},
    {"topic", required_argument, NULL, OPT_TOPIC},
    {NULL, 0, NULL, 0},
};

typedef struct broker_opts_s {
    long brokers;
    long port;
    const char **topics;
    size_t ntopics;
} broker_opts_t;

static int on_opt(void *ctx, int c, const char *arg) {
    broker_opts_t *o = ctx;
    switch (c) {
    case OPT_BROKERS:
        if (evbus_cli_parse_long(arg, 1, 16, &o->brokers) != 0) {
            evbus_cli_err("broker", "--brokers: expected 1..16, got \"%s\"", arg);
            return EVBUS_CLI_USAGE;
        }
        return -1;
    case OPT_PORT:
        if (evbus_cli_parse_long(arg, 1, 65535, &o->port) != 0) {
            evbus_cli_err("broker", "--port: expected 1..65535, got \"%s\"", arg);
            return EVBUS_CLI_USAGE;
        }
        return -1;
    case OPT_TOPIC: {
        const char **t = realloc(o->topics, (o->ntopics + 1) * sizeof(*t));
        if (!t) {
            evbus_cli_err("broker", "out of memory");
            return EVBUS_CLI_FAIL;
        }
        o->topics = t;
        o->topics[o->ntopics++] = arg;
        return -1;
    }
    }
    return EVBUS_CLI_USAGE;
}

/* ---- the bootstrap forwarder (--port) ---- */

#define FWD_MAX 64 /* connection pairs */

typedef struct fwd_s {
    int lfd;
    int wake[2];
    struct sockaddr_in target;
    int fds[FWD_MAX][2]; /* client, broker; -1 when unused */
    pthread_t thr;
} fwd_t;

static void fwd_close_pair(fwd_t *f, int i) {
    close(f->fds[i][0]);
    close(f->fds[i][1]);
    f->fds[i][0] = f->fds[i][1] = -1;
}

/* Copy what is readable on from to to; -1 when the pair should close. */
static int fwd_pump(int from, int to) {
    char buf[65536];
    ssize_t n = read(from, buf, sizeof(buf));
    if (n <= 0)
        return -1;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += w;
    }
    return 0;
}

static void *fwd_main(void *arg) {
    fwd_t *f = arg;
    for (;;) {
        struct pollfd p[2 + 2 * FWD_MAX];
        int idx[2 + 2 * FWD_MAX];
        nfds_t n = 0;
        p[n].fd = f->wake[0], p[n].events = POLLIN, idx[n++] = -1;
        p[n].fd = f->lfd, p[n].events = POLLIN, idx[n++] = -1;
        for (int i = 0; i < FWD_MAX; i++)
            for (int s = 0; s < 2 && f->fds[i][0] >= 0; s++)
                p[n].fd = f->fds[i][s], p[n].events = POLLIN, idx[n++] = i * 2 + s;
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents)
            break;
        for (nfds_t k = 2; k < n; k++) {
            if (!p[k].revents)
                continue;
            int i = idx[k] / 2, s = idx[k] % 2;
            if (f->fds[i][0] >= 0 && fwd_pump(f->fds[i][s], f->fds[i][!s]) != 0)
                fwd_close_pair(f, i);
        }
        if (p[1].revents & POLLIN) {
            int c = accept(f->lfd, NULL, NULL);
            if (c < 0)
                continue;
            int slot = -1;
            for (int i = 0; i < FWD_MAX && slot < 0; i++)
                if (f->fds[i][0] < 0)
                    slot = i;
            int b = slot < 0 ? -1 : socket(AF_INET, SOCK_STREAM, 0);
            if (b < 0 || connect(b, (struct sockaddr *)&f->target, sizeof(f->target)) != 0) {
                if (b >= 0)
                    close(b);
                close(c);
                continue;
            }
            f->fds[slot][0] = c;
            f->fds[slot][1] = b;
        }
    }
    for (int i = 0; i < FWD_MAX; i++)
        if (f->fds[i][0] >= 0)
            fwd_close_pair(f, i);
    return NULL;
}

/* Listen on 127.0.0.1:port and forward to the first host:port of bootstraps. */
static fwd_t *fwd_start(long port, const char *bootstraps, char *errstr, size_t errstr_size) {
    fwd_t *f = calloc(1, sizeof(*f));
    if (!f) {
        evbus_cli_seterr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    memset(f->fds, -1, sizeof(f->fds));
    f->lfd = f->wake[0] = f->wake[1] = -1;
    const char *colon = strchr(bootstraps, ':');
    long tport;
    char portbuf[16];
    size_t plen = colon ? strcspn(colon + 1, ",") : 0;
    if (!colon || plen == 0 || plen >= sizeof(portbuf)) {
        evbus_cli_seterr(errstr, errstr_size, "unexpected broker address \"%s\"", bootstraps);
        goto fail;
    }
    memcpy(portbuf, colon + 1, plen);
    portbuf[plen] = 0;
    if (evbus_cli_parse_long(portbuf, 1, 65535, &tport) != 0) {
        evbus_cli_seterr(errstr, errstr_size, "unexpected broker address \"%s\"", bootstraps);
        goto fail;
    }
    f->target.sin_family = AF_INET;
    f->target.sin_port = htons((uint16_t)tport);
    f->target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    if ((f->lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(f->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(f->lfd, 16) != 0) {
        evbus_cli_seterr(errstr, errstr_size, "cannot listen on 127.0.0.1:%ld: %s", port,
                      strerror(errno));
        goto fail;
    }
    if (pipe(f->wake) != 0) {
        evbus_cli_seterr(errstr, errstr_size, "pipe: %s", strerror(errno));
        goto fail;
    }
    int e = pthread_create(&f->thr, NULL, fwd_main, f);
    if (e != 0) {
        evbus_cli_seterr(errstr, errstr_size, "cannot start thread: %s", strerror(e));
        goto fail;
    }
    return f;
fail:
    if (f->lfd >= 0)
        close(f->lfd);
    if (f->wake[0] >= 0) {
        close(f->wake[0]);
        close(f->wake[1]);
    }
    free(f);
    return NULL;
}

static void fwd_stop(fwd_t *f) {
    if (!f)
        return;
    ssize_t w;
    do
        w = write(f->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(f->thr, NULL);
    close(f->lfd);
    close(f->wake[0]);
    close(f->wake[1]);
    free(f);
}

/* ---- the command ---- */

static int create_topics(rd_kafka_mock_cluster_t *mc, const broker_opts_t *o) {
    for (size_t i = 0; i < o->ntopics; i++) {
        char name[512];
        long parts = 1;
        const char *colon = strrchr(o->topics[i], ':');
        size_t nlen = colon ? (size_t)(colon - o->topics[i]) : strlen(o->topics[i]);
        if (colon && evbus_cli_parse_long(colon + 1, 1, 1000, &parts) != 0) {
            evbus_cli_err("broker", "--topic %s: expected NAME[:PARTITIONS 1..1000]", o->topics[i]);
            return EVBUS_CLI_USAGE;
        }
        if (nlen == 0 || nlen >= sizeof(name)) {
            evbus_cli_err("broker", "--topic %s: bad topic name", o->topics[i]);
            return EVBUS_CLI_USAGE;
        }
        memcpy(name, o->topics[i], nlen);
        name[nlen] = 0;
        int rf = o->brokers < 3 ? (int)o->brokers : 3;
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, (int)parts, rf);
        if (err) {
            evbus_cli_err("broker", "cannot create topic %s: %s", name, rd_kafka_err2str(err));
            return EVBUS_CLI_FAIL;
        }
    }
    return 0;
}

int evbus_cli_broker(int argc, char **argv, evbus_cli_t *cli) {
    broker_opts_t o = {.brokers = 1};
    evbus_cli_spec_t spec = {usage, "", longopts, 0};
    int first;
    int rc = evbus_cli_parse(cli, argc, argv, &spec, on_opt, &o, &first);
    if (rc >= 0)
        goto out;
    if (first < argc) {
        evbus_cli_err("broker", "unexpected argument \"%s\"", argv[first]);
        rc = EVBUS_CLI_USAGE;
        goto out;
    }

    /* Block the signals before librdkafka starts threads, so they inherit the mask and
     * sigwait() below is the only receiver. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    char errstr[512];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    if (!kc || rd_kafka_conf_set(kc, "log_level", cli->verbose ? "6" : "3", errstr,
                                 sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        evbus_cli_err("broker", "cannot configure: %s", kc ? errstr : "out of memory");
        rd_kafka_conf_destroy(kc);
        rc = EVBUS_CLI_FAIL;
        goto out;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(kc);
        evbus_cli_err("broker", "%s", errstr);
        rc = EVBUS_CLI_FAIL;
        goto out;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, (int)o.brokers);
    if (!mc) {
        evbus_cli_err("broker", "cannot start the mock cluster");
        rd_kafka_destroy(rk);
        rc = EVBUS_CLI_FAIL;
        goto out;
    }
    fwd_t *fwd = NULL;
    rc = create_topics(mc, &o);
    const char *bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
    if (rc == 0 && o.port) {
        fwd = fwd_start(o.port, bootstraps, errstr, sizeof(errstr));
        if (!fwd) {
            evbus_cli_err("broker", "--port: %s", errstr);
            rc = EVBUS_CLI_FAIL;
        }
    }
    if (rc == 0) {
        if (fwd)
            printf("bootstrap.servers=127.0.0.1:%ld\n", o.port);
        else
            printf("bootstrap.servers=%s\n", bootstraps);
        if (fflush(stdout) != 0) {
            evbus_cli_err("broker", "cannot write to stdout");
            rc = EVBUS_CLI_FAIL;
        } else {
            if (!cli->quiet)
                fprintf(stderr, "evbus-cli: broker: development broker (librdkafka's mock "
                                "cluster): data is kept in memory only, and only about the last "
                                "5 MiB per partition; older events are dropped\n");
            evbus_cli_log(cli, "%ld broker(s) at %s; stop with SIGINT or SIGTERM", o.brokers,
                          bootstraps);
            int sig = 0;
            while (sigwait(&sigs, &sig) != 0)
                ;
            evbus_cli_log(cli, "signal %d: stopping", sig);
        }
    }
    fwd_stop(fwd);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
out:
    free(o.topics);
    return rc;
}
