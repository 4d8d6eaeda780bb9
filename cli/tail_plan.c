/*
 * tail's plan: which partitions of the topics are tailed, from which offset (the last N,
 * the beginning, a time), where "the end" is (the high watermark when tail started), and,
 * with -f, partitions added later.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tail_int.h"

tail_part_t *tail_find_part(tail_t *t, const char *topic, int32_t id) {
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
        if (tail_find_part(t, t->topics[ti], id))
            continue;
        tail_part_t *np = realloc(t->parts, (t->nparts + 1) * sizeof(*np));
        if (!np) {
            evbus_cli_err("tail", "out of memory");
            return EVBUS_CLI_FAIL;
        }
        t->parts = np;
        tail_part_t *p = &t->parts[t->nparts++];
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
        if (t->from_beginning && !later && p->lo > 0) /* README "The embedded broker" */
            evbus_cli_log(t->cli,
                          "%s [%" PRId32 "]: the first offset is %" PRId64 ": the %" PRId64
                          " earlier events are gone (retention, or the embedded broker, which "
                          "keeps only about the last 5 MiB per partition)",
                          t->topics[ti], id, p->lo, p->lo);
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
        tail_part_t *p = tail_find_part(t, assign->elems[i].topic, assign->elems[i].partition);
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

int tail_setup(tail_t *t) {
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t e = evbus_cli_metadata(t->cli, t->rk, &md);
    if (e) {
        if (!evbus_cli_kafka_reported()) /* else the reason (TLS, authentication) is on stderr */
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
        tail_part_t *p = tail_find_part(t, assign->elems[i].topic, assign->elems[i].partition);
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

int tail_refresh(tail_t *t) {
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

int tail_all_done(const tail_t *t) {
    for (size_t i = 0; i < t->nparts; i++)
        if (!t->parts[i].done)
            return 0;
    return 1;
}

