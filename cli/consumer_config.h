/*
 * The consumer config file (consume --config FILE, EVBUS_CONSUMER_CONFIG): which topics and
 * group a worker daemon consumes and which plugins it runs, with their settings.
 *
 *   {"topics": ["t"], "group": "g",
 *    "plugins": [{"path": "x.so" or a directory, "isolate": false, "settings": {"k": "v"},
 *                 "subscriptions": ["org.openedx.*"]}],
 *    "retry": {"max": 3, "backoff_ms": 100}, "dlq_suffix": ".dlq"}
 *
 * Every key is optional; loading collects EVERY problem as "$.<path>: <what>, expected <what>",
 * like the producer config, and a file with any error is never half-loaded.
 */
#ifndef EVBUS_CLI_CONSUMER_CONFIG_H
#define EVBUS_CLI_CONSUMER_CONFIG_H

#include <stddef.h>

#include "util.h"

/* Every problem found, in document order: where ("$.plugins[0].path") and what is wrong. */
typedef struct evbus_cli_config_error_s {
    char *path;
    char *message;
} evbus_cli_config_error_t;

typedef struct evbus_cli_config_errors_s {
    evbus_cli_config_error_t *items;
    size_t count;
} evbus_cli_config_errors_t;

/** Record a problem (dropped when memory runs out: the load fails anyway). */
void evbus_cli_config_errors_add(evbus_cli_config_errors_t *errs, const char *path, const char *fmt,
                                 ...) EVBUS_CLI_PRINTF(3, 4);
void evbus_cli_config_errors_clear(evbus_cli_config_errors_t *errs);

typedef struct evbus_cli_cplugin_s {
    char *path;            /* a file or directory; relative paths resolved against the file's dir */
    int isolate;           /* -1 unset, 0, 1 */
    char **settings;       /* key, value, ..., NULL (never NULL itself) */
    char **subscriptions;  /* NULL-terminated, or NULL: the plugin's own */
} evbus_cli_cplugin_t;

typedef struct evbus_cli_consumer_config_s {
    char **topics;         /* NULL-terminated (never NULL itself) */
    size_t ntopics;
    char *group;           /* or NULL */
    evbus_cli_cplugin_t *plugins;
    size_t nplugins;
    /* evbus names and values (retry.max, retry.backoff.ms, dlq.topic.suffix), as they go into
     * an evbus_conf_t: NULL-terminated name, value, ... */
    char **conf;
} evbus_cli_consumer_config_t;

/**
 * Load text_or_path (JSON text starting with '{', else a file).  NULL + errs on any problem
 * (the caller clears errs with evbus_cli_config_errors_clear).  Plugin paths are checked to exist.
 */
evbus_cli_consumer_config_t *evbus_cli_consumer_config_load(const char *text_or_path,
                                                      evbus_cli_config_errors_t *errs);
void evbus_cli_consumer_config_destroy(evbus_cli_consumer_config_t *cc);

#endif
