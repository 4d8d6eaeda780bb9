/* What evbus-cli consume's files share. */
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

#endif
