/*
 * evbus-cli tail: print the last events of topics, everything, everything since a time, or
 * follow them.  A plain consumer with assign(): no group membership and no commits, so
 * tailing never disturbs a consumer group.  The end of a partition is its high watermark
 * when tail starts.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "cli.h"
#include "event.h"
#include "output.h"
#include "registry.h"
#include "schema.h"
#include "topic.h"

static const char usage[] =
    "Usage: evbus-cli tail TOPIC... [-n N] [-f] [--from-beginning] [--since TIME]\n"
    "                      [--type GLOB] [--key KEY] [--format json|pretty|raw] [--count N]\n"
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
    "Confluent-framed events need schema.registry.url (-X or EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL).\n"
    "A missing topic, or a broker silent for cli.timeout.ms (default 10000), is exit status 1.\n"
    "\n"
    "Example:\n"
    "  evbus-cli -b localhost:9092 tail orders -n 5 --format pretty\n"
    "  evbus-cli tail orders -f --type 'org.evbus.demo.*' | jq -c .data\n";

enum { OPT_FROM_BEGINNING = 1, OPT_SINCE, OPT_TYPE, OPT_KEY, OPT_FORMAT, OPT_COUNT };

static const struct option longopts[] = {
    {"lines", required_argument, NULL, 'n'},
    {"follow", no_argument, NULL, 'f'},
    {"from-beginning", no_argument, NULL, OPT_FROM_BEGINNING},
    {"since", required_argument, NULL, OPT_SINCE},
    {"type", required_argument, NULL, OPT_TYPE},
    {"key", required_argument, NULL, OPT_KEY},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"count", required_argument, NULL, OPT_COUNT},
    {NULL, 0, NULL, 0},
};

typedef struct part_s {
    size_t topic; /* index into tail_t.topics */
    int32_t id;
    int64_t lo, hi; /* watermarks when tail started (hi: where "the end" is) */
    int64_t start;
    int done;       /* reached hi */
    /* last-N mode: the newest n matching events of this partition, a ring */
    evbus_event_t **ring;
    size_t nring, ringpos;
} part_t;

#define OUTQ_SIZE 1024

typedef struct tail_s {
    evbus_cli_t *cli;
    long n, count;
    int follow, from_beginning, fmt;
    const char *since, *type_glob, *key;
    int64_t since_ms;
    char **topics;
    size_t ntopics;
    part_t *parts;
    size_t nparts;
    rd_kafka_t *rk;
    evbus__schema_store_t *store;
    evbus__registry_t *reg;
    evbus__buf_t out;
    int color;
    long printed;
    int lastn;              /* last-N mode: collect, sort, print */
    int initial;            /* still printing what was there when tail started */
    evbus_event_t **late;   /* -f in last-N mode: arrived during the initial phase */
    size_t nlate;
    int rc;
    /*
     * Output runs on a writer thread: decoding and formatting are most of tail's work, and
     * the poll thread (librdkafka, filters, building events) keeps fetching meanwhile.
     * Events go through a bounded FIFO, so the order is the poll order.
     */
    pthread_t writer;
    int writer_started;
    pthread_mutex_t qmu;
    pthread_cond_t qnonempty, qnonfull;
    evbus_event_t *queue[OUTQ_SIZE];
    size_t qhead, qlen;
    int qclosing;
    atomic_int write_failed;
    long queued;            /* events handed to the writer (poll thread only) */
} tail_t;

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

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
    case OPT_COUNT:
        if (evbus_cli_parse_long(arg, 1, 1000000000L, &t->count) != 0) {
            evbus_cli_err("tail", "--count: expected a number >= 1, got \"%s\"", arg);
            return EVBUS_CLI_USAGE;
        }
        return -1;
    }
    return EVBUS_CLI_USAGE;
}


static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- output ---- */

static int emit(tail_t *t, const evbus_event_t *ev) {
    int r;
    evbus__buf_reset(&t->out);
    if (t->fmt == EVBUS_CLI_FMT_PRETTY)
        r = evbus_cli_out_pretty(&t->out, ev, t->color);
    else if (t->fmt == EVBUS_CLI_FMT_RAW)
        r = evbus_cli_out_raw(&t->out, ev);
    else
        r = evbus_cli_out_json(&t->out, ev);
    if (r != 0) {
        evbus_cli_err("tail", "out of memory");
        return -1;
    }
    if (fwrite(t->out.data, 1, t->out.len, stdout) != t->out.len) {
        evbus_cli_err("tail", "cannot write to stdout");
        return -1;
    }
    t->printed++;
    return 0;
}

