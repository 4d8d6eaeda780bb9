#!/usr/bin/env bash
# evbus-cli publish in Confluent framing through a real schema registry (Apicurio,
# tests/registry/with-registry) on the embedded broker: key and value carry the registry's ids
# of the topic's subjects, tail decodes with the registry URL and reports an error field for
# each event without it (it never guesses).
if [ -z "${EVBUS_TEST_REGISTRY_URL:-}" ]; then
    exec "$EVBUS_SRC/tests/registry/with-registry" -- bash "$0" "$@"
fi
source "$EVBUS_SRC/tests/integration/cli_testlib.sh"
REG=$EVBUS_TEST_REGISTRY_URL
D=$EVBUS_SRC/tests/integration/data
TYPE=org.evbus.demo.order.placed.v1
P=cf$$
export EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas
export EVENT_BUS_PRODUCER_CONFIG=$D/cli_producer_config.json
unset EVENT_BUS_TOPIC_PREFIX EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL

start_broker
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
expect_rc 0 "$CLI" --prefix $P -X schema.registry.url="$REG" publish $TYPE "$D/cli_orders.jsonl"
expect_in "$T/err" '3 events sent, 0 lines rejected'
expect_rc 0 "$CLI" --prefix $P tail orders --format raw
[ "$(grep -cE $'\tconfluent:[0-9]+\t[0-9a-f]+\tconfluent:[0-9]+\t[0-9a-f]+$' "$T/out")" = 3 ] ||
    fail "raw: $(cut -c1-300 "$T/out")"
ok
# The ids are the registry's for the record-name-per-topic subjects of the full topic name.
vid=$(curl -sf "$REG/subjects/$P-orders-$TYPE.CloudEvent/versions/latest" | jq -r .id)
kid=$(curl -sf "$REG/subjects/$P-orders-string/versions/latest" | jq -r .id)
[[ $vid =~ ^[0-9]+$ && $kid =~ ^[0-9]+$ ]] || fail "subjects of $P-orders: $(curl -s "$REG/subjects")"
[ "$(grep -cE $'\tconfluent:'"$kid"$'\t[0-9a-f]*\tconfluent:'"$vid"$'\t' "$T/out")" = 3 ] ||
    fail "ids in the messages are not key $kid, value $vid: $(cut -c1-300 "$T/out")"
ok
EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL=$REG expect_rc 0 "$CLI" --prefix $P tail orders
[ "$(jq -r 'select(has("error") | not) | .data.order_id' "$T/out" | sort | tr '\n' ' ')" = "o-1 o-2 o-3 " ] ||
    fail "Confluent-framed tail: $(cat "$T/out")"
ok
expect_rc 0 "$CLI" --prefix $P tail orders
[ "$(jq -r '.error' "$T/out" | grep -c 'no schema registry')" = 3 ] || fail "no registry: $(cat "$T/out")"
ok
done_ok
