/* Timing, peak RSS, deadlines, options and topic creation for the benchmark programs. */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "bench.h"

double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_cpu(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

long bench_vmhwm_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

void bench_result(uint64_t events, double seconds, double cpu_seconds, const char *extra) {
    printf("result events=%llu seconds=%.6f rate=%.0f cpu_us=%.3f hwm_kb=%ld%s%s\n",
           (unsigned long long)events, seconds, seconds > 0 ? (double)events / seconds : 0.0,
           events ? cpu_seconds * 1e6 / (double)events : 0.0, bench_vmhwm_kb(),
           extra ? " " : "", extra ? extra : "");
    fflush(stdout);
}

void bench_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void on_alarm(int sig) {
    static const char msg[] = "bench: deadline reached, giving up\n";
    (void)sig;
    if (write(2, msg, sizeof(msg) - 1) < 0) { /* nothing more to do */
    }
    _exit(1);
}

void bench_set_timeout(int seconds) {
    if (seconds <= 0)
        return;
    signal(SIGALRM, on_alarm);
    alarm((unsigned)seconds);
}

void bench_queue_bounds(int consumer, char *b, size_t size) {
    static const char *const prod[] = {"queue.buffering.max.messages", "queue.buffering.max.kbytes"};
    static const char *const cons[] = {"queued.max.messages.kbytes", "queued.min.messages"};
    const char *const *names = consumer ? cons : prod;
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    size_t off = 0;
    b[0] = 0;
    for (int i = 0; i < 2 && off < size; i++) {
        char v[64];
        size_t vs = sizeof(v);
        if (rd_kafka_conf_get(kc, names[i], v, &vs) != RD_KAFKA_CONF_OK)
            snprintf(v, sizeof(v), "?");
        int n = snprintf(b + off, size - off, " %s=%s", names[i], v);
        if (n < 0)
            break;
        off += (size_t)n;
    }
    rd_kafka_conf_destroy(kc);
}

const char *bench_producer_config(const char *type, const char *key_field, const char *topic) {
    static char b[1024];
    snprintf(b, sizeof(b), "{\"%s\": [{\"topic\": \"%s\", \"event_key_field\": \"%s\"}]}", type,
             topic, key_field);
    return b;
}

void bench_ensure_topic(const char *bootstrap, const char *topic, int partitions) {
    char errstr[512];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    if (rd_kafka_conf_set(kc, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(kc, "log_level", "2", errstr, sizeof(errstr)))
        bench_die("%s", errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof(errstr));
    if (!rk)
        bench_die("rd_kafka_new: %s", errstr);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, errstr, sizeof(errstr));
    if (!nt)
        bench_die("NewTopic: %s", errstr);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000);
    int ok = 0;
    if (ev) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t n = 0;
        const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
        rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
        if (!e && n == 1)
            e = rd_kafka_topic_result_error(tr[0]);
        ok = !e || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS;
        if (!ok)
            fprintf(stderr, "bench: create topic %s: %s\n", topic, rd_kafka_err2str(e));
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    if (!ok)
        bench_die("could not create topic %s", topic);
}

void bench_parse(int argc, char **argv, const char *usage, bench_opts_t *o) {
    static const struct option longopts[] = {
        {"bootstrap", required_argument, NULL, 'b'}, {"topic", required_argument, NULL, 't'},
        {"events", required_argument, NULL, 'n'},    {"threads", required_argument, NULL, 'T'},
        {"workers", required_argument, NULL, 'w'},   {"schemas", required_argument, NULL, 's'},
        {"timeout", required_argument, NULL, 'x'},   {"group", required_argument, NULL, 'g'},
        {"out", required_argument, NULL, 'o'},       {"partitions", required_argument, NULL, 'P'},
        {"given-ids", no_argument, NULL, 'I'},       {"transactional", no_argument, NULL, 'X'},
        {"type", required_argument, NULL, 'y'},      {"key-field", required_argument, NULL, 'k'},
        {"ring", required_argument, NULL, 'r'},      {"registry", required_argument, NULL, 'R'},
        {"queue-messages", required_argument, NULL, 'Q'},
        {"spool", required_argument, NULL, 'S'},     {"spool-sync", required_argument, NULL, 'Y'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    o->threads = 1;
    o->workers = 1;
    o->timeout = 600;
    o->events = 100000;
    if (argc < 2 || argv[1][0] == '-') {
        fputs(usage, stderr);
        exit(2);
    }
    o->mode = argv[1];
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "b:t:n:", longopts, NULL)) != -1) {
        char *end = NULL;
        long long v = 0;
        if (strchr("nTwxPQ", c)) {
            v = strtoll(optarg, &end, 10);
            if (!*optarg || *end || v < 1) {
                fprintf(stderr, "bench: bad number '%s'\n%s", optarg, usage);
                exit(2);
            }
        }
        switch (c) {
        case 'b': o->bootstrap = optarg; break;
        case 't': o->topic = optarg; break;
        case 'n': o->events = (uint64_t)v; break;
        case 'T': o->threads = v > 64 ? 64 : (int)v; break;
        case 'w': o->workers = v > 64 ? 64 : (int)v; break;
        case 's': o->schemas = optarg; break;
        case 'x': o->timeout = v > 86400 ? 86400 : (int)v; break;
        case 'g': o->group = optarg; break;
        case 'o': o->out = optarg; break;
        case 'y': o->type = optarg; break;
        case 'k': o->key_field = optarg; break;
        case 'r': o->ring = optarg; break;
        case 'R': o->registry = optarg; break;
        case 'I': o->given_ids = 1; break;
        case 'X': o->transactional = 1; break;
        case 'S': o->spool = optarg; break;
        case 'Y': o->spool_sync = optarg; break;
        case 'P': o->partitions = v > 1000 ? 1000 : (int)v; break;
        case 'Q': o->queue_messages = v > 10000000 ? 10000000 : (int)v; break;
        default: fputs(usage, stderr); exit(2);
        }
    }
    if (optind != argc) {
        fputs(usage, stderr);
        exit(2);
    }
    if (o->ring)
        bench_ring_load(o->ring);
    bench_set_timeout(o->timeout);
}

void bench_uuid1(char out[BENCH_UUID_LEN]) {
    /* 100 ns ticks since 1582-10-15 plus a counter, so ids made in one tick still differ */
    static uint64_t seq;
    static unsigned node_lo;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (!node_lo)
        node_lo = (unsigned)getpid() * 2654435761u | 1u;
    uint64_t t = ((uint64_t)ts.tv_sec * 10000000u + (uint64_t)ts.tv_nsec / 100u +
                  0x01B21DD213814000ull) + seq++;
    snprintf(out, BENCH_UUID_LEN, "%08x-%04x-%04x-%04x-%04x%08x", (unsigned)(t & 0xffffffffu),
             (unsigned)((t >> 32) & 0xffffu), (unsigned)(((t >> 48) & 0x0fffu) | 0x1000u),
             (unsigned)(0x8000u | (seq & 0x3fffu)), 0x0100u, node_lo);
}

void bench_time_iso(char out[BENCH_TIME_LEN]) {
    struct timespec ts;
    struct tm tm;
    char s[24];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, BENCH_TIME_LEN, "%.19s.%06u+00:00", s, (unsigned)(ts.tv_nsec / 1000) % 1000000u);
}
