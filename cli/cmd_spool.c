/*
 * evbus-cli spool status DIR | spool drain DIR: what a producer's crash-safe spool holds, and
 * delivering it.  Written against the public API only (evbus/spool.h, evbus/producer.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include <evbus/producer.h>
#include <evbus/spool.h>

static const char usage[] =
    "Usage: evbus-cli spool status DIR [--format text|json]\n"
    "       evbus-cli spool drain DIR [--timeout-ms N]\n"
    "\n"
    "A producer's crash-safe spool (producer.spool.dir, EVBUS_PRODUCER_SPOOL_DIR, publish\n"
    "--spool) holds every event send accepted until all of its topics have it.\n"
    "\n"
    "  status  the events held, their bytes, the oldest one's age, and per topic.  Read-only:\n"
    "          it takes no lock, so it also works while a producer runs on DIR.\n"
    "  drain   open a producer on DIR (-b or EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS), deliver what it\n"
    "          holds and exit: 0 when all is delivered, 1 when something is still held after\n"
    "          --timeout-ms (default 60000; it stays in the spool).  A spool another producer\n"
    "          holds is an error naming that producer's pid.\n";

enum { OPT_FORMAT = 1, OPT_TIMEOUT };

static const struct option longopts[] = {
    {"format", required_argument, NULL, OPT_FORMAT},
    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
    {NULL, 0, NULL, 0},
};

typedef struct spool_opts_s {
    int json;
    long timeout_ms;
} spool_opts_t;

static int on_opt(void *ctx, int c, const char *arg) {
    spool_opts_t *o = ctx;
    if (c == OPT_FORMAT) {
        if (strcmp(arg, "text") && strcmp(arg, "json")) {
            evbus_cli_err("spool", "--format: expected text or json, got \"%s\"", arg);
            return EVBUS_CLI_USAGE;
        }
        o->json = !strcmp(arg, "json");
    } else if (c == OPT_TIMEOUT) {
        if (evbus_cli_parse_long(arg, 0, 86400000, &o->timeout_ms) != 0) {
            evbus_cli_err("spool", "--timeout-ms: expected milliseconds, got \"%s\"", arg);
            return EVBUS_CLI_USAGE;
        }
    }
    return -1;
}

/* Topic names are Kafka's legal characters only; a damaged spool could hold anything, so
 * they are printed with anything else as '?'. */
