/*
 * The application-owned log: evbus_conf_set_log_cb(), the default stderr sink, and the text
 * and JSON-lines formats (the CLI's --log-format uses the same formatter).
 */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "safe_text.h"

void evbus_conf_set_log_cb(evbus_conf_t *conf, evbus_log_cb *cb, void *opaque) {
    if (conf)
        evbus__conf_set_cb(conf, "log", (evbus__fn_t)cb, cb ? opaque : NULL);
}

void evbus__log_init(evbus__log_t *l, const evbus_conf_t *conf) {
    void *op = NULL;
    l->cb = (evbus_log_cb *)evbus__conf_get_cb(conf, "log", &op);
    l->opaque = op;
    l->audit = evbus__conf_bool(conf, "audit.log");
}

const char *evbus__log_level_name(int level) {
    static const char *const names[] = {"emerg", "alert", "crit", "error",
                                        "warning", "notice", "info", "debug"};
    return level >= 0 && level <= 7 ? names[level] : "debug";
}

/* s as a JSON string: quote, backslash and controls escaped as JSON requires, and what a
 * terminal or log viewer acts on (C1 controls, U+2028/2029, bidi controls) as \uXXXX; invalid
 * UTF-8 becomes U+FFFD, so that every line stays valid JSON.  Log fields carry text from
 * producers (ce_type, ce_id, topics, errors). */
static int json_str(evbus__buf_t *b, const char *s) { return evbus__safe_json_string(b, s, strlen(s)); }

/* s as text for a log line: the escapes tail shows (\x1b, \u2028, \xHH for invalid UTF-8);
 * backslashes are kept in messages and errors (message: 1), doubled in data such as a producer's
 * ce_id (0), so that a literal "\x1b" there stays distinguishable from an escaped ESC. */
static int text_str(evbus__buf_t *b, const char *s, int message) {
    return evbus__safe_text(b, s, strlen(s), message ? EVBUS__SAFE_KEEP_BACKSLASH : 0);
}

static int field_str(evbus__buf_t *b, int json, const char *name, const char *v, int *first) {
    if (!v)
        return 0;
    int r;
    if (json) {
        r = evbus__buf_printf(b, ",\"%s\":", name);
        return r | json_str(b, v);
    }
    r = evbus__buf_printf(b, "%s%s=", *first ? " (" : ", ", name);
    *first = 0;
    return r | text_str(b, v, !strcmp(name, "error"));
}

static int field_int(evbus__buf_t *b, int json, const char *name, long long v, int *first) {
    if (json)
        return evbus__buf_printf(b, ",\"%s\":%lld", name, v);
    int r = evbus__buf_printf(b, "%s%s=%lld", *first ? " (" : ", ", name, v);
    *first = 0;
    return r;
}

int evbus__log_format(evbus__buf_t *b, int json, int level, const char *subsystem,
                      const char *msg, const evbus_log_fields_t *f) {
    int r = 0;
    if (json) {
        struct timespec ts;
        struct tm tm;
        char when[40];
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        r |= evbus__buf_printf(b, "{\"time\":\"%s.%06ldZ\",\"level\":\"%s\",\"subsystem\":", when,
                               ts.tv_nsec / 1000, evbus__log_level_name(level));
        r |= json_str(b, subsystem ? subsystem : "");
        r |= evbus__buf_puts(b, ",\"message\":");
        r |= json_str(b, msg ? msg : "");
    } else {
        r |= evbus__buf_printf(b, "evbus %s ", evbus__log_level_name(level));
        r |= text_str(b, subsystem ? subsystem : "", 1);
        r |= evbus__buf_puts(b, ": ");
        r |= text_str(b, msg ? msg : "", 1);
    }
    int first = 1;
    /* Read only what the caller's struct holds (grow-safe). */
    if (f && f->size >= offsetof(evbus_log_fields_t, error) + sizeof(f->error)) {
        r |= field_str(b, json, "topic", f->topic, &first);
        if (f->partition >= 0)
            r |= field_int(b, json, "partition", f->partition, &first);
        if (f->offset >= 0)
            r |= field_int(b, json, "offset", f->offset, &first);
        r |= field_str(b, json, "ce_type", f->ce_type, &first);
        r |= field_str(b, json, "ce_id", f->ce_id, &first);
        r |= field_str(b, json, "handler", f->handler, &first);
        if (f->attempt > 0)
            r |= field_int(b, json, "attempt", f->attempt, &first);
        r |= field_str(b, json, "error", f->error, &first);
    }
    if (json)
        r |= evbus__buf_putc(b, '}');
    else if (!first)
        r |= evbus__buf_putc(b, ')');
    return r ? -1 : 0;
}

/* The default sink: one text line on stderr, written with one call so that lines from
 * several threads do not interleave. */
static void stderr_sink(int level, const char *subsystem, const char *msg,
                        const evbus_log_fields_t *f) {
    evbus__buf_t b = EVBUS__BUF_INIT;
    if (evbus__log_format(&b, 0, level, subsystem, msg, f) == 0 && evbus__buf_putc(&b, '\n') == 0)
        fwrite(b.data, 1, b.len, stderr);
    else /* out of memory: that much gets out, without outside text */
        fprintf(stderr, "evbus: log line lost (out of memory)\n");
    evbus__buf_free(&b);
}

void evbus__log_fields(const evbus__log_t *l, int level, const char *subsystem,
                       const evbus_log_fields_t *f, const char *msg) {
    if (l && l->cb)
        l->cb(level, subsystem, msg, f, l->opaque);
    else
        stderr_sink(level, subsystem, msg, f);
}

void evbus__log(const evbus__log_t *l, int level, const char *subsystem, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    evbus__log_fields(l, level, subsystem, NULL, msg);
}

void evbus__log_event(const evbus__log_t *l, int level, const char *subsystem,
                      const evbus_event_t *ev, const char *handler, int attempt,
                      const char *error, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    evbus_log_fields_t f = EVBUS__LOG_FIELDS_INIT;
    if (ev) {
        f.topic = evbus_event_topic(ev);
        f.partition = evbus_event_partition(ev);
        f.offset = evbus_event_offset(ev);
        f.ce_type = evbus_event_type(ev);
        f.ce_id = evbus_event_id(ev);
    }
    f.handler = handler;
    f.attempt = attempt;
    f.error = error;
    evbus__log_fields(l, level, subsystem, &f, msg);
}