static void *writer_main(void *arg) {
    tail_t *t = arg;
    evbus_event_t *batch[64];
    pthread_mutex_lock(&t->qmu);
    for (;;) {
        while (t->qlen == 0 && !t->qclosing) {
            /* going idle: with -f, show what was written right away */
            if (t->follow) {
                pthread_mutex_unlock(&t->qmu);
                fflush(stdout);
                pthread_mutex_lock(&t->qmu);
                if (t->qlen || t->qclosing)
                    break;
            }
            pthread_cond_wait(&t->qnonempty, &t->qmu);
        }
        if (t->qlen == 0 && t->qclosing)
            break;
        size_t k = 0;
        while (t->qlen && k < 64) {
            batch[k++] = t->queue[t->qhead];
            t->qhead = (t->qhead + 1) % OUTQ_SIZE;
            t->qlen--;
        }
        pthread_cond_signal(&t->qnonfull);
        pthread_mutex_unlock(&t->qmu);
        for (size_t i = 0; i < k; i++) {
            if (!atomic_load(&t->write_failed) && emit(t, batch[i]) != 0)
                atomic_store(&t->write_failed, 1);
            evbus__event_destroy(batch[i]);
        }
        pthread_mutex_lock(&t->qmu);
    }
    pthread_mutex_unlock(&t->qmu);
    fflush(stdout);
    return NULL;
}

static int writer_start(tail_t *t) {
    pthread_mutex_init(&t->qmu, NULL);
    pthread_cond_init(&t->qnonempty, NULL);
    pthread_cond_init(&t->qnonfull, NULL);
    if (pthread_create(&t->writer, NULL, writer_main, t) != 0) {
        evbus_cli_err("tail", "cannot start the output thread");
        return -1;
    }
    t->writer_started = 1;
    return 0;
}

/* Let the writer finish what is queued, then stop it.  -1 if writing failed. */
static int writer_stop(tail_t *t) {
    if (!t->writer_started)
        return 0;
    pthread_mutex_lock(&t->qmu);
    t->qclosing = 1;
    pthread_cond_signal(&t->qnonempty);
    pthread_mutex_unlock(&t->qmu);
    pthread_join(t->writer, NULL);
    t->writer_started = 0;
    pthread_mutex_destroy(&t->qmu);
    pthread_cond_destroy(&t->qnonempty);
    pthread_cond_destroy(&t->qnonfull);
    return atomic_load(&t->write_failed) ? -1 : 0;
}

/* Hand ev (a reference the caller gives up) to the writer, waiting while the queue is full. */
static int enqueue(tail_t *t, evbus_event_t *ev) {
    pthread_mutex_lock(&t->qmu);
    while (t->qlen == OUTQ_SIZE && !atomic_load(&t->write_failed))
        pthread_cond_wait(&t->qnonfull, &t->qmu);
    if (atomic_load(&t->write_failed)) {
        pthread_mutex_unlock(&t->qmu);
        evbus__event_destroy(ev);
        return -1; /* the writer said why */
    }
    t->queue[(t->qhead + t->qlen) % OUTQ_SIZE] = ev;
    if (t->qlen++ == 0)
        pthread_cond_signal(&t->qnonempty);
    pthread_mutex_unlock(&t->qmu);
    t->queued++;
    return 0;
}

static int count_reached(const tail_t *t) {
    return t->count && t->queued >= t->count;
}

static int cmp_events(const void *a, const void *b) {
    const evbus_event_t *x = *(evbus_event_t *const *)a, *y = *(evbus_event_t *const *)b;
    int64_t tx = evbus_event_timestamp(x), ty = evbus_event_timestamp(y);
    if (tx != ty)
        return tx < ty ? -1 : 1;
    if (evbus_event_partition(x) != evbus_event_partition(y))
        return evbus_event_partition(x) < evbus_event_partition(y) ? -1 : 1;
    return evbus_event_offset(x) < evbus_event_offset(y) ? -1 : 1;
}

/* End of the initial phase in last-N mode: per topic, the newest n across partitions. */
static int flush_initial(tail_t *t) {
    int r = 0;
    for (size_t ti = 0; ti < t->ntopics && r == 0; ti++) {
        size_t total = 0;
        for (size_t i = 0; i < t->nparts; i++)
            if (t->parts[i].topic == ti)
                total += t->parts[i].nring;
        if (!total)
            continue;
        evbus_event_t **all = malloc(total * sizeof(*all));
        if (!all) {
            evbus_cli_err("tail", "out of memory");
            return -1;
        }
        size_t k = 0;
        for (size_t i = 0; i < t->nparts; i++)
            if (t->parts[i].topic == ti)
                for (size_t j = 0; j < t->parts[i].nring; j++)
                    all[k++] = t->parts[i].ring[j];
        qsort(all, total, sizeof(*all), cmp_events);
        for (size_t j = total > (size_t)t->n ? total - (size_t)t->n : 0;
             j < total && r == 0 && !count_reached(t); j++)
            r = enqueue(t, evbus__event_ref(all[j]));
        free(all);
    }
    for (size_t i = 0; i < t->nlate && r == 0 && !count_reached(t); i++)
        r = enqueue(t, evbus__event_ref(t->late[i]));
    return r;
}

