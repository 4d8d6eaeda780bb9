#!/usr/bin/env bash
# evbus-cli publish --spool, spool status and spool drain: events published while no broker is
# reachable stay in the spool (exit 1, said so), status shows them per topic, drain delivers
# them once a broker is up, and each topic then holds each event once.
source "$(dirname "$0")/cli_testlib.sh"
D=$EVBUS_SRC/tests/integration/data
TYPE=org.evbus.demo.order.placed.v1
export EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas
export EVENT_BUS_PRODUCER_CONFIG=$D/cli_producer_config.json
unset EVENT_BUS_TOPIC_PREFIX EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS EVBUS_PRODUCER_SPOOL_DIR
S=$T/spool

# No broker: accepted into the spool, held at the end.  cli.timeout.ms bounds publish's final
# wait for delivery (default 10000 ms) so that this case does not take 10 s.
expect_rc 1 "$CLI" -b 127.0.0.1:1 -X cli.timeout.ms=1000 --prefix dev publish $TYPE "$D/cli_orders.jsonl" --spool "$S"
expect_in "$T/err" '3 events not delivered yet, held in the spool .*/spool'
[ -f "$S/evbus-spool" ] || fail "no spool marker in $S"
ok

expect_rc 0 "$CLI" spool status "$S"
expect_in "$T/out" '^events	3$'
expect_in "$T/out" '^topic	dev-orders	3 events'
expect_in "$T/out" '^topic	dev-orders-by-user	3 events'
expect_rc 0 "$CLI" spool status "$S" --format json
python3 - "$T/out" <<'PY' || fail "spool status --format json"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["events"] == 3 and s["bytes"] > 0 and s["oldest_seconds"] >= 0, s
assert sorted((t["topic"], t["events"]) for t in s["topics"]) == [("dev-orders", 3), ("dev-orders-by-user", 3)], s
PY
ok

# Not a spool, or missing: a clear error.
mkdir -p "$T/notes" && echo hi >"$T/notes/a.txt"
expect_rc 1 "$CLI" spool status "$T/notes"
expect_in "$T/err" 'not an evbus spool'
expect_rc 1 "$CLI" spool status "$T/missing"
expect_in "$T/err" 'missing'
expect_rc 2 "$CLI" spool frobnicate "$S"

# Drain with no broker: nothing delivered within --timeout-ms, exit 1, still held.
expect_rc 1 "$CLI" -b 127.0.0.1:1 spool drain "$S" --timeout-ms 500
expect_in "$T/err" '3 events of 3 not delivered after 500 ms; still held in the spool'
expect_rc 0 "$CLI" spool status "$S"
expect_in "$T/out" '^events	3$'

start_broker
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
expect_rc 1 "$CLI" spool drain "$T/notes"
expect_in "$T/err" 'not an evbus spool'
expect_rc 0 "$CLI" spool drain "$S"
expect_in "$T/err" '3 events delivered'
expect_rc 0 "$CLI" spool status "$S"
expect_in "$T/out" '^events	0$'
for topic in orders orders-by-user; do
    expect_rc 0 "$CLI" --prefix dev tail "$topic" --from-beginning --format json
    [ "$(wc -l <"$T/out")" = 3 ] || fail "$topic holds $(wc -l <"$T/out") events, expected 3"
    ok
done

# With a broker: delivered, nothing held, exit 0; the environment variable works as --spool.
EVBUS_PRODUCER_SPOOL_DIR="$S" expect_rc 0 "$CLI" --prefix dev publish $TYPE "$D/cli_orders.jsonl"
expect_not_in "$T/err" 'held in the spool'
expect_rc 0 "$CLI" spool status "$S"
expect_in "$T/out" '^events	0$'
expect_rc 0 "$CLI" --prefix dev tail orders --from-beginning --format json
[ "$(wc -l <"$T/out")" = 6 ] || fail "orders holds $(wc -l <"$T/out") events, expected 6"
ok
done_ok
