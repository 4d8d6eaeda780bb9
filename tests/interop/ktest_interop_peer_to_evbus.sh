#!/usr/bin/env bash
# The Python peer publishes as the Open edX event bus does (headers, subjects, framings), evbus
# reads it: `evbus-cli tail --format json` prints the same data, type, id, key and headers, and
# libconsumer decodes it (evbus-cli consume with the "ok" test plugin, and examples/consumer,
# which prints the decoded JSON), in single-object and Confluent framing; and a topic that both
# the peer and evbus write to through one registry.
if [ -z "${EVBUS_TEST_KAFKA_BOOTSTRAP:-}" ]; then
    exec "$EVBUS_SRC/tests/kafka/with-kafka" -- bash "$0" "$@"
fi
# The real registry (Apicurio): the registry group provides it; run alone, the test starts one.
if [ -z "${EVBUS_TEST_REGISTRY_URL:-}" ]; then
    exec "$EVBUS_SRC/tests/registry/with-registry" -- bash "$0" "$@"
fi
source "$(dirname "$0")/interop_lib.sh"
P=pe$$
SO=$P-single
CF=$P-confluent
PLUGIN=$EVBUS_BUILD/tests/plugins/evbus_test_plugin_ok.so
EXAMPLE=$EVBUS_BUILD/examples/consumer
[ -f "$PLUGIN" ] && [ -x "$EXAMPLE" ] || fail "build the ok test plugin and examples/consumer first"

start_registry
peer m_so.jsonl produce --bootstrap "$BOOTSTRAP" --topic $SO --schema "$SCHEMA" --key-field $KEY_FIELD "$EVENTS"
peer m_cf.jsonl produce --bootstrap "$BOOTSTRAP" --topic $CF --schema "$SCHEMA" --key-field $KEY_FIELD \
    --registry "$REG" "$EVENTS"
[ "$(wc -l <"$T/m_so.jsonl")" = "$NEVENTS" ] && [ "$(wc -l <"$T/m_cf.jsonl")" = "$NEVENTS" ] ||
    fail "manifests: $(wc -l "$T"/m_*.jsonl)"
ok

# The framings as evbus sees them: single-object with the schema's fingerprint, Confluent ids.
FP=$("$CLI" schemas fingerprint $TYPE)
expect_rc 0 "$CLI" --no-prefix tail $SO --from-beginning --format raw
[ "$(grep -c $'\tsingle-object:'"$FP"$'\t' "$T/out")" = "$NEVENTS" ] || fail "raw $SO: $(cut -c1-200 "$T/out")"
ok
expect_rc 0 "$CLI" --no-prefix tail $CF --from-beginning --format raw
[ "$(grep -cE $'\tconfluent:[0-9]+\t[0-9a-f]+\tconfluent:[0-9]+\t' "$T/out")" = "$NEVENTS" ] ||
    fail "raw $CF: $(cut -c1-200 "$T/out")"
ok

# tail --format json: data, type, id, key and headers as the peer sent them.
expect_rc 0 "$CLI" --no-prefix tail $SO --from-beginning --format json
cp "$T/out" "$T/tail_so.json"
peer chk_so check-tail --manifest "$T/m_so.jsonl" --schema "$SCHEMA" --got "$T/tail_so.json" --topic $SO
expect_rc 0 "$CLI" --no-prefix -X schema.registry.url="$REG" tail $CF --from-beginning --format json
cp "$T/out" "$T/tail_cf.json"
peer chk_cf check-tail --manifest "$T/m_cf.jsonl" --schema "$SCHEMA" --got "$T/tail_cf.json" --topic $CF

# One topic both write to (Confluent framing, one registry): the peer's and evbus's events both
# decode, each side's key and value schemas registered under the same subjects.
MX=$P-mixed
peer m_mx.jsonl produce --bootstrap "$BOOTSTRAP" --topic $MX --schema "$SCHEMA" --key-field $KEY_FIELD \
    --registry "$REG" "$EVENTS"
printf '{"%s": {"mixed": {"event_key_field": "%s"}}}\n' $TYPE $KEY_FIELD >"$T/cfg_mx.json"
expect_rc 0 "$CLI" --prefix $P -c "$T/cfg_mx.json" -X schema.registry.url="$REG" publish $TYPE "$EVENTS"
expect_rc 0 "$CLI" --no-prefix -X schema.registry.url="$REG" tail $MX --from-beginning -n 100 --format json
cp "$T/out" "$T/tail_mx.json"
peer chk_mx check-tail --manifest "$T/m_mx.jsonl" --sent "$EVENTS" --key-field $KEY_FIELD --schema "$SCHEMA" \
    --got "$T/tail_mx.json" --topic $MX

# libconsumer through evbus-cli consume: the ok plugin records the id of every event it could
# decode (it fails an event whose data does not decode, which would then be dead-lettered).
ok_lines() { [ -f "$T/plugin.out" ] && [ "$(grep -c '^ok ' "$T/plugin.out")" -ge "$1" ]; }
EVBUS_TEST_PLUGIN_OUT=$T/plugin.out "$CLI" --no-prefix -X schema.registry.url="$REG" \
    consume -t $SO -t $CF -g $P-plugin --from-beginning --plugin "$PLUGIN" >"$T/consume.out" 2>"$T/consume.err" &
cpid=$!
PIDS+=("$cpid")
wait_until 120 ok_lines $((2 * NEVENTS)) ||
    fail "consume: $(grep -c '^ok ' "$T/plugin.out" 2>/dev/null) of $((2 * NEVENTS)) events; $(tail -5 "$T/consume.err")"
stop_pid $cpid
[ "$STOP_RC" = 0 ] || fail "consume exit $STOP_RC: $(tail -5 "$T/consume.err")"
ok
diff <(awk '$1 == "ok" {print $2}' "$T/plugin.out" | sort) <(jq -r .id "$T/m_so.jsonl" "$T/m_cf.jsonl" | sort) ||
    fail "ids handled by the plugin differ from the ids the peer sent"
ok
echo "consume: $(grep -c '^ok ' "$T/plugin.out") events handled by the ok plugin, ids as sent"

# libconsumer's decoded JSON, as examples/consumer prints it.
# --from-beginning: the peer produced before this new group exists (default: latest)
EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL=$REG "$EXAMPLE" --from-beginning $P-example $SO $CF >"$T/example.out" 2>"$T/example.err" &
epid=$!
PIDS+=("$epid")
wait_until 120 lines_ge "$T/example.out" $((2 * NEVENTS)) ||
    fail "examples/consumer printed $(wc -l <"$T/example.out") lines: $(tail -5 "$T/example.err")"
stop_pid $epid
[ "$STOP_RC" = 0 ] || fail "examples/consumer exit $STOP_RC: $(tail -5 "$T/example.err")"
ok
peer chk_ex check-consumer --manifest "$T/m_so.jsonl" --manifest "$T/m_cf.jsonl" --schema "$SCHEMA" \
    --key-field $KEY_FIELD --got "$T/example.out"

done_ok
