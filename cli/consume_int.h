/*
 * evbus-cli consume internals shared by cmd_consume.c (one group member) and consume_procs.c
 * (the --processes supervisor).
 */
#ifndef EVBUS_CLI_CONSUME_INT_H
#define EVBUS_CLI_CONSUME_INT_H

#include "cli.h"

/** One member's life: returns its exit status.  idx: 0..n-1; runs: how many times this member
 *  ran before (0 the first time). */
typedef int (*evbus_cli_member_fn)(int idx, int runs, void *arg);

/** Fork n members of fn and supervise them until SIGTERM/SIGINT (see consume_procs.c); a dead
 *  member is restarted after min_backoff_ms (the group's session timeout), then longer.
 *  Returns the exit status: 0 when every member stopped cleanly. */
int evbus_cli_supervise(const evbus_cli_t *cli, int n, int min_backoff_ms, evbus_cli_member_fn fn,
                        void *arg);

/** validate-config --consumer: check the consumer config source (a file or JSON text; NULL:
 *  EVBUS_CONSUMER_CONFIG) without a broker; every problem on stderr and 2, or a summary and 0. */
int evbus_cli_validate_consumer_config(const char *source);

#endif
