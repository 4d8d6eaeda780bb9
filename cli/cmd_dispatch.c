/*
 * evbus-cli dispatch: feed a file of events to plugins with no broker, to try plugins out (the
 * CLI face of evbus_dispatcher_process_json(), BitcartCC's process_updates).  Input is a JSON
 * array or JSON lines of {"type", "data", "id"?, "key"?}; plugins are loaded by libconsumer's
 * loader exactly as `consume` loads them, so lifecycle events fire the same way.  One result
 * line per event on stdout, a summary on stderr; exit 1 when any event failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <evbus/consumer.h>
#include <jansson.h>

#include "cli.h"
#include "output.h"

static const char usage[] =
    "Usage: evbus-cli dispatch [--plugin PATH]... [--plugins DIR] [--isolate] FILE|-\n"
    "\n"
    "Run events through plugins without a broker: FILE (- for stdin) holds a JSON array, or\n"
    "JSON lines, of {\"type\": T, \"data\": {...}, \"id\"?: ID, \"key\"?: KEY} (id defaults to a\n"
    "fresh uuid1).  Each event goes to the plugins that subscribe to its type, as `consume`\n"
    "would hand it over (lifecycle events included), once: no retry, no dead-letter topic.\n"
    "One JSON result line per event on stdout:\n"
    "  {\"n\":1,\"line\":1,\"type\":T,\"id\":ID,\"ok\":true}\n"
    "  {\"n\":2,\"line\":2,\"type\":T,\"id\":ID,\"ok\":false,\"error\":\"ERR_HANDLER\",\"message\":M}\n"
    "(\"line\" only for JSON lines).  Exit status 1 when any event failed.\n"
    "\n"
    "Options:\n"
    "      --plugin PATH     load the plugin shared object PATH (repeatable)\n"
    "      --plugins DIR     load every *.so of DIR\n"
    "      --isolate         run plugins in supervised child processes (plugin.isolate=true);\n"
    "                        a crash or a handler past handler.timeout.ms fails only the event\n"
    "\n"
    "Example:\n"
    "  evbus-cli dispatch --plugin ./evbus_example_plugin.so events.json\n";

static const struct option longopts[] = {
    EVBUS_CLI_PLUGIN_LONGOPTS,
    {NULL, 0, NULL, 0},
};

typedef struct dispatch_s {
    evbus_cli_plugin_args_t plug;
    /* results */
    size_t n;        /* events seen so far (the n of the result line) */
    size_t line;     /* current JSON line, 0 for an array */
    size_t failed;
    int out_failed;  /* stdout went bad */
    evbus_cli_buf_t out;
} dispatch_t;

static int on_opt(void *ctx, int c, const char *arg) {
    dispatch_t *o = ctx;
    int rc = evbus_cli_plugin_opt(&o->plug, "dispatch", c, arg);
    return rc == EVBUS_CLI_NOT_MINE ? EVBUS_CLI_USAGE : rc;
}

static int put_field(evbus_cli_buf_t *b, const char *name, const char *value) {
    int r = evbus_cli_buf_printf(b, ",\"%s\":", name);
    return r | (value ? evbus_cli_json_string(b, value, strlen(value)) : evbus_cli_buf_puts(b, "null"));
}

/* One result line for one event; err != 0 with msg when it failed or was malformed. */
static void result_line(dispatch_t *o, const evbus_event_t *ev, evbus_err_t err, const char *msg) {
    evbus_cli_buf_t *b = &o->out;
    evbus_cli_buf_reset(b);
    o->n++;
    if (err)
        o->failed++;
    int r = evbus_cli_buf_printf(b, "{\"n\":%zu", o->n);
    if (o->line)
        r |= evbus_cli_buf_printf(b, ",\"line\":%zu", o->line);
    r |= put_field(b, "type", ev ? evbus_event_type(ev) : NULL);
    r |= put_field(b, "id", ev ? evbus_event_id(ev) : NULL);
    r |= evbus_cli_buf_puts(b, err ? ",\"ok\":false" : ",\"ok\":true");
    if (err) {
        r |= put_field(b, "error", evbus_err_name(err));
        r |= put_field(b, "message", msg ? msg : evbus_strerror(err));
    }
    r |= evbus_cli_buf_puts(b, "}\n");
    if (r != 0 || fwrite(b->data, 1, b->len, stdout) != b->len)
        o->out_failed = 1;
}

