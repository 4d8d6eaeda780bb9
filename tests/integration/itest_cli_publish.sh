#!/usr/bin/env bash
# evbus-cli publish: events reach every enabled topic and tail returns exactly the data;
# bad lines are reported by number and the rest go on; failures give exit 1.
source "$(dirname "$0")/cli_testlib.sh"
D=$EVBUS_SRC/tests/integration/data
TYPE=org.evbus.demo.order.placed.v1
export EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas
export EVENT_BUS_PRODUCER_CONFIG=$D/cli_producer_config.json
unset EVENT_BUS_TOPIC_PREFIX EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS

# Usage and configuration errors come before any input is read.
expect_rc 2 "$CLI" publish no.such.type.v1 "$D/cli_orders.jsonl"
expect_in "$T/err" '^evbus-cli: publish: event type "no.such.type.v1" is not in the producer config$'
expect_rc 2 "$CLI" publish $TYPE "$D/cli_orders.jsonl"
expect_in "$T/err" 'no broker'
expect_rc 2 "$CLI" -b 127.0.0.1:1 publish $TYPE "$T/none.jsonl"
expect_in "$T/err" 'none.jsonl'
expect_rc 2 "$CLI" -b 127.0.0.1:1 publish $TYPE a b

start_broker
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP

# Round trip: publish, then tail both enabled topics: data exactly as published.
expect_rc 0 "$CLI" --prefix dev publish $TYPE "$D/cli_orders.jsonl"
expect_in "$T/err" '^evbus-cli: publish: 3 events sent, 0 lines rejected, 6 messages delivered, 0 not delivered; events on all topics: 3, on some: 0, on none: 0; topics: dev-orders, dev-orders-by-user$'
[ "$(wc -l <"$T/err")" = 1 ] || fail "publish stderr: $(cat "$T/err")"
ok
for topic in orders orders-by-user; do
    expect_rc 0 "$CLI" --prefix dev tail "$topic" --from-beginning --format json
    python3 - "$D/cli_orders.jsonl" "$T/out" "$topic" <<'PY' || fail "round trip on $topic"
import json, sys
def canon(v):  # compact, key order kept, floats as written (19.0 stays 19.0)
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)
want = sorted(canon(json.loads(l)) for l in open(sys.argv[1]) if l.strip())
got = [json.loads(l) for l in open(sys.argv[2])]
assert all(g["topic"] == "dev-" + sys.argv[3] and "error" not in g for g in got), got
assert sorted(canon(g["data"]) for g in got) == want, (got, want)
keys = sorted(g["key"] for g in got)
assert keys == (["o-1", "o-2", "o-3"] if sys.argv[3] == "orders" else ["ann", "bob", "cy"]), keys
PY
    ok
done
# The disabled topic got nothing (it does not even exist).
expect_rc 1 "$CLI" --prefix dev tail orders-audit
expect_in "$T/err" 'dev-orders-audit: topic does not exist'

# Bad lines: reported with their numbers, the others published, exit 1.
{
    sed -n 1p "$D/cli_orders.jsonl"
    echo '{"order_id": "o-bad", '
    echo '{"order_id": "o-4", "placed_at": "x", "customer": {"id": "one", "email": "e", "pii": {"username": "u"}}, "items": [], "total": 1.0, "currency": "EUR", "tags": {}}'
    echo ''
    echo '{"placed_at": "x", "customer": {"id": 1, "email": "e", "pii": {"username": "u"}}, "items": [], "total": 1.0, "currency": "EUR", "tags": {}}'
    sed -n 3p "$D/cli_orders.jsonl"
} >"$T/mixed.jsonl"
expect_rc 1 "$CLI" --no-prefix publish $TYPE - <"$T/mixed.jsonl"
expect_in "$T/err" '^evbus-cli: publish: line 2: '
expect_in "$T/err" '^evbus-cli: publish: line 3: .*customer.id'
expect_in "$T/err" '^evbus-cli: publish: line 5: .*order_id'
expect_not_in "$T/err" 'line (1|4|6):'
expect_in "$T/err" '2 events sent, 3 lines rejected, 4 messages delivered, 0 not delivered; events on all topics: 2, on some: 0, on none: 3;'
expect_rc 0 "$CLI" --no-prefix tail orders --from-beginning
[ "$(jq -r .key "$T/out" | sort | tr '\n' ' ')" = "o-1 o-3 " ] || fail "published: $(jq -r .key "$T/out")"
ok

# --failed: the rejected lines, exactly as read; re-publishing the good events' topics is
# not needed, so only the three bad lines are there.
expect_rc 1 "$CLI" --prefix fl publish $TYPE - --failed "$T/failed.jsonl" <"$T/mixed.jsonl"
sed -n '2p;3p;5p' "$T/mixed.jsonl" >"$T/want-failed.jsonl"
cmp -s "$T/failed.jsonl" "$T/want-failed.jsonl" || fail "--failed wrote: $(cat "$T/failed.jsonl")"
ok

