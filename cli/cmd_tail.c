/*
 * evbus-cli tail: print the last events of topics, everything, everything since a time, or
 * follow them: options, the poll loop and the filters.  A plain consumer with assign(): no group membership and no commits, so
 * tailing never disturbs a consumer group.  The end of a partition is its high watermark
 * when tail starts.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "output.h"
#include "tail_int.h"

static const char usage[] =
    "Usage: evbus-cli tail TOPIC... [-n N] [-f] [--from-beginning] [--since TIME]\n"
    "                      [--type GLOB] [--key KEY] [--format json|pretty|raw] [--count N]\n"
    "                      [--as-reader]\n"
    "\n"
    "Print the last N events of each topic (all partitions, in timestamp order) and exit,\n"
    "or keep following them with -f.  TOPIC is given without the prefix (--prefix /\n"
    "EVENT_BUS_TOPIC_PREFIX is added; --no-prefix for full names).  Never joins or commits\n"
    "for a consumer group.  A message that cannot be decoded is printed with an \"error\"\n"
    "field instead of \"data\".\n"
    "\n"
    "Options:\n"
    "  -n, --lines N          the last N events per topic (default 10)\n"
    "  -f, --follow           keep printing new events (and new partitions) until interrupted\n"
    "      --from-beginning   every event up to the current end (with -f: then follow)\n"
    "      --since TIME       events from TIME: ISO 8601 (2024-05-01T12:00:00Z; no zone = UTC)\n"
    "                         or relative: 30s, 10m, 2h, 1d\n"
    "      --type GLOB        only events whose ce_type header matches GLOB (* and ?)\n"
    "      --key KEY          only events whose (decoded) key is KEY\n"
    "      --format FMT       json (default): one object per line with topic, partition,\n"
    "                         offset, timestamp, key, headers, type, id, data | error;\n"
    "                         pretty: indented, coloured on a terminal unless NO_COLOR is set;\n"
    "                         raw: topic, partition, offset, timestamp, type, key and value\n"
    "                         framing (single-object:<fingerprint> | confluent:<id> | none) + hex\n"
    "      --count N          stop after N events\n"
    "      --as-reader        data resolved into the current schema of its type (what consumers'\n"
    "                         handlers see) instead of as it was written\n"
    "Confluent-framed events need schema.registry.url (-X or EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL).\n"
    "A missing topic, or a broker silent for cli.timeout.ms (default 10000), is exit status 1.\n"
    "\n"
    "Example:\n"
    "  evbus-cli -b localhost:9092 tail orders -n 5 --format pretty\n"
    "  evbus-cli tail orders -f --type 'org.evbus.demo.*' | jq -c .data\n";

enum { OPT_FROM_BEGINNING = 1, OPT_SINCE, OPT_TYPE, OPT_KEY, OPT_FORMAT, OPT_COUNT, OPT_AS_READER };

static const struct option longopts[] = {
    {"lines", required_argument, NULL, 'n'},
    {"follow", no_argument, NULL, 'f'},
    {"from-beginning", no_argument, NULL, OPT_FROM_BEGINNING},
    {"since", required_argument, NULL, OPT_SINCE},
    {"type", required_argument, NULL, OPT_TYPE},
    {"key", required_argument, NULL, OPT_KEY},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"count", required_argument, NULL, OPT_COUNT},
    {"as-reader", no_argument, NULL, OPT_AS_READER},
    {NULL, 0, NULL, 0},
};

static int on_opt(void *ctx, int c, const char *arg) {
    tail_t *t = ctx;
    switch (c) {
    case 'n':
        if (evbus_cli_parse_long(arg, 0, 1000000000L, &t->n) != 0) {
            evbus_cli_err("tail", "-n: expected a number >= 0, got \"%s\"", arg);
            return EVBUS_CLI_USAGE;
        }
        return -1;
    case 'f':
        t->follow = 1;
        return -1;
    case OPT_FROM_BEGINNING:
        t->from_beginning = 1;
        return -1;
    case OPT_SINCE:
        t->since = arg;
        return -1;
    case OPT_TYPE:
        t->type_glob = arg;
        return -1;
    case OPT_KEY:
        t->key = arg;
        return -1;
    case OPT_FORMAT:
        t->fmt = evbus_cli_format_parse(arg);
        if (t->fmt < 0) {
            evbus_cli_err("tail", "--format: expected json, pretty or raw, got \"%s\"", arg);
            return EVBUS_CLI_USAGE;
        }
        return -1;
    case OPT_AS_READER:
        t->as_reader = 1;
        return -1;
    case OPT_COUNT:
        if (evbus_cli_parse_long(arg, 1, 1000000000L, &t->count) != 0) {
            evbus_cli_err("tail", "--count: expected a number >= 1, got \"%s\"", arg);
            return EVBUS_CLI_USAGE;
        }
        return -1;
    }
    return EVBUS_CLI_USAGE;
}

/* The message's ce_type, NUL-terminated in buf, read by the consumer's rule (exactly one
 * ce_type and one ce_id); NULL for a message a consumer would not route. */
