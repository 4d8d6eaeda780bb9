/*
 * evbus-cli consume: the worker daemon.  A libconsumer group member whose handlers are the
 * plugins given on the command line; failures are logged one line each (from the lifecycle
 * events), a status line every 10 s with -v.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "conf.h"
#include "consume_int.h"
#include "evbus/consumer.h"

static const char usage[] =
    "Usage: evbus-cli consume -t TOPIC... -g GROUP [--plugin PATH]... [--plugins DIR] [--isolate]\n"
    "                         [--from-beginning | --since TIME] [--metrics HOST:PORT]\n"
    "                         [--log-format text|json]\n"
    "\n"
    "Run a consumer-group worker: every event of the topics goes to the plugins that subscribe\n"
    "to its type.  The plugins that fail an event are retried (retry.max, retry.backoff.ms), then\n"
    "it is written to <topic>.dlq; offsets are committed only after that (at-least-once).  A\n"
    "schema registry or DLQ write that fails is retried with backoff, never dead-lettered; after\n"
    "consumer.max.consecutive.errors such failures in a row (env\n"
    "EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT; unset: no limit) it exits 1.  Stops\n"
    "cleanly on SIGINT/SIGTERM.  TOPIC is given without the prefix (--no-prefix for full names).\n"
    "\n"
    "Options:\n"
    "  -t, --topic TOPIC     a topic to consume (repeatable)\n"
    "  -g, --group GROUP     consumer group (or -X consumer.group=GROUP); --group_id too\n"
    "      --plugin PATH     load the plugin shared object PATH (repeatable)\n"
    "      --plugins DIR     load every *.so of DIR\n"
    "      --isolate         run plugins in supervised child processes (plugin.isolate=true);\n"
    "                        a crash or a handler past handler.timeout.ms fails only the event\n"
    "      --from-beginning  a group without committed offsets starts at the beginning\n"
    "                        (consumer.start=earliest; the default is latest, as the Python bus)\n"
    "      --since TIME      start every partition at TIME, ignoring committed offsets:\n"
    "                        ISO 8601 (2024-05-01T12:00:00Z) or relative 30s, 10m, 2h, 1d\n"
    "      --metrics HOST:PORT  serve Prometheus metrics at /metrics and health at /healthz\n"
    "                        (200, or 503 and why); port 0 picks a free port (told on stderr)\n"
    "      --log-format F    stderr lines as text (default) or json (one object per line)\n"
    "      --offset-time TIME  consume nothing: commit the group's offsets of its assigned\n"
    "                        partitions to TIME (the Python bus's --offset_time), print them\n"
    "                        and exit; the group's next run starts there\n"
    "      --extra JSON      consume_events' extra arguments: {\"offset_time\": TIME}\n"
    "Settings (-X): workers, retry.max, retry.backoff.ms, dlq.topic.suffix, handler.timeout.ms,\n"
    "consumer.max.consecutive.errors, audit.log=true (a line per handled event),\n"
    "metrics.interval.ms, health.poll.timeout.ms.\n"
    "\n"
    "Example:\n"
    "  evbus-cli consume -t content-authoring-xblock-lifecycle -g cms-worker \\\n"
    "      --plugin ./evbus_example_plugin.so -v\n";

enum { OPT_PLUGIN = 1, OPT_PLUGINS, OPT_ISOLATE, OPT_FROM_BEGINNING, OPT_SINCE, OPT_OFFSET_TIME, OPT_EXTRA,
       OPT_METRICS, OPT_LOG_FORMAT };

static const struct option longopts[] = {
    {"topic", required_argument, NULL, 't'},
    {"group", required_argument, NULL, 'g'},
    {"group_id", required_argument, NULL, 'g'}, /* the Python bus's consume_events spelling */
    {"plugin", required_argument, NULL, OPT_PLUGIN},
    {"plugins", required_argument, NULL, OPT_PLUGINS},
    {"isolate", no_argument, NULL, OPT_ISOLATE},
    {"from-beginning", no_argument, NULL, OPT_FROM_BEGINNING},
    {"since", required_argument, NULL, OPT_SINCE},
    {"offset-time", required_argument, NULL, OPT_OFFSET_TIME},
    {"offset_time", required_argument, NULL, OPT_OFFSET_TIME}, /* consume_events' spelling */
    {"extra", required_argument, NULL, OPT_EXTRA},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {NULL, 0, NULL, 0},
};

