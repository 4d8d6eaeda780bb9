#!/usr/bin/env bash
# consume --offset-time TIME (the Python bus's consume_events --offset_time) on real Kafka (the
# mock broker cannot look offsets up by time): it consumes nothing, commits the group's offsets at TIME and exits; the group's next
# run (default start, latest, which would skip everything already there) handles exactly the
# events from TIME on. Also: a new group with no flag starts at the end (the default).
source "$(dirname "$0")/cli_testlib.sh"
if [ -z "${EVBUS_TEST_KAFKA_BOOTSTRAP:-}" ]; then
    exec "$EVBUS_SRC/tests/kafka/with-kafka" -- bash "$0" "$@"
fi
D=$EVBUS_SRC/tests/integration/data
TYPE=org.evbus.demo.order.placed.v1
export EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas
export EVENT_BUS_PRODUCER_CONFIG=$D/cli_producer_config.json
unset EVENT_BUS_TOPIC_PREFIX EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL
plugin=$EVBUS_BUILD/examples/evbus_example_plugin.so

export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$EVBUS_TEST_KAFKA_BOOTSTRAP
expect_rc 2 "$CLI" consume -t orders -g g --offset-time yesterday
expect_rc 2 "$CLI" consume -t orders -g g --offset-time 1h --since 2h
expect_rc 2 "$CLI" consume -t orders -g g --extra '{"offset_time": 5}'
expect_in "$T/err" 'extra'
expect_rc 2 "$CLI" consume -t orders -g g --extra '[]'


head -n 2 "$D/cli_orders.jsonl" >"$T/before.jsonl"
tail -n 1 "$D/cli_orders.jsonl" >"$T/after.jsonl"
expect_rc 0 "$CLI" --prefix ot publish $TYPE "$T/before.jsonl"
# Message timestamps have millisecond resolution: TIME is a millisecond after the last event
# before it was published, and the events after it are published a millisecond after it
# (waits for the clock, bounded, not sleeps).
clock_past() { [ "$(date +%s%3N)" -gt "$1" ]; }
published_ms=$(date +%s%3N)
wait_until 5 clock_past "$published_ms" || fail "clock stuck"
time_ms=$(date +%s%3N)
TIME=$(date -u -d "@$((time_ms / 1000)).$(printf %03d $((time_ms % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ)
wait_until 5 clock_past "$time_ms" || fail "clock stuck"
expect_rc 0 "$CLI" --prefix ot publish $TYPE "$T/after.jsonl"

G=ot-$RANDOM
expect_rc 0 "$CLI" --prefix ot consume -t orders --group_id $G --offset-time "$TIME"
# one line per partition of the group's assignment (the broker auto-created the topic):
# topic, partition, committed offset; the offsets add up to the 2 events before TIME
[ "$(wc -l <"$T/out")" -ge 1 ] || fail "offset-time output: $(cat "$T/out")"
expect_in "$T/out" $'^ot-orders\t[0-9]+\t[0-9]+$'
[ "$(awk -F'\t' '{s += $3} END {print s}' "$T/out")" = 2 ] || fail "committed offsets: $(cat "$T/out")"

# the Python command's spelling: --extra '{"offset_time": TIME}' commits the same offsets
cp "$T/out" "$T/committed"
expect_rc 0 "$CLI" --prefix ot consume -t orders -g "x$G" --extra "{\"offset_time\": \"$TIME\"}"
cmp -s "$T/out" "$T/committed" || fail "--extra offset_time: $(cat "$T/out") vs $(cat "$T/committed")"
ok

run_group() {  # run_group GROUP OUT [FLAGS]: consume with the example plugin until stopped
    local g=$1 out=$2
    shift 2
    "$CLI" --prefix ot consume -t orders -g "$g" "$@" --plugin "$plugin" >"$out.out" 2>"$out" &
    RUN_PID=$!
    PIDS+=("$RUN_PID")
}
run_group $G "$T/g1"
G1_PID=$RUN_PID
wait_until 60 grep -q '^example-plugin: #1 ' "$T/g1" || fail "group after offset-time: $(tail -3 "$T/g1")"
# The default new group (latest) starts at the end: it must handle what comes after it joined
# and none of the 3 events already there.  Wait for its assignment; then publish one new event
# at a time until it handles one (latest is resolved once its fetch starts, so an event sent in
# between can fall before its start: the next one cannot), a bounded number of times.
run_group "new-$RANDOM" "$T/g2" -v
G2_PID=$RUN_PID
wait_until 60 grep -q 'partition(s) assigned' "$T/g2" || fail "new group got no partition: $(tail -3 "$T/g2")"
nlate=0
until grep -q '^example-plugin: #' "$T/g2"; do
    [ "$nlate" -lt 10 ] || fail "new group handled none of $nlate new events: $(tail -3 "$T/g2")"
    nlate=$((nlate + 1))
    sed "s/\"order_id\":\"o-3\"/\"order_id\":\"late-$nlate\"/" "$T/after.jsonl" >"$T/late.jsonl"
    expect_rc 0 "$CLI" --prefix ot publish $TYPE "$T/late.jsonl"
    wait_until 10 grep -q '^example-plugin: #' "$T/g2" || true
done
stop_pid "$G2_PID"
expect_not_in "$T/g2" '^example-plugin: #.*"order_id":"o-[123]"'
expect_in "$T/g2" '^example-plugin: #1 .*"order_id":"late-[0-9]+"'
# g1 handles each late event as well: it is done when it has handled all of them
wait_until 60 grep -q "\"order_id\":\"late-$nlate\"" "$T/g1" || fail "group after offset-time missed late-$nlate"
stop_pid "$G1_PID"
# the group after offset-time: exactly the event from TIME, then the late ones
[ "$(grep -c '^example-plugin: #' "$T/g1")" = $((1 + nlate)) ] ||
    fail "expected 1 event from TIME and $nlate late ones: $(cat "$T/g1")"
expect_in "$T/g1" '^example-plugin: #1 .*"order_id":"o-3"'
expect_not_in "$T/g1" '"order_id":"o-[12]"'
done_ok
