/*
 * evbus-cli internals: the state every subcommand shares, the option parser that
 * handles the global flags wherever they appear, and error/log helpers.
 *
 * A subcommand is one function `int evbus_cli_<name>(int argc, char **argv, evbus_cli_t *cli)`
 * in cli/cmd_<name>.c, listed in main.c's table.  argv[0] is the subcommand name.  It calls
 * evbus_cli_parse() first, which consumes global and subcommand flags and builds cli->conf.
 * It returns the process exit status (EVBUS_CLI_OK / _FAIL / _USAGE).
 */
#ifndef EVBUS_CLI_H
#define EVBUS_CLI_H

#include <getopt.h>
#include <stdio.h>

#include <evbus/evbus.h>
#include <evbus/producer_config.h>
#include <evbus/schema.h>

#include "util.h"

#define EVBUS_CLI_OK 0    /* success */
#define EVBUS_CLI_FAIL 1  /* runtime failure: delivery, broker, handler */
#define EVBUS_CLI_USAGE 2 /* usage or configuration error */

/* Default bound on every broker round trip; -X cli.timeout.ms=N changes it. */
#define EVBUS_CLI_DEFAULT_TIMEOUT_MS 10000

typedef struct evbus_cli_s {
    evbus_conf_t *conf;      /* built by evbus_cli_parse(): defaults, EVENT_BUS_*, then flags */
    const char *bootstrap;   /* -b */
    const char *schemas_dir; /* --schemas */
    const char *prefix;      /* --prefix */
    int no_prefix;           /* --no-prefix: topic names are full names */
    const char *config_file; /* -c (the last one) */
    const char *config_files[16]; /* every -c, merged in order (merge_producer_configs' rules) */
    int nconfig;
    int verbose;             /* -v, repeatable */
    int quiet;               /* -q */
    int timeout_ms;          /* -X cli.timeout.ms */
    char **xprops;           /* -X name=value, in order (argv strings, not copied) */
    size_t nxprops;
    const char *cmd;         /* the subcommand's name */
} evbus_cli_t;

/* One subcommand's option set, for evbus_cli_parse(). */
typedef struct evbus_cli_spec_s {
    const char *usage;              /* full --help text; "%s" is not expanded */
    const char *shortopts;          /* getopt short options of the subcommand ("" if none) */
    const struct option *longopts;  /* terminated by {0}; NULL if none */
    int no_conf;                    /* 1: do not build cli->conf (e.g. broker) */
} evbus_cli_spec_t;

/* Called for each subcommand option: c is the getopt value, arg its argument (or NULL).
 * Returns -1 to go on, or an exit status to stop with (after printing why). */
typedef int (*evbus_cli_opt_cb)(void *ctx, int c, const char *arg);

/**
 * Parse argv (argv[0] is the subcommand) with the subcommand's options plus every global
 * flag, in any order; non-option arguments are moved to the end, from *firstarg.
 * Then (unless spec->no_conf) build cli->conf.
 * Returns -1 to go on, or the exit status the subcommand must return (0 after --help,
 * 2 after a usage or configuration error, already reported).
 */
int evbus_cli_parse(evbus_cli_t *cli, int argc, char **argv, const evbus_cli_spec_t *spec,
                    evbus_cli_opt_cb cb, void *ctx, int *firstarg);

/** Parse the global flags in front of the subcommand (main.c). Same return as above;
 * *firstarg is the index of the subcommand (== argc when there is none). */
int evbus_cli_parse_global(evbus_cli_t *cli, int argc, char **argv, int *firstarg);

/** Build cli->conf from the defaults, the environment and the flags. 0 or EVBUS_CLI_USAGE. */
int evbus_cli_build_conf(evbus_cli_t *cli);

void evbus_cli_free(evbus_cli_t *cli);

/** Print the global-flags section of --help. */
void evbus_cli_print_global_help(FILE *f);

