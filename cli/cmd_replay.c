/*
 * evbus-cli replay: re-publish dead letters to their original topics, byte for byte (value,
 * key and headers as the original producer wrote them: only the evbus_* headers the consumer
 * added are dropped).  Reads the DLQ up to its end as of the start; progress is committed
 * under a group (default "evbus-cli-replay"), so running it again replays only new dead letters.
 */
#include <stdatomic.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include <evbus/kafka.h>

#include "cli.h"
#include "progress.h"

static const char usage[] =
    "Usage: evbus-cli replay DLQ_TOPIC [-g GROUP] [--all]\n"
    "\n"
    "Re-publish every dead letter of DLQ_TOPIC (e.g. orders.dlq) to the topic named by its\n"
    "evbus_original_topic header, with the original value, key and headers.  Stops at the end\n"
    "of the DLQ as it was at the start.  DLQ_TOPIC is given without the prefix (--no-prefix for\n"
    "a full name).  A dead letter without evbus_original_topic is reported and skipped (exit 1).\n"
    "\n"
    "Options:\n"
    "  -g, --group GROUP   group under which replay progress is committed (default evbus-cli-replay)\n"
    "      --all           start from the beginning of the DLQ, ignoring committed progress\n"
    "\n"
    "Example:\n"
    "  evbus-cli replay content-authoring-xblock-lifecycle.dlq\n";

enum { OPT_ALL = 1 };
static const struct option longopts[] = {
    {"group", required_argument, NULL, 'g'},
    {"all", no_argument, NULL, OPT_ALL},
    {NULL, 0, NULL, 0},
};

typedef struct replay_s {
    const char *group;
    int all;
    atomic_long failed; /* delivery failures */
} replay_t;

