#!/usr/bin/env bash
# evbus-cli dispatch: events from a file through plugins, no broker.  The example plugin on the
# example events (JSON lines and a JSON array, in-process and --isolate), the failing test
# plugin (exit 1, a result line per event, malformed input failing only its own event), and
# the lifecycle events as `consume` fires them.
source "$(dirname "$0")/cli_testlib.sh"
P=$EVBUS_BUILD/tests/plugins
EX=$EVBUS_BUILD/examples/evbus_example_plugin.so
# No broker anywhere: an unreachable one must not matter.
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1

# The example events ({"type", "data"} made from examples/events/<type>.jsonl).
for f in "$EVBUS_SRC"/examples/events/*.jsonl; do
    jq -c --arg t "$(basename "$f" .jsonl)" '{type: $t, data: .}' "$f"
done >"$T/ex.jsonl"
nex=$(wc -l <"$T/ex.jsonl")
[ "$nex" -ge 5 ] || fail "only $nex example events"
jq -s . "$T/ex.jsonl" >"$T/ex.json"

for mode in "" --isolate; do
    for input in ex.jsonl ex.json; do
        expect_rc 0 "$CLI" dispatch --plugin "$EX" $mode "$T/$input"
        [ "$(wc -l <"$T/out")" = "$nex" ] || fail "$input $mode: $(wc -l <"$T/out") result lines"
        [ "$(jq -r 'select(.ok == true) | .type' "$T/out")" = "$(jq -r .type "$T/ex.jsonl")" ] ||
            fail "$input $mode: results $(cat "$T/out")"
        # the plugin saw every event, with its data, and its fini ran
        [ "$(grep -c '^example-plugin: #' "$T/err")" = "$nex" ] || fail "plugin lines: $(cat "$T/err")"
        expect_in "$T/err" "^example-plugin: $nex events\$"
        expect_in "$T/err" "^evbus-cli: dispatch: $nex events, $nex ok, 0 failed"
        expect_in "$T/err" '"usage_key":"block-v1:edX\+DemoX\+2026\+type@html\+block@intro"'
    done
done
# line numbers only for JSON lines
[ "$(jq -r .line "$T/out" | sort -u)" = null ] || fail "array results carry line numbers"
ok
# stdin, and --plugins DIR
mkdir "$T/plugins" && cp "$EX" "$T/plugins/"
expect_rc 0 "$CLI" dispatch --plugins "$T/plugins" - <"$T/ex.jsonl"
[ "$(jq -r '"\(.n),\(.line)"' "$T/out" | head -2 | tr '\n' ' ')" = "1,1 2,2 " ] || fail "n/line: $(cat "$T/out")"
ok
# -q: only the result lines
expect_rc 0 "$CLI" -q dispatch "$T/ex.jsonl"
expect_not_in "$T/err" 'evbus-cli'

# The failing plugin, with the recording and lifecycle plugins: a result line per event, exit 1.
cat >"$T/mixed.jsonl" <<'J'
{"type":"org.evbus.test.consumer.v1","data":{"action":"a"},"id":"id-1","key":"k1"}

{"type":"org.evbus.test.other.v1","data":{"x":1},"id":"id-2"}
{"type":"org.evbus.test.consumer.v1","data":{"action":"b"},"id":"id-3"}
{"type":"org.evbus.test.consumer.v1"}
{"type": not json
{"type":"org.evbus.test.consumer.v1","data":{}},{"type":"x","data":{}}
J
for mode in "" --isolate; do
    rm -f "$T/rec"
    EVBUS_TEST_PLUGIN_OUT=$T/rec expect_rc 1 "$CLI" dispatch $mode --plugin "$P/evbus_test_plugin_ok.so" \
        --plugin "$P/evbus_test_plugin_failing.so" --plugin "$P/evbus_test_plugin_lifecycle.so" "$T/mixed.jsonl"
    python3 - "$T/out" <<'PY' || fail "mixed results $mode: $(cat "$T/out")"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
assert [x["line"] for x in r] == [1, 3, 4, 5, 6, 7], r
assert [x["ok"] for x in r] == [False, True, False, False, False, False], r
assert r[0]["id"] == "id-1" and r[0]["error"] == "ERR_HANDLER", r[0]
assert r[0]["message"].startswith("test-failing") and "always fails" in r[0]["message"], r[0]
assert r[1]["id"] == "id-2" and r[1]["type"] == "org.evbus.test.other.v1", r[1]
assert r[3]["error"] == "ERR_INVALID_ARG" and r[3]["id"] is None, r[3]
assert r[4]["error"] == "ERR_INVALID_ARG" and "line 6" in r[4]["message"], r[4]
assert r[5]["error"] == "ERR_INVALID_ARG" and "line 7" in r[5]["message"], r[5]
PY
    ok
    expect_in "$T/err" '^evbus-cli: dispatch: 6 events, 1 ok, 5 failed'
    # handlers ran in order: ok before failing (registration order), for the 2 consumer events
    [ "$(awk '$1 == "ok" || $1 == "fail" {print $1, $2}' "$T/rec" | tr '\n' ' ')" = \
      "ok id-1 fail id-1 ok id-2 ok id-3 fail id-3 " ] || fail "handler calls $mode: $(cat "$T/rec")"
    ok
    # lifecycle events, as consume fires them: received per dispatched event, failed per failure
    [ "$(grep -c '^evbus.event.received ' "$T/rec")" = 3 ] || fail "received $mode: $(cat "$T/rec")"
    [ "$(grep -c '^evbus.handler.failed ' "$T/rec")" = 2 ] || fail "failed $mode: $(cat "$T/rec")"
    [ "$(grep -c '^evbus.handler.invoked ' "$T/rec")" -ge 3 ] || fail "invoked $mode: $(cat "$T/rec")"
    ok
done

# Usage errors: exit 2.
expect_rc 2 "$CLI" dispatch
expect_in "$T/err" '^evbus-cli: dispatch: no FILE given'
expect_rc 2 "$CLI" dispatch "$T/nope.json"
expect_rc 2 "$CLI" dispatch --plugin "$T/nope.so" "$T/ex.jsonl"
echo '[1, {"type' >"$T/bad.json"
expect_rc 2 "$CLI" dispatch "$T/bad.json"
expect_in "$T/err" '^evbus-cli: dispatch: .*bad.json: invalid JSON'
expect_rc 0 "$CLI" dispatch --help
expect_in "$T/out" '^Usage: evbus-cli dispatch'

done_ok
