/*
 * --log-format text|json for consume and publish: every line evbus-cli writes on stderr
 * (its own errors and notes, the library's log, librdkafka's) as text or as one JSON object
 * per line with time, level, message and, for lines about one event, its topic, partition,
 * offset, ce_type, ce_id, handler, attempt and error.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "progress.h"

static int json_logs; /* set once while parsing, before any thread starts */

int evbus_cli_log_format_opt(const char *arg) {
    if (!strcmp(arg, "json") || !strcmp(arg, "text")) {
        json_logs = !strcmp(arg, "json");
        return -1;
    }
    evbus_cli_err("--log-format", "expected text or json, got \"%s\"", arg);
    return EVBUS_CLI_USAGE;
}

int evbus_cli_json_logs(void) { return json_logs; }

/* The library's line for these (evbus_log_format()), malloc'd; NULL when out of memory. */
static char *format_line(int flags, int level, const char *subsystem, const char *msg,
                         const evbus_log_fields_t *f) {
    char small[512];
    int n = evbus_log_format(small, sizeof(small), flags, level, subsystem, msg, f);
    if (n < 0)
        return NULL;
    if ((size_t)n < sizeof(small))
        return strdup(small);
    char *s = malloc((size_t)n + 1);
    if (s && evbus_log_format(s, (size_t)n + 1, flags, level, subsystem, msg, f) < 0) {
        free(s);
        s = NULL;
    }
    return s;
}

void evbus_cli_log_line(int level, const char *subsystem, const char *msg,
                        const evbus_log_fields_t *f) {
    if (!json_logs) { /* the text line is the error line's format, made terminal-safe there */
        evbus_cli_err(subsystem, "%s", msg);
        return;
    }
    char *line = format_line(EVBUS_LOG_FORMAT_JSON, level, subsystem, msg, f);
    if (line) {
        fflush(stdout); /* keep data and errors in order on a shared terminal */
        evbus_cli_progress_pause();
        fprintf(stderr, "%s\n", line);
        evbus_cli_progress_resume();
    }
    free(line);
}

/* The library's log sink: a JSON line, or the CLI's own (terminal-safe) "evbus-cli: <subsystem>:
 * <message> (<fields>)" line. */
static void sink(int level, const char *subsystem, const char *message,
                 const evbus_log_fields_t *fields, void *opaque) {
    (void)opaque;
    if (json_logs) {
        evbus_cli_log_line(level, subsystem, message, fields);
        return;
    }
    char *line = format_line(0, level, subsystem, message, fields);
    if (line) {
        /* drop the library's own "evbus <level> <subsystem>: " prefix: ours replaces it (the
         * level is one word) */
        const char *lvl = strchr(line + strlen("evbus "), ' ');
        size_t skip = lvl ? (size_t)(lvl - line) + 1 + strlen(subsystem ? subsystem : "") + 2 : 0;
        evbus_cli_err(subsystem ? subsystem : "evbus", "%s",
                      lvl && strlen(line) >= skip ? line + skip : message);
    }
    free(line);
}

void evbus_cli_log_setup(evbus_conf_t *conf) { evbus_conf_set_log_cb(conf, sink, NULL); }

void evbus_cli_log_lifecycle(const char *cmd, const evbus_event_t *ev) {
    int dead = !strcmp(evbus_event_type(ev), "evbus.event.dead_lettered");
    const char *what = dead ? "dead-lettered" : "handler failed";
    if (!json_logs) {
        evbus_cli_err(cmd, "%s: %s", what, evbus_event_json(ev, NULL));
        return;
    }
    /* The lifecycle event's data holds the original event's coordinates. */
    json_t *o = json_loads(evbus_event_json(ev, NULL) ? evbus_event_json(ev, NULL) : "{}", 0, NULL);
    evbus_log_fields_t f = EVBUS_LOG_FIELDS_INIT;
    json_t *v;
    f.topic = json_string_value(json_object_get(o, "topic"));
    if (json_is_integer(v = json_object_get(o, "partition")))
        f.partition = (int32_t)json_integer_value(v);
    if (json_is_integer(v = json_object_get(o, "offset")))
        f.offset = (int64_t)json_integer_value(v);
    f.ce_type = json_string_value(json_object_get(o, "type"));
    f.ce_id = json_string_value(json_object_get(o, "id"));
    f.handler = json_string_value(json_object_get(o, "handler"));
    if (json_is_integer(v = json_object_get(o, "attempts")))
        f.attempt = (int)json_integer_value(v);
    f.error = json_string_value(json_object_get(o, "error"));
    evbus_cli_log_line(dead ? EVBUS_LOG_ERR : EVBUS_LOG_WARNING, cmd, what, &f);
    json_decref(o);
}