static void on_result(size_t index, const evbus_event_t *ev, evbus_err_t err, const char *errstr,
                      void *opaque) {
    (void)index;
    result_line(opaque, ev, err, errstr);
}

/* The whole input: a file, or stdin for "-".  NULL after reporting why. */
static char *read_input(const char *path, size_t *lenp) {
    char err[512];
    if (strcmp(path, "-") != 0) {
        char *s = evbus_cli_read_file(path, lenp, err, sizeof(err));
        if (!s)
            evbus_cli_err("dispatch", "%s", err);
        return s;
    }
    evbus_cli_buf_t b = EVBUS_CLI_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
        if (evbus_cli_buf_append(&b, chunk, n) != 0) {
            evbus_cli_err("dispatch", "out of memory");
            evbus_cli_buf_free(&b);
            return NULL;
        }
    if (ferror(stdin)) {
        evbus_cli_err("dispatch", "cannot read stdin");
        evbus_cli_buf_free(&b);
        return NULL;
    }
    *lenp = b.len;
    char *s = evbus_cli_buf_steal(&b);
    if (!s)
        evbus_cli_err("dispatch", "out of memory");
    return s;
}

/* JSON lines: each non-blank line one element, so a bad line fails only its own event. */
static void dispatch_lines(dispatch_t *o, evbus_dispatcher_t *d, const char *s, size_t len) {
    evbus_cli_buf_t one = EVBUS_CLI_BUF_INIT;
    char err[512];
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(s + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - s) : len;
        const char *l = s + pos;
        size_t ll = end - pos;
        pos = end + 1;
        o->line++;
        if (strspn(l, " \t\r") >= ll)
            continue; /* blank */
        /* One JSON value per line: the dispatcher would take "{...},{...}" for two events. */
        json_error_t jerr;
        json_t *v = json_loadb(l, ll, JSON_DECODE_ANY, &jerr);
        if (!v) {
            snprintf(err, sizeof(err), "line %zu: invalid JSON at column %d: %s", o->line,
                     jerr.column, jerr.text);
            result_line(o, NULL, EVBUS_ERR_INVALID_ARG, err);
            continue;
        }
        json_decref(v);
        evbus_cli_buf_reset(&one);
        if (evbus_cli_buf_putc(&one, '[') || evbus_cli_buf_append(&one, l, ll) ||
            evbus_cli_buf_putc(&one, ']')) {
            result_line(o, NULL, EVBUS_ERR_NOMEM, "out of memory");
            continue;
        }
        size_t before = o->n;
        evbus_err_t e = evbus_dispatcher_process_json(d, (const char *)one.data, one.len,
                                                      on_result, o, NULL, err, sizeof(err));
        if (o->n == before && e != EVBUS_OK) /* not dispatched at all */
            result_line(o, NULL, e, err);
    }
    evbus_cli_buf_free(&one);
}

