#!/usr/bin/env bash
# evbus.openedx (python/) as a Django service's EVENT_BUS_PRODUCER and EVENT_BUS_CONSUMER, against
# the real Open edX bus (openedx-events 10.5.0 + edx-event-bus-kafka 6.1.0) on real Kafka with the
# registry double (Confluent framing, the bus's subjects):
#   1. a service's signals (send_event through openedx-events' general_signal_handler) with evbus
#      as producer -> edx-event-bus-kafka's consumer loop and receivers: equal data and metadata,
#      xblock.published, enrollment.created, catalog_info.changed and 10 more types whose data is
#      generated from their schemas (tests/python/oe_gen.py);
#   2. edx-event-bus-kafka's producer -> evbus.openedx.EventConsumer -> receivers, the same;
#   3. a receiver that raises: its event is retried (retry.max 3: 4 attempts), then dead-lettered
#      to <topic>.dlq naming the receiver; the other events are handled once;
#   4. offset_time: a group that has consumed everything starts again at that time;
#   5. the kill switch EVENT_BUS_KAFKA_CONSUMERS_ENABLED=False: nothing consumed, exit 0;
#   6. EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT with no registry answering: the consumer
#      stops with an error after that many failures in a row (exit 1, RegistryError).
if [ -z "${EVBUS_TEST_KAFKA_BOOTSTRAP:-}" ]; then
    exec "$EVBUS_SRC/tests/kafka/with-kafka" -- bash "$0" "$@"
fi
# The real registry (Apicurio), as the other interop tests: run alone, the test starts one.
if [ -z "${EVBUS_TEST_REGISTRY_URL:-}" ]; then
    exec "$EVBUS_SRC/tests/registry/with-registry" -- bash "$0" "$@"
fi
source "$(dirname "$0")/python_lib.sh"
P=py$$
start_registry

"$PY" "$TP/oe_events.py" oe 10 >"$T/events.jsonl" || fail "oe_events.py"
[ "$(wc -l <"$T/events.jsonl")" = 15 ] || fail "expected 15 events: $(wc -l <"$T/events.jsonl")"
TYPES=$(python3 -c 'import json,sys; print(",".join(sorted({json.loads(l)["type"] for l in open(sys.argv[1])})))' "$T/events.jsonl")
[ "$(tr , '\n' <<<"$TYPES" | wc -l)" = 13 ] || fail "expected 13 types: $TYPES"

# --- 1. evbus producer -> the bus's consumer
svc sent1 produce --registry "$REG" --prefix "$P" --events "$T/events.jsonl"
bus got1 consume --registry "$REG" --prefix "$P" --topic oe --group "$P-bus" --types "$TYPES" --count 15
"$PY" "$TP/oe_compare.py" "$T/sent1" "$T/got1" || fail "evbus -> the bus"
ok

# --- 2. the bus's producer -> evbus EventConsumer (a new group starts at latest, as the bus's:
# offset_time from the epoch starts it at the beginning)
sed 's/"topic": "oe"/"topic": "oe2"/' "$T/events.jsonl" >"$T/events2.jsonl"
bus sent2 produce --registry "$REG" --prefix "$P" --service lms "$T/events2.jsonl"
svc got2 consume --registry "$REG" --prefix "$P" --topic oe2 --group "$P-ev" --count 15 \
    --offset-time 1970-01-01T00:00:00+00:00
"$PY" "$TP/oe_compare.py" "$T/sent2" "$T/got2" || fail "the bus -> evbus"
ok

# --- 3. a receiver that raises
head -3 "$T/events.jsonl" | sed 's/"topic": "oe"/"topic": "oefail"/' >"$T/fail.jsonl"
svc sent3 produce --registry "$REG" --prefix "$P" --events "$T/fail.jsonl"
BAD=block-v1:edX+DemoX+2024+type@problem+block@q1
grep -q "$BAD" "$T/sent3" || fail "no event with $BAD"
svc got3 consume --registry "$REG" --prefix "$P" --topic oefail --group "$P-fail" --count 6 \
    --offset-time 1970-01-01T00:00:00+00:00 --fail-key "$BAD" --stop-when-dead-lettered --timeout 120
