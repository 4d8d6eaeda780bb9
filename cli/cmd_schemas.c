/* evbus-cli schemas: what the schema store holds, and whether it all loads. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "Usage: evbus-cli schemas [list | check | fingerprint EVENT_TYPE | compat OLD NEW]\n"
    "\n"
    "  list              each event type, the CRC-64-AVRO fingerprint of its schema's\n"
    "                    Parsing Canonical Form (16 hex digits) and its file (default)\n"
    "  check             load every schema; with a producer config (-c or\n"
    "                    EVENT_BUS_PRODUCER_CONFIG) also resolve every key path\n"
    "  fingerprint TYPE  the fingerprint of one event type's schema\n"
    "  history           the earlier versions kept in history/: type, fingerprint, file\n"
    "  compat OLD NEW    whether two versions of a schema (files, or an event type for its\n"
    "                    current schema) resolve into each other, as a schema registry judges:\n"
    "                    FULL, BACKWARD (NEW reads what OLD wrote), FORWARD (OLD reads what\n"
    "                    NEW wrote) or NONE, each with the reason it is not more (exit 0)\n"
    "Schemas come from --schemas DIR, EVENT_BUS_SCHEMA_DIR, ./schemas, then the installed ones.\n"
    "\n"
    "Example:\n"
    "  evbus-cli --schemas ./schemas schemas fingerprint org.evbus.demo.order.placed.v1\n";

/* A schema to compare: a file, else the current schema of an event type in the store. */
static evbus_schema_t *load_doc(evbus_cli_t *cli, const char *what, evbus_schema_store_t **store,
                                int *rc) {
    char err[512];
    size_t len;
    if (!strchr(what, '/') && !strstr(what, ".avsc")) {
        if (!*store && !(*store = evbus_cli_store(cli, rc)))
            return NULL;
        const evbus_schema_t *e = evbus_schema_store_get(*store, what);
        if (!e) {
            evbus_cli_err("schemas", "no schema for event type \"%s\" in %s", what,
                          evbus_schema_store_dir(*store));
            *rc = EVBUS_CLI_USAGE;
            return NULL;
        }
        const char *json = evbus_schema_json(e);
        return evbus_schema_new(json, strlen(json), err, sizeof(err));
    }
    char *text = evbus_cli_read_file(what, &len, err, sizeof(err));
    evbus_schema_t *doc = text ? evbus_schema_new(text, len, err, sizeof(err)) : NULL;
    free(text);
    if (!doc) {
        evbus_cli_err("schemas", "%s: %s", what, err);
        *rc = EVBUS_CLI_USAGE;
    }
    return doc;
}

static int compat(evbus_cli_t *cli, const char *old_s, const char *new_s) {
    evbus_schema_store_t *store = NULL;
    int rc = EVBUS_CLI_OK;
    evbus_schema_t *o = load_doc(cli, old_s, &store, &rc), *n = o ? load_doc(cli, new_s, &store, &rc) : NULL;
    if (n) {
        char back[512] = "", fwd[512] = "";
        /* BACKWARD: the new schema reads what the old one wrote; FORWARD: the other way. */
        int b = evbus_schema_compat(o, n, back, sizeof(back)) == EVBUS_OK;
        int f = evbus_schema_compat(n, o, fwd, sizeof(fwd)) == EVBUS_OK;
        if (b && f)
            printf("FULL: each schema reads what the other writes\n");
        else if (b)
            printf("BACKWARD: NEW reads what OLD writes; not FORWARD: OLD reading NEW's data: %s\n", fwd);
        else if (f)
            printf("FORWARD: OLD reads what NEW writes; not BACKWARD: NEW reading OLD's data: %s\n", back);
        else
            printf("NONE: not BACKWARD: NEW reading OLD's data: %s; not FORWARD: OLD reading NEW's data: %s\n",
                   back, fwd);
    }
    evbus_schema_destroy(o);
    evbus_schema_destroy(n);
    evbus_schema_store_destroy(store);
    return rc;
}

int evbus_cli_schemas(int argc, char **argv, evbus_cli_t *cli) {
    evbus_cli_spec_t spec = {usage, "", NULL, 0};
    int first, rc = evbus_cli_parse(cli, argc, argv, &spec, NULL, NULL, &first);
    if (rc >= 0)
        return rc;
    const char *action = first < argc ? argv[first] : "list";
    int nargs = argc - first - (first < argc);
    int want = !strcmp(action, "fingerprint") ? 1 : !strcmp(action, "compat") ? 2 : 0;
    if (strcmp(action, "list") && strcmp(action, "check") && strcmp(action, "fingerprint") &&
        strcmp(action, "history") && strcmp(action, "compat")) {
        evbus_cli_err("schemas",
                      "unknown action \"%s\", expected list, check, fingerprint, history or compat",
                      action);
        return EVBUS_CLI_USAGE;
    }
    if (nargs != want) {
        evbus_cli_err("schemas", "%s: expected %s", action,
                      want == 2 ? "OLD and NEW" : want ? "one EVENT_TYPE" : "no arguments");
        return EVBUS_CLI_USAGE;
    }
    if (!strcmp(action, "compat"))
        return compat(cli, argv[first + 1], argv[first + 2]);
    evbus_schema_store_t *store = evbus_cli_store(cli, &rc);
    if (!store)
        return rc;
    size_t n = evbus_schema_store_count(store);
    rc = EVBUS_CLI_OK;
    if (!strcmp(action, "list")) {
        for (size_t i = 0; i < n; i++) {
            const evbus_schema_t *e = evbus_schema_store_at(store, i);
            printf("%s\t%016" PRIx64 "\t%s\n", evbus_schema_event_type(e), evbus_schema_fingerprint(e),
                   evbus_schema_path(e));
        }
    } else if (!strcmp(action, "history")) {
        for (size_t i = 0; i < evbus_schema_store_history_count(store); i++) {
            const evbus_schema_t *e = evbus_schema_store_history_at(store, i);
            printf("%s\t%016" PRIx64 "\t%s\n", evbus_schema_event_type(e), evbus_schema_fingerprint(e),
                   evbus_schema_path(e));
        }
    } else if (!strcmp(action, "fingerprint")) {
        const evbus_schema_t *e = evbus_schema_store_get(store, argv[first + 1]);
        if (!e) {
            evbus_cli_err("schemas", "no schema for event type \"%s\" in %s", argv[first + 1],
                          evbus_schema_store_dir(store));
            rc = EVBUS_CLI_USAGE;
        } else {
            printf("%016" PRIx64 "\n", evbus_schema_fingerprint(e));
        }
    } else {
        /* The store already refused any schema that does not parse; the config adds key paths. */
        const char *pc = evbus_conf_get(cli->conf, "producer.config");
        if (pc && *pc) {
            evbus_producer_config_t *cfg = evbus_cli_config(cli, NULL, store, &rc);
            if (cfg) {
                printf("ok: %zu schemas in %s; %zu configured event types resolve their key paths\n",
                       n, evbus_schema_store_dir(store), evbus_producer_config_type_count(cfg));
                evbus_producer_config_destroy(cfg);
            }
        } else {
            printf("ok: %zu schemas in %s, %zu earlier versions in history/\n", n,
                   evbus_schema_store_dir(store), evbus_schema_store_history_count(store));
        }
        if (n == 0 && rc == EVBUS_CLI_OK) {
            evbus_cli_err("schemas", "no *.avsc files in %s", evbus_schema_store_dir(store));
            rc = EVBUS_CLI_USAGE;
        }
    }
    evbus_schema_store_destroy(store);
    return rc;
}
