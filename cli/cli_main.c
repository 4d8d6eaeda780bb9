/*
 * evbus-cli: the command-line face of evbus.  main() parses the global flags in front of the
 * subcommand and dispatches through one table; adding a subcommand is one line here plus its
 * cli/cmd_<name>.c.  The program is a user of libevbus's public headers only (as kcat is of
 * librdkafka's): it links libevbus.so, so the plugins it loads share that one copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct cli_cmd_s {
    const char *name;
    int (*run)(int argc, char **argv, evbus_cli_t *cli);
    const char *summary;
} cli_cmd_t;

static const cli_cmd_t commands[] = {
    {"broker", evbus_cli_broker, "run an embedded development broker"},
    {"publish", evbus_cli_publish, "publish JSON events of one type, one per line"},
    {"tail", evbus_cli_tail, "print the last events of topics, or follow them"},
    {"consume", evbus_cli_consume, "run the consumer worker with plugins"},
    {"replay", evbus_cli_replay, "re-publish dead letters to their original topics"},
    {"dispatch", evbus_cli_dispatch, "run a file of events through plugins, no broker"},
    {"validate-config", evbus_cli_validate_config, "check a producer config, report every error"},
    {"topics", evbus_cli_topics, "configured event types and their full topic names"},
    {"schemas", evbus_cli_schemas, "list, check or fingerprint the event schemas"},
    {"spool", evbus_cli_spool, "status or drain a producer's crash-safe spool"},
};

static void usage(FILE *f) {
    fputs("Usage: evbus-cli [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n"
          "\n"
          "Publish, inspect and consume Open edX-compatible events on Kafka.\n"
          "\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-16s %s\n", commands[i].name, commands[i].summary);
    fputc('\n', f);
    evbus_cli_print_global_help(f);
    fputs("\n"
          "Exit status: 0 success, 1 runtime failure, 2 usage or configuration error.\n"
          "'evbus-cli COMMAND --help' describes a command.\n"
          "\n"
          "Example:\n"
          "  evbus-cli broker &                    # prints bootstrap.servers=127.0.0.1:PORT\n"
          "  evbus-cli -b 127.0.0.1:PORT -c producer.json publish org.evbus.demo.order.placed.v1 "
          "events.jsonl\n"
          "  evbus-cli -b 127.0.0.1:PORT tail orders --format pretty\n",
          f);
}

int main(int argc, char **argv) {
    evbus_cli_t cli;
    memset(&cli, 0, sizeof(cli));
    int first = 0;
    int rc = evbus_cli_parse_global(&cli, argc, argv, &first);
    if (rc >= 0) {
        if (rc == EVBUS_CLI_OK && first < 0)
            usage(stdout);
        evbus_cli_free(&cli);
        return rc;
    }
    if (first >= argc) {
        evbus_cli_err("usage", "no command given (see evbus-cli --help)");
        evbus_cli_free(&cli);
        return EVBUS_CLI_USAGE;
    }
    const cli_cmd_t *cmd = NULL;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, argv[first]) == 0)
            cmd = &commands[i];
    if (!cmd) {
        evbus_cli_err(argv[first], "unknown command (see evbus-cli --help)");
        evbus_cli_free(&cli);
        return EVBUS_CLI_USAGE;
    }
    rc = cmd->run(argc - first, argv + first, &cli);
    evbus_cli_free(&cli);
    /* Data written with buffered stdio: a failed write (disk full, closed pipe) is a failure. */
    if (fflush(stdout) != 0 && rc == EVBUS_CLI_OK) {
        evbus_cli_err("stdout", "write failed");
        rc = EVBUS_CLI_FAIL;
    }
    return rc;
}
