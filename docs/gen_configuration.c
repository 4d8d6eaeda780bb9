/*
 * Writes docs/CONFIGURATION.md, the settings reference, to stdout, as librdkafka's
 * CONFIGURATION.md comes from its property table: names, kinds, defaults, ranges, allowed
 * values, secrets and environment variables are read from conf.c's table (through
 * evbus__conf_prop_at/_env_at), so they cannot drift from the code.  Only the prose is here,
 * one description per name; a name of the table without one, or a description of a name the
 * table does not have, fails the run (exit 1), so a new setting cannot go undocumented.
 *
 *   cmake --build build --target configuration-doc     rewrites docs/CONFIGURATION.md
 *   tests/integration/itest_configuration_doc.sh       fails when it is not current
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"

static const struct {
    const char *name;
    const char *doc;
} docs[] = {
    {"producer.config", "The producer config: event type -> topics with the key path of each, as "
     "JSON text (starting with `{`) or the path of a file holding it; both forms of the Python "
     "setting (list and dict of topics). Loading reports every problem at once."},
    {"topic.prefix", "Prefix of every topic name: the full name is `<prefix>-<topic>` when set and "
     "non-empty."},
    {"schema.dir", "Directory of `<event_type>.avsc` schemas (and `history/`). Unset: `./schemas`, "
     "then the installed schemas (`<prefix>/share/evbus/schemas`)."},
    {"schema.registry.url", "Confluent-compatible schema registry. When set, messages use "
     "Confluent framing (`wire.format=auto`) and schemas are registered on first use."},
    {"schema.registry.api.key", "Basic-auth user name for the schema registry."},
    {"schema.registry.api.secret", "Basic-auth password for the schema registry."},
    {"schema.registry.timeout.ms", "Timeout of one schema registry request."},
    {"source", "The `ce_source` header. Unset: `openedx/<service>/web`, as the Python bus."},
    {"service", "Service name used in the default `ce_source` (openedx-events' "
     "`EVENTS_SERVICE_NAME`, else `SERVICE_VARIANT`)."},
    {"consumer.group", "Kafka consumer group id of a consumer (required to consume)."},
    {"dlq.topic.suffix", "Dead-letter topic of a topic: `<full topic><suffix>`."},
    {"retry.max", "Retries of the failed handlers of an event before it is dead-lettered."},
    {"retry.backoff.ms", "Wait before the first retry; doubled for each further try."},
    {"retry.backoff.max.ms", "Upper bound of the retry wait."},
    {"queue.full.timeout.ms", "How long `evbus_producer_send()` waits for room in librdkafka's "
     "queue (as Java's `max.block.ms`) before `EVBUS_ERR_QUEUE_FULL`, having enqueued nothing."},
    {"producer.transactional", "Publish in Kafka transactions: read_committed consumers see each "
     "event on all of its topics or on none. Costs throughput."},
    {"producer.transaction.max.events", "A transaction is committed after this many events ..."},
    {"producer.transaction.interval.ms", "... or this long after its first event (and by "
     "`evbus_producer_flush()`)."},
    {"producer.spool.dir", "Directory of the crash-safe spool (README \"Crash safety\"): set, "
     "`send` returns only once the event is written there, and an accepted event is delivered "
     "whatever happens to the process. Unset: events live in memory until delivered. Not with "
     "`producer.transactional`."},
    {"producer.spool.sync", "When spool writes are fsync'ed: `interval` (at most "
     "`producer.spool.sync.interval.ms` after `send`), `always` (before `send` returns) or "
     "`none` (never: survives a process kill, not a power loss)."},
    {"producer.spool.sync.interval.ms", "Longest wait before an accepted event is fsync'ed, "
     "with `producer.spool.sync=interval`: what a power loss can lose."},
    {"producer.spool.max.bytes", "Bound of the spool's files; a full spool makes `send` wait as a "
     "full queue does (`queue.full.timeout.ms`)."},
    {"consumer.max.consecutive.errors", "Stop the consumer after this many transient failures in "
     "a row (schema registry unreachable, failed dead-letter writes), the event left uncommitted: "
     "`evbus_consumer_run()` returns the error and `consume` exits 1. Unset or 0: retry for ever, "
     "as the Python bus does without its limit."},
    {"consumer.max.in.flight", "Backpressure: events received and not yet finished (async "
     "handlers included). Reaching it pauses every partition until half of it is left. 0: "
     "unbounded."},
    {"consumer.max.in.flight.per.partition", "The same bound per partition: reaching it pauses "
     "that partition alone. 0: unbounded."},
    {"handler.timeout.ms", "How long an isolated plugin's `handle()` may run before its process is "
     "killed and restarted and the event counts as failed."},
    {"plugin.isolate", "Run every plugin in a supervised child process."},
    {"workers", "Worker threads of a consumer; the events of one partition go to one worker, in "
     "order."},
    {"sasl.username", "SASL user name (the Python bus's API key): SASL_SSL + PLAIN unless "
     "`kafka.security.protocol` / `kafka.sasl.mechanism` say otherwise."},
    {"sasl.password", "SASL password (the Python bus's API secret)."},
    {"wire.format", "Message framing: `confluent` (needs `schema.registry.url`), `single-object`, "
     "or `auto`: confluent when a registry is set. Python Open edX consumers need confluent."},
    {"sourcelib", "The `sourcelib` header. Unset: evbus's version (the Python bus writes "
     "openedx-events')."},
    {"consumer.start", "Where a group with no committed offset starts: `latest` (as the Python "
     "bus) or `earliest` (`--from-beginning`)."},
    {"consumers.enabled", "`false`: `evbus-cli consume` logs that and exits 0."},
    {"consumer.poll.timeout.ms", "How long one poll of `evbus_consumer_run()` waits; short so that "
     "a stop is seen soon."},
    {"consumer.poll.failure.sleep.ms", "After a poll that returned only an error, wait this long "
     "before polling again, as the Python bus."},
    {"received.veto", "What a failing sync subscriber of `evbus.event.received` does to the event: "
     "`commit` it unseen, or write it to the dead-letter topic (`dlq`). Never retried."},
    {"audit.log", "One log line per produced and per handled event."},
    {"metrics.interval.ms", "Period of librdkafka's statistics, which feed the lag and queue "
     "metrics. 0 turns them off."},
    {"health.poll.timeout.ms", "A consumer whose poll loop has not run for this long is "
     "unhealthy (`evbus_consumer_health()`, `/healthz`)."},
};
#define NDOCS (sizeof(docs) / sizeof(docs[0]))

static const char *doc_of(const char *name) {
    for (size_t i = 0; i < NDOCS; i++)
        if (!strcmp(docs[i].name, name))
            return docs[i].doc;
    return NULL;
}

/* Markdown table cell: '|' would end the cell. */
static void cell(const char *s) {
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", stdout);
        else
            putchar(*s);
    }
}