typedef struct opts_s {
    const char *topics[256];
    size_t ntopics;
    const char *plugins[256];
    size_t nplugins;
    const char *group, *plugins_dir, *since, *offset_time;
    char extra_offset_time[64]; /* from --extra */
    const char *metrics; /* --metrics HOST:PORT */
    int isolate, from_beginning;
} opts_t;

static int on_opt(void *ctx, int c, const char *arg) {
    opts_t *o = ctx;
    switch (c) {
    case 't':
        if (o->ntopics == 256) {
            evbus_cli_err("consume", "too many topics (at most 256)");
            return EVBUS_CLI_USAGE;
        }
        o->topics[o->ntopics++] = arg;
        return -1;
    case 'g':
        o->group = arg;
        return -1;
    case OPT_PLUGIN:
        if (o->nplugins == 256) {
            evbus_cli_err("consume", "too many plugins (at most 256)");
            return EVBUS_CLI_USAGE;
        }
        o->plugins[o->nplugins++] = arg;
        return -1;
    case OPT_PLUGINS:
        o->plugins_dir = arg;
        return -1;
    case OPT_ISOLATE:
        o->isolate = 1;
        return -1;
    case OPT_FROM_BEGINNING:
        o->from_beginning = 1;
        return -1;
    case OPT_SINCE:
        o->since = arg;
        return -1;
    case OPT_OFFSET_TIME:
        o->offset_time = arg;
        return -1;
    case OPT_EXTRA: {
        /* The Python command's --extra: a JSON object of keyword arguments for the consumer;
         * offset_time is the one it defines. */
        json_error_t jerr;
        json_t *j = json_loads(arg, 0, &jerr), *v;
        const char *k;
        int rc = -1;
        if (!json_is_object(j)) {
            evbus_cli_err("consume", "--extra: expected a JSON object, got \"%s\"", arg);
            rc = EVBUS_CLI_USAGE;
        } else {
            json_object_foreach(j, k, v) {
                if (strcmp(k, "offset_time") != 0 || !json_is_string(v)) {
                    evbus_cli_err("consume", "--extra: unknown or non-string \"%s\", expected {\"offset_time\": TIME}", k);
                    rc = EVBUS_CLI_USAGE;
                } else if (json_string_length(v) >= sizeof(o->extra_offset_time)) {
                    evbus_cli_err("consume", "--extra: offset_time too long");
                    rc = EVBUS_CLI_USAGE;
                } else {
                    memcpy(o->extra_offset_time, json_string_value(v), json_string_length(v) + 1);
                    o->offset_time = o->extra_offset_time;
                }
            }
        }
        json_decref(j);
        return rc;
    }
    case OPT_METRICS:
        o->metrics = arg;
        return -1;
    case OPT_LOG_FORMAT:
        return evbus_cli_log_format_opt(arg);
    }
    return EVBUS_CLI_USAGE;
}

/* "30s" "10m" "2h" "1d" before now, or ISO 8601 YYYY-MM-DD[Thh:mm[:ss[.fff]]][Z|+hh:mm|-hh:mm]
 * (no zone: UTC).  0 on success. */

/* --offset-time: parse, resolve the topics and the group, then commit (consume_offset_time.c). */
static int offset_time(evbus_cli_t *cli, const opts_t *o) {
    int64_t ts = 0;
    if (evbus_cli_parse_time(o->offset_time, evbus__wall_ms(), &ts) != 0) {
        evbus_cli_err("consume", "--offset-time: expected ISO 8601 (2024-05-01T12:00:00Z) or 30s/10m/2h/1d, got \"%s\"",
                      o->offset_time);
        return EVBUS_CLI_USAGE;
    }
    const char *group = o->group ? o->group : evbus_conf_get(cli->conf, "consumer.group");
    if (!group) {
        evbus_cli_err("consume", "no consumer group: give -g GROUP");
        return EVBUS_CLI_USAGE;
    }
    char *full[256] = {0};
    int rc = EVBUS_CLI_OK;
    for (size_t i = 0; rc == 0 && i < o->ntopics; i++)
        if (!(full[i] = evbus_cli_full_topic(cli, o->topics[i]))) {
            evbus_cli_err("consume", "out of memory");
            rc = EVBUS_CLI_FAIL;
        }
    if (rc == 0)
        rc = evbus_cli_offset_time(cli, full, o->ntopics, group, ts);
    for (size_t i = 0; i < o->ntopics; i++)
        free(full[i]);
    return rc;
}

/* One stderr line per failure, from the lifecycle events. */
static evbus_err_t log_problem(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)opaque; (void)errstr; (void)n;
    evbus_cli_log_lifecycle("consume", ev);
    return EVBUS_OK;
}

