#!/usr/bin/env bash
# An https:// schema registry (real Apicurio serving only HTTPS, with a certificate from a
# throwaway CA: tests/registry/with-registry --tls) is verified with the brokers' CA,
# kafka.ssl.ca.location: publish and tail work through it; without that CA, with a CA that did
# not sign the certificate, or with a certificate for another host name (a second registry, same
# CA, serving make-certs' mismatch certificate), every event fails with the reason and exit 1.
if [ -z "${EVBUS_TEST_REGISTRY_TLS_DIR:-}" ]; then
    exec "$EVBUS_SRC/tests/registry/with-registry" --tls -- bash "$0" "$@"
fi
source "$EVBUS_SRC/tests/integration/cli_testlib.sh"
D=$EVBUS_SRC/tests/integration/data
TYPE=org.evbus.demo.order.placed.v1
PKI=$EVBUS_TEST_REGISTRY_TLS_DIR
P=tls$$

start_broker --topic orders:1 --topic orders-by-user:1
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
export EVENT_BUS_PRODUCER_CONFIG=$D/cli_producer_config.json
export EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas
unset EVENT_BUS_TOPIC_PREFIX EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL
GOOD=$EVBUS_TEST_REGISTRY_URL
[[ $GOOD == https://* ]] || fail "not an https registry: $GOOD"

# The broker's CA verifies the registry: Confluent framing published, tail decodes it.
expect_rc 0 "$CLI" -X schema.registry.url="$GOOD" -X kafka.ssl.ca.location="$PKI/ca.pem" \
    publish $TYPE "$D/cli_orders.jsonl"
expect_in "$T/err" '3 events sent, 0 lines rejected, 6 messages delivered, 0 not delivered'
expect_rc 0 "$CLI" tail orders --format raw
[ "$(grep -cE $'\tconfluent:[0-9]+\t' "$T/out")" = 3 ] || fail "not confluent-framed: $(cat "$T/out")"
ok
# the bare librdkafka name works the same (it is stored as kafka.ssl.ca.location)
expect_rc 0 "$CLI" -X schema.registry.url="$GOOD" -X ssl.ca.location="$PKI/ca.pem" tail orders
[ "$(jq -r '.data.order_id' "$T/out" | tr '\n' ' ')" = "o-1 o-2 o-3 " ] || fail "tail via https: $(cat "$T/out")"
jq -e 'select(has("error"))' "$T/out" >/dev/null && fail "tail errors: $(cat "$T/out")"
ok

# Refused certificates: each event fails naming the registry and why; exit 1.
refused() { # refused LABEL URL REGEX [-X ...]
    local label=$1 url=$2 re=$3
    shift 3
    expect_rc 1 "$CLI" --prefix refused -X schema.registry.url="$url" "$@" publish $TYPE "$D/cli_orders.jsonl"
    expect_in "$T/err" "0 messages delivered"
    expect_in "$T/err" "^evbus-cli: publish: line 1: schema registry: POST https://127\\.0\\.0\\.1:[0-9]+/apis/ccompat/v7/subjects/[^ ]+: .*$re"
    echo "    $label: $(grep -m1 -o 'schema registry: .*' "$T/err")"
}
refused "system CAs" "$GOOD" 'certificate'
refused "wrong CA" "$GOOD" 'certificate' -X kafka.ssl.ca.location="$PKI/wrong-ca.pem"
# The host-name case needs a registry serving the wrong certificate: a second one, same CA,
# which this inner run of the script's refused() talks to (exported for it).
export -f refused expect_rc expect_in fail ok
export T CLI D TYPE PKI
"$EVBUS_SRC/tests/registry/with-registry" --tls-dir "$PKI" --tls-cert mismatch -- \
    bash -c 'set -euo pipefail; NCHECKS=0; refused "host name" "$EVBUS_TEST_REGISTRY_URL" "(subject name|host name|does not match)" -X kafka.ssl.ca.location="$PKI/ca.pem"' ||
    fail "host-name mismatch not refused as expected"
ok
# "probe" (librdkafka's: look in the usual places) means the system's CAs for the registry too
refused "probe" "$GOOD" 'certificate' -X kafka.ssl.ca.location=probe

done_ok
