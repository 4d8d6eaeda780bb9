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
#ifndef EVBUS_CORE_CONSUMER_CONFIG_H
#define EVBUS_CORE_CONSUMER_CONFIG_H

#include "producer_config.h"

typedef struct evbus__cplugin_s {
    char *path;            /* a file or directory; relative paths resolved against the file's dir */
    int isolate;           /* -1 unset, 0, 1 */
    char **settings;       /* key, value, ..., NULL (never NULL itself) */
    char **subscriptions;  /* NULL-terminated, or NULL: the plugin's own */
} evbus__cplugin_t;

typedef struct evbus__consumer_config_s {
    char **topics;         /* NULL-terminated (never NULL itself) */
    size_t ntopics;
    char *group;           /* or NULL */
    evbus__cplugin_t *plugins;
    size_t nplugins;
    /* evbus names and values (retry.max, retry.backoff.ms, dlq.topic.suffix), as they go into
     * an evbus_conf_t: NULL-terminated name, value, ... */
    char **conf;
} evbus__consumer_config_t;

/**
 * Load text_or_path (JSON text starting with '{', else a file).  NULL + errs on any problem
 * (the caller clears errs with evbus__config_errors_clear).  Plugin paths are checked to exist.
 */
evbus__consumer_config_t *evbus__consumer_config_load(const char *text_or_path,
                                                      evbus__config_errors_t *errs);
void evbus__consumer_config_destroy(evbus__consumer_config_t *cc);

#endif
