/* What evbus-cli consume's files share: cmd_consume.c (one group member), consume_procs.c (the
 * --processes supervisor) and consume_offset_time.c. */
#ifndef EVBUS_CLI_CONSUME_INT_H
#define EVBUS_CLI_CONSUME_INT_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/** consume --offset-time: commit group's offsets of the full topic names for ts_ms (ms since the
 *  epoch) on the assignment it gets, print "topic<TAB>partition<TAB>offset" per partition, then
 *  return an exit status. */
int evbus_cli_offset_time(evbus_cli_t *cli, char *const *topics, size_t n, const char *group,
                          int64_t ts_ms);

/** One member's life: returns its exit status.  idx: 0..n-1; runs: how many times this member
 *  ran before (0 the first time). */
typedef int (*evbus_cli_member_fn)(int idx, int runs, void *arg);

/** Fork n members of fn and supervise them until SIGTERM/SIGINT (see consume_procs.c); a dead
 *  member is restarted after min_backoff_ms (from the group's session timeout), then longer.
 *  Returns the exit status: 0 when every member stopped cleanly. */
int evbus_cli_supervise(const evbus_cli_t *cli, int n, int min_backoff_ms, evbus_cli_member_fn fn,
                        void *arg);

/** validate-config --consumer: check the consumer config source (a file or JSON text; NULL:
 *  EVBUS_CONSUMER_CONFIG) without a broker; every problem on stderr and 2, or a summary and 0. */
int evbus_cli_validate_consumer_config(const char *source);

#endif
