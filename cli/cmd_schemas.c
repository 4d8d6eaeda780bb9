/* evbus-cli schemas: what the schema store holds, and whether it all loads. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "schema.h"

static const char usage[] =
    "Usage: evbus-cli schemas [list | check | fingerprint EVENT_TYPE]\n"
    "\n"
    "  list              each event type, the CRC-64-AVRO fingerprint of its schema's\n"
    "                    Parsing Canonical Form (16 hex digits) and its file (default)\n"
    "  check             load every schema; with a producer config (-c or\n"
    "                    EVENT_BUS_PRODUCER_CONFIG) also resolve every key path\n"
    "  fingerprint TYPE  the fingerprint of one event type's schema\n"
    "Schemas come from --schemas DIR, EVENT_BUS_SCHEMA_DIR, ./schemas, then the installed ones.\n"
    "\n"
    "Example:\n"
    "  evbus-cli --schemas ./schemas schemas fingerprint org.evbus.demo.order.placed.v1\n";

int evbus_cli_schemas(int argc, char **argv, evbus_cli_t *cli) {
    evbus_cli_spec_t spec = {usage, "", NULL, 0};
    int first, rc = evbus_cli_parse(cli, argc, argv, &spec, NULL, NULL, &first);
    if (rc >= 0)
        return rc;
    const char *action = first < argc ? argv[first] : "list";
    int nargs = argc - first - (first < argc);
    int want = strcmp(action, "fingerprint") == 0 ? 1 : 0;
    if (strcmp(action, "list") && strcmp(action, "check") && strcmp(action, "fingerprint")) {
        evbus_cli_err("schemas", "unknown action \"%s\", expected list, check or fingerprint", action);
        return EVBUS_CLI_USAGE;
    }
    if (nargs != want) {
        evbus_cli_err("schemas", "%s: expected %s", action, want ? "one EVENT_TYPE" : "no arguments");
        return EVBUS_CLI_USAGE;
    }
    evbus__schema_store_t *store = evbus_cli_store(cli, &rc);
    if (!store)
        return rc;
    size_t n = evbus__schema_store_count(store);
    rc = EVBUS_CLI_OK;
    if (!strcmp(action, "list")) {
        for (size_t i = 0; i < n; i++) {
            const evbus__schema_entry_t *e = evbus__schema_store_at(store, i);
            printf("%s\t%016" PRIx64 "\t%s\n", e->event_type, e->doc->fingerprint, e->path);
        }
    } else if (!strcmp(action, "fingerprint")) {
        const evbus__schema_entry_t *e = evbus__schema_store_get(store, argv[first + 1]);
        if (!e) {
            evbus_cli_err("schemas", "no schema for event type \"%s\" in %s", argv[first + 1],
                          evbus__schema_store_dir(store));
            rc = EVBUS_CLI_USAGE;
        } else {
            printf("%016" PRIx64 "\n", e->doc->fingerprint);
        }
    } else {
        /* The store already refused any schema that does not parse; the config adds key paths. */
        const char *pc = evbus_conf_get(cli->conf, "producer.config");
        if (pc && *pc) {
            evbus__config_t *cfg = evbus_cli_config(cli, NULL, store, &rc);
            if (cfg) {
                printf("ok: %zu schemas in %s; %zu configured event types resolve their key paths\n",
                       n, evbus__schema_store_dir(store), cfg->ntypes);
                evbus__config_destroy(cfg);
            }
        } else {
            printf("ok: %zu schemas in %s\n", n, evbus__schema_store_dir(store));
        }
        if (n == 0 && rc == EVBUS_CLI_OK) {
            evbus_cli_err("schemas", "no *.avsc files in %s", evbus__schema_store_dir(store));
            rc = EVBUS_CLI_USAGE;
        }
    }
    evbus__schema_store_destroy(store);
    return rc;
}
