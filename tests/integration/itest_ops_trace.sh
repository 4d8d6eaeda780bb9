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

# The consumer side sees them as headers (evbus_event_header; tail prints every header).
expect_rc 0 "$CLI" --prefix $P tail interop-alltypes -n 1 --format json
expect_in "$T/out" "\"traceparent\": ?\"$TP\""
expect_in "$T/out" "\"tracestate\": ?\"$TS\""

# Malformed trace context is refused before anything is sent.
expect_rc 2 "$CLI" --prefix $P -c "$I/data/producer_config.json" publish $TYPE "$EVENTS" \
    --traceparent 00-not-a-trace
expect_in "$T/err" "traceparent: expected W3C"
done_ok
