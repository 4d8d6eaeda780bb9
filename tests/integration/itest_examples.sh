# examples/producer (written only against the fixed public surface) publishes the sample
# events, configured purely through the EVENT_BUS_* environment; tail reads back exactly
# the data that was sent, on every enabled topic, and nothing on the disabled one.
. "$EVBUS_SRC/tests/integration/cli_testlib.sh"

PRODUCER=$EVBUS_BUILD/examples/producer
[ -x "$PRODUCER" ] || fail "examples/producer not built"
start_broker
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
export EVENT_BUS_PRODUCER_CONFIG=$EVBUS_SRC/examples/producer-config.json
export EVENT_BUS_TOPIC_PREFIX=ex$RANDOM
export EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas
type=org.evbus.demo.order.placed.v1
events=$EVBUS_SRC/examples/events/$type.jsonl

expect_rc 0 "$PRODUCER" "$type" <"$events"
expect_in "$T/err" "^producer: 3 sent, 0 rejected, 0 undelivered$"

# every enabled topic has the three events, data byte-identical (compact JSON) to the input
python3 - "$events" >"$T/want" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    print(json.dumps(json.loads(line), separators=(",", ":"), ensure_ascii=False))
PY
sort "$T/want" >"$T/want.sorted"
for topic in orders orders-by-customer; do
    expect_rc 0 "$CLI" tail "$topic" --from-beginning --format json
    python3 -c '
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    assert o["type"] == "org.evbus.demo.order.placed.v1", o
    print(json.dumps(o["data"], separators=(",", ":"), ensure_ascii=False))' <"$T/out" | sort >"$T/got"
    diff -u "$T/want.sorted" "$T/got" || fail "$topic: data differs from what was published"
    ok
done
# keys: order_id on "orders", the username on "orders-by-customer"
expect_rc 0 "$CLI" tail orders --from-beginning --key o-1002 --format json
[ "$(wc -l <"$T/out")" = 1 ] || fail "key o-1002 should match one event"; ok
expect_rc 0 "$CLI" tail orders-by-customer --from-beginning --key ann --format json
[ "$(wc -l <"$T/out")" = 2 ] || fail "key ann should match two events"; ok
# the disabled topic was never written (tail of a missing topic is exit 1)
expect_rc 1 "$CLI" tail orders-archive --from-beginning

# a bad event: rejected with its line number and error code, the rest still go
printf '%s\n' '{"order_id": "o-9"}' "$(head -1 "$events")" >"$T/mixed.jsonl"
expect_rc 1 "$PRODUCER" "$type" <"$T/mixed.jsonl"
expect_in "$T/err" "^producer: line 1: ERR_SCHEMA: .*placed_at"
expect_in "$T/err" "^producer: 1 sent, 1 rejected, 0 undelivered$"

# a bad config: every problem named, exit 2, nothing sent
export EVENT_BUS_PRODUCER_CONFIG='{"org.evbus.demo.order.placed.v1": [{"topic": "x y", "event_key_field": "nope"}]}'
expect_rc 2 "$PRODUCER" "$type" <"$events"
expect_in "$T/err" 'event_key_field: key path "nope" does not resolve'
expect_in "$T/err" '\.topic: topic name "ex[0-9]+-x y" has an illegal character'
echo "itest_examples: $NCHECKS checks passed"
