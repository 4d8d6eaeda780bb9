/*
 * Producer-config loader on fuzzed JSON text, with a schema store of the unit-test
 * fixtures so that schema lookups and key-path resolution run.  Only JSON text is fed
 * (the loader treats anything else as a file path, and fuzzing the file system is not
 * the point); a JSON list of configs is fed when it holds no file paths.  Errors are joined and truncated into errstr buffers of several sizes.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdint.h>

#include "producer_config.h"
#include "fuzz_util.h"

static evbus__schema_store_t *store;
static char long_prefix[241];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    char dir[4096], err[512];
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof(dir), "%s/" FUZZ_SCHEMA_DIR, fuzz_srcdir());
    store = evbus__schema_store_new(dir, err, sizeof(err));
    if (!store)
        fuzz_die(dir, err);
    memset(long_prefix, 'p', sizeof(long_prefix) - 1);
    return 0;
}

static void check_errors(const evbus__config_errors_t *errs) {
    static const size_t sizes[] = {1, 2, 17, 64, 300, 8192};
    if (errs->count == 0)
        fuzz_die("config_load", "NULL config without an error");
    char *joined = evbus__config_errors_join(errs);
    if (joined && strlen(joined) == 0)
        fuzz_die("config_errors_join", "empty text for a non-empty error list");
    free(joined);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *buf = malloc(sizes[i]); /* exact size: ASan catches an overrun */
        if (!buf)
            continue;
        evbus__config_errors_to_errstr(errs, buf, sizes[i]);
        if (!memchr(buf, 0, sizes[i]))
            fuzz_die("config_errors_to_errstr", "errstr not NUL-terminated");
        free(buf);
    }
}

static void load(const char *text, const char *prefix) {
    evbus__config_errors_t errs = {NULL, 0};
    evbus__config_t *cfg = evbus__config_load(text, store, prefix, &errs);
    if (cfg) {
        if (errs.count)
            fuzz_die("config_load", "config returned together with errors");
        for (size_t i = 0; i < cfg->ntypes; i++) {
            const evbus__type_conf_t *tc = cfg->types + i;
            if (evbus__config_find(cfg, tc->event_type) != tc)
                fuzz_die("config_find", "loaded type not found");
            if (!tc->schema || tc->ntopics == 0)
                fuzz_die("config_load", "type without schema or topics");
            for (size_t j = 0; j < tc->ntopics; j++)
                if (!tc->topics[j].topic || !tc->topics[j].full_topic || !tc->topics[j].key_field ||
                    !tc->topics[j].key_schema)
                    fuzz_die("config_load", "topic entry incomplete");
        }
        evbus__config_find(cfg, "no.such.type");
        evbus__config_destroy(cfg);
    } else {
        check_errors(&errs);
    }
    evbus__config_errors_clear(&errs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t i = 0;
    while (i < size && isspace(data[i]))
        i++;
    if (i == size || (data[i] != '{' && data[i] != '['))
        return 0;
    char *text = fuzz_cstr(data, size);
    if (!text)
        return 0;
    /* A JSON list merges several configs, and a string item in it is a file path: not fed
     * either, for the same reason (a path like /dev/zero would only hang the run). */
    json_t *j = data[i] == '[' ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    for (size_t k = 0; j && k < json_array_size(j); k++) {
        if (json_is_string(json_array_get(j, k))) {
            json_decref(j);
            free(text);
            return 0;
        }
    }
    json_decref(j);
    load(text, NULL);
    load(text, "dev");
    load(text, long_prefix); /* every topic too long with it: the error paths */
    free(text);
    return 0;
}
