#!/usr/bin/env bash
# evbus-cli tail against the embedded broker: last N, --from-beginning, -f, filters, --count,
# --since, formats, undecodable messages, missing topics and a silent broker.
source "$(dirname "$0")/cli_testlib.sh"
D=$EVBUS_SRC/tests/integration/data
TYPE=org.evbus.demo.order.placed.v1

start_broker --topic empty:2 --topic garbage --topic orders:3 --topic orders-by-user:2
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
export EVENT_BUS_PRODUCER_CONFIG=$D/cli_producer_config.json
export EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas
unset EVENT_BUS_TOPIC_PREFIX

# An empty topic: nothing, exit 0, at once (the end is the high watermark).
expect_rc 0 "$CLI" tail empty
[ ! -s "$T/out" ] || fail "output for an empty topic"
expect_rc 0 "$CLI" tail empty --from-beginning
[ ! -s "$T/out" ] || fail "output for an empty topic (--from-beginning)"

# A missing topic: exit 1 with one error line, and tail must not create it.
expect_rc 1 "$CLI" tail no-such-topic
expect_in "$T/err" '^evbus-cli: tail: no-such-topic: topic does not exist$'
expect_rc 1 "$CLI" tail empty no-such-topic
timeout 30 kcat -b "$BOOTSTRAP" -L >"$T/meta"
expect_not_in "$T/meta" 'no-such-topic'

# A broker that does not answer: exit 1 within the bounded time.
start=$SECONDS
expect_rc 1 "$CLI" -b 127.0.0.1:1 -X cli.timeout.ms=1500 tail empty
expect_in "$T/err" '^evbus-cli: tail: broker 127.0.0.1:1: '
[ $((SECONDS - start)) -lt 10 ] || fail "silent broker took $((SECONDS - start)) s"
ok

# Undecodable bytes are printed with an error field, never skipped.
printf 'not avro\n\xc3\x01\x00\x00\x00\x00\x00\x00\x00\x01xx\n' | kproduce garbage -H ce_type=bad.type.v1
expect_rc 0 "$CLI" tail garbage
[ "$(wc -l <"$T/out")" = 2 ] || fail "expected 2 lines for 2 garbage messages"
# -s: every line must match (jq -e alone judges only the last one)
jq -s -e 'length == 2 and all(.[]; has("error") and (has("data") | not) and .type == "bad.type.v1"
          and .partition == 0)' <"$T/out" >/dev/null ||
    fail "garbage not reported with an error field: $(cat "$T/out")"
ok
expect_in "$T/out" '"error":"unknown framing'
expect_in "$T/out" '"error":"unknown schema fingerprint'
expect_rc 0 "$CLI" tail garbage --format raw
expect_in "$T/out" $'^garbage\t0\t0\t[0-9]+\tbad.type.v1\tnone\t-\tnone\t6e6f74206176726f$'
expect_in "$T/out" $'\tsingle-object:0100000000000000\t7878$'
expect_rc 0 "$CLI" tail garbage --format pretty
expect_in "$T/out" '^  error: unknown framing'

# Publish 3 events (one run each, so their timestamps differ), then the default tail prints
# them in timestamp order across partitions, exactly as published.
for i in 1 2 3; do
    sed -n "${i}p" "$D/cli_orders.jsonl" >"$T/line"
    expect_rc 0 "$CLI" -q publish $TYPE "$T/line"
    [ ! -s "$T/err" ] || fail "-q publish wrote to stderr"
done
expect_rc 0 "$CLI" tail orders
[ "$(wc -l <"$T/out")" = 3 ] || fail "expected 3 events"
[ "$(jq -r .key "$T/out" | tr '\n' ' ')" = "o-1 o-2 o-3 " ] || fail "order: $(jq -r .key "$T/out")"
ok
# every line parsed and checked: output that is not JSON fails here too
jq -s -e 'length == 3 and all(.[]; .type == "'$TYPE'" and (.id | length) == 36
          and .headers.ce_type == "'$TYPE'" and (.timestamp | type) == "number"
          and .topic == "orders")' <"$T/out" >/dev/null || fail "bad fields: $(cat "$T/out")"
ok
# data is embedded verbatim: the first input line (no escapes) appears byte for byte.
grep -qF "\"data\":$(head -1 "$D/cli_orders.jsonl")}" "$T/out" || fail "data not verbatim"
ok

