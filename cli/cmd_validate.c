/* evbus-cli validate-config: load a producer config as the producer would, or with --consumer
 * a consumer config file as consume would, and report every problem. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "consume_int.h"

static const char usage[] =
    "Usage: evbus-cli validate-config [FILE]\n"
    "       evbus-cli validate-config --consumer [FILE]\n"
    "\n"
    "Check a producer config (EVENT_BUS_PRODUCER_CONFIG: either the list form or the\n"
    "dict-of-topics form) against the schemas: unknown keys, wrong types, missing topic or\n"
    "event_key_field, duplicate or illegal topic names, event types without a schema, key\n"
    "paths that do not resolve.  Every problem is printed on stderr, one per line with its\n"
    "JSON path, and the exit status is 2; a valid config prints a summary on stdout.\n"
    "FILE defaults to -c FILE, then EVENT_BUS_PRODUCER_CONFIG (JSON text or a path).\n"
    "\n"
    "With --consumer, FILE is a consumer config (consume --config; default\n"
    "EVBUS_CONSUMER_CONFIG): unknown keys, wrong types, empty lists, illegal topic names,\n"
    "plugin paths that do not exist, retry values out of range.  No broker is needed.\n"
    "\n"
    "Example:\n"
    "  evbus-cli --schemas ./schemas validate-config examples/producer-config.json\n"
    "  evbus-cli validate-config --consumer consumer.json\n";

enum { OPT_CONSUMER = 1 };
static const struct option longopts[] = {
    {"consumer", no_argument, NULL, OPT_CONSUMER},
    {NULL, 0, NULL, 0},
};

static int on_opt(void *ctx, int c, const char *arg) {
    (void)arg;
    if (c != OPT_CONSUMER)
        return EVBUS_CLI_USAGE;
    *(int *)ctx = 1;
    return -1;
}

int evbus_cli_validate_config(int argc, char **argv, evbus_cli_t *cli) {
    int consumer = 0;
    evbus_cli_spec_t spec = {usage, "", longopts, 0};
    int first, rc = evbus_cli_parse(cli, argc, argv, &spec, on_opt, &consumer, &first);
    if (rc >= 0)
        return rc;
    if (argc - first > 1) {
        evbus_cli_err("validate-config", "expected at most one FILE, got %d arguments", argc - first);
        return EVBUS_CLI_USAGE;
    }
    if (consumer)
        return evbus_cli_validate_consumer_config(first < argc ? argv[first] : NULL);
    evbus_schema_store_t *store = evbus_cli_store(cli, &rc);
    if (!store)
        return rc;
    evbus_producer_config_t *cfg = evbus_cli_config(cli, first < argc ? argv[first] : NULL, store, &rc);
    if (!cfg) {
        evbus_schema_store_destroy(store);
        return rc;
    }
    size_t ntopics = 0, nenabled = 0;
    const char *wire = evbus_conf_wire_format(cli->conf);
    size_t ntypes = evbus_producer_config_type_count(cfg);
    for (size_t i = 0; i < ntypes; i++) {
        const char *type = evbus_producer_config_type(cfg, i);
        for (size_t j = 0; j < evbus_producer_config_topic_count(cfg, i); j++) {
            const char *full, *key;
            int enabled;
            evbus_producer_config_topic(cfg, i, j, NULL, &full, &key, &enabled);
            printf("%s\t%s\tkey=%s\t%s\t%s\n", type, full, key, enabled ? "enabled" : "disabled",
                   wire);
            ntopics++;
            nenabled += enabled != 0;
        }
    }
    printf("valid: %zu event type%s, %zu topic%s (%zu enabled)\n", ntypes,
           ntypes == 1 ? "" : "s", ntopics, ntopics == 1 ? "" : "s", nenabled);
    if (!strcmp(wire, "single-object") && !cli->quiet)
        fprintf(stderr, "evbus-cli: validate-config: note: single-object framing (no "
                        "schema.registry.url): Python Open edX consumers cannot read it, they need confluent\n");
    evbus_producer_config_destroy(cfg);
    evbus_schema_store_destroy(store);
    return EVBUS_CLI_OK;
}
