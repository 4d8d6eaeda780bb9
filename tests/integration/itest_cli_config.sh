#!/usr/bin/env bash
# evbus-cli validate-config, schemas and topics.
source "$(dirname "$0")/cli_testlib.sh"
D=$EVBUS_SRC/tests/integration/data
export EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas
unset EVENT_BUS_PRODUCER_CONFIG EVENT_BUS_TOPIC_PREFIX EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS

# --- validate-config: a good config in both forms, from FILE, -c, the environment (text or path)
expect_rc 0 "$CLI" validate-config "$D/cli_producer_config.json"
expect_in "$T/out" $'^org.evbus.demo.order.placed.v1\torders\tkey=order_id\tenabled\tsingle-object$'
expect_in "$T/out" $'^org.evbus.demo.order.placed.v1\torders-audit\tkey=order_id\tdisabled\tsingle-object$'
expect_in "$T/out" $'^org.openedx.content_authoring.xblock.published.v1\tcontent-authoring-xblock-published\tkey=xblock_info.usage_key\tenabled\tsingle-object$'
expect_in "$T/out" '^valid: 2 event types, 4 topics \(3 enabled\)$'
expect_rc 0 "$CLI" --prefix dev -c "$D/cli_producer_config.json" validate-config
expect_in "$T/out" $'\tdev-orders\t'
EVENT_BUS_TOPIC_PREFIX=stage expect_rc 0 "$CLI" validate-config "$D/cli_producer_config.json"
expect_in "$T/out" $'\tstage-orders\t'
EVENT_BUS_PRODUCER_CONFIG=$(cat "$D/cli_producer_config.json") expect_rc 0 "$CLI" validate-config
expect_in "$T/out" '^valid: 2 event types'
EVENT_BUS_PRODUCER_CONFIG=$D/cli_producer_config.json expect_rc 0 "$CLI" validate-config
expect_in "$T/out" '^valid: 2 event types'
cat >"$T/dict.json" <<'JSON'
{"org.openedx.learning.course.enrollment.created.v1": {
   "learning-course-enrollment-lifecycle": {"event_key_field": "enrollment.course.course_key", "enabled": true},
   "learning-course-enrollment-created": {"event_key_field": "enrollment.user.pii.username", "enabled": false}}}
JSON
expect_rc 0 "$CLI" validate-config "$T/dict.json"
expect_in "$T/out" '^valid: 1 event type, 2 topics \(1 enabled\)$'

# A bad config: every problem, one line each with its JSON path, exit 2, nothing on stdout.
cat >"$T/bad.json" <<'JSON'
{"org.evbus.demo.order.placed.v1": [
   {"topic": "orders", "event_key_field": "customer.nope", "enabled": "yes"},
   {"topic": "bad topic!", "event_key_field": "order_id", "colour": 1},
   {"event_key_field": "order_id"}],
 "no.such.type.v1": [{"topic": "x", "event_key_field": "a"}]}
JSON
expect_rc 2 "$CLI" validate-config "$T/bad.json"
[ ! -s "$T/out" ] || fail "stdout for a bad config"
[ "$(wc -l <"$T/err")" -ge 6 ] || fail "expected at least 6 errors, got: $(cat "$T/err")"
ok
expect_in "$T/err" '^evbus-cli: .*bad.json: \$\["org.evbus.demo.order.placed.v1"\]\[0\]\.enabled: '
expect_in "$T/err" '^evbus-cli: .*bad.json: \$\["org.evbus.demo.order.placed.v1"\]\[0\]\.event_key_field: '
expect_in "$T/err" '\$\["org.evbus.demo.order.placed.v1"\]\[1\]\.colour: '
expect_in "$T/err" '\$\["org.evbus.demo.order.placed.v1"\]\[1\]\.topic: '
expect_in "$T/err" '\$\["org.evbus.demo.order.placed.v1"\]\[2\]\.topic: '
expect_in "$T/err" '\$\["no.such.type.v1"\]'
printf '{"a": [' >"$T/syntax.json"
expect_rc 2 "$CLI" validate-config "$T/syntax.json"
expect_in "$T/err" 'line 1'
expect_rc 2 "$CLI" validate-config "$T/does-not-exist.json"
expect_rc 2 "$CLI" validate-config
expect_in "$T/err" '^evbus-cli: validate-config: no producer config'
expect_rc 2 "$CLI" validate-config a b

