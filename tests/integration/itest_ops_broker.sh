#!/usr/bin/env bash
# The embedded broker says what it is (issue 15): at start it says that data is kept in memory
# and only about the last 5 MiB per partition; tail --from-beginning -v says when a partition's
# first offset is above 0 (earlier events gone), and says nothing about it without -v.
# Also: malformed --log-format / --metrics values are usage errors (exit 2).
source "$(dirname "$0")/cli_testlib.sh"
start_broker --topic small:1
expect_in "$(ls "$T"/broker.*.err)" "kept in memory only, and only about the last 5 MiB per partition"

# 20,000 events of 1 KiB (20 MiB) on one partition: the mock keeps about the last 5 MiB.
awk 'BEGIN { s = sprintf("%1023s", ""); gsub(/ /, "x", s); for (i = 0; i < 20000; i++) print s }' >"$T/big"
kproduce small -l "$T/big"
expect_rc 0 "$CLI" -b "$BOOTSTRAP" --no-prefix -v tail small --from-beginning --format raw --count 1
expect_in "$T/err" "small \[0\]: the first offset is [1-9][0-9]*: the [1-9][0-9]* earlier events are gone"
expect_rc 0 "$CLI" -b "$BOOTSTRAP" --no-prefix tail small --from-beginning --format raw --count 1
expect_not_in "$T/err" "earlier events are gone"

# Bad operating flags are usage errors, reported as such.
expect_rc 2 "$CLI" -b "$BOOTSTRAP" consume -t small -g g --log-format xml
expect_in "$T/err" "^evbus-cli: --log-format: expected text or json"
expect_rc 2 "$CLI" -b "$BOOTSTRAP" consume -t small -g g --metrics no-port-here
expect_in "$T/err" "expected HOST:PORT"
expect_rc 2 "$CLI" -b "$BOOTSTRAP" consume -t small -g g --metrics 127.0.0.1:99999
done_ok
