/*
 * evbus-cli consume: the worker daemon.  A libconsumer group member whose handlers are the
 * plugins given on the command line or named by a consumer config file (--config,
 * EVBUS_CONSUMER_CONFIG; flags beat the file); failures are logged one line each (from the
 * lifecycle events), a status line every 10 s with -v.  --processes N runs N members under a
 * supervisor (consume_procs.c).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <evbus/consumer.h>
#include <evbus/kafka.h>
#include <jansson.h>

#include "cli.h"
#include "consume_int.h"
#include "consumer_config.h"

static const char usage[] =
    "Usage: evbus-cli consume -t TOPIC... -g GROUP [--plugin PATH]... [--plugins DIR] [--isolate]\n"
    "                         [--from-beginning | --since TIME] [--config FILE] [--processes N]\n"
    "                         [--metrics HOST:PORT] [--log-format text|json]\n"
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
    "  -c, --config FILE     consumer config file (EVBUS_CONSUMER_CONFIG): topics, group,\n"
    "                        plugins with their settings, retry, dlq_suffix; flags beat it\n"
    "                        (-t replaces its topics, --plugin/--plugins its plugins,\n"
    "                        --isolate isolates every plugin, -X its retry and suffix).\n"
    "                        (After consume, -c/--config is this file, not the producer config.)\n"
    "      --processes N     run N members of the group as supervised processes; a member\n"
    "                        that dies is restarted with backoff; SIGTERM stops them all\n"
    "Settings (-X): workers, retry.max, retry.backoff.ms, dlq.topic.suffix, handler.timeout.ms,\n"
    "consumer.max.consecutive.errors, received.veto=commit|dlq, plugin.<plugin name>.<key>\n"
    "(a plugin's own setting), audit.log=true (a line per handled event), metrics.interval.ms,\n"
    "health.poll.timeout.ms.\n"
    "\n"
    "Example:\n"
    "  evbus-cli consume -t content-authoring-xblock-lifecycle -g cms-worker \\\n"
    "      --plugin ./evbus_example_plugin.so -v\n";

enum { OPT_FROM_BEGINNING = 1, OPT_SINCE, OPT_OFFSET_TIME, OPT_EXTRA,
       OPT_PROCESSES, OPT_METRICS, OPT_LOG_FORMAT };

static const struct option longopts[] = {
    {"topic", required_argument, NULL, 't'},
    {"group", required_argument, NULL, 'g'},
    {"group_id", required_argument, NULL, 'g'}, /* the Python bus's consume_events spelling */
    EVBUS_CLI_PLUGIN_LONGOPTS,
    {"from-beginning", no_argument, NULL, OPT_FROM_BEGINNING},
    {"since", required_argument, NULL, OPT_SINCE},
    {"offset-time", required_argument, NULL, OPT_OFFSET_TIME},
    {"offset_time", required_argument, NULL, OPT_OFFSET_TIME}, /* consume_events' spelling */
    {"extra", required_argument, NULL, OPT_EXTRA},
    {"config", required_argument, NULL, 'c'},
    {"processes", required_argument, NULL, OPT_PROCESSES},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {NULL, 0, NULL, 0},
};

typedef struct opts_s {
    const char *topics[256];
    size_t ntopics;
    evbus_cli_plugin_args_t plug;
    const char *group, *since, *offset_time, *config;
    char extra_offset_time[64]; /* from --extra */
    const char *metrics; /* --metrics HOST:PORT */
    int from_beginning;
    long processes;
} opts_t;