# --- schemas
expect_rc 0 "$CLI" schemas
nschemas=$(ls "$EVBUS_SRC"/schemas/*.avsc | wc -l)
[ "$(wc -l <"$T/out")" = "$nschemas" ] || fail "schemas list: $(wc -l <"$T/out") lines for $nschemas files"
ok
expect_in "$T/out" $'^org.evbus.demo.order.placed.v1\t[0-9a-f]{16}\t.*/org.evbus.demo.order.placed.v1.avsc$'
fp=$(awk -F'\t' '$1 == "org.evbus.demo.order.placed.v1" {print $2}' "$T/out")
expect_rc 0 "$CLI" schemas fingerprint org.evbus.demo.order.placed.v1
[ "$(cat "$T/out")" = "$fp" ] || fail "fingerprint $(cat "$T/out") != list's $fp"
ok
# The fingerprint is CRC-64-AVRO of the Parsing Canonical Form: check one by an independent
# computation (Python, from the Avro spec's algorithm) on a tiny schema.
mkdir "$T/s"
printf '{"type":"record","name":"CloudEvent","namespace":"t.v1","fields":[{"name":"a","type":"string"}]}' >"$T/s/t.v1.avsc"
expect_rc 0 "$CLI" --schemas "$T/s" schemas fingerprint t.v1
want=$(python3 - <<'PY'
EMPTY = 0xc15d213aa4d7a795
table = []
for i in range(256):
    fp = i
    for _ in range(8):
        fp = (fp >> 1) ^ (EMPTY & -(fp & 1))
    table.append(fp)
fp = EMPTY
for b in b'{"name":"t.v1.CloudEvent","type":"record","fields":[{"name":"a","type":"string"}]}':
    fp = (fp >> 8) ^ table[(fp ^ b) & 0xff]
print('%016x' % fp)
PY
)
[ "$(cat "$T/out")" = "$want" ] || fail "fingerprint $(cat "$T/out"), expected $want"
ok
expect_rc 2 "$CLI" schemas fingerprint no.such.type
expect_rc 2 "$CLI" schemas fingerprint
expect_rc 0 "$CLI" schemas check
expect_in "$T/out" "^ok: $nschemas schemas"
expect_rc 0 "$CLI" -c "$D/cli_producer_config.json" schemas check
expect_in "$T/out" 'configured event types resolve their key paths'
expect_rc 2 "$CLI" -c "$T/bad.json" schemas check
expect_in "$T/err" 'event_key_field'
printf '{"type": "record", "name": ' >"$T/s/broken.v1.avsc"
expect_rc 2 "$CLI" --schemas "$T/s" schemas check
expect_in "$T/err" 'broken.v1.avsc'

# --- topics: without a broker, with one, with a silent one
expect_rc 0 "$CLI" -c "$D/cli_producer_config.json" --prefix dev topics
[ "$(wc -l <"$T/out")" = 4 ] || fail "topics lines"
expect_in "$T/out" $'^org.evbus.demo.order.placed.v1\tdev-orders\tenabled\tsingle-object$'
expect_in "$T/out" $'^org.evbus.demo.order.placed.v1\tdev-orders-audit\tdisabled\tsingle-object$'
start_broker --topic dev-orders:3
printf 'x\n' | kproduce dev-orders -p 1
expect_rc 0 "$CLI" -b "$BOOTSTRAP" -c "$D/cli_producer_config.json" --prefix dev topics
expect_in "$T/out" $'^org.evbus.demo.order.placed.v1\tdev-orders\tenabled\tsingle-object\texists\tpartitions=3\tend=0,1,0$'
expect_in "$T/out" $'^org.evbus.demo.order.placed.v1\tdev-orders-by-user\tenabled\tsingle-object\tmissing$'
expect_rc 1 "$CLI" -b 127.0.0.1:1 -X cli.timeout.ms=1000 -c "$D/cli_producer_config.json" topics
expect_in "$T/err" '^evbus-cli: topics: broker 127.0.0.1:1: '
expect_in "$T/out" $'\torders\tenabled\tsingle-object$'


# --- wire format: auto follows the registry; explicit values win; a bad one is a usage error
expect_rc 0 "$CLI" -X schema.registry.url=http://127.0.0.1:9 -c "$D/cli_producer_config.json" topics
expect_in "$T/out" $'^org.evbus.demo.order.placed.v1\torders\tenabled\tconfluent$'
expect_rc 0 "$CLI" -X schema.registry.url=http://127.0.0.1:9 -X wire.format=single-object \
    -c "$D/cli_producer_config.json" validate-config
expect_in "$T/out" $'\torders\tkey=order_id\tenabled\tsingle-object$'
expect_in "$T/err" 'Python Open edX consumers cannot read it'
EVENT_BUS_WIRE_FORMAT=confluent EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL=http://127.0.0.1:9 \
    expect_rc 0 "$CLI" -c "$D/cli_producer_config.json" validate-config
expect_in "$T/out" $'\torders\tkey=order_id\tenabled\tconfluent$'
printf '{"order_id":"o-1"}\n' >"$T/one.jsonl"
expect_rc 2 "$CLI" -b 127.0.0.1:1 -X wire.format=confluent -c "$D/cli_producer_config.json" \
    publish org.evbus.demo.order.placed.v1 "$T/one.jsonl"
expect_in "$T/err" 'wire.format=confluent needs schema.registry.url'
expect_rc 2 "$CLI" -X wire.format=avro topics
expect_in "$T/err" 'expected auto|confluent|single-object'

# --- {} is a valid producer config; several -c merge as merge_producer_configs
printf '{}' >"$T/empty.json"
expect_rc 0 "$CLI" validate-config "$T/empty.json"
expect_in "$T/out" '^valid: 0 event types, 0 topics \(0 enabled\)$'
printf '{"org.evbus.demo.order.placed.v1": {"orders": {"enabled": false}, "more": {"event_key_field": "order_id"}}}' \
    >"$T/override.json"
expect_rc 0 "$CLI" -c "$D/cli_producer_config.json" -c "$T/override.json" validate-config
expect_in "$T/out" $'^org.evbus.demo.order.placed.v1\torders\tkey=order_id\tdisabled\tsingle-object$'
expect_in "$T/out" $'^org.evbus.demo.order.placed.v1\tmore\tkey=order_id\tenabled\tsingle-object$'
expect_in "$T/out" '^valid: 2 event types, 5 topics \(3 enabled\)$'
EVENT_BUS_PRODUCER_CONFIG="[\"$D/cli_producer_config.json\", \"$T/override.json\"]" expect_rc 0 "$CLI" validate-config
expect_in "$T/out" '^valid: 2 event types, 5 topics \(3 enabled\)$'

# --- EVENT_BUS_KAFKA_CONSUMERS_ENABLED=false: consume says so and succeeds without a broker
EVENT_BUS_KAFKA_CONSUMERS_ENABLED=false expect_rc 0 "$CLI" consume -t orders --group_id g
expect_in "$T/err" 'consumers are disabled'

done_ok
