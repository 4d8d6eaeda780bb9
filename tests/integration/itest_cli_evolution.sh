#!/usr/bin/env bash
# Schema evolution on the embedded broker, as in a rolling upgrade: a service still on the old
# xblock.published schema (no "version" field) and one on the current schema write to the same
# topic. tail shows each event as written; tail --as-reader and the consumer (the example
# consumer, through libconsumer) give every event in the reader's current shape, both ways:
# old writer -> new reader (version added, null) and new writer -> old reader (version dropped).
source "$(dirname "$0")/cli_testlib.sh"
TYPE=org.openedx.content_authoring.xblock.published.v1
S=$EVBUS_SRC/schemas
export EVENT_BUS_PRODUCER_CONFIG=$EVBUS_SRC/tests/integration/data/cli_producer_config.json
unset EVENT_BUS_TOPIC_PREFIX EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL

# The old service's schema dir: the history/ version is its current one, and it knows the
# newer one only as history (so it can resolve what the upgraded service writes).
old=$(ls "$S"/history/$TYPE.*.avsc)
[ "$(wc -l <<<"$old")" = 1 ] || fail "expected one history file for $TYPE"
mkdir -p "$T/old/history"
cp "$old" "$T/old/$TYPE.avsc"
cp "$S/$TYPE.avsc" "$T/old/history/$TYPE.current.avsc"
cp "$S/org.evbus.demo.order.placed.v1.avsc" "$T/old/"
grep -q '"version"' "$T/old/$TYPE.avsc" && fail "the history version should predate the version field"

start_broker
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
printf '%s\n' '{"xblock_info":{"usage_key":"block-v1:o+c+r+type@html+block@old","block_type":"html"}}' >"$T/old.jsonl"
printf '%s\n' '{"xblock_info":{"usage_key":"block-v1:o+c+r+type@html+block@new","block_type":"html","version":"v7"}}' >"$T/new.jsonl"
expect_rc 0 "$CLI" --prefix evo --schemas "$T/old" publish $TYPE "$T/old.jsonl"
expect_rc 0 "$CLI" --prefix evo --schemas "$S" publish $TYPE "$T/new.jsonl"
# a field the old schema does not have is refused by the old writer, naming it
expect_rc 1 "$CLI" --prefix evo --schemas "$T/old" publish $TYPE "$T/new.jsonl"
expect_in "$T/err" 'version'

data() { python3 -c 'import json,sys; [print(json.dumps(json.loads(l)["data"], separators=(",", ":"))) for l in open(sys.argv[1])]' "$1"; }

# New reader (the current schemas).
expect_rc 0 "$CLI" --prefix evo --schemas "$S" tail content-authoring-xblock-published --from-beginning
data "$T/out" >"$T/as_written"
expect_in "$T/as_written" '^\{"xblock_info":\{"usage_key":"block-v1:o\+c\+r\+type@html\+block@old","block_type":"html"\}\}$'
expect_in "$T/as_written" '"version":"v7"'
expect_rc 0 "$CLI" --prefix evo --schemas "$S" tail content-authoring-xblock-published --from-beginning --as-reader
data "$T/out" >"$T/new_reader"
expect_in "$T/new_reader" '^\{"xblock_info":\{"usage_key":"block-v1:o\+c\+r\+type@html\+block@old","block_type":"html","version":null\}\}$'
expect_in "$T/new_reader" '^\{"xblock_info":\{"usage_key":"block-v1:o\+c\+r\+type@html\+block@new","block_type":"html","version":"v7"\}\}$'

# Old reader: the version field the new writer added is dropped.
expect_rc 0 "$CLI" --prefix evo --schemas "$T/old" tail content-authoring-xblock-published --from-beginning --as-reader
data "$T/out" >"$T/old_reader"
[ "$(grep -c '"version"' "$T/old_reader" || true)" = 0 ] || fail "old reader saw version: $(cat "$T/old_reader")"
expect_in "$T/old_reader" '^\{"xblock_info":\{"usage_key":"block-v1:o\+c\+r\+type@html\+block@new","block_type":"html"\}\}$'
[ "$(wc -l <"$T/old_reader")" = 2 ] || fail "old reader: $(cat "$T/old_reader")"

# The consumer side: a plugin under `consume` (libconsumer) sees the reader's shape.
plugin=$EVBUS_BUILD/examples/evbus_example_plugin.so
[ -f "$plugin" ] || fail "no example plugin at $plugin"
"$CLI" --prefix evo --schemas "$S" consume -t content-authoring-xblock-published -g "evo-$RANDOM" \
    --from-beginning --plugin "$plugin" >"$T/consumed.out" 2>"$T/consumed" &
cpid=$!
PIDS+=("$cpid")
wait_until 60 grep -q 'block@new' "$T/consumed" || fail "consumer: $(cat "$T/consumed")"
stop_pid "$cpid"
expect_in "$T/consumed" 'block@old","block_type":"html","version":null\}\}$'
expect_in "$T/consumed" 'block@new","block_type":"html","version":"v7"\}\}$'

# schemas compat agrees: adding a nullable field with a default is FULL.
expect_rc 0 "$CLI" schemas compat "$old" "$S/$TYPE.avsc"
expect_in "$T/out" '^FULL'
done_ok
