/*
 * Option parsing shared by every subcommand: the global flags are accepted before the
 * subcommand (main.c) and after it (mixed with the subcommand's own flags), so that
 * `evbus-cli -b host tail t` and `evbus-cli tail t -b host` mean the same.
 */
#include <jansson.h>

#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "output.h"
#include "progress.h"

/* Long-only global flags get values above any character. */
enum { OPT_SCHEMAS = 1000, OPT_PREFIX, OPT_NO_PREFIX, OPT_VERSION };

#define GLOBAL_SHORT "b:X:c:vqh"

static const struct option global_long[] = {
    {"bootstrap-servers", required_argument, NULL, 'b'},
    {"config", required_argument, NULL, 'c'},
    {"schemas", required_argument, NULL, OPT_SCHEMAS},
    {"prefix", required_argument, NULL, OPT_PREFIX},
    {"no-prefix", no_argument, NULL, OPT_NO_PREFIX},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
};
#define NGLOBAL (sizeof(global_long) / sizeof(global_long[0]))

/* "evbus-cli: [what: ]why" on stderr as one line: what and why often quote outside text (a
 * topic, a header, a broker's message), so they go through the sanitizer.  Without memory for
 * that, the line is replaced, never sent raw. */
static void put_line(const char *what, const char *why) {
    evbus_cli_buf_t b = EVBUS_CLI_BUF_INIT;
    int r = evbus_cli_buf_puts(&b, "evbus-cli: ");
    if (what) {
        r |= evbus_cli_safe_text(&b, what, strlen(what), EVBUS_CLI_SAFE_KEEP_BACKSLASH);
        r |= evbus_cli_buf_puts(&b, ": ");
    }
    r |= evbus_cli_safe_text(&b, why, strlen(why), EVBUS_CLI_SAFE_KEEP_BACKSLASH);
    r |= evbus_cli_buf_putc(&b, '\n');
    evbus_cli_progress_pause(); /* a progress line on the terminal gives way to this one */
    if (r == 0)
        fwrite(b.data, 1, b.len, stderr);
    else
        fputs("evbus-cli: out of memory\n", stderr);
    evbus_cli_progress_resume();
    evbus_cli_buf_free(&b);
}