/** Print "evbus-cli: <what>: <why>\n" on stderr. */
void evbus_cli_err(const char *what, const char *fmt, ...) EVBUS_CLI_PRINTF(2, 3);
/** Informational line on stderr, only with -v. */
void evbus_cli_log(const evbus_cli_t *cli, const char *fmt, ...) EVBUS_CLI_PRINTF(2, 3);

/*
 * --log-format text|json (cli/log_format.c).  In JSON mode evbus_cli_err/evbus_cli_log and the
 * library's log (evbus_cli_log_setup) write one JSON object per line.
 */
/** Parse the option's value: -1 to go on, or EVBUS_CLI_USAGE (reported). */
int evbus_cli_log_format_opt(const char *arg);
int evbus_cli_json_logs(void);
/** One line on stderr: "evbus-cli: <subsystem>: <msg>" or its JSON form with f (may be NULL). */
void evbus_cli_log_line(int level, const char *subsystem, const char *msg,
                        const evbus_log_fields_t *f);
/** Route the library's log of what conf makes (librdkafka's included) through the chosen
 *  format, terminal-safe like every CLI line. */
void evbus_cli_log_setup(evbus_conf_t *conf);
/** The failure line for a handler.failed / event.dead_lettered lifecycle event. */
void evbus_cli_log_lifecycle(const char *cmd, const evbus_event_t *ev);

/*
 * consume --metrics HOST:PORT (cli/metrics_http.c): /metrics and /healthz over libmicrohttpd.
 */
typedef struct evbus_cli_http_s evbus_cli_http_t;
struct evbus_consumer_s;
/** Serve c's metrics and health on addr ("HOST:PORT", port 0 = any free one, told with -v and
 *  in the "serving" line).  NULL + errstr when addr is bad or cannot be bound. */
evbus_cli_http_t *evbus_cli_http_start(const char *addr, struct evbus_consumer_s *c, char *errstr,
                                       size_t errstr_size);
/** The port actually bound. */
int evbus_cli_http_port(const evbus_cli_http_t *h);
void evbus_cli_http_stop(evbus_cli_http_t *h);

/** Make SIGINT/SIGTERM set the stop flag, and stop c too when not NULL (a second signal kills
 *  as usual); cli/signals.c. */
struct evbus_consumer_s;
void evbus_cli_catch_stop_signals(struct evbus_consumer_s *c);
/** A stop signal arrived. */
int evbus_cli_stop_requested(void);

/** Parse a non-negative decimal integer (all of s). 0 on success, -1 otherwise. */
int evbus_cli_parse_long(const char *s, long min, long max, long *out);

/** Full topic name for a name given on the command line (adds the prefix unless --no-prefix).
 * malloc'd; NULL when out of memory. */
char *evbus_cli_full_topic(const evbus_cli_t *cli, const char *topic);

/** Effective topic prefix ("" when none). */
const char *evbus_cli_prefix(const evbus_cli_t *cli);

/*
 * Loaders shared by the subcommands (cli/load.c).  Each reports its own failure on stderr
 * ("evbus-cli: <cmd>: ...") and tells the exit status through *rcp.
 */
struct rd_kafka_s;

/** The schema store of schema.dir (or the default search).  NULL + *rcp = 2 on failure. */
evbus_schema_store_t *evbus_cli_store(evbus_cli_t *cli, int *rcp);
/**
 * The producer config from source (JSON text or a path; NULL: -c / EVENT_BUS_PRODUCER_CONFIG).
 * On failure every problem is printed, one per line ("evbus-cli: <source>: <path>: <why>"),
 * and *rcp = 2.
 */
evbus_producer_config_t *evbus_cli_config(evbus_cli_t *cli, const char *source,
                                          const evbus_schema_store_t *store, int *rcp);
/** A librdkafka client of type (RD_KAFKA_PRODUCER/CONSUMER) from cli->conf plus extra
 * NULL-terminated name/value pairs; quiet librdkafka logs unless -v.  Needs bootstrap servers. */