static int on_opt(void *ctx, int c, const char *arg) {
    opts_t *o = ctx;
    int prc = evbus_cli_plugin_opt(&o->plug, "consume", c, arg);
    if (prc != EVBUS_CLI_NOT_MINE)
        return prc;
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
    case OPT_FROM_BEGINNING:
        o->from_beginning = 1;
        return -1;
    case OPT_SINCE:
        o->since = arg;
        return -1;
    case OPT_OFFSET_TIME:
        o->offset_time = arg;
        return -1;
    case 'c':
        o->config = arg;
        return -1;
    case OPT_PROCESSES:
        if (evbus_cli_parse_long(arg, 1, 256, &o->processes) != 0) {
            evbus_cli_err("consume", "--processes: expected 1..256, got \"%s\"", arg);
            return EVBUS_CLI_USAGE;
        }
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
static int offset_time(evbus_cli_t *cli, const opts_t *o, const char *const *topics, size_t ntopics,
                       const char *file_group) {
    int64_t ts = 0;
    if (evbus_cli_parse_time(o->offset_time, evbus_cli_wall_ms(), &ts) != 0) {
        evbus_cli_err("consume", "--offset-time: expected ISO 8601 (2024-05-01T12:00:00Z) or 30s/10m/2h/1d, got \"%s\"",
                      o->offset_time);
        return EVBUS_CLI_USAGE;
    }
    const char *group = o->group ? o->group : evbus_conf_get(cli->conf, "consumer.group");
    if (!group)
        group = file_group;
    if (!group) {
        evbus_cli_err("consume", "no consumer group: give -g GROUP");
        return EVBUS_CLI_USAGE;
    }
    char *full[256] = {0};
    int rc = EVBUS_CLI_OK;
    for (size_t i = 0; rc == 0 && i < ntopics; i++)
        if (!(full[i] = evbus_cli_full_topic(cli, topics[i]))) {
            evbus_cli_err("consume", "out of memory");
            rc = EVBUS_CLI_FAIL;
        }
    if (rc == 0)
        rc = evbus_cli_offset_time(cli, full, ntopics, group, ts);
    for (size_t i = 0; i < ntopics; i++)
        free(full[i]);
    return rc;
}

/* One stderr line per failure, from the lifecycle events. */
static evbus_err_t log_problem(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)opaque; (void)errstr; (void)n;
    evbus_cli_log_lifecycle("consume", ev);
    return EVBUS_OK;
}

/* With -v, one line per vetoed event (a filter may veto many: not an error). */
static evbus_err_t log_rejected(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)errstr; (void)n;
    evbus_cli_log(opaque, "rejected: %s", evbus_event_json(ev, NULL));
    return EVBUS_OK;
}

/* What every member runs, decided once before any is started. */
typedef struct plan_s {
    evbus_cli_t *cli;
    const opts_t *o;
    const evbus_cli_consumer_config_t *cc; /* or NULL */
    const char *const *topics;          /* the flags' or the file's */
    size_t ntopics;
    int64_t since_ms;
} plan_t;

/* "evbus-cli: consume: plugin NAME (PATH) not enabled: REASON", once at start. */
static void report_disabled(const char *path, const char *name, const char *reason, void *opaque) {
    const evbus_cli_t *cli = opaque;
    if (!cli->quiet)
        evbus_cli_err("consume", "plugin %s (%s) not enabled%s%s", name, path, reason ? ": " : "",
                      reason ? reason : "");
}

/* Load one plugin path (file or directory).  isolate: -1 = the configuration's plugin.isolate. */
static int load_plugins(const plan_t *pl, evbus_dispatcher_t *d, const evbus_conf_t *conf,
                        const char *path, int isolate, const char *const *settings,
                        const char *const *subscriptions, int report) {
    char err[512];
    int n = 0;
    evbus_plugin_opts_t po = EVBUS_PLUGIN_OPTS_INIT;
    if (pl->o->plug.isolate)
        isolate = 1; /* the flag beats the file */
    if (isolate < 0)
        isolate = evbus_cli_conf_bool(conf, "plugin.isolate");
    po.flags = isolate ? EVBUS_PLUGIN_LOAD_ISOLATE : 0;
    po.timeout_ms = (int)evbus_cli_conf_int(conf, "handler.timeout.ms");
    po.conf = conf;
    po.settings = settings;
    po.subscriptions = subscriptions;
    po.on_disabled = report ? report_disabled : NULL;
    po.opaque = pl->cli;
    if (evbus_dispatcher_load_plugins(d, path, &po, &n, err, sizeof(err)) != EVBUS_OK) {
        evbus_cli_err("consume", "%s", err);
        return EVBUS_CLI_USAGE;
    }
    evbus_cli_log(pl->cli, "loaded %d plugin(s) from %s%s", n, path, isolate ? " (isolated)" : "");
    return EVBUS_CLI_OK;
}