BAD_ID=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if sys.argv[2] in json.dumps(e["data"]): print(e["id"])' "$T/sent3" "$BAD")
python3 - "$T/sent3" "$T/got3" "$BAD_ID" <<'PY' || fail "retries of the failing event, others once"
import collections, json, sys
sent = [json.loads(l)["id"] for l in open(sys.argv[1])]
calls = collections.Counter(json.loads(l)["id"] for l in open(sys.argv[2]))
for i in sent:
    want = 4 if i == sys.argv[3] else 1
    assert calls[i] == want, (i, calls[i], want)
print("receivers: the failing event 4 times (retry.max 3), the %d others once" % (len(sent) - 1))
PY
ok
EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL=$REG \
    expect_rc 0 "$CLI" tail "$P-oefail.dlq" --no-prefix --from-beginning -n 10 --format json
python3 - "$T/out" "$BAD_ID" <<'PY' || fail "the dead letter"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
assert len(got) == 1, got
h = got[0]["headers"]
assert got[0]["id"] == sys.argv[2], got[0]["id"]
assert h["evbus_attempts"] == "4", h
assert h["evbus_handler"] == "openedx-receivers", h
assert "consume.<locals>.failing=ValueError('receiver refuses" in h["evbus_error"], h["evbus_error"]
assert "1 receiver(s) out of 2 failed" in h["evbus_error"], h["evbus_error"]
print("dead letter: %s after 4 attempts, naming the receiver" % got[0]["id"])
PY
ok

# --- 4. offset_time: group $P-ev has consumed all of oe2; new events, then from a time between
before=$("$PY" -c 'import datetime; print(datetime.datetime.now(datetime.timezone.utc).isoformat())')
head -3 "$T/events2.jsonl" >"$T/events4.jsonl"
# the bus's producer stamps CreateTime after $before; the earlier 15 are older
bus sent4 produce --registry "$REG" --prefix "$P" --service lms "$T/events4.jsonl"
svc got4 consume --registry "$REG" --prefix "$P" --topic oe2 --group "$P-ev" --count 3 \
    --offset-time "$before"
"$PY" "$TP/oe_compare.py" "$T/sent4" "$T/got4" || fail "offset_time $before"
ok

# --- 5. kill switch
svc got5 consume --registry "$REG" --prefix "$P" --topic oe2 --group "$P-ks" --count 1 \
    --offset-time 1970-01-01T00:00:00+00:00 --setting EVENT_BUS_KAFKA_CONSUMERS_ENABLED=false --timeout 60
[ ! -s "$T/got5" ] || fail "the kill switch consumed: $(head -3 "$T/got5")"
expect_in "$T/got5.err" "Kafka consumers not enabled, exiting"
expect_in "$T/got5.err" "received 0 events"

# --- 6. consecutive-errors limit: a registry that does not answer (a port nobody listens on), so
# no writer schema can be fetched
DEAD=http://127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rc=0
timeout 120 "$PY" "$TP/oe_service.py" consume --bootstrap "$BOOTSTRAP" --registry "$DEAD" --prefix "$P" \
    --topic oe2 --group "$P-ce" --count 1 --offset-time 1970-01-01T00:00:00+00:00 \
    --setting EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT=2 --timeout 100 \
    >"$T/got6" 2>"$T/got6.err" || rc=$?
[ $rc != 0 ] && [ $rc != 124 ] || { tail -20 "$T/got6.err" >&2; fail "consecutive errors: exit $rc"; }
expect_in "$T/got6.err" "RegistryError"
[ ! -s "$T/got6" ] || fail "events handled without a registry"
ok
echo "ktest_python_openedx: $NCHECKS checks passed"