static void free_rings(tail_t *t) {
    for (size_t i = 0; i < t->nparts; i++) {
        for (size_t j = 0; j < t->parts[i].nring; j++)
            evbus__event_destroy(t->parts[i].ring[j]);
        free(t->parts[i].ring);
        t->parts[i].ring = NULL;
        t->parts[i].nring = t->parts[i].ringpos = 0;
    }
    for (size_t i = 0; i < t->nlate; i++)
        evbus__event_destroy(t->late[i]);
    free(t->late);
    t->late = NULL;
    t->nlate = 0;
}

/* Keep ev among the newest n of its partition (takes the reference). */
static int ring_push(tail_t *t, part_t *p, evbus_event_t *ev) {
    if (t->n == 0) {
        evbus__event_destroy(ev);
        return 0;
    }
    if (!p->ring && !(p->ring = calloc((size_t)t->n, sizeof(*p->ring)))) {
        evbus__event_destroy(ev);
        evbus_cli_err("tail", "out of memory");
        return -1;
    }
    if (p->nring < (size_t)t->n) {
        p->ring[p->nring++] = ev;
        return 0;
    }
    /* Full: overwrite the oldest, keeping ring[] in consumption order after a rotation. */
    evbus__event_destroy(p->ring[0]);
    memmove(p->ring, p->ring + 1, (p->nring - 1) * sizeof(*p->ring));
    p->ring[p->nring - 1] = ev;
    return 0;
}

/* ---- broker ---- */

static part_t *find_part(tail_t *t, const char *topic, int32_t id) {
    for (size_t i = 0; i < t->nparts; i++)
        if (t->parts[i].id == id && !strcmp(t->topics[t->parts[i].topic], topic))
            return &t->parts[i];
    return NULL;
}

static const rd_kafka_metadata_topic_t *md_topic(const rd_kafka_metadata_t *md, const char *name) {
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, name))
            return &md->topics[i];
    return NULL;
}

/* Add the partitions of topic ti not yet known; new partitions start at their beginning
 * when following (everything in them is new), else where the mode says. */
static int add_partitions(tail_t *t, size_t ti, const rd_kafka_metadata_topic_t *mt, int later,
                          rd_kafka_topic_partition_list_t *assign) {
    for (int i = 0; i < mt->partition_cnt; i++) {
        int32_t id = mt->partitions[i].id;
        if (find_part(t, t->topics[ti], id))
            continue;
        part_t *np = realloc(t->parts, (t->nparts + 1) * sizeof(*np));
        if (!np) {
            evbus_cli_err("tail", "out of memory");
            return EVBUS_CLI_FAIL;
        }
        t->parts = np;
        part_t *p = &t->parts[t->nparts++];
        memset(p, 0, sizeof(*p));
        p->topic = ti;
        p->id = id;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(t->rk, t->topics[ti], id, &p->lo, &p->hi,
                                             t->cli->timeout_ms);
        if (e) {
            evbus_cli_err("tail", "%s [%" PRId32 "]: cannot read offsets: %s", t->topics[ti], id,
                          rd_kafka_err2str(e));
            return EVBUS_CLI_FAIL;
        }
        if (later || t->from_beginning)
            p->start = p->lo;
        else if (t->since)
            p->start = p->hi; /* replaced by offsets_for_times below */
        else if (t->type_glob || t->key)
            p->start = t->n ? p->lo : p->hi; /* filters: the newest n matches may be anywhere */
        else
            p->start = p->hi - t->n > p->lo ? p->hi - t->n : p->lo;
        p->done = later ? 1 : 0;
        if (!rd_kafka_topic_partition_list_add(assign, t->topics[ti], id)) {
            evbus_cli_err("tail", "out of memory");
            return EVBUS_CLI_FAIL;
        }
    }
    return 0;
}

