#!/usr/bin/env bash
# evbus publishes, the Python peer (Open edX's client stack) consumes: every Avro type of the
# interop schema, with edge values; data, key, headers and the framing bytes are checked, in
# single-object framing (no registry) and Confluent framing (a real registry, Apicurio), and with W3C
# trace context headers.
if [ -z "${EVBUS_TEST_KAFKA_BOOTSTRAP:-}" ]; then
    exec "$EVBUS_SRC/tests/kafka/with-kafka" -- bash "$0" "$@"
fi
# The real registry (Apicurio): the registry group provides it; run alone, the test starts one.
if [ -z "${EVBUS_TEST_REGISTRY_URL:-}" ]; then
    exec "$EVBUS_SRC/tests/registry/with-registry" -- bash "$0" "$@"
fi
source "$(dirname "$0")/interop_lib.sh"
P=ie$$

peer coverage coverage --schema "$SCHEMA" --sent "$EVENTS"

# The fingerprint evbus prints is the integer; the wire holds its 8 bytes little-endian.
expect_rc 0 "$CLI" schemas fingerprint $TYPE
FP=$(cat "$T/out")
[[ $FP =~ ^[0-9a-f]{16}$ ]] || fail "fingerprint: $FP"
ok

# Single-object framing: producer config in the dict-of-topics form.
expect_rc 0 "$CLI" --prefix $P-so -c "$I/data/producer_config.json" publish $TYPE "$EVENTS"
expect_in "$T/err" "$NEVENTS events sent, 0 lines rejected, $NEVENTS messages delivered, 0 not delivered"
peer so expect-evbus --bootstrap "$BOOTSTRAP" --topic $P-so-interop-alltypes --schema "$SCHEMA" \
    --key-field $KEY_FIELD --sent "$EVENTS" --framing single --evbus-fingerprint "$FP"

# Confluent framing through the real registry (Apicurio): producer config in the list form.
start_registry
printf '{"%s": [{"topic": "interop-alltypes", "event_key_field": "%s"}]}\n' $TYPE $KEY_FIELD >"$T/cfg.json"
expect_rc 0 "$CLI" --prefix $P-cf -c "$T/cfg.json" -X schema.registry.url="$REG" publish $TYPE "$EVENTS"
expect_in "$T/err" "$NEVENTS events sent, 0 lines rejected, $NEVENTS messages delivered, 0 not delivered"
peer cf expect-evbus --bootstrap "$BOOTSTRAP" --topic $P-cf-interop-alltypes --schema "$SCHEMA" \
    --key-field $KEY_FIELD --sent "$EVENTS" --framing confluent --registry "$REG"

# W3C trace context (README "Operating"): two more headers, which the Open edX consumer ignores.
TP=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
expect_rc 0 "$CLI" --prefix $P-tr -c "$I/data/producer_config.json" publish $TYPE "$EVENTS" \
    --traceparent $TP --tracestate vendor=opaque
peer tr expect-evbus --bootstrap "$BOOTSTRAP" --topic $P-tr-interop-alltypes --schema "$SCHEMA" \
    --key-field $KEY_FIELD --sent "$EVENTS" --framing single --traceparent $TP --tracestate vendor=opaque

done_ok
