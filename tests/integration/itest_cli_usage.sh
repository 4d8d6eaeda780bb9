#!/usr/bin/env bash
# evbus-cli: help, version, exit codes and error lines for bad usage.
source "$(dirname "$0")/cli_testlib.sh"

expect_rc 0 "$CLI" --version
expect_in "$T/out" '^evbus-cli [0-9]+\.[0-9]+\.[0-9]+'
expect_rc 0 "$CLI" --help
expect_in "$T/out" '^Usage: evbus-cli'
expect_in "$T/out" 'Example:'
expect_rc 0 "$CLI" -h

# Every subcommand has --help (before or after other flags) with an example.
for cmd in broker publish tail consume replay validate-config topics schemas; do
    expect_rc 0 "$CLI" "$cmd" --help
    expect_in "$T/out" "^Usage: evbus-cli $cmd"
    expect_in "$T/out" '^Example'
    expect_in "$T/out" 'bootstrap-servers'
    [ ! -s "$T/err" ] || fail "$cmd --help wrote to stderr"
done

# Usage errors: one line "evbus-cli: <what>: <why>" on stderr, exit 2, nothing on stdout.
check_usage() {
    expect_rc 2 "$CLI" "$@"
    [ "$(wc -l <"$T/err")" -eq 1 ] || fail "expected one stderr line for: $*"
    expect_in "$T/err" '^evbus-cli: [^:]+: .+'
    [ ! -s "$T/out" ] || fail "stdout not empty for: $*"
}
check_usage
check_usage --bogus
check_usage nosuchcommand
check_usage -X
check_usage -X novalue
check_usage tail --bogus x
check_usage tail x -n
check_usage tail x -n abc
check_usage tail x --format yaml
check_usage tail
check_usage broker --brokers 0
check_usage broker --port
check_usage broker extra
check_usage schemas bogus
check_usage publish
expect_in "$T/err" 'publish'

# -X goes through evbus_conf_set: unknown names and bad values are configuration errors.
check_usage schemas list -X no.such.property=1
expect_in "$T/err" 'no.such.property'
check_usage -X kafka.linger.ms=abc schemas list
check_usage schemas list -X retry.max=-4
check_usage schemas list -X cli.timeout.ms=0

# Global flags are accepted before and after the subcommand.
expect_rc 0 "$CLI" -q --schemas "$EVBUS_SRC/schemas" schemas list
expect_rc 0 "$CLI" schemas list -q --schemas "$EVBUS_SRC/schemas"
expect_rc 0 "$CLI" schemas -X retry.max=5 list -v
expect_rc 0 "$CLI" --version -b x:1

# The long forms of the global options do what the short ones do.
expect_rc 0 "$CLI" --verbose schemas list
expect_in "$T/err" '^evbus-cli: [0-9]+ schemas from '
expect_rc 0 "$CLI" --verbose --quiet schemas list
[ ! -s "$T/err" ] || fail "--quiet still logged: $(cat "$T/err")"
expect_rc 0 "$CLI" --config "$EVBUS_SRC/tests/integration/data/cli_producer_config.json" --prefix dev validate-config
expect_in "$T/out" '^valid: 2 event types'
expect_in "$T/out" 'dev-content-authoring-xblock-published'
expect_rc 1 "$CLI" --bootstrap-servers 127.0.0.1:1 -X cli.timeout.ms=1000 \
    --config "$EVBUS_SRC/tests/integration/data/cli_producer_config.json" topics
expect_in "$T/err" '^evbus-cli: topics: broker 127.0.0.1:1: '

# The environment is read (bad values are configuration errors too).
EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS= expect_rc 0 "$CLI" schemas list
expect_rc 2 env EVENT_BUS_SCHEMA_DIR=/nonexistent/dir "$CLI" schemas list
expect_in "$T/err" '^evbus-cli: '

# consume and replay are in the table (their real implementations come separately).
expect_rc 0 "$CLI" --help
expect_in "$T/out" '^  consume '
expect_in "$T/out" '^  replay '

done_ok
