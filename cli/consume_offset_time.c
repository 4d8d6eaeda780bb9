/*
 * consume --offset-time TIME: the Python bus's `consume_events --offset_time`. Instead of
 * consuming, the group's committed offsets of the assigned partitions are set to the first
 * message at or after TIME (the end where there is none yet), so the group's next run replays
 * from TIME. Unlike --since, which only positions this process, the reset is committed and
 * lasts. The Python bus then sleeps forever and redoes it on every assignment; the CLI does it
 * for the assignment it gets and exits.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <librdkafka/rdkafka.h>

#include "cli.h"
#include "consume_int.h"

/* The first assignment (eager protocol: made on poll), within the CLI's broker timeout. */
static rd_kafka_topic_partition_list_t *wait_assignment(evbus_cli_t *cli, rd_kafka_t *rk) {
    rd_kafka_topic_partition_list_t *a = NULL;
    int64_t waited = 0, limit = 3 * (int64_t)cli->timeout_ms; /* a group join takes a few seconds */
    while (waited < limit) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m)
            rd_kafka_message_destroy(m); /* not consumed: nothing is committed from it */
        waited += 100;
        if (rd_kafka_assignment(rk, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a && a->cnt > 0)
            return a;
        if (a)
            rd_kafka_topic_partition_list_destroy(a);
        a = NULL;
    }
    return NULL;
}

int evbus_cli_offset_time(evbus_cli_t *cli, char *const *topics, size_t n, const char *group,
                          int64_t ts_ms) {
    int rc;
    rd_kafka_t *rk = evbus_cli_kafka(cli, RD_KAFKA_CONSUMER, &rc, "group.id", group,
                                     "enable.auto.commit", "false", NULL);
    if (!rk)
        return rc;
    rc = EVBUS_CLI_FAIL;
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new((int)n);
    rd_kafka_topic_partition_list_t *a = NULL, *q = NULL;
    for (size_t i = 0; sub && i < n; i++)
        rd_kafka_topic_partition_list_add(sub, topics[i], RD_KAFKA_PARTITION_UA);
    if (!sub) {
        evbus_cli_err("consume", "out of memory");
        goto out;
    }
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, sub);
    if (err) {
        evbus_cli_err("consume", "--offset-time: subscribe: %s", rd_kafka_err2str(err));
        goto out;
    }
    if (!(a = wait_assignment(cli, rk))) {
        evbus_cli_err("consume", "--offset-time: no partition assigned to group %s within %d ms",
                      group, 3 * cli->timeout_ms);
        goto out;
    }
    if (!(q = rd_kafka_topic_partition_list_copy(a)))
        goto out;
    for (int i = 0; i < q->cnt; i++)
        q->elems[i].offset = ts_ms;
    if ((err = rd_kafka_offsets_for_times(rk, q, cli->timeout_ms))) {
        evbus_cli_err("consume", "--offset-time: offsets for the time: %s", rd_kafka_err2str(err));
        goto out;
    }
    for (int i = 0; i < q->cnt; i++) {
        rd_kafka_topic_partition_t *e = &q->elems[i];
        int64_t lo, hi;
        if (e->err) {
            evbus_cli_err("consume", "--offset-time: %s [%" PRId32 "]: %s", e->topic, e->partition,
                          rd_kafka_err2str(e->err));
            goto out;
        }
        /* nothing at or after TIME yet: the end, so the group reads what comes next */
        if (e->offset < 0) {
            if ((err = rd_kafka_query_watermark_offsets(rk, e->topic, e->partition, &lo, &hi,
                                                        cli->timeout_ms))) {
                evbus_cli_err("consume", "--offset-time: %s [%" PRId32 "]: %s", e->topic,
                              e->partition, rd_kafka_err2str(err));
                goto out;
            }
            e->offset = hi;
        }
    }
    if ((err = rd_kafka_commit(rk, q, 0))) {
        evbus_cli_err("consume", "--offset-time: commit: %s", rd_kafka_err2str(err));
        goto out;
    }
    for (int i = 0; i < q->cnt; i++)
        printf("%s\t%" PRId32 "\t%" PRId64 "\n", q->elems[i].topic, q->elems[i].partition,
               q->elems[i].offset);
    evbus_cli_log(cli, "committed the offsets of %d partition(s) for group %s", q->cnt, group);
    rc = EVBUS_CLI_OK;
out:
    if (q)
        rd_kafka_topic_partition_list_destroy(q);
    if (a)
        rd_kafka_topic_partition_list_destroy(a);
    if (sub)
        rd_kafka_topic_partition_list_destroy(sub);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}
