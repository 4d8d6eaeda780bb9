/*
 * evbus-cli publish: one JSON event-data object per line, through libproducer, to every
 * enabled topic of the event type.  A bad line is reported and skipped; the rest go on.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "headers.h"
#include "evbus/producer.h"
#include "schema.h"

static const char usage[] =
    "Usage: evbus-cli publish EVENT_TYPE [FILE|-] [--log-format text|json]\n"
    "\n"
    "Publish events of EVENT_TYPE: each line of FILE (default: standard input) is one\n"
    "event's data as a JSON object.  They go through the producer library to every enabled\n"
    "topic the producer config (-c or EVENT_BUS_PRODUCER_CONFIG) gives the type, keyed by its\n"
    "event_key_field, Avro-encoded with the Open edX event bus headers.  Blank lines are\n"
    "skipped.  A line that cannot be published is reported as \"line N: <why>\" and the rest\n"
    "go on.  A summary goes to stderr (not with -q); exit status 1 if any event failed.\n"
    "Delivery waits at most kafka.message.timeout.ms (default here 30000).\n"
    "  --log-format F   stderr lines as text (default) or json (one object per line);\n"
    "                   -X audit.log=true adds a line per produced event\n"
    "  --traceparent TP, --tracestate TS\n"
    "                   W3C trace context written as headers of every event published\n"
    "\n"
    "Example:\n"
    "  echo '{\"order_id\": \"o-1\", ...}' |\n"
    "    evbus-cli -b localhost:9092 -c producer.json publish org.evbus.demo.order.placed.v1\n";

/* Shared with the delivery callback (the producer's thread). */
typedef struct pub_state_s {
    pthread_mutex_t mu;
    uint64_t delivered, failed;
    int reported;
} pub_state_t;

#define MAX_REPORTED 20 /* delivery failures printed one by one; then only counted */

static void on_delivery(const evbus_delivery_t *d, void *opaque) {
    pub_state_t *st = opaque;
    pthread_mutex_lock(&st->mu);
    if (d->err == EVBUS_OK) {
        st->delivered++;
    } else {
        st->failed++;
        evbus_log_fields_t f = {sizeof(f), d->topic, -1, -1, d->event_type, d->event_id,
                                NULL, 0, d->errstr};
        if (st->reported++ >= MAX_REPORTED)
            ; /* counted in the summary */
        else if (evbus_cli_json_logs())
            evbus_cli_log_line(EVBUS_LOG_ERR, "publish", "event not delivered", &f);
        else
            evbus_cli_err("publish", "%s: event %s not delivered: %s", d->topic,
                          d->event_id ? d->event_id : "?", d->errstr);
    }
    pthread_mutex_unlock(&st->mu);
}

/* The enabled topics of the type, for the summary; "(none enabled)" when all are disabled. */
static char *topic_list(const evbus__type_conf_t *tc) {
    evbus__buf_t b = EVBUS__BUF_INIT;
    int r = 0;
    for (size_t i = 0; i < tc->ntopics; i++)
        if (tc->topics[i].enabled)
            r |= evbus__buf_printf(&b, "%s%s", b.len ? ", " : "", tc->topics[i].full_topic);
    if (!b.len)
        r |= evbus__buf_puts(&b, "(none enabled)");
    if (r) {
        evbus__buf_free(&b);
        return NULL;
    }
    return evbus__buf_steal(&b);
}

