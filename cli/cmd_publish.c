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
#include <evbus/producer.h>
#include "progress.h"

static const char usage[] =
    "Usage: evbus-cli publish EVENT_TYPE [FILE|-] [--failed OUT] [--only-topics] [--spool DIR]\n"
    "                         [--log-format text|json] [--traceparent TP [--tracestate TS]]\n"
    "\n"
    "Publish events of EVENT_TYPE: each line of FILE (default: standard input) is one\n"
    "event's data as a JSON object.  They go through the producer library to every enabled\n"
    "topic the producer config (-c or EVENT_BUS_PRODUCER_CONFIG) gives the type, keyed by its\n"
    "event_key_field, Avro-encoded with the Open edX event bus headers.  Blank lines are\n"
    "skipped.  A line that cannot be published is reported as \"line N: <why>\" and the rest\n"
    "go on.  An event goes to all of its topics or is refused whole; while the producer's\n"
    "queue is full, publishing waits (queue.full.timeout.ms, default 60000).  A summary goes\n"
    "to stderr (not with -q): events delivered to all of their topics, to some, to none;\n"
    "exit status 1 if any event did not reach all of its topics.\n"
    "Delivery waits at most kafka.message.timeout.ms (librdkafka's default 300000, as in the\n"
    "library and the Python bus: a broker restart is ridden out, not failed).  With --spool,\n"
    "as long as deliveries progress (checked every cli.timeout.ms); the rest stays held.\n"
    "With -X producer.transactional=true events are published in Kafka transactions:\n"
    "read_committed consumers see each on all of its topics or on none.\n"
    "\n"
    "  --failed OUT    write every event that did not reach all of its topics to OUT: an\n"
    "                  event that reached none as its line; one that reached some as\n"
    "                  \"TOPIC,...<TAB>LINE\", the topics it still needs.  Publishing OUT\n"
    "                  again (with --only-topics) gives each topic exactly one copy.\n"
    "  --only-topics   input lines may start with \"TOPIC,...<TAB>\": such an event goes only\n"
    "                  to those of its type's topics (what --failed wrote).\n"
    "  --spool DIR     crash-safe: each event is written to the spool DIR before it counts\n"
    "                  as sent, and stays there until all of its topics have it (also\n"
    "                  EVBUS_PRODUCER_SPOOL_DIR).  Events held there at the end are said so\n"
    "                  (exit 1); the next producer on DIR or `spool drain DIR` delivers them.\n"
    "  --log-format F  stderr lines as text (default) or json (one object per line);\n"
    "                  -X audit.log=true adds a line per produced event\n"
    "  --traceparent TP, --tracestate TS\n"
    "                  W3C trace context, written as headers of every event published\n"
    "\n"
    "Example:\n"
    "  echo '{\"order_id\": \"o-1\", ...}' |\n"
    "    evbus-cli -b localhost:9092 -c producer.json publish org.evbus.demo.order.placed.v1\n";

enum { OPT_FAILED = 1, OPT_ONLY_TOPICS, OPT_LOG_FORMAT, OPT_TRACEPARENT, OPT_TRACESTATE, OPT_SPOOL };

static const struct option longopts[] = {
    {"failed", required_argument, NULL, OPT_FAILED},
    {"only-topics", no_argument, NULL, OPT_ONLY_TOPICS},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"traceparent", required_argument, NULL, OPT_TRACEPARENT},
    {"tracestate", required_argument, NULL, OPT_TRACESTATE},
    {"spool", required_argument, NULL, OPT_SPOOL},
    {NULL, 0, NULL, 0},
};

/* One event on its way: its line (for --failed) and its topics' outcomes so far.  Owned by
 * the delivery callback once sent; the last outcome settles and frees it. */
typedef struct pub_event_s {
    char *line; /* as read (NULL without --failed) */
    size_t ntopics, ndone, nfailed;
    evbus_cli_buf_t failed_topics; /* "a,b" */
} pub_event_t;

/* Shared with the delivery callback (the producer's thread). */
typedef struct pub_state_s {
    pthread_mutex_t mu;
    uint64_t delivered, failed;           /* messages */
    uint64_t ev_all, ev_some, ev_none;    /* events, by how many of their topics they reached */
    int reported;
    FILE *failed_out;
    int write_error;
} pub_state_t;

#define MAX_REPORTED 20 /* delivery failures printed one by one; then only counted */

static void event_free(pub_event_t *ev) {
    evbus_cli_buf_free(&ev->failed_topics);
    free(ev->line);
    free(ev);
}