int evbus_cli_consume(int argc, char **argv, evbus_cli_t *cli) {
    opts_t o;
    memset(&o, 0, sizeof(o));
    evbus_cli_spec_t spec = {usage, "t:g:", longopts, 0};
    int first, rc = evbus_cli_parse(cli, argc, argv, &spec, on_opt, &o, &first);
    if (rc >= 0)
        return rc;
    char err[512];
    int64_t since_ms = 0;
    if (first < argc) {
        evbus_cli_err("consume", "unexpected argument \"%s\" (topics are given with -t)", argv[first]);
        return EVBUS_CLI_USAGE;
    }
    /* EVENT_BUS_KAFKA_CONSUMERS_ENABLED=false: as the Python bus's consume_events, say so and
     * succeed, so a deployment can switch consumers off without changing its commands. */
    if (!evbus__conf_bool(cli->conf, "consumers.enabled")) {
        if (!cli->quiet)
            evbus_cli_err("consume", "consumers are disabled (consumers.enabled=false, "
                                     "EVENT_BUS_KAFKA_CONSUMERS_ENABLED): not consuming");
        return EVBUS_CLI_OK;
    }
    if (o.ntopics == 0) {
        evbus_cli_err("consume", "no topic given: -t TOPIC (see evbus-cli consume --help)");
        return EVBUS_CLI_USAGE;
    }
    if (!!o.since + o.from_beginning + !!o.offset_time > 1) {
        evbus_cli_err("consume", "--since, --from-beginning and --offset-time exclude each other");
        return EVBUS_CLI_USAGE;
    }
    if (o.offset_time)
        return offset_time(cli, &o);
    if (o.since && evbus_cli_parse_time(o.since, evbus__wall_ms(), &since_ms) != 0) {
        evbus_cli_err("consume", "--since: expected ISO 8601 (2024-05-01T12:00:00Z) or 30s/10m/2h/1d, got \"%s\"",
                      o.since);
        return EVBUS_CLI_USAGE;
    }
    if (!evbus_cli_has_bootstrap(cli)) {
        evbus_cli_err("consume", "no broker: give -b HOST:PORT or EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS");
        return EVBUS_CLI_USAGE;
    }
    evbus_conf_t *conf = evbus_conf_dup(cli->conf);
    if (!conf) {
        evbus_cli_err("consume", "out of memory");
        return EVBUS_CLI_FAIL;
    }
    /* The CLI resolves topic names itself (prefix / --no-prefix), so the library adds none. */
    if ((o.group && evbus_conf_set(conf, "consumer.group", o.group, err, sizeof(err))) ||
        evbus_conf_set(conf, "topic.prefix", "", err, sizeof(err)) ||
        (o.from_beginning && evbus_conf_set(conf, "consumer.start", "earliest", err, sizeof(err))) ||
        (o.isolate && evbus_conf_set(conf, "plugin.isolate", "true", err, sizeof(err)))) {
        evbus_cli_err("consume", "%s", err);
        evbus_conf_destroy(conf);
        return EVBUS_CLI_USAGE;
    }
    if (!evbus_conf_get(conf, "consumer.group") && !evbus_conf_get(conf, "kafka.group.id")) {
        evbus_cli_err("consume", "no consumer group: give -g GROUP");
        evbus_conf_destroy(conf);
        return EVBUS_CLI_USAGE;
    }
    if (!cli->verbose && !evbus_conf_get(conf, "kafka.log_level"))
        evbus_conf_set(conf, "kafka.log_level", "3", NULL, 0);
    evbus_cli_log_setup(conf);

    evbus_dispatcher_t *d = evbus_dispatcher_new();
    const char *problems[] = {EVBUS_LC_HANDLER_FAILED, EVBUS_LC_EVENT_DEAD_LETTERED};
    if (!d || evbus_dispatcher_subscribe_list(d, problems, 2, log_problem, NULL, NULL, 0, "cli-log")) {
        evbus_cli_err("consume", "out of memory");
        evbus_conf_destroy(conf);
        evbus_dispatcher_destroy(d);
        return EVBUS_CLI_FAIL;
    }
    evbus_consumer_t *c = evbus_consumer_new(conf, d, err, sizeof(err));
    if (!c) {
        evbus_cli_err("consume", "%s", err);
        evbus_conf_destroy(conf);
        evbus_dispatcher_destroy(d);
        return EVBUS_CLI_USAGE;
    }
    rc = EVBUS_CLI_OK;
    for (size_t i = 0; rc == 0 && i < o.nplugins; i++)
        if (evbus_consumer_load_plugin(c, o.plugins[i], err, sizeof(err)) != EVBUS_OK) {
            evbus_cli_err("consume", "%s", err);
            rc = EVBUS_CLI_USAGE;
        } else {
            evbus_cli_log(cli, "loaded plugin %s", o.plugins[i]);
        }
    if (rc == 0 && o.plugins_dir &&
        evbus_consumer_load_plugins_dir(c, o.plugins_dir, err, sizeof(err)) != EVBUS_OK) {
        evbus_cli_err("consume", "%s", err);
        rc = EVBUS_CLI_USAGE;
    }
    char *full[256] = {0};
    for (size_t i = 0; rc == 0 && i < o.ntopics; i++)
        if (!(full[i] = evbus_cli_full_topic(cli, o.topics[i]))) {
            evbus_cli_err("consume", "out of memory");
            rc = EVBUS_CLI_FAIL;
        }
    /* Without --since the library's consumer.start applies (--from-beginning set it above). */
    if (rc == 0 && ((o.since && evbus_consumer_set_start(c, EVBUS_START_TIMESTAMP, since_ms) != EVBUS_OK) ||
                    evbus_consumer_subscribe(c, (const char *const *)full, o.ntopics, err, sizeof(err)))) {
        evbus_cli_err("consume", "%s", err);
        rc = EVBUS_CLI_USAGE;
    }
    evbus_cli_http_t *http = NULL;
    if (rc == 0 && o.metrics) {
        if (!(http = evbus_cli_http_start(o.metrics, c, err, sizeof(err)))) {
            evbus_cli_err("consume", "%s", err);
            rc = EVBUS_CLI_USAGE;
        } else if (!cli->quiet) {
            snprintf(err, sizeof(err), "serving /metrics and /healthz on port %d",
                     evbus_cli_http_port(http));
            evbus_cli_log_line(EVBUS_LOG_INFO, "consume", err, NULL);
        }
    }
    if (rc == 0) {
        evbus_cli_catch_stop_signals(c);
        evbus_cli_log(cli, "consuming %zu topic(s) as group %s", o.ntopics,
                      evbus_conf_get(conf, "consumer.group"));
        int64_t next_status = evbus__wall_ms() + 10000;
        while (!evbus_cli_stop_requested()) {
            evbus_err_t perr = evbus_consumer_poll(c, 200, NULL);
            if (perr != EVBUS_OK) {
                evbus_cli_err("consume", "%s%s", evbus_strerror(perr),
                              evbus_conf_get(conf, "consumer.max.consecutive.errors")
                                  ? " (consumer.max.consecutive.errors reached)" : "");
                rc = EVBUS_CLI_FAIL;
                break;
            }
            if (cli->verbose && evbus__wall_ms() >= next_status) {
                evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
                evbus_consumer_stats(c, &st);
                evbus_cli_log(cli,
                              "status: partitions=%llu received=%llu handled=%llu retries=%llu "
                              "dead_lettered=%llu dlq_failed=%llu transient_errors=%llu queued=%llu",
                              (unsigned long long)st.assigned, (unsigned long long)st.received,
                              (unsigned long long)st.handled, (unsigned long long)st.retries,
                              (unsigned long long)st.dead_lettered, (unsigned long long)st.dlq_failed,
                              (unsigned long long)st.transient_errors, (unsigned long long)st.queued);
                next_status = evbus__wall_ms() + 10000;
            }
        }
        evbus_cli_log(cli, "stopping: finishing in-flight events, committing, leaving the group");
        if (evbus_consumer_close(c) != EVBUS_OK && rc == 0)
            rc = EVBUS_CLI_FAIL;
        evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
        evbus_consumer_stats(c, &st);
        if (!cli->quiet) {
            snprintf(err, sizeof(err),
                     "%llu handled, %llu dead-lettered, %llu DLQ write failures, "
                     "%llu transient errors (retried)",
                     (unsigned long long)st.handled, (unsigned long long)st.dead_lettered,
                     (unsigned long long)st.dlq_failed, (unsigned long long)st.transient_errors);
            evbus_cli_log_line(EVBUS_LOG_INFO, "consume", err, NULL); /* --log-format */
        }
        evbus_cli_catch_stop_signals(NULL); /* c is about to go */
    }
    for (size_t i = 0; i < o.ntopics; i++)
        free(full[i]);
    evbus_cli_http_stop(http); /* before c: it renders c's metrics */
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    return rc;
}