# --only-topics: an event that still needs one of its topics ("TOPIC<TAB>LINE", what
# --failed writes for an event that reached some) goes to that topic only; plain lines
# in the same file go to every topic.  Each topic ends with exactly one copy per event.
expect_rc 0 "$CLI" --prefix ot publish $TYPE "$D/cli_orders.jsonl"
{
    printf 'ot-orders-by-user\t%s\n' "$(sed -n 1p "$D/cli_orders.jsonl")"
    printf 'orders\t%s\n' "$(sed -n 2p "$D/cli_orders.jsonl")"
} >"$T/some.jsonl"
expect_rc 0 "$CLI" --prefix ot publish $TYPE "$T/some.jsonl" --only-topics
expect_in "$T/err" '2 events sent, 0 lines rejected, 2 messages delivered, 0 not delivered; events on all topics: 2,'
expect_rc 0 "$CLI" --prefix ot tail orders --from-beginning -n 100
[ "$(jq -r .key "$T/out" | sort | tr '\n' ' ')" = "o-1 o-2 o-2 o-3 " ] || fail "orders: $(jq -r .key "$T/out")"
expect_rc 0 "$CLI" --prefix ot tail orders-by-user --from-beginning -n 100
[ "$(jq -r .key "$T/out" | sort | tr '\n' ' ')" = "ann ann bob cy " ] || fail "by-user: $(jq -r .key "$T/out")"
ok
# A topic the type does not have is refused whole, with the line number.
printf 'nope,orders\t%s\n' "$(sed -n 1p "$D/cli_orders.jsonl")" >"$T/bad-topics.jsonl"
expect_rc 1 "$CLI" --prefix ot publish $TYPE "$T/bad-topics.jsonl" --only-topics
expect_in "$T/err" '^evbus-cli: publish: line 1: topics: "nope" is not an enabled topic'
ok

# Transactions (the embedded broker supports them): every event on both topics, committed,
# so a read_committed tail (the default) shows them.
expect_rc 0 "$CLI" --prefix tx -X producer.transactional=true publish $TYPE "$D/cli_orders.jsonl" --failed "$T/tx-failed.jsonl"
expect_in "$T/err" '3 events sent, 0 lines rejected, 6 messages delivered, 0 not delivered; events on all topics: 3, on some: 0, on none: 0;'
[ ! -s "$T/tx-failed.jsonl" ] || fail "transactional --failed wrote: $(cat "$T/tx-failed.jsonl")"
for topic in orders orders-by-user; do
    expect_rc 0 "$CLI" --prefix tx tail "$topic" --from-beginning -n 100
    [ "$(wc -l <"$T/out")" = 3 ] || fail "transactional $topic: $(cat "$T/out")"
done
ok

# -q: errors only.
expect_rc 0 "$CLI" -q --no-prefix publish $TYPE "$D/cli_orders.jsonl"
[ ! -s "$T/err" ] || fail "-q wrote: $(cat "$T/err")"
ok

# Confluent framing through a real schema registry: tests/registry/rtest_cli_publish.sh.

# A broker that never answers: the events are not delivered, exit 1, bounded in time.
start=$SECONDS
expect_rc 1 "$CLI" -b 127.0.0.1:1 -X kafka.message.timeout.ms=1500 publish $TYPE "$D/cli_orders.jsonl" \
    --failed "$T/undelivered.jsonl"
expect_in "$T/err" 'not delivered'
expect_in "$T/err" '3 events sent, 0 lines rejected, 0 messages delivered, 6 not delivered; events on all topics: 0, on some: 0, on none: 3;'
# every event reached none of its topics: written as its line, in any order
[ "$(sort "$T/undelivered.jsonl")" = "$(grep . "$D/cli_orders.jsonl" | sort)" ] ||
    fail "--failed wrote: $(cat "$T/undelivered.jsonl")"
[ $((SECONDS - start)) -lt 20 ] || fail "undeliverable publish took $((SECONDS - start)) s"
ok


# The Python bus's service name and sourcelib: EVENTS_SERVICE_NAME wins over SERVICE_VARIANT
# for ce_source; -X sourcelib replaces evbus's version in the sourcelib header.
head -n 1 "$D/cli_orders.jsonl" >"$T/one.jsonl"
EVENTS_SERVICE_NAME=cms SERVICE_VARIANT=lms expect_rc 0 "$CLI" --prefix svc -X sourcelib=10.5.0 \
    publish $TYPE "$T/one.jsonl"
# -vv shows librdkafka's log lines, named by the client.id: the service name, as the Python bus
SERVICE_VARIANT=lms expect_rc 0 "$CLI" --prefix svc -vv publish $TYPE "$T/one.jsonl"
expect_in "$T/err" 'lms#producer-'
expect_not_in "$T/err" 'evbus-producer#producer-'
expect_rc 0 "$CLI" --prefix svc tail orders --from-beginning --format json
python3 - "$T/out" <<'PY' || fail "ce_source/sourcelib from the service settings"
import json, sys
got = [json.loads(l)["headers"] for l in open(sys.argv[1])]
assert [h["ce_source"] for h in got] == ["openedx/cms/web", "openedx/lms/web"], got
assert got[0]["sourcelib"] == "10.5.0" and got[1]["sourcelib"] != "10.5.0", got
PY

done_ok