/* Settle an event whose every topic has an outcome (mu held). */
static void settle(pub_state_t *st, pub_event_t *ev) {
    if (ev->nfailed == 0) {
        st->ev_all++;
    } else if (ev->nfailed < ev->ntopics) {
        st->ev_some++;
        if (st->failed_out && ev->line &&
            fprintf(st->failed_out, "%s\t%s\n", (char *)ev->failed_topics.data, ev->line) < 0)
            st->write_error = 1;
    } else {
        st->ev_none++;
        if (st->failed_out && ev->line && fprintf(st->failed_out, "%s\n", ev->line) < 0)
            st->write_error = 1;
    }
    event_free(ev);
}

/* Record n topic outcomes of ev (mu held); settles it once all are in. */
static void outcome(pub_state_t *st, pub_event_t *ev, size_t ntopics, const char *failed_topic) {
    ev->ntopics = ntopics;
    ev->ndone++;
    if (failed_topic) {
        ev->nfailed++;
        if (evbus_cli_buf_printf(&ev->failed_topics, "%s%s", ev->failed_topics.len ? "," : "",
                              failed_topic) != 0)
            st->write_error = 1;
    }
    if (ev->ndone == ev->ntopics)
        settle(st, ev);
}

static void on_delivery(const evbus_delivery_t *d, void *opaque) {
    pub_state_t *st = opaque;
    evbus_cli_progress_delivery(d->err == EVBUS_OK);
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
    if (d->opaque)
        outcome(st, d->opaque, d->ntopics, d->err == EVBUS_OK ? NULL : d->topic);
    pthread_mutex_unlock(&st->mu);
}

typedef struct pub_opts_s {
    const char *failed_path;
    int only_topics;
    const char *traceparent, *tracestate; /* W3C trace context for every event */
    const char *spool;                    /* --spool DIR */
} pub_opts_t;

static int on_opt(void *ctx, int c, const char *arg) {
    pub_opts_t *o = ctx;
    char err[256];
    if (c == OPT_FAILED)
        o->failed_path = arg;
    else if (c == OPT_ONLY_TOPICS)
        o->only_topics = 1;
    else if (c == OPT_LOG_FORMAT)
        return evbus_cli_log_format_opt(arg);
    else if (c == OPT_SPOOL)
        o->spool = arg;
    else if (evbus_trace_check(c == OPT_TRACEPARENT ? arg : NULL, c == OPT_TRACESTATE ? arg : NULL,
                                err, sizeof(err)) != 0) {
        evbus_cli_err("publish", "--%s", err);
        return EVBUS_CLI_USAGE;
    } else if (c == OPT_TRACEPARENT)
        o->traceparent = arg;
    else if (c == OPT_TRACESTATE)
        o->tracestate = arg;
    return -1;
}

/* "a,b<TAB>{...}": split the topics off (in place) into names[]; *json is the rest. */
static int split_topics(char *line, char **json, const char ***names, size_t *n, size_t *cap) {
    char *tab = strchr(line, '\t');
    *n = 0;
    if (!tab || line[0] == '{') {
        *json = line;
        return 0;
    }
    *tab = 0;
    *json = tab + 1;
    for (char *save = NULL, *t = strtok_r(line, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 8;
            const char **nn = realloc(*names, nc * sizeof(*nn));
            if (!nn)
                return -1;
            *names = nn;
            *cap = nc;
        }
        (*names)[(*n)++] = t;
    }
    return 0;
}

/* The enabled topics of the type, for the summary; "(none enabled)" when all are disabled. */
/* "a, b" of type's enabled topics, or "(none enabled)"; NULL when out of memory. */
static char *topic_list(const evbus_producer_t *p, const char *type, size_t n) {
    evbus_cli_buf_t b = EVBUS_CLI_BUF_INIT;
    int r = 0;
    for (size_t i = 0; i < n; i++)
        r |= evbus_cli_buf_printf(&b, "%s%s", i ? ", " : "", evbus_producer_topic_name(p, type, i));
    if (!n)
        r |= evbus_cli_buf_puts(&b, "(none enabled)");
    if (r) {
        evbus_cli_buf_free(&b);
        return NULL;
    }
    return evbus_cli_buf_steal(&b);
}