static void range(const evbus__conf_prop_info_t *p) {
    if (p->words) {
        for (size_t k = 0; p->words[k]; k++)
            printf("%s`%s`", k ? ", " : "", p->words[k]);
    } else if (!strcmp(p->kind, "integer")) {
        if (p->max == INT64_MAX)
            printf("%" PRId64 " ..", p->min);
        else
            printf("%" PRId64 " .. %" PRId64, p->min, p->max);
    } else if (!strcmp(p->kind, "boolean")) {
        fputs("`true`, `false`", stdout);
    }
}

static void envs(const char *name) {
    const char *env, *n;
    int seconds, first = 1;
    for (size_t i = 0; evbus__conf_env_at(i, &env, &n, &seconds) == 0; i++) {
        if (strcmp(n, name) != 0)
            continue;
        printf("%s`%s`%s", first ? "" : ", ", env, seconds ? " (seconds)" : "");
        first = 0;
    }
}

int main(void) {
    int bad = 0;
    evbus__conf_prop_info_t p;
    for (size_t i = 0; evbus__conf_prop_at(i, &p) == 0; i++)
        if (!doc_of(p.name)) {
            fprintf(stderr, "gen_configuration: %s (core/config/conf.c) has no description in "
                            "docs/gen_configuration.c\n", p.name);
            bad = 1;
        }
    for (size_t d = 0; d < NDOCS; d++) {
        int found = 0;
        for (size_t i = 0; evbus__conf_prop_at(i, &p) == 0; i++)
            found |= !strcmp(p.name, docs[d].name);
        if (!found) {
            fprintf(stderr, "gen_configuration: %s is described but not in core/config/conf.c's table\n",
                    docs[d].name);
            bad = 1;
        }
    }
    if (bad)
        return 1;

    puts("# evbus configuration properties\n\n"
         "<!-- Generated by docs/gen_configuration.c from the settings table in core/config/conf.c: do "
         "not edit.\n     `cmake --build build --target configuration-doc` rewrites it; "
         "tests/integration/itest_configuration_doc.sh fails when it is not current. -->\n\n"
         "Set a property with `evbus_conf_set(conf, name, value, errstr, size)` or `evbus-cli -X "
         "name=value`; each is checked when it is set (kind, range, allowed values). "
         "`evbus_conf_from_env()` (which the CLI calls) reads the environment variables given "
         "here, those of the Python Open edX event bus; a name already set beats its variable, "
         "and a CLI flag beats both. Values of secrets are never printed or logged.\n");
    puts("| Property | Type | Range / values | Default | Environment | Description |\n"
         "| --- | --- | --- | --- | --- | --- |");
    for (size_t i = 0; evbus__conf_prop_at(i, &p) == 0; i++) {
        printf("| `%s` | %s | ", p.name, p.kind);
        range(&p);
        fputs(" | ", stdout);
        if (p.def)
            printf("`%s`", p.def);
        fputs(" | ", stdout);
        envs(p.name);
        fputs(" | ", stdout);
        if (p.secret)
            fputs("**Secret** (never printed). ", stdout);
        cell(doc_of(p.name));
        puts(" |");
    }
    puts("\n## Names outside the table\n\n"
         "| Name | Description |\n| --- | --- |\n"
         "| `kafka.<name>` | Passed to librdkafka as `<name>` unchanged, and checked by librdkafka "
         "when set (see librdkafka's CONFIGURATION.md). A bare librdkafka property name is taken "
         "as `kafka.<name>`. `kafka.bootstrap.servers` comes from "
         "`EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS`. |\n"
         "| `plugin.<plugin name>.<key>` | A plugin's own setting, any string, read by the plugin "
         "with `evbus_plugin_ctx_get(ctx, key)`; also from the `settings` of its entry in a "
         "consumer config file, or the environment `EVBUS_PLUGIN_<NAME>_<KEY>`. |");
    return 0;
}
