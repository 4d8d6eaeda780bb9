/* evbus-cli topics: configured event types -> full topic names, and what the broker has. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "cli.h"

static const char usage[] =
    "Usage: evbus-cli topics\n"
    "\n"
    "For each event type of the producer config (-c or EVENT_BUS_PRODUCER_CONFIG), one line\n"
    "per topic, tab separated: event type, full topic name (with the prefix), enabled or\n"
    "disabled.  When bootstrap servers are set (-b or EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS) each\n"
    "line adds whether the topic exists, its partitions and their end offsets; a broker that\n"
    "does not answer within cli.timeout.ms is exit status 1.\n"
    "\n"
    "Example:\n"
    "  evbus-cli -c producer.json --prefix dev -b localhost:9092 topics\n";

/* Append broker facts for one topic to the line. */
static void print_broker_info(evbus_cli_t *cli, rd_kafka_t *rk, const rd_kafka_metadata_t *md,
                              const char *topic) {
    const rd_kafka_metadata_topic_t *mt = NULL;
    for (int i = 0; i < md->topic_cnt && !mt; i++)
        if (!strcmp(md->topics[i].topic, topic))
            mt = &md->topics[i];
    if (!mt || mt->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        fputs("\tmissing", stdout);
        return;
    }
    if (mt->err) {
        printf("\terror=%s", rd_kafka_err2str(mt->err));
        return;
    }
    printf("\texists\tpartitions=%d\tend=", mt->partition_cnt);
    for (int p = 0; p < mt->partition_cnt; p++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, mt->partitions[p].id,
                                                                 &lo, &hi, cli->timeout_ms);
        if (e)
            printf("%s?", p ? "," : "");
        else
            printf("%s%" PRId64, p ? "," : "", hi);
    }
}

int evbus_cli_topics(int argc, char **argv, evbus_cli_t *cli) {
    evbus_cli_spec_t spec = {usage, "", NULL, 0};
    int first, rc = evbus_cli_parse(cli, argc, argv, &spec, NULL, NULL, &first);
    if (rc >= 0)
        return rc;
    if (first < argc) {
        evbus_cli_err("topics", "unexpected argument \"%s\"", argv[first]);
        return EVBUS_CLI_USAGE;
    }
    evbus_schema_store_t *store = evbus_cli_store(cli, &rc);
    if (!store)
        return rc;
    evbus_producer_config_t *cfg = evbus_cli_config(cli, NULL, store, &rc);
    if (!cfg) {
        evbus_schema_store_destroy(store);
        return rc;
    }
    rd_kafka_t *rk = NULL;
    const rd_kafka_metadata_t *md = NULL;
    rc = EVBUS_CLI_OK;
    if (evbus_cli_has_bootstrap(cli)) {
        rk = evbus_cli_kafka(cli, RD_KAFKA_PRODUCER, &rc, "client.id", "evbus-cli", NULL);
        if (rk) {
            rd_kafka_resp_err_t e = evbus_cli_metadata(cli, rk, &md);
            if (e) {
                if (!evbus_cli_kafka_reported()) /* else the reason is already on stderr */
                    evbus_cli_err("topics", "broker %s: %s",
                                  evbus_conf_get(cli->conf, "kafka.bootstrap.servers"), rd_kafka_err2str(e));
                md = NULL;
                rc = EVBUS_CLI_FAIL;
            }
        }
    }
    /* One producer config, one framing for all its topics: wire.format, else the registry. */
    const char *wire = evbus_conf_wire_format(cli->conf);
    for (size_t i = 0; i < evbus_producer_config_type_count(cfg); i++) {
        const char *type = evbus_producer_config_type(cfg, i);
        for (size_t j = 0; j < evbus_producer_config_topic_count(cfg, i); j++) {
            const char *full;
            int enabled;
            evbus_producer_config_topic(cfg, i, j, NULL, &full, NULL, &enabled);
            printf("%s\t%s\t%s\t%s", type, full, enabled ? "enabled" : "disabled", wire);
            if (md)
                print_broker_info(cli, rk, md, full);
            putchar('\n');
        }
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rk)
        rd_kafka_destroy(rk);
    evbus_producer_config_destroy(cfg);
    evbus_schema_store_destroy(store);
    return rc;
}