static int only_space(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

int evbus_cli_publish(int argc, char **argv, evbus_cli_t *cli) {
    pub_opts_t po = {NULL, 0, NULL, NULL, NULL};
    evbus_cli_spec_t spec = {usage, "", longopts, 0};
    int first, rc = evbus_cli_parse(cli, argc, argv, &spec, on_opt, &po, &first);
    if (rc >= 0)
        return rc;
    int nargs = argc - first;
    if (nargs < 1 || nargs > 2) {
        evbus_cli_err("publish", "expected EVENT_TYPE [FILE|-] (see evbus-cli publish --help)");
        return EVBUS_CLI_USAGE;
    }
    const char *type = argv[first];
    const char *path = nargs == 2 ? argv[first + 1] : "-";

    /* The producer loads the schemas and the config once (it connects only when it sends);
     * the type is checked against it before any input is read. */
    pub_state_t st;
    memset(&st, 0, sizeof(st));
    pthread_mutex_init(&st.mu, NULL);
    char errstr[4096];
    char *topics = NULL;
    char *spool = NULL; /* producer.spool.dir (a copy: the conf goes with the producer) */
    FILE *in = NULL;
    evbus_producer_t *p = NULL;
    evbus_conf_t *pconf = evbus_conf_dup(cli->conf);
    /* librdkafka's own log lines are for -v; failures reach the user as delivery reports,
     * which carry the last broker error (e.g. a SASL failure). */
    if (pconf && !cli->verbose && !evbus_conf_get(pconf, "kafka.log_level") &&
        evbus_conf_set(pconf, "kafka.log_level", "0", errstr, sizeof(errstr)) != 0) {
        evbus_conf_destroy(pconf);
        pconf = NULL;
    }
    /* kafka.message.timeout.ms stays librdkafka's 300 s, as in the library and the Python
     * bus: shortened to 30 s here, a routine broker restart under load failed events that
     * Kafka itself would have delivered (issue 29, item 14).  With a spool the library makes
     * it unlimited. */
    if (pconf && po.spool &&
        evbus_conf_set(pconf, "producer.spool.dir", po.spool, errstr, sizeof(errstr)) != 0) {
        evbus_conf_destroy(pconf);
        pconf = NULL;
    }
    if (!pconf) {
        evbus_cli_err("publish", "out of memory");
        rc = EVBUS_CLI_FAIL;
        goto out;
    }
    /* With a spool an event is never failed: what is not delivered stays held, its delivery
     * reports come only for topics that have it, and the count held is said at the end. */
    if (evbus_conf_get(pconf, "producer.spool.dir") &&
        !(spool = strdup(evbus_conf_get(pconf, "producer.spool.dir")))) {
        evbus_conf_destroy(pconf);
        evbus_cli_err("publish", "out of memory");
        rc = EVBUS_CLI_FAIL;
        goto out;
    }
    if (spool && po.failed_path) {
        evbus_conf_destroy(pconf);
        evbus_cli_err("publish", "--failed: with a spool (%s) no event fails; what is not "
                      "delivered stays in the spool", spool);
        rc = EVBUS_CLI_USAGE;
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
    int ntopics = evbus_producer_topic_count(p, type);
    if (ntopics < 0) {
        evbus_cli_err("publish", "event type \"%s\" is not in the producer config", type);
        rc = EVBUS_CLI_USAGE;
        goto out;
    }
    if (!evbus_cli_has_bootstrap(cli)) {
        evbus_cli_err("publish", "no broker: give -b HOST:PORT or set EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS");
        rc = EVBUS_CLI_USAGE;
        goto out;
    }
    if (!(topics = topic_list(p, type, (size_t)ntopics))) {
        evbus_cli_err("publish", "out of memory");
        rc = EVBUS_CLI_FAIL;
        goto out;
    }
    in = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!in) {
        evbus_cli_err("publish", "%s: %s", path, strerror(errno));
        rc = EVBUS_CLI_USAGE;
        goto out;
    }
    if (po.failed_path && !(st.failed_out = fopen(po.failed_path, "w"))) {
        evbus_cli_err("publish", "%s: %s", po.failed_path, strerror(errno));
        rc = EVBUS_CLI_USAGE;
        goto out;
    }
    evbus_cli_progress_start(cli, "publish");

    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long lineno = 0, sent = 0, rejected = 0;
    const char **only = NULL;
    size_t nonly = 0, caponly = 0;
    while ((len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        if (only_space(line, (size_t)len))
            continue;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        pub_event_t *ev = calloc(1, sizeof(*ev));
        if (ev && st.failed_out && !(ev->line = strdup(line))) {
            free(ev);
            ev = NULL;
        }
        char *json = line;
        evbus_err_t err = EVBUS_ERR_NOMEM;
        evbus_send_opts_t so = EVBUS_SEND_OPTS_INIT;
        evbus_send_result_t res = EVBUS_SEND_RESULT_INIT;
        snprintf(errstr, sizeof(errstr), "out of memory");
        if (ev && po.only_topics && split_topics(line, &json, &only, &nonly, &caponly) != 0)
            json = NULL;
        if (ev && json) {
            so.opaque = spool ? NULL : ev;
            so.traceparent = po.traceparent;
            so.tracestate = po.tracestate;
            so.topics = nonly ? only : NULL;
            so.ntopics = nonly;
            err = evbus_producer_send_ex(p, type, json, strlen(json), &so, &res, errstr,
                                         sizeof(errstr));
        }
        if (err == EVBUS_OK && (res.naccepted == 0 || spool)) {
            event_free(ev); /* all of its topics disabled: nothing to wait for */
            sent++;
        } else if (err == EVBUS_OK) {
            sent++; /* ev now belongs to the delivery callback */
        } else {
            evbus_cli_err("publish", "line %lu: %s", lineno, errstr[0] ? errstr : evbus_strerror(err));
            pthread_mutex_lock(&st.mu);
            if (!ev || res.naccepted == 0) {
                rejected++;
                st.ev_none++;
                if (st.failed_out && fprintf(st.failed_out, "%s\n", ev ? ev->line : line) < 0)
                    st.write_error = 1;
                if (ev)
                    event_free(ev);
            } else {
                /* Some topics have it (a refusal after others accepted, e.g. a fatal
                 * error): their reports settle it; the refused ones count as failed. */
                sent++;
                for (size_t i = 0; i < res.nrefused; i++)
                    outcome(&st, ev, res.naccepted + res.nrefused, res.refused[i]);
            }
            pthread_mutex_unlock(&st.mu);
        }
        evbus_cli_progress_events(sent);
    }
    free(only);
    int read_err = ferror(in);
    free(line);
    if (read_err)
        evbus_cli_err("publish", "%s: read error", path);

    /* Flush, then destroy: by then every message has its report (destroy reports what is
     * left as failed), so every event is settled. */
    /* Every message is reported within kafka.message.timeout.ms of its send.  With a spool
     * undelivered events are sent again for ever: wait while deliveries progress,
     * cli.timeout.ms at a time, then say what is held. */
    int held = 0;
    if (spool) {
        held = evbus_producer_flush(p, cli->timeout_ms);
        for (int prev = INT32_MAX; held > 0 && held < prev;)
            prev = held, held = evbus_producer_flush(p, cli->timeout_ms);
    } else {
        const char *mt = evbus_conf_get(cli->conf, "kafka.message.timeout.ms");
        long long wait_ms = (mt ? atoll(mt) : 300000) + 5000;
        if (mt && atoll(mt) == 0)
            wait_ms = INT32_MAX; /* 0: librdkafka waits forever */
        (void)evbus_producer_flush(p, wait_ms > INT32_MAX ? INT32_MAX : (int)wait_ms);
    }
    evbus_producer_destroy(p);
    if (spool && held > 0)
        evbus_cli_err("publish", "%d event%s not delivered yet, held in the spool %s (the next "
                      "producer on it, or evbus-cli spool drain %s, delivers them)", held,
                      held == 1 ? "" : "s", spool, spool);
    p = NULL;
    evbus_cli_progress_stop(sent);
    pthread_mutex_lock(&st.mu);
    uint64_t delivered = st.delivered, failed = st.failed;
    uint64_t ev_all = st.ev_all, ev_some = st.ev_some, ev_none = st.ev_none;
    int write_error = st.write_error;
    pthread_mutex_unlock(&st.mu);
    if (st.failed_out && (fclose(st.failed_out) != 0 || write_error)) {
        evbus_cli_err("publish", "%s: could not write every failed event", po.failed_path);
        write_error = 1;
    }
    st.failed_out = NULL;
    if (!cli->quiet) {
        char summary[1024];
        snprintf(summary, sizeof(summary),
                 "%lu event%s sent, %lu line%s rejected, "
                 "%" PRIu64 " message%s delivered, %" PRIu64 " not delivered; events on all "
                 "topics: %" PRIu64 ", on some: %" PRIu64 ", on none: %" PRIu64 "; topics: %s",
                 sent, sent == 1 ? "" : "s", rejected, rejected == 1 ? "" : "s", delivered,
                 delivered == 1 ? "" : "s", failed, ev_all, ev_some, ev_none, topics);
        evbus_cli_log_line(EVBUS_LOG_INFO, "publish", summary, NULL); /* --log-format */
    }
    rc = (spool && held > 0) || rejected || (failed && !spool) || ev_some || ev_none || read_err || write_error ? EVBUS_CLI_FAIL
                                                                          : EVBUS_CLI_OK;
out:
    evbus_producer_destroy(p); /* NULL once the run above destroyed it */
    if (st.failed_out)
        fclose(st.failed_out);
    pthread_mutex_destroy(&st.mu);
    if (in && in != stdin)
        fclose(in);
    free(topics);
    free(spool);
    return rc;
}