struct rd_kafka_s *evbus_cli_kafka(evbus_cli_t *cli, int type, int *rcp, ...);
/** 1 once a client of evbus_cli_kafka() has reported an authentication or TLS failure (one
 * line, with the reason): the caller's own "broker: transport failure" would only repeat it. */
int evbus_cli_kafka_reported(void);
/** rd_kafka_metadata() of every topic within cli.timeout.ms, ending early once
 * evbus_cli_kafka_reported() (e.g. an untrusted broker certificate).  *mdp as librdkafka's. */
struct rd_kafka_metadata;
int evbus_cli_metadata(const evbus_cli_t *cli, struct rd_kafka_s *rk,
                       const struct rd_kafka_metadata **mdp);
/** The value of a boolean / integer evbus setting on conf, else its default; 0 when it has
 *  none (as the library reads it). */
int evbus_cli_conf_bool(const evbus_conf_t *conf, const char *name);
int64_t evbus_cli_conf_int(const evbus_conf_t *conf, const char *name);
/** 1 when bootstrap servers are configured (-b or the environment). */
int evbus_cli_has_bootstrap(const evbus_cli_t *cli);

/*
 * --plugin PATH (repeatable), --plugins DIR and --isolate: the plugin options `consume` and
 * `dispatch` share (cli/plugin_args.c).  A subcommand lists EVBUS_CLI_PLUGIN_LONGOPTS in its
 * options and hands every option to evbus_cli_plugin_opt() first.
 */
enum { EVBUS_CLI_OPT_PLUGIN = 0x1000, EVBUS_CLI_OPT_PLUGINS, EVBUS_CLI_OPT_ISOLATE };
#define EVBUS_CLI_PLUGIN_LONGOPTS                                                                  \
    {"plugin", required_argument, NULL, EVBUS_CLI_OPT_PLUGIN},                                     \
        {"plugins", required_argument, NULL, EVBUS_CLI_OPT_PLUGINS},                               \
        {"isolate", no_argument, NULL, EVBUS_CLI_OPT_ISOLATE}
#define EVBUS_CLI_MAX_PLUGINS 256
typedef struct evbus_cli_plugin_args_s {
    const char *paths[EVBUS_CLI_MAX_PLUGINS]; /* --plugin, in order (argv strings) */
    size_t npaths;
    const char *dir; /* --plugins (the last one) */
    int isolate;     /* --isolate given */
} evbus_cli_plugin_args_t;
#define EVBUS_CLI_NOT_MINE (-2)
/** For option c of subcommand cmd: -1 to go on, EVBUS_CLI_USAGE (reported), or
 *  EVBUS_CLI_NOT_MINE when c is not a plugin option. */
int evbus_cli_plugin_opt(evbus_cli_plugin_args_t *pa, const char *cmd, int c, const char *arg);

/* Subcommands (main.c's table). */
int evbus_cli_broker(int argc, char **argv, evbus_cli_t *cli);
int evbus_cli_publish(int argc, char **argv, evbus_cli_t *cli);
int evbus_cli_tail(int argc, char **argv, evbus_cli_t *cli);
int evbus_cli_validate_config(int argc, char **argv, evbus_cli_t *cli);
int evbus_cli_topics(int argc, char **argv, evbus_cli_t *cli);
int evbus_cli_schemas(int argc, char **argv, evbus_cli_t *cli);
int evbus_cli_spool(int argc, char **argv, evbus_cli_t *cli);
int evbus_cli_consume(int argc, char **argv, evbus_cli_t *cli);
int evbus_cli_replay(int argc, char **argv, evbus_cli_t *cli);
int evbus_cli_dispatch(int argc, char **argv, evbus_cli_t *cli);

/** --since TIME: "30s" "10m" "2h" "1d" before now_ms, or ISO 8601
 *  date[Thh:mm[:ss[.fff]]][Z|+hh:mm] (no zone: UTC), as ms since the epoch. 0 or -1. */
int evbus_cli_parse_time(const char *s, int64_t now_ms, int64_t *out);

#endif
