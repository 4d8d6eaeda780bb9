/* Loading what several subcommands need: schemas, registry, producer config, Kafka clients. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "cli.h"
#include "conf.h"
#include "config.h"
#include "registry.h"
#include "schema.h"

evbus__schema_store_t *evbus_cli_store(evbus_cli_t *cli, int *rcp) {
    char errstr[1024];
    evbus__schema_store_t *st =
        evbus__schema_store_new(evbus_conf_get(cli->conf, "schema.dir"), errstr, sizeof(errstr));
    if (!st) {
        evbus_cli_err(cli->cmd, "schemas: %s", errstr);
        *rcp = EVBUS_CLI_USAGE;
        return NULL;
    }
    evbus_cli_log(cli, "%zu schemas from %s", evbus__schema_store_count(st),
                  evbus__schema_store_dir(st));
    return st;
}

evbus__registry_t *evbus_cli_registry(evbus_cli_t *cli, int *rcp) {
    char errstr[512];
    evbus__registry_t *reg;
    *rcp = 0;
    if (evbus__registry_from_conf(cli->conf, &reg, errstr, sizeof(errstr)) != EVBUS_OK) {
        evbus_cli_err(cli->cmd, "%s", errstr);
        *rcp = EVBUS_CLI_USAGE;
    }
    return reg;
}

evbus__config_t *evbus_cli_config(evbus_cli_t *cli, const char *source,
                                  const evbus__schema_store_t *store, int *rcp) {
    const char *name = source ? source : cli->config_file ? cli->config_file : "EVENT_BUS_PRODUCER_CONFIG";
    if (!source)
        source = evbus_conf_get(cli->conf, "producer.config");
    if (!source || !*source) {
        evbus_cli_err(cli->cmd, "no producer config: give a FILE, -c FILE or EVENT_BUS_PRODUCER_CONFIG");
        *rcp = EVBUS_CLI_USAGE;
        return NULL;
    }
    /* JSON text given inline is named by where it came from, not echoed. */
    if (*source == '{' && name == source)
        name = "config";
    evbus__config_errors_t errs = {0};
    evbus__config_t *cfg = evbus__config_load(source, store, evbus_cli_prefix(cli), &errs);
    if (!cfg) {
        for (size_t i = 0; i < errs.count; i++)
            evbus_cli_err(name, "%s: %s", errs.items[i].path, errs.items[i].message);
        if (errs.count == 0)
            evbus_cli_err(name, "cannot load the producer config");
        evbus__config_errors_clear(&errs);
        *rcp = EVBUS_CLI_USAGE;
    }
    return cfg;
}

int evbus_cli_has_bootstrap(const evbus_cli_t *cli) {
    const char *b = evbus_conf_get(cli->conf, "kafka.bootstrap.servers");
    if (!b)
        b = evbus_conf_get(cli->conf, "kafka.metadata.broker.list");
    return b && *b;
}

/*
 * librdkafka's own log lines are noise for a CLI user unless -v asked for them, with one
 * exception: an authentication failure.  Requests then only fail as "transport failure" or
 * time out, so the log line is the one place that says why; it is printed once, as ours.
 * (The log callback runs on librdkafka's threads, so it also works while we wait on a
 * metadata request, when no error event would be served.)
 */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    static atomic_int told;
    const evbus_cli_t *cli = rd_kafka_opaque(rk);
    if (cli && cli->verbose) {
        fprintf(stderr, "evbus-cli: librdkafka %d %s: %s\n", level, fac, buf);
        return;
    }
    const char *auth = strstr(buf, "SASL authentication error");
    if (!auth)
        auth = strstr(buf, "Authentication failed");
    if (auth && atomic_exchange(&told, 1) == 0)
        evbus_cli_err(cli ? cli->cmd : "kafka", "authentication failed: %s", auth);
}

rd_kafka_t *evbus_cli_kafka(evbus_cli_t *cli, int type, int *rcp, ...) {
    char errstr[512];
    *rcp = EVBUS_CLI_USAGE;
    if (!evbus_cli_has_bootstrap(cli)) {
        evbus_cli_err(cli->cmd, "no broker: give -b HOST:PORT or set EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS");
        return NULL;
    }
    rd_kafka_conf_t *kc = evbus__conf_to_kafka(cli->conf, errstr, sizeof(errstr));
    if (!kc) {
        evbus_cli_err(cli->cmd, "%s", errstr);
        return NULL;
    }
    va_list ap;
    va_start(ap, rcp);
    const char *n, *v;
    while ((n = va_arg(ap, const char *)) && (v = va_arg(ap, const char *))) {
        if (rd_kafka_conf_set(kc, n, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            va_end(ap);
            evbus_cli_err(cli->cmd, "%s: %s", n, errstr);
            rd_kafka_conf_destroy(kc);
            return NULL;
        }
    }
    va_end(ap);
    rd_kafka_conf_set_opaque(kc, cli);
    rd_kafka_conf_set_log_cb(kc, log_cb);
    rd_kafka_t *rk = rd_kafka_new((rd_kafka_type_t)type, kc, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(kc);
        evbus_cli_err(cli->cmd, "%s", errstr);
        return NULL;
    }
    *rcp = 0;
    return rk;
}
