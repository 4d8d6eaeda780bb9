#!/usr/bin/env bash
# W3C trace context (issue 15): publish --traceparent/--tracestate writes the two headers; the
# Python peer (Open edX's client stack, tests/interop) still reads every such event and finds
# them; tail shows them; a malformed traceparent is a usage error.  On the embedded broker, so
# it runs with the integration tests (ktest_interop_* cover the wire on real Kafka).
source "$(dirname "$0")/cli_testlib.sh"
start_broker
export EVBUS_TEST_KAFKA_BOOTSTRAP=$BOOTSTRAP
# interop_lib.sh sources cli_testlib.sh again (a new $T and PIDS): keep the broker in PIDS.
broker_pids=("${PIDS[@]}")
first_T=$T
source "$EVBUS_SRC/tests/interop/interop_lib.sh"
PIDS+=("${broker_pids[@]}")
rm -rf "$first_T"

TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
TS=congo=t61rcWkgMzE,rojo=00f067aa0ba902b7
P=it$$
expect_rc 0 "$CLI" --prefix $P -c "$I/data/producer_config.json" publish $TYPE "$EVENTS" \
    --traceparent $TP --tracestate $TS
expect_in "$T/err" "$NEVENTS events sent, 0 lines rejected, $NEVENTS messages delivered, 0 not delivered"
peer trace expect-evbus --bootstrap "$BOOTSTRAP" --topic $P-interop-alltypes --schema "$SCHEMA" \
    --key-field $KEY_FIELD --sent "$EVENTS" --framing single --traceparent $TP --tracestate $TS

# --log-format json: every stderr line of publish is a JSON object; audit lines per produced
# event carry topic, partition, offset, ce_type and ce_id.
expect_rc 0 "$CLI" --prefix $P-j -c "$I/data/producer_config.json" -X audit.log=true publish $TYPE \
    "$EVENTS" --log-format json
"$PY" - "$T/err" "$NEVENTS" <<'PY' || fail "publish --log-format json"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
objs = [json.loads(l) for l in lines]  # every line parses
assert all(isinstance(o.get(k), str) for o in objs for k in ("time", "level", "message")), objs
audit = [o for o in objs if o.get("subsystem") == "audit" and o["message"] == "event produced"]
assert len(audit) == int(sys.argv[2]), (len(audit), sys.argv[2])
assert all(all(k in o for k in ("topic", "partition", "offset", "ce_type", "ce_id")) for o in audit)
assert any(o["message"].startswith("%s events sent" % sys.argv[2]) for o in objs), objs[-1]
PY
ok

# The consumer side sees them as headers (evbus_event_header; tail prints every header).
expect_rc 0 "$CLI" --prefix $P tail interop-alltypes -n 1 --format json
expect_in "$T/out" "\"traceparent\": ?\"$TP\""
expect_in "$T/out" "\"tracestate\": ?\"$TS\""

# Malformed trace context is refused before anything is sent.
expect_rc 2 "$CLI" --prefix $P -c "$I/data/producer_config.json" publish $TYPE "$EVENTS" \
    --traceparent 00-not-a-trace
expect_in "$T/err" "traceparent: expected W3C"
done_ok
