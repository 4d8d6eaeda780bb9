#!/usr/bin/env bash
# evbus-cli against real Kafka (tests/kafka/with-kafka sets EVBUS_TEST_KAFKA_BOOTSTRAP):
# publish -> tail round trip, --since via offsetsForTimes (which the mock broker lacks),
# -f across partitions, topics with broker facts.
source "$(dirname "$0")/cli_testlib.sh"
if [ -z "${EVBUS_TEST_KAFKA_BOOTSTRAP:-}" ]; then
    exec "$EVBUS_SRC/tests/kafka/with-kafka" -- bash "$0" "$@"
fi
D=$EVBUS_SRC/tests/integration/data
TYPE=org.evbus.demo.order.placed.v1
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$EVBUS_TEST_KAFKA_BOOTSTRAP
export EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas
export EVENT_BUS_PRODUCER_CONFIG=$D/cli_producer_config.json
export EVENT_BUS_TOPIC_PREFIX=kt$$
BOOTSTRAP=$EVBUS_TEST_KAFKA_BOOTSTRAP

# Missing topic: exit 1 and not auto-created by tail.
expect_rc 1 "$CLI" tail orders
expect_in "$T/err" "kt$$-orders: topic does not exist"

# Round trip (the broker auto-creates the topics, 3 partitions).
expect_rc 0 "$CLI" publish $TYPE "$D/cli_orders.jsonl"
expect_in "$T/err" '3 events sent, 0 lines rejected, 6 messages delivered'
expect_rc 0 "$CLI" tail orders
python3 - "$D/cli_orders.jsonl" "$T/out" <<'PY' || fail "round trip"
import json, sys
canon = lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False)
want = sorted(canon(json.loads(l)) for l in open(sys.argv[1]) if l.strip())
got = sorted(canon(json.loads(l)["data"]) for l in open(sys.argv[2]))
assert got == want, (got, want)
PY
ok

# --since: a time after the first batch selects only what came later.
mark_ms=$(date +%s%3N)
mark=$(date -u -d "@$((mark_ms / 1000)).$(printf %03d $((mark_ms % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ)
clock_past() { [ "$(date +%s%3N)" -gt "$1" ]; }
wait_until 5 clock_past "$mark_ms" || fail "clock stuck"
sed -n 2p "$D/cli_orders.jsonl" | "$CLI" -q publish $TYPE -
expect_rc 0 "$CLI" tail orders --since "$mark"
[ "$(jq -r .key "$T/out")" = o-2 ] || fail "--since $mark: $(cat "$T/out")"
ok
expect_rc 0 "$CLI" tail orders --since 1h
[ "$(wc -l <"$T/out")" = 4 ] || fail "--since 1h: $(wc -l <"$T/out") events"
ok
expect_rc 0 "$CLI" tail orders --since 2999-01-01T00:00:00Z
[ ! -s "$T/out" ] || fail "--since in the future"

# topics sees the broker's partitions and end offsets.
expect_rc 0 "$CLI" topics
TAB=$'\t'
expect_in "$T/out" "${TAB}kt$$-orders${TAB}enabled${TAB}single-object${TAB}exists${TAB}partitions=3${TAB}end=[0-9]+,[0-9]+,[0-9]+\$"
expect_in "$T/out" "${TAB}kt$$-orders-audit${TAB}disabled${TAB}single-object${TAB}missing\$"

# -f follows all partitions.
"$CLI" -v tail orders -n 0 -f --count 3 >"$T/f.out" 2>"$T/f.err" &
fpid=$!
PIDS+=("$fpid")
wait_until 60 grep -q "orders \[2\]: offsets" "$T/f.err" || fail "tail -f did not start"
"$CLI" -q publish $TYPE "$D/cli_orders.jsonl"
wait_until 60 lines_ge "$T/f.out" 3 || fail "tail -f saw $(wc -l <"$T/f.out")"
wait "$fpid" || fail "tail -f --count 3 exit status"
ok

done_ok
