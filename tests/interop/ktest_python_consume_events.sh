#!/usr/bin/env bash
# `manage.py consume_events` (openedx-events' own command) in a minimal Django project whose only
# event bus settings are EVENT_BUS_CONSUMER = "evbus.openedx.EventConsumer" and the
# EVENT_BUS_KAFKA_* names (tests/python/djproject), on real Kafka:
#   - --extra '{"offset_time": ...}' is passed through; the receiver gets the events;
#   - EVBUS_METRICS_PORT serves the library's Prometheus text and /healthz;
#   - SIGTERM stops it cleanly (exit 0) with its offsets committed: started again without
#     offset_time, it gets only the event sent in between.
if [ -z "${EVBUS_TEST_KAFKA_BOOTSTRAP:-}" ]; then
    exec "$EVBUS_SRC/tests/kafka/with-kafka" -- bash "$0" "$@"
fi
# The real registry (Apicurio), as the other interop tests: run alone, the test starts one.
if [ -z "${EVBUS_TEST_REGISTRY_URL:-}" ]; then
    exec "$EVBUS_SRC/tests/registry/with-registry" -- bash "$0" "$@"
fi
source "$(dirname "$0")/python_lib.sh"
P=pyce$$
start_registry
export TEST_BOOTSTRAP=$BOOTSTRAP TEST_REGISTRY=$REG TEST_PREFIX=$P RX_OUT=$T/rx.out
: >"$RX_OUT"
head -2 "$I/data/openedx_events.jsonl" | sed 's/"topic": "oe-content"/"topic": "ce"/' >"$T/ev1.jsonl"
svc sent1 produce --registry "$REG" --prefix "$P" --events "$T/ev1.jsonl"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$TP/djproject" && TEST_METRICS_PORT=$PORT exec "$PY" manage.py consume_events -t ce -g "$P-g" \
    --extra '{"offset_time": "1970-01-01T00:00:00+00:00"}') >"$T/ce1.out" 2>"$T/ce1.err" &
pid=$!
PIDS+=("$pid")
wait_until 120 lines_ge "$RX_OUT" 2 || { tail -20 "$T/ce1.err" >&2; fail "consume_events: $(cat "$RX_OUT")"; }
wait_until 30 bash -c "curl -fsS http://127.0.0.1:$PORT/metrics >'$T/metrics' 2>/dev/null" ||
    fail "no /metrics on EVBUS_METRICS_PORT $PORT"
expect_in "$T/metrics" '^evbus_consumer_events_total\{type="org.openedx.content_authoring.xblock.published.v1",outcome="handled"\} 2$'
curl -fsS "http://127.0.0.1:$PORT/healthz" >"$T/healthz" || fail "/healthz not 200: $(cat "$T/healthz")"
ok
stop_pid "$pid" TERM
[ "$STOP_RC" = 0 ] || { tail -20 "$T/ce1.err" >&2; fail "consume_events after SIGTERM exited $STOP_RC"; }
ok
python3 - "$T/sent1" "$RX_OUT" <<'PY' || fail "the receiver's events"
import json, sys
sent = [json.loads(l) for l in open(sys.argv[1])]
got = [l.split() for l in open(sys.argv[2])]
assert sorted(g[0] for g in got) == sorted(e["id"] for e in sent), (got, sent)
assert sorted(g[1] for g in got) == sorted(e["key"] for e in sent), (got, sent)
print("consume_events: the receiver got the %d events" % len(got))
PY
ok

# committed: a new event, then the same group again without offset_time gets only it
sed -n 1p "$T/ev1.jsonl" >"$T/ev2.jsonl"
svc sent2 produce --registry "$REG" --prefix "$P" --events "$T/ev2.jsonl"
(cd "$TP/djproject" && exec "$PY" manage.py consume_events -t ce -g "$P-g") >"$T/ce2.out" 2>"$T/ce2.err" &
pid=$!
PIDS+=("$pid")
wait_until 120 lines_ge "$RX_OUT" 3 || { tail -20 "$T/ce2.err" >&2; fail "second consume_events"; }
stop_pid "$pid" TERM
[ "$STOP_RC" = 0 ] || fail "second consume_events after SIGTERM exited $STOP_RC"
[ "$(wc -l <"$RX_OUT")" = 3 ] || fail "redelivered after SIGTERM: $(cat "$RX_OUT")"
[ "$(sed -n 3p "$RX_OUT" | cut -d' ' -f1)" = "$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$T/sent2")" ] ||
    fail "the second run got another event: $(cat "$RX_OUT")"
ok
echo "ktest_python_consume_events: $NCHECKS checks passed"