# -n, --count, --key, --type, several topics.
expect_rc 0 "$CLI" tail orders -n 2
[ "$(jq -r .key "$T/out" | tr '\n' ' ')" = "o-2 o-3 " ] || fail "-n 2: $(cat "$T/out")"
ok
expect_rc 0 "$CLI" tail orders -n 0
[ ! -s "$T/out" ] || fail "-n 0 printed something"
expect_rc 0 "$CLI" tail orders --count 1
[ "$(wc -l <"$T/out")" = 1 ] || fail "--count 1"
ok
expect_rc 0 "$CLI" tail orders --key o-2
[ "$(jq -r .data.order_id "$T/out")" = o-2 ] || fail "--key: $(cat "$T/out")"
ok
expect_rc 0 "$CLI" tail orders-by-user --key bob --from-beginning
[ "$(jq -r .key "$T/out")" = bob ] || fail "--key on orders-by-user"
ok
expect_rc 0 "$CLI" tail orders --type 'org.evbus.demo.*'
[ "$(wc -l <"$T/out")" = 3 ] || fail "--type glob matching"
ok
expect_rc 0 "$CLI" tail orders garbage --type 'org.openedx.*'
[ ! -s "$T/out" ] || fail "--type glob not matching"
expect_rc 0 "$CLI" tail orders orders-by-user garbage
[ "$(wc -l <"$T/out")" = 8 ] || fail "3 topics: $(wc -l <"$T/out") lines"
ok

# --from-beginning exits by itself.  (librdkafka 2.0.2's mock broker answers every
# offsets-for-times lookup with "none", so --since is checked against real Kafka in
# ktest_cli_kafka.sh; here only that it parses and ends.)
expect_rc 0 "$CLI" tail orders --from-beginning
[ "$(wc -l <"$T/out")" = 3 ] || fail "--from-beginning"
# -n does not apply: every event, not the last n per partition
expect_rc 0 "$CLI" tail orders --from-beginning -n 1
[ "$(wc -l <"$T/out")" = 3 ] || fail "--from-beginning -n 1: $(wc -l <"$T/out") lines"
ok
expect_rc 0 "$CLI" tail orders --since 2999-01-01T00:00:00Z
[ ! -s "$T/out" ] || fail "--since in the future printed events"
expect_rc 0 "$CLI" tail orders --since 2000-01-01T10:00:00.5+02:00
expect_rc 0 "$CLI" tail orders --since 10m
expect_rc 2 "$CLI" tail orders --since yesterday
expect_rc 2 "$CLI" tail orders --since 1h --from-beginning

# Colour: never when stdout is not a tty; on a tty unless NO_COLOR is set.
expect_rc 0 "$CLI" tail orders --format pretty
expect_not_in "$T/out" $'\033\\['
expect_in "$T/out" '^orders \[[0-9]\] @[0-9]+  [0-9]{4}-'
expect_in "$T/out" '^    "order_id": "o-1",$'
script -qec "$CLI tail orders -n 1 --format pretty" /dev/null >"$T/tty" </dev/null
expect_in "$T/tty" $'\033\\['
NO_COLOR=1 script -qec "$CLI tail orders -n 1 --format pretty" /dev/null >"$T/tty" </dev/null
expect_in "$T/tty" '"order_id"'
expect_not_in "$T/tty" $'\033\\['

# -f: sees events published after it started, then stops on --count or SIGTERM.
"$CLI" -v tail orders -n 0 -f --count 2 >"$T/f.out" 2>"$T/f.err" &
fpid=$!
PIDS+=("$fpid")
wait_until 30 grep -q 'orders \[2\]: offsets' "$T/f.err" || fail "tail -f did not start: $(cat "$T/f.err")"
head -2 "$D/cli_orders.jsonl" | "$CLI" -q publish $TYPE -
wait_until 30 lines_ge "$T/f.out" 2 || fail "tail -f saw $(wc -l <"$T/f.out") events"
rc=0
wait_until 10 bash -c "! kill -0 $fpid 2>/dev/null" || fail "tail -f --count 2 did not exit"
wait "$fpid" || rc=$?
[ "$rc" = 0 ] || fail "tail -f --count exit $rc"
[ "$(jq -r .key "$T/f.out" | sort | tr '\n' ' ')" = "o-1 o-2 " ] || fail "tail -f got $(cat "$T/f.out")"
ok

"$CLI" tail orders garbage -f -n 1 >"$T/f2.out" 2>"$T/f2.err" &
fpid=$!
PIDS+=("$fpid")
wait_until 30 lines_ge "$T/f2.out" 2 || fail "tail -f -n 1 initial lines"
printf 'late\n' | kproduce garbage
wait_until 30 grep -q '"offset":2,' "$T/f2.out" || fail "tail -f missed a late message"
stop_pid "$fpid"
[ "$STOP_RC" = 0 ] || fail "tail -f exit $STOP_RC on SIGTERM"
[ ! -s "$T/f2.err" ] || fail "tail -f stderr: $(cat "$T/f2.err")"
ok

done_ok