int evbus_cli_dispatch(int argc, char **argv, evbus_cli_t *cli) {
    dispatch_t o;
    memset(&o, 0, sizeof(o));
    evbus_cli_spec_t spec = {usage, "", longopts, 0};
    int first, rc = evbus_cli_parse(cli, argc, argv, &spec, on_opt, &o, &first);
    if (rc >= 0)
        return rc;
    if (first != argc - 1) {
        evbus_cli_err("dispatch", first >= argc ? "no FILE given (- for stdin; see evbus-cli dispatch --help)"
                                                : "one FILE only");
        return EVBUS_CLI_USAGE;
    }
    char err[512];
    long timeout_ms = 0;
    const char *iso = evbus_conf_get(cli->conf, "plugin.isolate");
    const char *tmo = evbus_conf_get(cli->conf, "handler.timeout.ms");
    if (tmo && evbus_cli_parse_long(tmo, 1, 86400000, &timeout_ms) != 0) {
        evbus_cli_err("dispatch", "handler.timeout.ms: expected milliseconds, got \"%s\"", tmo);
        return EVBUS_CLI_USAGE;
    }
    int flags = o.plug.isolate || (iso && !strcmp(iso, "true")) ? EVBUS_PLUGIN_LOAD_ISOLATE : 0;

    size_t len = 0;
    char *input = read_input(argv[first], &len);
    if (!input)
        return EVBUS_CLI_USAGE;
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    if (!d) {
        evbus_cli_err("dispatch", "out of memory");
        free(input);
        return EVBUS_CLI_FAIL;
    }
    int loaded = 0, nloaded = 0;
    /* v2 plugins read their settings (-X plugin.<name>.<key>, EVBUS_PLUGIN_*) as in consume. */
    evbus_plugin_opts_t po = EVBUS_PLUGIN_OPTS_INIT;
    po.flags = flags;
    po.timeout_ms = (int)timeout_ms;
    po.conf = cli->conf;
    for (size_t i = 0; rc < 0 && i < o.plug.npaths; i++) {
        if (evbus_dispatcher_load_plugins(d, o.plug.paths[i], &po, &loaded, err, sizeof(err)) != EVBUS_OK) {
            evbus_cli_err("dispatch", "%s", err);
            rc = EVBUS_CLI_USAGE;
        } else {
            nloaded += loaded;
            evbus_cli_log(cli, "%s plugin %s%s%s", loaded ? "loaded" : "disabled:", o.plug.paths[i],
                          loaded ? "" : ": ", loaded ? "" : err);
        }
    }
    if (rc < 0 && o.plug.dir) {
        if (evbus_dispatcher_load_plugins(d, o.plug.dir, &po, &loaded, err, sizeof(err)) != EVBUS_OK) {
            evbus_cli_err("dispatch", "%s", err);
            rc = EVBUS_CLI_USAGE;
        }
        nloaded += loaded;
    }
    if (rc < 0 && nloaded == 0 && !cli->quiet)
        evbus_cli_err("dispatch", "warning: no enabled plugin: every event succeeds unhandled");
    if (rc < 0) {
        size_t i = 0;
        while (i < len && (input[i] == ' ' || input[i] == '\t' || input[i] == '\r' || input[i] == '\n'))
            i++;
        if (i < len && input[i] == '[') {
            evbus_err_t e = evbus_dispatcher_process_json(d, input, len, on_result, &o, NULL, err,
                                                          sizeof(err));
            if (e != EVBUS_OK && o.n == 0) { /* not an array: nothing dispatched */
                evbus_cli_err("dispatch", "%s: %s", argv[first], err);
                rc = EVBUS_CLI_USAGE;
            }
        } else {
            dispatch_lines(&o, d, input, len);
        }
        /* Async plugins finish before the summary (and before fini runs at destroy). */
        evbus_dispatcher_drain(d, -1);
        evbus_dispatcher_stats_t st = EVBUS_DISPATCHER_STATS_INIT;
        if (evbus_dispatcher_stats(d, &st) != EVBUS_OK)
            st.async_failed = 0;
        if (!cli->quiet)
            fprintf(stderr, "evbus-cli: dispatch: %zu events, %zu ok, %zu failed (%llu async handler "
                            "failures)\n",
                    o.n, o.n - o.failed, o.failed, (unsigned long long)st.async_failed);
        if (rc < 0)
            rc = o.failed ? EVBUS_CLI_FAIL : EVBUS_CLI_OK;
    }
    if (fflush(stdout) != 0 || o.out_failed) {
        evbus_cli_err("dispatch", "cannot write to stdout");
        rc = EVBUS_CLI_FAIL;
    }
    evbus_dispatcher_destroy(d);
    evbus_cli_buf_free(&o.out);
    free(input);
    return rc;
}