/* The file's evbus settings, where neither a flag nor the environment set them. */
static int apply_file_conf(const plan_t *pl, evbus_conf_t *conf, char *err, size_t errsize) {
    const evbus_cli_consumer_config_t *cc = pl->cc;
    if (!cc)
        return 0;
    if (!pl->o->group && cc->group && !evbus_conf_get(conf, "consumer.group") &&
        !evbus_conf_get(conf, "kafka.group.id") &&
        evbus_conf_set(conf, "consumer.group", cc->group, err, errsize))
        return -1;
    for (size_t i = 0; cc->conf[i] && cc->conf[i + 1]; i += 2)
        if (!evbus_conf_get(conf, cc->conf[i]) &&
            evbus_conf_set(conf, cc->conf[i], cc->conf[i + 1], err, errsize))
            return -1;
    return 0;
}

/* One group member, from start to clean stop.  Returns its exit status. */
static int run_member(int idx, int runs, void *arg) {
    const plan_t *pl = arg;
    evbus_cli_t *cli = pl->cli;
    const opts_t *o = pl->o;
    char err[512];
    int report = idx == 0 && runs == 0; /* once, however many members */
    evbus_conf_t *conf = evbus_conf_dup(cli->conf);
    if (!conf) {
        evbus_cli_err("consume", "out of memory");
        return EVBUS_CLI_FAIL;
    }
    /* The CLI resolves topic names itself (prefix / --no-prefix), so the library adds none. */
    if ((o->group && evbus_conf_set(conf, "consumer.group", o->group, err, sizeof(err))) ||
        apply_file_conf(pl, conf, err, sizeof(err)) ||
        evbus_conf_set(conf, "topic.prefix", "", err, sizeof(err)) ||
        (o->from_beginning && evbus_conf_set(conf, "consumer.start", "earliest", err, sizeof(err))) ||
        (o->plug.isolate && evbus_conf_set(conf, "plugin.isolate", "true", err, sizeof(err)))) {
        evbus_cli_err("consume", "%s", err);
        evbus_conf_destroy(conf);
        return EVBUS_CLI_USAGE;
    }
    if (!cli->verbose && !evbus_conf_get(conf, "kafka.log_level"))
        evbus_conf_set(conf, "kafka.log_level", "3", NULL, 0);
    evbus_cli_log_setup(conf);

    evbus_dispatcher_t *d = evbus_dispatcher_new();
    const char *problems[] = {EVBUS_LC_HANDLER_FAILED, EVBUS_LC_EVENT_DEAD_LETTERED};
    if (!d || evbus_dispatcher_subscribe_list(d, problems, 2, log_problem, NULL, NULL, 0, "cli-log") ||
        (cli->verbose && evbus_dispatcher_subscribe(d, EVBUS_LC_EVENT_REJECTED, log_rejected, cli, NULL,
                                                    EVBUS_HANDLER_ASYNC, "cli-log-rejected"))) {
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
    /* conf is the consumer's now; it lives as long as c, and plugins copy what they read. */
    int rc = EVBUS_CLI_OK;
    if (o->plug.npaths || o->plug.dir) {
        for (size_t i = 0; rc == 0 && i < o->plug.npaths; i++)
            rc = load_plugins(pl, d, conf, o->plug.paths[i], -1, NULL, NULL, report);
        if (rc == 0 && o->plug.dir)
            rc = load_plugins(pl, d, conf, o->plug.dir, -1, NULL, NULL, report);
    } else if (pl->cc) {
        for (size_t i = 0; rc == 0 && i < pl->cc->nplugins; i++) {
            const evbus_cli_cplugin_t *cp = &pl->cc->plugins[i];
            rc = load_plugins(pl, d, conf, cp->path, cp->isolate, (const char *const *)cp->settings,
                              (const char *const *)cp->subscriptions, report);
        }
    }
    char *full[256] = {0};
    for (size_t i = 0; rc == 0 && i < pl->ntopics; i++)
        if (!(full[i] = evbus_cli_full_topic(cli, pl->topics[i]))) {
            evbus_cli_err("consume", "out of memory");
            rc = EVBUS_CLI_FAIL;
        }
    /* Without --since the library's consumer.start applies (--from-beginning set it above). */
    if (rc == 0 && ((o->since && evbus_consumer_set_start(c, EVBUS_START_TIMESTAMP, pl->since_ms) != EVBUS_OK) ||
                    evbus_consumer_subscribe(c, (const char *const *)full, pl->ntopics, err, sizeof(err)))) {
        evbus_cli_err("consume", "%s", err);
        rc = EVBUS_CLI_USAGE;
    }
    evbus_cli_http_t *http = NULL;
    if (rc == 0 && o->metrics) {
        if (!(http = evbus_cli_http_start(o->metrics, c, err, sizeof(err)))) {
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
        if (o->processes > 1)
            evbus_cli_log(cli, "member %d: consuming %zu topic(s) as group %s", idx, pl->ntopics,
                          evbus_conf_get(conf, "consumer.group"));
        else
            evbus_cli_log(cli, "consuming %zu topic(s) as group %s", pl->ntopics,
                          evbus_conf_get(conf, "consumer.group"));
        int64_t next_status = evbus_cli_wall_ms() + 10000;
        uint64_t assigned = 0;
        while (!evbus_cli_stop_requested()) {
            evbus_err_t perr = evbus_consumer_poll(c, 200, NULL);
            if (perr != EVBUS_OK) {
                evbus_cli_err("consume", "%s%s", evbus_strerror(perr),
                              evbus_conf_get(conf, "consumer.max.consecutive.errors")
                                  ? " (consumer.max.consecutive.errors reached)" : "");
                rc = EVBUS_CLI_FAIL;
                break;
            }
            evbus_consumer_stats_t now = EVBUS_CONSUMER_STATS_INIT;
            evbus_consumer_stats(c, &now);
            if (now.assigned != assigned) { /* a rebalance moved partitions: say so with -v */
                assigned = now.assigned;
                evbus_cli_log(cli, "member %d (pid %d): %llu partition(s) assigned", idx,
                              (int)getpid(), (unsigned long long)assigned);
            }
            if (cli->verbose && evbus_cli_wall_ms() >= next_status) {
                evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
                evbus_consumer_stats(c, &st);
                evbus_cli_log(cli,
                              "status: partitions=%llu received=%llu handled=%llu retries=%llu "
                              "rejected=%llu dead_lettered=%llu dlq_failed=%llu transient_errors=%llu "
                              "queued=%llu",
                              (unsigned long long)st.assigned, (unsigned long long)st.received,
                              (unsigned long long)st.handled, (unsigned long long)st.retries,
                              (unsigned long long)st.rejected, (unsigned long long)st.dead_lettered,
                              (unsigned long long)st.dlq_failed, (unsigned long long)st.transient_errors,
                              (unsigned long long)st.queued);
                next_status = evbus_cli_wall_ms() + 10000;
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
                     "%llu transient errors (retried), %llu rejected",
                     (unsigned long long)st.handled, (unsigned long long)st.dead_lettered,
                     (unsigned long long)st.dlq_failed, (unsigned long long)st.transient_errors,
                     (unsigned long long)st.rejected);
            evbus_cli_log_line(EVBUS_LOG_INFO, "consume", err, NULL); /* --log-format */
        }
        evbus_cli_catch_stop_signals(NULL); /* c is about to go */
    }
    for (size_t i = 0; i < pl->ntopics; i++)
        free(full[i]);
    evbus_cli_http_stop(http); /* before c: it renders c's metrics */
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    return rc;
}

/* Load the consumer config file (--config, else EVBUS_CONSUMER_CONFIG); NULL without one.
 * Every problem is printed and *rcp = 2. */
static evbus_cli_consumer_config_t *load_consumer_config(const char *source, int *rcp) {
    *rcp = 0;
    const char *name = source ? source : "EVBUS_CONSUMER_CONFIG";
    if (!source)
        source = getenv("EVBUS_CONSUMER_CONFIG");
    if (!source)
        return NULL;
    evbus_cli_config_errors_t errs = {0};
    evbus_cli_consumer_config_t *cc = evbus_cli_consumer_config_load(source, &errs);
    if (!cc) {
        for (size_t i = 0; i < errs.count; i++)
            evbus_cli_err(name, "%s: %s", errs.items[i].path, errs.items[i].message);
        evbus_cli_config_errors_clear(&errs);
        *rcp = EVBUS_CLI_USAGE;
    }
    return cc;
}

/* The supervisor's first restart delay, from the group's session timeout S as librdkafka will
 * use it (kafka.session.timeout.ms or its default): the coordinator evicts a killed member after
 * S, the rebalance that follows may wait up to S again for members to rejoin (the embedded
 * broker does), plus REBALANCE_MARGIN_MS for the survivors to take the partitions.  500 ms
 * when S cannot be read. */
#define REBALANCE_MARGIN_MS 3000
static int restart_delay_ms(const evbus_cli_t *cli) {
    char err[512], buf[32];
    size_t sz = sizeof(buf);
    long v = 500;
    rd_kafka_conf_t *kc = evbus_conf_to_kafka(cli->conf, err, sizeof(err));
    if (kc && rd_kafka_conf_get(kc, "session.timeout.ms", buf, &sz) == RD_KAFKA_CONF_OK &&
        evbus_cli_parse_long(buf, 1, 3600000, &v) != 0)
        v = 500;
    else if (kc)
        v = 2 * v + REBALANCE_MARGIN_MS;
    if (kc)
        rd_kafka_conf_destroy(kc);
    return (int)v;
}

int evbus_cli_validate_consumer_config(const char *source) {
    int rc;
    evbus_cli_consumer_config_t *cc = load_consumer_config(source, &rc);
    if (!cc) {
        if (!rc)
            evbus_cli_err("validate-config", "no consumer config: give --consumer FILE or EVBUS_CONSUMER_CONFIG");
        return EVBUS_CLI_USAGE;
    }
    for (size_t i = 0; i < cc->ntopics; i++)
        printf("topic\t%s\n", cc->topics[i]);
    if (cc->group)
        printf("group\t%s\n", cc->group);
    for (size_t i = 0; i < cc->nplugins; i++) {
        const evbus_cli_cplugin_t *p = &cc->plugins[i];
        size_t ns = 0;
        while (p->settings[ns])
            ns++;
        printf("plugin\t%s\tisolate=%s\tsettings=%zu\tsubscriptions=%s\n", p->path,
               p->isolate < 0 ? "default" : p->isolate ? "true" : "false", ns / 2,
               p->subscriptions ? "overridden" : "own");
    }
    for (size_t i = 0; cc->conf[i] && cc->conf[i + 1]; i += 2)
        printf("setting\t%s=%s\n", cc->conf[i], cc->conf[i + 1]);
    printf("valid: consumer config, %zu topic%s, %zu plugin entr%s\n", cc->ntopics,
           cc->ntopics == 1 ? "" : "s", cc->nplugins, cc->nplugins == 1 ? "y" : "ies");
    evbus_cli_consumer_config_destroy(cc);
    return EVBUS_CLI_OK;
}

int evbus_cli_consume(int argc, char **argv, evbus_cli_t *cli) {
    opts_t o;
    memset(&o, 0, sizeof(o));
    evbus_cli_spec_t spec = {usage, "t:g:c:", longopts, 0};
    int first, rc = evbus_cli_parse(cli, argc, argv, &spec, on_opt, &o, &first);
    if (rc >= 0)
        return rc;
    plan_t pl = {cli, &o, NULL, o.topics, o.ntopics, 0};
    if (first < argc) {
        evbus_cli_err("consume", "unexpected argument \"%s\" (topics are given with -t)", argv[first]);
        return EVBUS_CLI_USAGE;
    }
    /* EVENT_BUS_KAFKA_CONSUMERS_ENABLED=false: as the Python bus's consume_events, say so and
     * succeed, so a deployment can switch consumers off without changing its commands. */
    if (!evbus_cli_conf_bool(cli->conf, "consumers.enabled")) {
        if (!cli->quiet)
            evbus_cli_err("consume", "consumers are disabled (consumers.enabled=false, "
                                     "EVENT_BUS_KAFKA_CONSUMERS_ENABLED): not consuming");
        return EVBUS_CLI_OK;
    }
    if (o.metrics && o.processes > 1) { /* one endpoint per process: N members would fight for it */
        evbus_cli_err("consume", "--metrics serves one process: not with --processes (run one "
                                 "consume per metrics port)");
        return EVBUS_CLI_USAGE;
    }
    if (!!o.since + o.from_beginning + !!o.offset_time > 1) {
        evbus_cli_err("consume", "--since, --from-beginning and --offset-time exclude each other");
        return EVBUS_CLI_USAGE;
    }
    if (o.since && evbus_cli_parse_time(o.since, evbus_cli_wall_ms(), &pl.since_ms) != 0) {
        evbus_cli_err("consume", "--since: expected ISO 8601 (2024-05-01T12:00:00Z) or 30s/10m/2h/1d, got \"%s\"",
                      o.since);
        return EVBUS_CLI_USAGE;
    }
    evbus_cli_consumer_config_t *cc = load_consumer_config(o.config, &rc);
    if (rc)
        return rc;
    pl.cc = cc;
    if (o.ntopics == 0 && cc && cc->ntopics) { /* flags beat the file */
        pl.topics = (const char *const *)cc->topics;
        pl.ntopics = cc->ntopics;
    }
    if (pl.ntopics == 0) {
        evbus_cli_err("consume", "no topic given: -t TOPIC or \"topics\" in --config (see evbus-cli consume --help)");
        rc = EVBUS_CLI_USAGE;
    } else if (pl.ntopics > 256) {
        evbus_cli_err("consume", "too many topics (at most 256)");
        rc = EVBUS_CLI_USAGE;
    } else if (o.offset_time) {
        rc = offset_time(cli, &o, pl.topics, pl.ntopics, cc ? cc->group : NULL);
        evbus_cli_consumer_config_destroy(cc);
        return rc;
    } else if (!evbus_cli_has_bootstrap(cli)) {
        evbus_cli_err("consume", "no broker: give -b HOST:PORT or EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS");
        rc = EVBUS_CLI_USAGE;
    } else if (!o.group && !(cc && cc->group) && !evbus_conf_get(cli->conf, "consumer.group") &&
               !evbus_conf_get(cli->conf, "kafka.group.id")) {
        evbus_cli_err("consume", "no consumer group: give -g GROUP or \"group\" in --config");
        rc = EVBUS_CLI_USAGE;
    }
    if (rc == 0)
        rc = o.processes > 1
                 ? evbus_cli_supervise(cli, (int)o.processes, restart_delay_ms(cli), run_member, &pl)
                 : run_member(0, 0, &pl);
    evbus_cli_consumer_config_destroy(cc);
    return rc;
}