static int apply_since(tail_t *t, rd_kafka_topic_partition_list_t *assign) {
    for (int i = 0; i < assign->cnt; i++)
        assign->elems[i].offset = t->since_ms;
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(t->rk, assign, t->cli->timeout_ms);
    if (e) {
        evbus_cli_err("tail", "--since: cannot look up offsets: %s", rd_kafka_err2str(e));
        return EVBUS_CLI_FAIL;
    }
    for (int i = 0; i < assign->cnt; i++) {
        part_t *p = find_part(t, assign->elems[i].topic, assign->elems[i].partition);
        if (assign->elems[i].err) {
            evbus_cli_err("tail", "--since: %s [%" PRId32 "]: %s", assign->elems[i].topic,
                          assign->elems[i].partition, rd_kafka_err2str(assign->elems[i].err));
            return EVBUS_CLI_FAIL;
        }
        /* -1: no message at or after the time, so start at the end. */
        if (p && assign->elems[i].offset >= 0)
            p->start = assign->elems[i].offset;
    }
    return 0;
}

static int setup(tail_t *t) {
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(t->rk, 1, NULL, &md, t->cli->timeout_ms);
    if (e) {
        evbus_cli_err("tail", "broker %s: %s", evbus_conf_get(t->cli->conf, "kafka.bootstrap.servers"),
                      rd_kafka_err2str(e));
        return EVBUS_CLI_FAIL;
    }
    int rc = 0;
    rd_kafka_topic_partition_list_t *assign = rd_kafka_topic_partition_list_new(16);
    for (size_t ti = 0; ti < t->ntopics && rc == 0; ti++) {
        const rd_kafka_metadata_topic_t *mt = md_topic(md, t->topics[ti]);
        if (!mt || mt->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
            evbus_cli_err("tail", "%s: topic does not exist", t->topics[ti]);
            rc = EVBUS_CLI_FAIL;
        } else if (mt->err) {
            evbus_cli_err("tail", "%s: %s", t->topics[ti], rd_kafka_err2str(mt->err));
            rc = EVBUS_CLI_FAIL;
        } else {
            rc = add_partitions(t, ti, mt, 0, assign);
        }
    }
    rd_kafka_metadata_destroy(md);
    if (rc == 0 && t->since)
        rc = apply_since(t, assign);
    for (int i = 0; rc == 0 && i < assign->cnt; i++) {
        part_t *p = find_part(t, assign->elems[i].topic, assign->elems[i].partition);
        assign->elems[i].offset = p->start;
        p->done = p->start >= p->hi;
        evbus_cli_log(t->cli, "%s [%" PRId32 "]: offsets %" PRId64 "..%" PRId64 ", from %" PRId64,
                      assign->elems[i].topic, p->id, p->lo, p->hi, p->start);
    }
    if (rc == 0 && (e = rd_kafka_assign(t->rk, assign))) {
        evbus_cli_err("tail", "cannot assign partitions: %s", rd_kafka_err2str(e));
        rc = EVBUS_CLI_FAIL;
    }
    rd_kafka_topic_partition_list_destroy(assign);
    return rc;
}

/* -f: pick up partitions added since the start. */
static int refresh(tail_t *t) {
    const rd_kafka_metadata_t *md = NULL;
    if (rd_kafka_metadata(t->rk, 1, NULL, &md, t->cli->timeout_ms))
        return 0; /* a broker hiccup while following is not fatal; try again later */
    int rc = 0;
    rd_kafka_topic_partition_list_t *add = rd_kafka_topic_partition_list_new(4);
    for (size_t ti = 0; ti < t->ntopics && rc == 0; ti++) {
        const rd_kafka_metadata_topic_t *mt = md_topic(md, t->topics[ti]);
        if (mt && !mt->err)
            rc = add_partitions(t, ti, mt, 1, add);
    }
    rd_kafka_metadata_destroy(md);
    for (int i = 0; rc == 0 && i < add->cnt; i++) {
        add->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
        evbus_cli_log(t->cli, "%s [%" PRId32 "]: new partition", add->elems[i].topic,
                      add->elems[i].partition);
    }
    if (rc == 0 && add->cnt) {
        rd_kafka_error_t *err = rd_kafka_incremental_assign(t->rk, add);
        if (err) {
            evbus_cli_err("tail", "cannot follow new partitions: %s", rd_kafka_error_string(err));
            rd_kafka_error_destroy(err);
            rc = EVBUS_CLI_FAIL;
        }
    }
    rd_kafka_topic_partition_list_destroy(add);
    return rc;
}

static int all_done(const tail_t *t) {
    for (size_t i = 0; i < t->nparts; i++)
        if (!t->parts[i].done)
            return 0;
    return 1;
}