static int only_space(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

static const struct option longopts[] = {
    {"log-format", required_argument, NULL, 1},
    {"traceparent", required_argument, NULL, 2},
    {"tracestate", required_argument, NULL, 3},
    {NULL, 0, NULL, 0},
};

static int on_opt(void *ctx, int c, const char *arg) {
    evbus_send_opts_t *so = ctx;
    if (c == 1)
        return evbus_cli_log_format_opt(arg);
    if (c == 2 || c == 3) {
        char err[256];
        if (evbus__trace_check(c == 2 ? arg : NULL, c == 3 ? arg : NULL, err, sizeof(err))) {
            evbus_cli_err("publish", "--%s", err);
            return EVBUS_CLI_USAGE;
        }
        *(c == 2 ? &so->traceparent : &so->tracestate) = arg;
        return -1;
    }
    return EVBUS_CLI_USAGE;
}

int evbus_cli_publish(int argc, char **argv, evbus_cli_t *cli) {
    evbus_cli_spec_t spec = {usage, "", longopts, 0};
    evbus_send_opts_t so = {0};
    int first, rc = evbus_cli_parse(cli, argc, argv, &spec, on_opt, &so, &first);
    if (rc >= 0)
        return rc;
    int nargs = argc - first;
    if (nargs < 1 || nargs > 2) {
        evbus_cli_err("publish", "expected EVENT_TYPE [FILE|-] (see evbus-cli publish --help)");
        return EVBUS_CLI_USAGE;
    }
    const char *type = argv[first];
    const char *path = nargs == 2 ? argv[first + 1] : "-";

    /* Check the type before reading any input, and learn its topics for the summary. */
    evbus__schema_store_t *store = evbus_cli_store(cli, &rc);
    if (!store)
        return rc;
    evbus__config_t *cfg = evbus_cli_config(cli, NULL, store, &rc);
    evbus__schema_store_destroy(store);
    if (!cfg)
        return rc;
    const evbus__type_conf_t *tc = evbus__config_find(cfg, type);
    char *topics = tc ? topic_list(tc) : NULL;
    evbus__config_destroy(cfg);
    if (!tc) {
        evbus_cli_err("publish", "event type \"%s\" is not in the producer config", type);
        return EVBUS_CLI_USAGE;
    }
    if (!evbus_cli_has_bootstrap(cli)) {
        free(topics);
        evbus_cli_err("publish", "no broker: give -b HOST:PORT or set EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS");
        return EVBUS_CLI_USAGE;
    }

    FILE *in = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!in) {
        evbus_cli_err("publish", "%s: %s", path, strerror(errno));
        free(topics);
        return EVBUS_CLI_USAGE;
    }

    pub_state_t st;
    memset(&st, 0, sizeof(st));
    pthread_mutex_init(&st.mu, NULL);
    char errstr[4096];
    evbus_producer_t *p = NULL;
    evbus_conf_t *pconf = evbus_conf_dup(cli->conf);
    /* librdkafka's own log lines are for -v; failures reach the user as delivery reports,
     * which carry the last broker error (e.g. a SASL failure). */
    if (pconf && !cli->verbose && !evbus_conf_get(pconf, "kafka.log_level") &&
        evbus_conf_set(pconf, "kafka.log_level", "0", errstr, sizeof(errstr)) != 0) {
        evbus_conf_destroy(pconf);
        pconf = NULL;
    }
    if (pconf && !evbus_conf_get(pconf, "kafka.message.timeout.ms") &&
        evbus_conf_set(pconf, "kafka.message.timeout.ms", "30000", errstr, sizeof(errstr)) != 0) {
        evbus_conf_destroy(pconf);
        pconf = NULL;
    }
    if (!pconf) {
        evbus_cli_err("publish", "out of memory");
        rc = EVBUS_CLI_FAIL;
        goto out;
    }
    evbus_conf_set_delivery_cb(pconf, on_delivery, &st);
    evbus_cli_log_setup(pconf);
    p = evbus_producer_new(pconf, errstr, sizeof(errstr));
    if (!p) {
        evbus_conf_destroy(pconf);
        for (char *line = strtok(errstr, "\n"); line; line = strtok(NULL, "\n"))
            evbus_cli_err("publish", "%s", line);
        rc = EVBUS_CLI_USAGE;
        goto out;
    }

    int progress = isatty(STDERR_FILENO) && !cli->quiet && !evbus_cli_json_logs();
    int64_t last_progress = evbus__now_us();
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long lineno = 0, sent = 0, rejected = 0;
    while ((len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        if (only_space(line, (size_t)len))
            continue;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        evbus_err_t err = evbus_producer_send_opts(p, type, line, (size_t)len,
                                                   so.traceparent || so.tracestate ? &so : NULL,
                                                   errstr, sizeof(errstr));
        if (err) {
            rejected++;
            if (progress)
                fputs("\r\033[K", stderr);
            evbus_cli_err("publish", "line %lu: %s", lineno, errstr[0] ? errstr : evbus_strerror(err));
        } else {
            sent++;
        }
        if (progress && (lineno & 1023) == 0 && evbus__now_us() - last_progress > 500000) {
            last_progress = evbus__now_us();
            fprintf(stderr, "\r\033[K%lu lines, %lu sent", lineno, sent);
        }
    }
    int read_err = ferror(in);
    free(line);
    if (progress && lineno >= 1024)
        fputs("\r\033[K", stderr);
    if (read_err)
        evbus_cli_err("publish", "%s: read error", path);

    int undelivered = evbus_producer_flush(p, 35000);
    evbus_producer_destroy(p);
    pthread_mutex_lock(&st.mu);
    uint64_t delivered = st.delivered, failed = st.failed;
    pthread_mutex_unlock(&st.mu);
    if (undelivered > 0 && failed < (uint64_t)undelivered)
        failed = (uint64_t)undelivered;
    if (!cli->quiet) {
        char summary[1024];
        snprintf(summary, sizeof(summary),
                 "%lu event%s sent, %lu line%s rejected, "
                 "%" PRIu64 " message%s delivered, %" PRIu64 " not delivered; topics: %s",
                 sent, sent == 1 ? "" : "s", rejected, rejected == 1 ? "" : "s", delivered,
                 delivered == 1 ? "" : "s", failed, topics);
        evbus_cli_log_line(EVBUS_LOG_INFO, "publish", summary, NULL);
    }
    rc = rejected || failed || read_err ? EVBUS_CLI_FAIL : EVBUS_CLI_OK;
out:
    pthread_mutex_destroy(&st.mu);
    if (in != stdin)
        fclose(in);
    free(topics);
    return rc;
}
