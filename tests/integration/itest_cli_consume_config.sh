#!/usr/bin/env bash
# consume --config / validate-config --consumer / consume --processes on the embedded broker:
# every config error at its JSON path (exit 2), a configured v2 plugin and a filter that vetoes
# events named by the file, a disabled plugin reported once, flags beating the file, and the
# supervised worker processes (consume_testlib.sh's scenario).
source "$(dirname "$0")/cli_testlib.sh"
source "$(dirname "$0")/consume_testlib.sh"

# Validation without a broker: a good file, then every problem of a bad one at its path.
write_config "$T/good.json" "g-$PFX" 0
expect_rc 0 "$CLI" validate-config --consumer "$T/good.json"
expect_in "$T/out" '^valid: consumer config, 2 topics, 3 plugin entries$'
expect_in "$T/out" "^plugin${TAB:-	}$T/configured.so"
cat >"$T/bad.json" <<'JSON'
{"topics": ["ok", "bad topic!"], "group": 7, "colour": "red",
 "plugins": [{"path": "missing.so", "isolate": "yes", "settings": {"k": [1]}, "subscriptions": []}],
 "retry": {"max": 5000}, "dlq_suffix": ""}
JSON
expect_rc 2 "$CLI" validate-config --consumer "$T/bad.json"
expect_in "$T/err" '^evbus-cli: .*bad.json: \$: unknown key "colour"'
expect_in "$T/err" '\$\.topics\[1\]: topic name "bad topic!"'
expect_in "$T/err" '\$\.group: an integer, expected a non-empty string'
expect_in "$T/err" '\$\.plugins\[0\]\.path: ".*missing.so" does not exist'
expect_in "$T/err" '\$\.plugins\[0\]\.isolate: a string, expected true or false'
expect_in "$T/err" '\$\.plugins\[0\]\.settings\.k: an array'
expect_in "$T/err" '\$\.plugins\[0\]\.subscriptions: empty array'
expect_in "$T/err" '\$\.retry\.max: invalid value "5000"'
expect_in "$T/err" '\$\.dlq_suffix: empty string'
[ "$(wc -l <"$T/err")" = 9 ] || fail "expected 9 problems: $(cat "$T/err")"
# consume refuses it the same way, before touching a broker; so does the environment variable.
expect_rc 2 "$CLI" -b 127.0.0.1:1 consume --config "$T/bad.json"
expect_in "$T/err" '\$\.retry\.max: invalid value "5000"'
EVBUS_CONSUMER_CONFIG=$T/bad.json expect_rc 2 "$CLI" -b 127.0.0.1:1 consume
expect_in "$T/err" '^evbus-cli: EVBUS_CONSUMER_CONFIG: \$\.group'

# -X plugin.<name>.<key> reaches a v2 plugin's enabled()/init() (dispatch: no broker needed).
EXAMPLE=$EVBUS_BUILD/examples/evbus_example_plugin.so
echo '{"type":"org.evbus.x","data":{"a":1}}' >"$T/one.jsonl"
expect_rc 0 "$CLI" -X plugin.example-logger.label=from-x dispatch --plugin "$EXAMPLE" "$T/one.jsonl"
expect_in "$T/err" '^from-x: #1 org.evbus.x '
expect_rc 0 "$CLI" -v -X plugin.example-logger.enabled=false dispatch --plugin "$EXAMPLE" "$T/one.jsonl"
expect_in "$T/err" 'not enabled: plugin.example-logger.enabled is false$'
expect_rc 2 "$CLI" -X plugin.nokey=1 dispatch --plugin "$EXAMPLE" "$T/one.jsonl"
expect_in "$T/err" 'expected plugin.<plugin name>.<key>'

start_broker
publish_orders 5 s
publish_xblocks
# One process: -c after the verb is the consumer config; -g beats the file's group.
"$CLI" -v -b "$BOOTSTRAP" --prefix "$PFX" consume -c "$T/good.json" -g "flag-$PFX" --from-beginning \
    >"$T/one.out" 2>"$T/one.err" &
one=$!
PIDS+=("$one")
wait_until 60 handled_ge 5 || fail "handled $(handled_ids | wc -l) of 5: $(cat "$T/one.err")"
wait_until 60 vetoed_ge "$NXB" || fail "vetoed $(vetoed_ids | wc -l) of $NXB"
expect_in "$T/one.err" "as group flag-$PFX\$"
expect_in "$T/one.err" '^evbus-cli: rejected: \{"type":"org.openedx.content_authoring.xblock.published.v1".*"handler":"test-filter","error":"filtered out: type '
expect_in "$EVBUS_TEST_PLUGIN_OUT" "^init:test-configured:label=worker:group=flag-$PFX:secret=\(null\) "
stop_pid "$one" TERM
[ "$STOP_RC" = 0 ] || fail "consume exit $STOP_RC: $(tail "$T/one.err")"
expect_in "$T/one.err" "^evbus-cli: consume: 5 handled, 0 dead-lettered, 0 DLQ write failures, 0 transient errors \(retried\), $NXB rejected\$"
[ "$(grep -c 'not enabled: switched off by its "enabled" setting' "$T/one.err")" = 1 ] || fail "disabled report"
check_veto

processes_scenario 8 # 4 partitions per topic on the embedded broker
done_ok
