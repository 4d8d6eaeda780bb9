#!/usr/bin/env bash
# An https:// schema registry (tests/registry_double.py with a certificate from a throwaway CA,
# tests/kafka/make-certs) is verified with the brokers' CA, kafka.ssl.ca.location: publish and
# tail work through it; without that CA, with a CA that did not sign the certificate, or with a
# certificate for another host name, every event fails with the reason and exit status 1.
source "$(dirname "$0")/cli_testlib.sh"
D=$EVBUS_SRC/tests/integration/data
TYPE=org.evbus.demo.order.placed.v1
PKI=$T/pki
"$EVBUS_SRC/tests/kafka/make-certs" "$PKI" --no-java-stores

start_broker --topic orders:1 --topic orders-by-user:1
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
export EVENT_BUS_PRODUCER_CONFIG=$D/cli_producer_config.json
export EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas
unset EVENT_BUS_TOPIC_PREFIX EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL

start_double() { # start_double NAME CERT: sets URL
    python3 "$EVBUS_SRC/tests/registry_double.py" --tls-cert "$PKI/$2.pem" --tls-key "$PKI/$2.key" \
        >"$T/$1.out" 2>"$T/$1.err" &
    PIDS+=("$!")
    wait_until 30 grep -q '^listening on https://' "$T/$1.out" || fail "double $1 did not start: $(cat "$T/$1.err")"
    URL=$(sed -n 's/^listening on //p' "$T/$1.out")
}
start_double good server
GOOD=$URL
start_double mismatch mismatch
MISMATCH=$URL

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
    expect_in "$T/err" "^evbus-cli: publish: line 1: schema registry: POST https://127\\.0\\.0\\.1:[0-9]+/subjects/[^ ]+: .*$re"
    echo "    $label: $(grep -m1 -o 'schema registry: .*' "$T/err")"
}
refused "system CAs" "$GOOD" 'certificate'
refused "wrong CA" "$GOOD" 'certificate' -X kafka.ssl.ca.location="$PKI/wrong-ca.pem"
refused "host name" "$MISMATCH" '(subject name|host name|does not match)' -X kafka.ssl.ca.location="$PKI/ca.pem"
# "probe" (librdkafka's: look in the usual places) means the system's CAs for the registry too
refused "probe" "$GOOD" 'certificate' -X kafka.ssl.ca.location=probe

done_ok