static const char *header_type(rd_kafka_message_t *rkm, char *buf, size_t size) {
    rd_kafka_headers_t *h;
    const char *type, *id;
    size_t type_len, id_len;
    if (rd_kafka_message_headers(rkm, &h) ||
        evbus_headers_check(h, &type, &type_len, &id, &id_len, NULL, 0) != EVBUS_OK ||
        type_len >= size)
        return NULL;
    memcpy(buf, type, type_len);
    buf[type_len] = 0;
    return buf;
}

/* One message: filter, decode (the one place events are made), print or keep. -1 to stop. */
static int handle(tail_t *t, rd_kafka_message_t *rkm) {
    tail_part_t *p = tail_find_part(t, rd_kafka_topic_name(rkm->rkt), rkm->partition);
    int in_initial = p && rkm->offset < p->hi;
    if (p && rkm->offset + 1 >= p->hi)
        p->done = 1;
    if (!t->follow && !in_initial)
        return 0; /* arrived after tail started: not ours to print */
    if (t->type_glob) {
        char type[512];
        const char *ty = header_type(rkm, type, sizeof(type));
        if (!ty || !evbus_cli_glob_match(t->type_glob, ty))
            return 0;
    }
    /* tail shows what was written unless asked for the consumer's view */
    evbus_event_t *ev = evbus_decoder_decode(t->dec, rkm, t->as_reader ? 0 : EVBUS_DECODE_AS_WRITTEN);
    if (!ev) {
        evbus_cli_err("tail", "out of memory");
        return -1;
    }
    if (t->key) {
        const char *k = evbus_event_key(ev);
        if (!k || strcmp(k, t->key)) {
            evbus_event_destroy(ev);
            return 0;
        }
    }
    if (t->lastn && t->initial) {
        if (in_initial)
            return tail_ring_push(t, p, ev);
        return tail_late_push(t, ev);
    }
    return tail_enqueue(t, ev);
}

/* One message from the consumer queue: 0, or -1 to stop (said). */
static int on_message(tail_t *t, rd_kafka_message_t *rkm) {
    int r = 0;
    if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        tail_part_t *p = rkm->rkt ? tail_find_part(t, rd_kafka_topic_name(rkm->rkt), rkm->partition) : NULL;
        if (p && rkm->offset >= p->hi)
            p->done = 1;
    } else if (rkm->err) {
        const char *where = rkm->rkt ? rd_kafka_topic_name(rkm->rkt) : "consumer";
        evbus_cli_err("tail", "%s: %s", where, rd_kafka_message_errstr(rkm));
        if (rkm->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
            rkm->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || rkm->err == RD_KAFKA_RESP_ERR__FATAL ||
            rkm->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
            r = -1;
    } else {
        r = handle(t, rkm);
    }
    return r;
}

/* Messages taken from the consumer queue per call: one call per message was a lock/wake
 * round in librdkafka for every event. */
#define TAIL_POLL_BATCH 256

static int run(tail_t *t, rd_kafka_queue_t *q) {
    int64_t last_progress = evbus_cli_now_us(), last_refresh = last_progress;
    rd_kafka_message_t *msgs[TAIL_POLL_BATCH];
    for (;;) {
        if (t->initial && tail_all_done(t)) {
            t->initial = 0;
            if (t->lastn && tail_ring_flush(t) != 0)
                return EVBUS_CLI_FAIL;
            tail_ring_free(t);
        }
        if (atomic_load(&t->write_failed))
            return EVBUS_CLI_FAIL;
        if (evbus_cli_stop_requested() || tail_count_reached(t) || (!t->follow && !t->initial))
            return EVBUS_CLI_OK;
        tail_kick(t);
        ssize_t n = rd_kafka_consume_batch_queue(q, 100, msgs, TAIL_POLL_BATCH);
        int64_t now = evbus_cli_now_us();
        if (n <= 0) {
            if (t->initial && now - last_progress > (int64_t)t->cli->timeout_ms * 1000) {
                evbus_cli_err("tail", "no answer from the broker for %d ms (-X cli.timeout.ms=N)",
                              t->cli->timeout_ms);
                return EVBUS_CLI_FAIL;
            }
            if (t->follow && now - last_refresh > 5000000) {
                last_refresh = now;
                if (tail_refresh(t) != 0)
                    return EVBUS_CLI_FAIL;
            }
            continue;
        }
        last_progress = now;
        int r = 0;
        ssize_t i = 0;
        /* --count and the end of the initial phase are checked per message, as before:
         * a batch may hold more than is to be printed */
        for (; i < n && r == 0; i++) {
            if (tail_count_reached(t) || (!t->follow && t->initial && tail_all_done(t)))
                break;
            r = on_message(t, msgs[i]);
            rd_kafka_message_destroy(msgs[i]);
        }
        for (; i < n; i++)
            rd_kafka_message_destroy(msgs[i]);
        if (r != 0)
            return EVBUS_CLI_FAIL;
    }
}