void evbus_cli_err(const char *what, const char *fmt, ...) {
    char why[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (evbus_cli_json_logs()) { /* --log-format json: escaped by the JSON writer */
        evbus_cli_log_line(EVBUS_LOG_ERR, what, why, NULL);
        return;
    }
    fflush(stdout); /* keep data and errors in order on a shared terminal */
    put_line(what, why);
}

void evbus_cli_log(const evbus_cli_t *cli, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    if (!cli->verbose || cli->quiet)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (evbus_cli_json_logs())
        evbus_cli_log_line(EVBUS_LOG_INFO, cli->cmd ? cli->cmd : "evbus-cli", line, NULL);
    else
        put_line(NULL, line);
}

int evbus_cli_parse_long(const char *s, long min, long max, long *out) {
    char *end;
    if (!s || !*s)
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

void evbus_cli_print_global_help(FILE *f) {
    fputs("Global options (before or after the subcommand):\n"
          "  -b, --bootstrap-servers H:P[,..]  Kafka bootstrap servers\n"
          "                                  (EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS)\n"
          "  -X NAME=VALUE                   set any evbus or librdkafka configuration name\n"
          "                                  (repeatable; kafka.<name> goes to librdkafka;\n"
          "                                  cli.timeout.ms bounds broker waits, default 10000)\n"
          "  -c, --config FILE               producer config (EVENT_BUS_PRODUCER_CONFIG)\n"
          "      --schemas DIR               schema directory (EVENT_BUS_SCHEMA_DIR)\n"
          "      --prefix P                  topic prefix (EVENT_BUS_TOPIC_PREFIX)\n"
          "      --no-prefix                 topic names are full names: add no prefix\n"
          "  -v, --verbose                   say more on stderr (-vv: librdkafka debug)\n"
          "  -q, --quiet                     say nothing on stderr but errors\n"
          "  -h, --help                      this help\n"
          "      --version                   print the version\n",
          f);
}

static void print_version(void) {
    printf("evbus-cli %s (libevbus %s, librdkafka %s)\n", EVBUS_VERSION_STR, evbus_version_str(),
           rd_kafka_version_str());
}

/* Handle one global flag. -1 to go on, else the exit status. */
static int global_opt(evbus_cli_t *cli, int c, const char *arg) {
    switch (c) {
    case 'b':
        cli->bootstrap = arg;
        return -1;
    case 'c':
        if (cli->nconfig == (int)(sizeof(cli->config_files) / sizeof(cli->config_files[0]))) {
            evbus_cli_err(cli->cmd ? cli->cmd : "evbus-cli", "--config: at most %d files",
                          cli->nconfig);
            return EVBUS_CLI_USAGE;
        }
        cli->config_files[cli->nconfig++] = arg;
        cli->config_file = arg;
        return -1;
    case OPT_SCHEMAS:
        cli->schemas_dir = arg;
        return -1;
    case OPT_PREFIX:
        cli->prefix = arg;
        cli->no_prefix = 0;
        return -1;
    case OPT_NO_PREFIX:
        cli->no_prefix = 1;
        cli->prefix = NULL;
        return -1;
    case 'v':
        cli->verbose++;
        return -1;
    case 'q':
        cli->quiet = 1;
        return -1;
    case OPT_VERSION:
        print_version();
        return EVBUS_CLI_OK;
    case 'X': {
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg) {
            evbus_cli_err("-X", "expected NAME=VALUE, got \"%s\"", arg);
            return EVBUS_CLI_USAGE;
        }
        /* The CLI's own names are not configuration of the libraries. */
        if (strncmp(arg, "cli.timeout.ms=", 15) == 0) {
            long v;
            if (evbus_cli_parse_long(eq + 1, 1, 3600000, &v) != 0) {
                evbus_cli_err("-X cli.timeout.ms", "expected milliseconds 1..3600000, got \"%s\"",
                              eq + 1);
                return EVBUS_CLI_USAGE;
            }
            cli->timeout_ms = (int)v;
            return -1;
        }
        char **p = realloc(cli->xprops, (cli->nxprops + 1) * sizeof(*p));
        if (!p) {
            evbus_cli_err("-X", "out of memory");
            return EVBUS_CLI_FAIL;
        }
        cli->xprops = p;
        cli->xprops[cli->nxprops++] = (char *)arg;
        return -1;
    }
    }
    return -2; /* not a global flag */
}

/* Report a getopt failure: argv[optind-1] is the offending word. */
static int usage_error(const char *what, int argc, char **argv, int c, int opt) {
    const char *word = optind - 1 < argc && optind >= 1 ? argv[optind - 1] : "?";
    /* For a long option getopt leaves its value (not a character) in optopt. */
    if (strncmp(word, "--", 2) == 0 || opt <= ' ' || opt > '~')
        opt = 0;
    if (!opt && c == ':' && strncmp(word, "--", 2) != 0)
        word = "?";
    if (c == ':') {
        if (opt)
            evbus_cli_err(what, "option '-%c' needs a value (see --help)", opt);
        else
            evbus_cli_err(what, "option '%s' needs a value (see --help)", word);
    } else if (opt) {
        evbus_cli_err(what, "unknown option '-%c' (see --help)", opt);
    } else {
        evbus_cli_err(what, "unknown option '%s' (see --help)", word);
    }
    return EVBUS_CLI_USAGE;
}

int evbus_cli_parse_global(evbus_cli_t *cli, int argc, char **argv, int *firstarg) {
    struct option longs[NGLOBAL + 1];
    memcpy(longs, global_long, sizeof(global_long));
    memset(&longs[NGLOBAL], 0, sizeof(longs[0]));
    if (!cli->timeout_ms)
        cli->timeout_ms = EVBUS_CLI_DEFAULT_TIMEOUT_MS;
    optind = 0; /* glibc: full re-initialisation */
    opterr = 0;
    int c;
    /* '+': stop at the subcommand, whose flags are its own business. */
    while ((c = getopt_long(argc, argv, "+:" GLOBAL_SHORT, longs, NULL)) != -1) {
        if (c == '?' || c == ':')
            return usage_error("usage", argc, argv, c, optopt);
        if (c == 'h') {
            *firstarg = -1; /* main prints the tool's help */
            return EVBUS_CLI_OK;
        }
        int r = global_opt(cli, c, optarg);
        if (r >= 0)
            return r;
    }
    *firstarg = optind;
    return -1;
}

int evbus_cli_parse(evbus_cli_t *cli, int argc, char **argv, const evbus_cli_spec_t *spec,
                    evbus_cli_opt_cb cb, void *ctx, int *firstarg) {
    char shorts[128];
    size_t nsub = 0;
    cli->cmd = argv[0];
    if (spec->longopts)
        while (spec->longopts[nsub].name)
            nsub++;
    struct option *longs = calloc(NGLOBAL + nsub + 1, sizeof(*longs));
    if (!longs) {
        evbus_cli_err(cli->cmd, "out of memory");
        return EVBUS_CLI_FAIL;
    }
    /* After the verb a subcommand's own option beats a global one of the same name (consume's
     * -c/--config is the consumer config): getopt takes the first exact long match, and a
     * short letter the subcommand lists goes to its callback. */
    if (nsub)
        memcpy(longs, spec->longopts, nsub * sizeof(*longs));
    memcpy(longs + nsub, global_long, sizeof(global_long));
    snprintf(shorts, sizeof(shorts), ":%s%s", GLOBAL_SHORT, spec->shortopts ? spec->shortopts : "");

    int rc = -1, c;
    optind = 0;
    opterr = 0;
    while (rc < 0 && (c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        if (c == '?' || c == ':') {
            rc = usage_error(cli->cmd, argc, argv, c, optopt);
        } else if (c == 'h') {
            fputs(spec->usage, stdout);
            fputc('\n', stdout);
            evbus_cli_print_global_help(stdout);
            rc = EVBUS_CLI_OK;
        } else {
            int own = c > 0 && c < 256 && spec->shortopts && strchr(spec->shortopts, c);
            rc = own ? -2 : global_opt(cli, c, optarg);
            if (rc == -2)
                rc = cb ? cb(ctx, c, optarg) : usage_error(cli->cmd, argc, argv, '?', c);
        }
    }
    free(longs);
    *firstarg = optind;
    if (rc >= 0)
        return rc;
    if (!spec->no_conf && evbus_cli_build_conf(cli) != 0)
        return EVBUS_CLI_USAGE;
    if (cli->verbose >= 2 && cli->conf) {
        char e[256];
        if (evbus_conf_set(cli->conf, "kafka.debug", "broker,topic,msg,consumer", e, sizeof(e)))
            evbus_cli_log(cli, "cannot enable librdkafka debug: %s", e);
    }
    return -1;
}

/* Set one name; report failures the way -X does. */
static int conf_set(evbus_cli_t *cli, const char *what, const char *name, const char *value) {
    char errstr[512] = "";
    evbus_conf_res_t r = evbus_conf_set(cli->conf, name, value, errstr, sizeof(errstr));
    if (r == EVBUS_CONF_OK)
        return 0;
    if (!errstr[0])
        snprintf(errstr, sizeof(errstr), "%s",
                 r == EVBUS_CONF_UNKNOWN ? "unknown configuration name" : "invalid value");
    evbus_cli_err(what, "%s", errstr);
    return EVBUS_CLI_USAGE;
}

int evbus_cli_build_conf(evbus_cli_t *cli) {
    char errstr[512];
    evbus_conf_destroy(cli->conf);
    cli->conf = evbus_conf_new();
    if (!cli->conf) {
        evbus_cli_err("configuration", "out of memory");
        return EVBUS_CLI_USAGE;
    }
    if (evbus_conf_from_env(cli->conf, errstr, sizeof(errstr)) != EVBUS_OK) {
        evbus_cli_err("environment", "%s", errstr);
        return EVBUS_CLI_USAGE;
    }
    for (size_t i = 0; i < cli->nxprops; i++) {
        char what[300];
        char *eq = strchr(cli->xprops[i], '=');
        size_t nlen = (size_t)(eq - cli->xprops[i]);
        char *name = strndup(cli->xprops[i], nlen);
        if (!name) {
            evbus_cli_err("-X", "out of memory");
            return EVBUS_CLI_USAGE;
        }
        snprintf(what, sizeof(what), "-X %s", name);
        int r = conf_set(cli, what, name, eq + 1);
        free(name);
        if (r)
            return r;
    }
    if (cli->bootstrap && conf_set(cli, "--bootstrap-servers", "kafka.bootstrap.servers",
                                   cli->bootstrap))
        return EVBUS_CLI_USAGE;
    if (cli->schemas_dir && conf_set(cli, "--schemas", "schema.dir", cli->schemas_dir))
        return EVBUS_CLI_USAGE;
    if (cli->nconfig == 1 && conf_set(cli, "--config", "producer.config", cli->config_file))
        return EVBUS_CLI_USAGE;
    if (cli->nconfig > 1) {
        /* several -c: a JSON list of paths, which the config loader merges in order */
        json_t *list = json_array();
        for (int i = 0; list && i < cli->nconfig; i++)
            if (json_array_append_new(list, json_string(cli->config_files[i])) != 0) {
                json_decref(list);
                list = NULL;
            }
        char *txt = list ? json_dumps(list, JSON_COMPACT) : NULL;
        json_decref(list);
        int bad = !txt || conf_set(cli, "--config", "producer.config", txt);
        free(txt);
        if (bad)
            return EVBUS_CLI_USAGE;
    }
    if ((cli->prefix || cli->no_prefix) &&
        conf_set(cli, cli->no_prefix ? "--no-prefix" : "--prefix", "topic.prefix",
                 cli->no_prefix ? "" : cli->prefix))
        return EVBUS_CLI_USAGE;
    return 0;
}

const char *evbus_cli_prefix(const evbus_cli_t *cli) {
    if (cli->no_prefix)
        return "";
    if (cli->prefix)
        return cli->prefix;
    const char *p = cli->conf ? evbus_conf_get(cli->conf, "topic.prefix") : getenv("EVENT_BUS_TOPIC_PREFIX");
    return p ? p : "";
}

char *evbus_cli_full_topic(const evbus_cli_t *cli, const char *topic) {
    if (!topic)
        return NULL;
    const char *prefix = evbus_cli_prefix(cli);
    size_t n = evbus_topic_full(prefix, topic, NULL, 0) + 1;
    char *s = malloc(n);
    if (s)
        evbus_topic_full(prefix, topic, s, n);
    return s;
}

void evbus_cli_free(evbus_cli_t *cli) {
    evbus_conf_destroy(cli->conf);
    cli->conf = NULL;
    free(cli->xprops);
    cli->xprops = NULL;
    cli->nxprops = 0;
}