/* The message's ce_type, NUL-terminated in buf; NULL when absent. */
static const char *header_type(rd_kafka_message_t *rkm, char *buf, size_t size) {
    rd_kafka_headers_t *h;
    const void *v;
    size_t len;
    if (rd_kafka_message_headers(rkm, &h) || rd_kafka_header_get_last(h, "ce_type", &v, &len) ||
        !v || len >= size)
        return NULL;
    memcpy(buf, v, len);
    buf[len] = 0;
    return buf;
}

/* One message: filter, decode (the one place events are made), print or keep. -1 to stop. */
static int handle(tail_t *t, rd_kafka_message_t *rkm) {
    part_t *p = find_part(t, rd_kafka_topic_name(rkm->rkt), rkm->partition);
    int in_initial = p && rkm->offset < p->hi;
    if (p && rkm->offset + 1 >= p->hi)
        p->done = 1;
    if (!t->follow && !in_initial)
        return 0; /* arrived after tail started: not ours to print */
    if (t->type_glob) {
        char type[512];
        const char *ty = header_type(rkm, type, sizeof(type));
        if (!ty || !evbus__glob_match(t->type_glob, ty))
            return 0;
    }
    evbus_event_t *ev = evbus__event_from_message(rkm, t->store, t->reg);
    if (!ev) {
        evbus_cli_err("tail", "out of memory");
        return -1;
    }
    if (t->key) {
        const char *k = evbus_event_key(ev);
        if (!k || strcmp(k, t->key)) {
            evbus__event_destroy(ev);
            return 0;
        }
    }
    if (t->lastn && t->initial) {
        if (in_initial)
            return ring_push(t, p, ev);
        evbus_event_t **l = realloc(t->late, (t->nlate + 1) * sizeof(*l));
        if (!l) {
            evbus__event_destroy(ev);
            evbus_cli_err("tail", "out of memory");
            return -1;
        }
        t->late = l;
        t->late[t->nlate++] = ev;
        return 0;
    }
    return enqueue(t, ev);
}

static int run(tail_t *t) {
    int64_t last_progress = evbus__now_us(), last_refresh = last_progress;
    for (;;) {
        if (t->initial && all_done(t)) {
            t->initial = 0;
            if (t->lastn && flush_initial(t) != 0)
                return EVBUS_CLI_FAIL;
            free_rings(t);
        }
        if (atomic_load(&t->write_failed))
            return EVBUS_CLI_FAIL;
        if (g_stop || count_reached(t) || (!t->follow && !t->initial))
            return EVBUS_CLI_OK;
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(t->rk, 100);
        int64_t now = evbus__now_us();
        if (!rkm) {
            if (t->initial && now - last_progress > (int64_t)t->cli->timeout_ms * 1000) {
                evbus_cli_err("tail", "no answer from the broker for %d ms (-X cli.timeout.ms=N)",
                              t->cli->timeout_ms);
                return EVBUS_CLI_FAIL;
            }
            if (t->follow && now - last_refresh > 5000000) {
                last_refresh = now;
                if (refresh(t) != 0)
                    return EVBUS_CLI_FAIL;
            }
            continue;
        }
        last_progress = now;
        int r = 0;
        if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            part_t *p = rkm->rkt ? find_part(t, rd_kafka_topic_name(rkm->rkt), rkm->partition) : NULL;
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
        rd_kafka_message_destroy(rkm);
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
    if (t.since && evbus_cli_parse_time(t.since, now_ms(), &t.since_ms) != 0) {
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
        } else if (evbus__topic_check(t.topics[i], why, sizeof(why)) != 0) {
            evbus_cli_err("tail", "%s", why);
            rc = EVBUS_CLI_USAGE;
        }
    }
    if (rc == EVBUS_CLI_FAIL)
        evbus_cli_err("tail", "out of memory");
    if (rc == 0 && t.fmt != EVBUS_CLI_FMT_RAW && !(t.store = evbus_cli_store(cli, &rc)))
        goto out;
    if (rc == 0)
        t.reg = evbus_cli_registry(cli, &rc);
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

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    rc = setup(&t);
    if (rc == 0 && writer_start(&t) != 0)
        rc = EVBUS_CLI_FAIL;
    if (rc == 0)
        rc = run(&t);
    if (writer_stop(&t) != 0 && rc == 0)
        rc = EVBUS_CLI_FAIL;
out:
    free_rings(&t);
    if (t.rk) {
        rd_kafka_consumer_close(t.rk);
        rd_kafka_destroy(t.rk);
    }
    evbus__registry_destroy(t.reg);
    evbus__schema_store_destroy(t.store);
    evbus__buf_free(&t.out);
    for (size_t i = 0; t.topics && i < t.ntopics; i++)
        free(t.topics[i]);
    free(t.topics);
    free(t.parts);
    return rc;
}