int evbus_cli_tail(int argc, char **argv, evbus_cli_t *cli) {
    tail_t t;
    memset(&t, 0, sizeof(t));
    t.cli = cli;
    t.n = 10;
    t.fmt = EVBUS_CLI_FMT_JSON;
    evbus_cli_spec_t spec = {usage, "n:f", longopts, 0};
    int first, rc = evbus_cli_parse(cli, argc, argv, &spec, on_opt, &t, &first);
    if (rc >= 0)
        return rc;
    if (first >= argc) {
        evbus_cli_err("tail", "no TOPIC given (see evbus-cli tail --help)");
        return EVBUS_CLI_USAGE;
    }
    if (t.since && t.from_beginning) {
        evbus_cli_err("tail", "--since and --from-beginning exclude each other");
        return EVBUS_CLI_USAGE;
    }
    if (t.since && evbus_cli_parse_time(t.since, evbus_cli_wall_ms(), &t.since_ms) != 0) {
        evbus_cli_err("tail", "--since: expected ISO 8601 (2024-05-01T12:00:00Z) or 30s/10m/2h/1d, got \"%s\"",
                      t.since);
        return EVBUS_CLI_USAGE;
    }
    t.lastn = !t.from_beginning && !t.since;
    t.initial = 1;
    t.color = t.fmt == EVBUS_CLI_FMT_PRETTY && isatty(STDOUT_FILENO) &&
              !(getenv("NO_COLOR") && *getenv("NO_COLOR"));
    t.ntopics = (size_t)(argc - first);
    t.topics = calloc(t.ntopics, sizeof(*t.topics));
    rc = t.topics ? 0 : EVBUS_CLI_FAIL;
    for (size_t i = 0; rc == 0 && i < t.ntopics; i++) {
        char why[300];
        if (!(t.topics[i] = evbus_cli_full_topic(cli, argv[first + (int)i]))) {
            rc = EVBUS_CLI_FAIL;
        } else if (evbus_topic_check(t.topics[i], why, sizeof(why)) != 0) {
            evbus_cli_err("tail", "%s", why);
            rc = EVBUS_CLI_USAGE;
        }
    }
    if (rc == EVBUS_CLI_FAIL)
        evbus_cli_err("tail", "out of memory");
    if (rc == 0 && t.fmt != EVBUS_CLI_FMT_RAW && !(t.store = evbus_cli_store(cli, &rc)))
        goto out;
    if (rc == 0) {
        char errstr[512];
        if (!(t.dec = evbus_decoder_new(cli->conf, t.store, errstr, sizeof(errstr)))) {
            evbus_cli_err(cli->cmd, "%s", errstr);
            rc = EVBUS_CLI_USAGE;
        }
    }
    if (rc)
        goto out;
    char group[64];
    snprintf(group, sizeof(group), "evbus-cli-tail-%ld", (long)getpid());
    t.rk = evbus_cli_kafka(cli, RD_KAFKA_CONSUMER, &rc, "group.id", group, "client.id", "evbus-cli",
                           "enable.auto.commit", "false", "enable.auto.offset.store", "false",
                           "enable.partition.eof", "true", "auto.offset.reset", "earliest",
                           "allow.auto.create.topics", "false", NULL);
    if (!t.rk)
        goto out;

    evbus_cli_catch_stop_signals(NULL);

    rc = tail_setup(&t);
    if (rc == 0 && tail_writer_start(&t) != 0)
        rc = EVBUS_CLI_FAIL;
    rd_kafka_queue_t *q = rc == 0 ? rd_kafka_queue_get_consumer(t.rk) : NULL;
    if (rc == 0 && !q) {
        evbus_cli_err("tail", "no consumer queue");
        rc = EVBUS_CLI_FAIL;
    }
    if (rc == 0)
        rc = run(&t, q);
    if (q)
        rd_kafka_queue_destroy(q);
    if (tail_writer_stop(&t) != 0 && rc == 0)
        rc = EVBUS_CLI_FAIL;
out:
    tail_ring_free(&t);
    if (t.rk) {
        rd_kafka_consumer_close(t.rk);
        rd_kafka_destroy(t.rk);
    }
    evbus_decoder_destroy(t.dec);
    evbus_schema_store_destroy(t.store);
    evbus_cli_buf_free(&t.out);
    for (size_t i = 0; t.topics && i < t.ntopics; i++)
        free(t.topics[i]);
    free(t.topics);
    free(t.parts);
    return rc;
}