static int on_opt(void *ctx, int c, const char *arg) {
    replay_t *r = ctx;
    if (c == 'g') {
        r->group = arg;
        return -1;
    }
    if (c == OPT_ALL) {
        r->all = 1;
        return -1;
    }
    return EVBUS_CLI_USAGE;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    replay_t *r = opaque;
    evbus_cli_progress_delivery(!m->err);
    if (m->err) {
        atomic_fetch_add_explicit(&r->failed, 1, memory_order_relaxed);
        evbus_cli_err("replay", "%s: %s", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    }
}

/* Copy of m's headers without the evbus_* ones; *orig gets evbus_original_topic (malloc'd). */
static rd_kafka_headers_t *original_headers(rd_kafka_message_t *m, char **orig) {
    rd_kafka_headers_t *in = NULL;
    *orig = NULL;
    rd_kafka_message_headers(m, &in);
    rd_kafka_headers_t *out = rd_kafka_headers_new(in ? rd_kafka_header_cnt(in) : 0);
    if (!out)
        return NULL;
    const char *name;
    const void *val;
    size_t len;
    for (size_t i = 0; in && !rd_kafka_header_get_all(in, i, &name, &val, &len); i++) {
        if (!strcmp(name, "evbus_original_topic") && val && !*orig) {
            if ((*orig = malloc(len + 1))) {
                memcpy(*orig, val, len);
                (*orig)[len] = 0;
            }
        }
        if (!strncmp(name, "evbus_", 6))
            continue;
        if (rd_kafka_header_add(out, name, -1, val, val ? (ssize_t)len : 0)) {
            rd_kafka_headers_destroy(out);
            free(*orig);
            *orig = NULL;
            return NULL;
        }
    }
    return out;
}

int evbus_cli_replay(int argc, char **argv, evbus_cli_t *cli) {
    replay_t r = {"evbus-cli-replay", 0, 0};
    evbus_cli_spec_t spec = {usage, "g:", longopts, 0};
    int first, rc = evbus_cli_parse(cli, argc, argv, &spec, on_opt, &r, &first);
    if (rc >= 0)
        return rc;
    if (argc - first != 1) {
        evbus_cli_err("replay", "expected one DLQ_TOPIC (see evbus-cli replay --help)");
        return EVBUS_CLI_USAGE;
    }
    rc = EVBUS_CLI_OK;
    char *dlq = evbus_cli_full_topic(cli, argv[first]);
    if (!dlq) {
        evbus_cli_err("replay", "out of memory");
        return EVBUS_CLI_FAIL;
    }
    rd_kafka_t *cons = NULL, *prod = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    const struct rd_kafka_metadata *md = NULL;
    long replayed = 0, skipped = 0;
    int timeout = cli->timeout_ms > 0 ? cli->timeout_ms : EVBUS_CLI_DEFAULT_TIMEOUT_MS;

    cons = evbus_cli_kafka(cli, RD_KAFKA_CONSUMER, &rc, "group.id", r.group, "enable.auto.commit",
                           "false", "enable.auto.offset.store", "false", "auto.offset.reset",
                           "earliest", "allow.auto.create.topics", "false", NULL);
    if (!cons)
        goto out;
    /* Our own producer: its delivery reports decide whether progress may be committed. */
    char kerrs[512];
    rd_kafka_conf_t *kc = evbus_conf_to_kafka(cli->conf, kerrs, sizeof(kerrs));
    if (kc) {
        rd_kafka_conf_set(kc, "enable.idempotence", "true", NULL, 0);
        if (!cli->verbose)
            rd_kafka_conf_set(kc, "log_level", "3", NULL, 0);
        rd_kafka_conf_set_dr_msg_cb(kc, dr_cb);
        rd_kafka_conf_set_opaque(kc, &r);
        if (!(prod = rd_kafka_new(RD_KAFKA_PRODUCER, kc, kerrs, sizeof(kerrs))))
            rd_kafka_conf_destroy(kc);
    }
    if (!prod) {
        evbus_cli_err("replay", "producer: %s", kerrs);
        rc = EVBUS_CLI_USAGE;
        goto out;
    }

    rd_kafka_topic_t *rkt = rd_kafka_topic_new(cons, dlq, NULL);
    rd_kafka_resp_err_t kerr = rkt ? rd_kafka_metadata(cons, 0, rkt, &md, timeout)
                                   : RD_KAFKA_RESP_ERR__FAIL;
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (kerr || md->topic_cnt != 1 || md->topics[0].err) {
        evbus_cli_err("replay", "%s: %s", dlq,
                      rd_kafka_err2str(kerr ? kerr : md->topics[0].err));
        rc = EVBUS_CLI_FAIL;
        goto out;
    }
    int np = md->topics[0].partition_cnt;
    parts = rd_kafka_topic_partition_list_new(np);
    for (int i = 0; i < np; i++)
        rd_kafka_topic_partition_list_add(parts, dlq, md->topics[0].partitions[i].id);
    if (!r.all && (kerr = rd_kafka_committed(cons, parts, timeout)) != 0) {
        evbus_cli_err("replay", "committed offsets of %s: %s", dlq, rd_kafka_err2str(kerr));
        rc = EVBUS_CLI_FAIL;
        goto out;
    }
    int64_t *hi = calloc((size_t)np + 1, sizeof(int64_t));
    int remaining = 0;
    for (int i = 0; hi && i < np; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        int64_t lo = 0;
        if ((kerr = rd_kafka_query_watermark_offsets(cons, dlq, p->partition, &lo, &hi[i], timeout))) {
            evbus_cli_err("replay", "%s [%" PRId32 "]: %s", dlq, p->partition, rd_kafka_err2str(kerr));
            rc = EVBUS_CLI_FAIL;
            break;
        }
        if (r.all || p->offset < lo)
            p->offset = lo;
        if (p->offset < hi[i])
            remaining++;
    }
    if (!hi) {
        evbus_cli_err("replay", "out of memory");
        rc = EVBUS_CLI_FAIL;
    }
    if (rc == 0 && remaining > 0 && rd_kafka_assign(cons, parts)) {
        evbus_cli_err("replay", "cannot assign %s", dlq);
        rc = EVBUS_CLI_FAIL;
    }
    int64_t idle_since = evbus_cli_now_us();
    evbus_cli_progress_start(cli, "replay");
    while (rc == 0 && remaining > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 200);
        if (!m) {
            if (evbus_cli_now_us() - idle_since > (int64_t)timeout * 1000) {
                evbus_cli_err("replay", "%s: no message for %d ms before the end", dlq, timeout);
                rc = EVBUS_CLI_FAIL;
            }
            continue;
        }
        idle_since = evbus_cli_now_us();
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                evbus_cli_err("replay", "%s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        int idx = -1;
        for (int i = 0; i < np; i++)
            if (parts->elems[i].partition == m->partition)
                idx = i;
        if (idx < 0 || m->offset >= hi[idx]) { /* arrived after the start: for the next run */
            rd_kafka_message_destroy(m);
            continue;
        }
        char *orig = NULL;
        rd_kafka_headers_t *h = original_headers(m, &orig);
        if (!h || !orig) {
            evbus_cli_err("replay", "%s [%" PRId32 "] @%" PRId64 ": %s; skipped", dlq, m->partition,
                          m->offset, h ? "no evbus_original_topic header" : "out of memory");
            skipped++;
            if (h)
                rd_kafka_headers_destroy(h);
        } else {
            kerr = rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(orig), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                     RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_KEY(m->key, m->key_len),
                                     RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
            if (kerr) {
                rd_kafka_headers_destroy(h);
                evbus_cli_err("replay", "%s: %s", orig, rd_kafka_err2str(kerr));
                rc = EVBUS_CLI_FAIL;
            } else {
                replayed++;
                evbus_cli_log(cli, "%s [%" PRId32 "] @%" PRId64 " -> %s", dlq, m->partition, m->offset, orig);
            }
            rd_kafka_poll(prod, 0);
        }
        free(orig);
        evbus_cli_progress_events((uint64_t)(replayed + skipped));
        parts->elems[idx].offset = m->offset + 1;
        if (m->offset + 1 >= hi[idx])
            remaining--;
        rd_kafka_message_destroy(m);
    }
    /* progress is committed only for what the broker acknowledged */
    if (prod && rd_kafka_flush(prod, timeout * 3) != 0) {
        evbus_cli_err("replay", "some messages were not delivered in time");
        rc = EVBUS_CLI_FAIL;
    }
    rd_kafka_poll(prod, 0);
    evbus_cli_progress_stop((uint64_t)(replayed + skipped));
    if (rc == 0 && r.failed == 0 && replayed + skipped > 0 &&
        (kerr = rd_kafka_commit(cons, parts, 0)) != 0) {
        evbus_cli_err("replay", "commit progress: %s", rd_kafka_err2str(kerr));
        rc = EVBUS_CLI_FAIL;
    }
    free(hi);
    if (!cli->quiet)
        fprintf(stderr, "evbus-cli: replay: %ld replayed, %ld skipped, %ld failed\n", replayed, skipped,
                r.failed);
    if (rc == 0 && (skipped || r.failed))
        rc = EVBUS_CLI_FAIL;
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (prod)
        rd_kafka_destroy(prod);
    if (cons) {
        rd_kafka_consumer_close(cons);
        rd_kafka_destroy(cons);
    }
    free(dlq);
    return rc;
}