static void put_name(const char *s) {
    for (; *s; s++)
        putchar((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
                        *s == '.' || *s == '_' || *s == '-'
                    ? *s
                    : '?');
}

static int status(const char *dir, const spool_opts_t *o) {
    char err[1024];
    evbus_spool_info_t *in = evbus_spool_info_new(dir, err, sizeof(err));
    if (!in) {
        evbus_cli_err("spool status", "%s", err);
        return EVBUS_CLI_FAIL;
    }
    uint64_t ev = evbus_spool_info_events(in), by = evbus_spool_info_bytes(in);
    double age = evbus_spool_info_oldest_seconds(in);
    size_t nt = evbus_spool_info_topic_count(in);
    if (o->json) {
        printf("{\"events\":%llu,\"bytes\":%llu,\"oldest_seconds\":", (unsigned long long)ev,
               (unsigned long long)by);
        if (age < 0)
            printf("null");
        else
            printf("%.3f", age);
        printf(",\"damaged\":%llu,\"topics\":[", (unsigned long long)evbus_spool_info_damaged(in));
        for (size_t i = 0; i < nt; i++) {
            printf("%s{\"topic\":\"", i ? "," : "");
            put_name(evbus_spool_info_topic_name(in, i));
            printf("\",\"events\":%llu,\"bytes\":%llu}",
                   (unsigned long long)evbus_spool_info_topic_events(in, i),
                   (unsigned long long)evbus_spool_info_topic_bytes(in, i));
        }
        printf("]}\n");
    } else {
        printf("events\t%llu\nbytes\t%llu\n", (unsigned long long)ev, (unsigned long long)by);
        if (age < 0)
            printf("oldest\t-\n");
        else
            printf("oldest\t%.1f s\n", age);
        if (evbus_spool_info_damaged(in))
            printf("damaged\t%llu (cut off or quarantined when a producer next opens it)\n",
                   (unsigned long long)evbus_spool_info_damaged(in));
        for (size_t i = 0; i < nt; i++) {
            printf("topic\t");
            put_name(evbus_spool_info_topic_name(in, i));
            printf("\t%llu events\t%llu bytes\n",
                   (unsigned long long)evbus_spool_info_topic_events(in, i),
                   (unsigned long long)evbus_spool_info_topic_bytes(in, i));
        }
    }
    evbus_spool_info_destroy(in);
    return EVBUS_CLI_OK;
}

static int drain(evbus_cli_t *cli, const char *dir, const spool_opts_t *o) {
    char err[4096];
    if (!evbus_cli_has_bootstrap(cli)) {
        evbus_cli_err("spool drain", "no broker: give -b HOST:PORT or set "
                      "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS");
        return EVBUS_CLI_USAGE;
    }
    evbus_conf_t *c = evbus_conf_dup(cli->conf);
    /* The spool holds every message framed and keyed: no event type config is needed. */
    if (!c || evbus_conf_set(c, "producer.spool.dir", dir, err, sizeof(err)) != EVBUS_CONF_OK ||
        (!evbus_conf_get(c, "producer.config") &&
         evbus_conf_set(c, "producer.config", "{}", err, sizeof(err)) != EVBUS_CONF_OK) ||
        (!cli->verbose && !evbus_conf_get(c, "kafka.log_level") &&
         evbus_conf_set(c, "kafka.log_level", "0", err, sizeof(err)) != EVBUS_CONF_OK)) {
        evbus_cli_err("spool drain", "%s", c ? err : "out of memory");
        evbus_conf_destroy(c);
        return EVBUS_CLI_FAIL;
    }
    evbus_cli_log_setup(c);
    evbus_spool_info_t *in = evbus_spool_info_new(dir, err, sizeof(err));
    uint64_t held = evbus_spool_info_events(in);
    evbus_spool_info_destroy(in);
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    if (!p) {
        evbus_conf_destroy(c);
        evbus_cli_err("spool drain", "%s", err);
        return EVBUS_CLI_FAIL;
    }
    int left = evbus_producer_flush(p, (int)o->timeout_ms);
    evbus_producer_destroy(p);
    if (left > 0) {
        evbus_cli_err("spool drain", "%s: %d event%s of %llu not delivered after %ld ms; still held "
                      "in the spool", dir, left, left == 1 ? "" : "s", (unsigned long long)held,
                      o->timeout_ms);
        return EVBUS_CLI_FAIL;
    }
    if (!cli->quiet)
        fprintf(stderr, "evbus-cli: spool drain: %s: %llu event%s delivered\n", dir,
                (unsigned long long)held, held == 1 ? "" : "s");
    return EVBUS_CLI_OK;
}

int evbus_cli_spool(int argc, char **argv, evbus_cli_t *cli) {
    spool_opts_t o = {0, 60000};
    evbus_cli_spec_t spec = {usage, "", longopts, 0};
    int first, rc = evbus_cli_parse(cli, argc, argv, &spec, on_opt, &o, &first);
    if (rc >= 0)
        return rc;
    if (argc - first != 2 || (strcmp(argv[first], "status") && strcmp(argv[first], "drain"))) {
        evbus_cli_err("spool", "expected status DIR or drain DIR (see evbus-cli spool --help)");
        return EVBUS_CLI_USAGE;
    }
    const char *dir = argv[first + 1];
    return !strcmp(argv[first], "status") ? status(dir, &o) : drain(cli, dir, &o);
}
