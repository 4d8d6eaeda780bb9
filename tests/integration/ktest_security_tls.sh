#!/usr/bin/env bash
# TLS on a real broker (a cluster of its own: tests/kafka/with-kafka --tls --sasl scram, a throwaway
# CA made at start):
#  - SSL with kafka.ssl.ca.location: publish -> tail round trip, and consume with a plugin;
#  - SASL_SSL + SCRAM-SHA-512 through EVENT_BUS_KAFKA_API_KEY / _API_SECRET (SASL_SSL is what
#    the API key selects by default): publish -> tail round trip;
#  - a CA that did not sign the broker's certificate, and a certificate issued for another host
#    name: tail and topics exit 1 with one line saying so, publish exits 1 with the reason on
#    every undelivered event, each within a bound;
#  - neither the SASL password nor the key-store password appears in any output, -v included.
if [ -z "${EVBUS_TEST_KAFKA_SASL_SSL_BOOTSTRAP:-}" ]; then
    exec "$EVBUS_SRC/tests/kafka/with-kafka" --tls --sasl scram -- bash "$0" "$@"
fi
source "$(dirname "$0")/cli_testlib.sh"
D=$EVBUS_SRC/tests/integration/data
TYPE=org.evbus.demo.order.placed.v1
EX=$EVBUS_BUILD/examples/evbus_example_plugin.so
CA=$EVBUS_TEST_KAFKA_TLS_CA
export EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas
export EVENT_BUS_PRODUCER_CONFIG=$D/cli_producer_config.json
unset EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS EVENT_BUS_KAFKA_API_KEY EVENT_BUS_KAFKA_API_SECRET
BOUND=30 # seconds a certificate problem may take to be reported
ALL=$T/all-output # every stdout and stderr of this test, for the secrets check

# run RC CMD...: expect_rc, keeping the output for the secrets check.
run() {
    local rc=0
    expect_rc "$@" || rc=$?
    cat "$T/out" "$T/err" >>"$ALL"
    return $rc
}
now_ms() { date +%s%3N; }
elapsed_ok() {
    local ms=$(($(now_ms) - $1))
    printf '    %s took %d.%03d s\n' "$2" $((ms / 1000)) $((ms % 1000))
    [ "$ms" -lt $((BOUND * 1000)) ] || fail "$2 took ${ms} ms (bound ${BOUND}s)"
    ok
}
round_trip() { # round_trip LABEL: $T/out (tail's json) holds exactly the events of cli_orders.jsonl
    python3 - "$D/cli_orders.jsonl" "$T/out" <<'PY' || fail "$1 round trip"
import json, sys
canon = lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False)
want = sorted(canon(json.loads(l)) for l in open(sys.argv[1]) if l.strip())
got = sorted(canon(json.loads(l)["data"]) for l in open(sys.argv[2]))
assert got == want, (got, want)
PY
    ok
    echo "    $1: publish -> tail round trip, $(wc -l <"$T/out") events"
}

echo "== SSL, CA from kafka.ssl.ca.location"
export EVENT_BUS_TOPIC_PREFIX=tls$$
X=(-b "$EVBUS_TEST_KAFKA_TLS_BOOTSTRAP" -X kafka.security.protocol=SSL -X kafka.ssl.ca.location="$CA")
run 0 "$CLI" "${X[@]}" publish $TYPE "$D/cli_orders.jsonl"
expect_in "$T/err" '3 events sent, 0 lines rejected, 6 messages delivered'
run 0 "$CLI" "${X[@]}" tail orders
round_trip SSL
run 0 "$CLI" "${X[@]}" -v tail orders-by-user --format pretty
expect_in "$T/out" '^  key     ann$'
# consume: the example plugin sees the 3 events over TLS, then SIGTERM stops it cleanly.
"$CLI" "${X[@]}" consume -t orders -g tls-$$ --from-beginning --plugin "$EX" >"$T/c.out" 2>"$T/c.err" &
cpid=$!
PIDS+=("$cpid")
wait_until 60 bash -c "[ \$(grep -c '^example-plugin: #' '$T/c.err') -ge 3 ]" ||
    fail "consume over TLS: $(cat "$T/c.err")"
stop_pid "$cpid"
cat "$T/c.out" "$T/c.err" >>"$ALL"
[ "$STOP_RC" = 0 ] || fail "consume exit $STOP_RC: $(cat "$T/c.err")"
expect_in "$T/c.err" '^example-plugin: #3 org.evbus.demo.order.placed.v1 '
expect_in "$T/c.err" '^evbus-cli: consume: 3 handled, 0 dead-lettered'
echo "    consume: $(grep -c '^example-plugin: #' "$T/c.err") events through the plugin"

echo "== SASL_SSL + SCRAM-SHA-512 from EVENT_BUS_KAFKA_API_KEY/_SECRET"
export EVENT_BUS_TOPIC_PREFIX=saslssl$$
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$EVBUS_TEST_KAFKA_SASL_SSL_BOOTSTRAP
export EVENT_BUS_KAFKA_API_KEY=$EVBUS_TEST_KAFKA_SASL_USER
export EVENT_BUS_KAFKA_API_SECRET=$EVBUS_TEST_KAFKA_SASL_PASSWORD
# The protocol is the default the API key selects (SASL_SSL); the mechanism is not (PLAIN).
S=(-X kafka.sasl.mechanism=SCRAM-SHA-512 -X kafka.ssl.ca.location="$CA")
run 0 "$CLI" "${S[@]}" publish $TYPE "$D/cli_orders.jsonl"
expect_in "$T/err" '6 messages delivered'
run 0 "$CLI" "${S[@]}" tail orders
round_trip SASL_SSL
run 0 "$CLI" "${S[@]}" -v -v topics
expect_in "$T/out" 'saslssl[0-9]+-orders'
unset EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS EVENT_BUS_KAFKA_API_KEY EVENT_BUS_KAFKA_API_SECRET

# A certificate the client must refuse: one clear line, exit 1, bounded.
refused() { # refused LABEL BOOTSTRAP CA_FILE WHY_REGEX [PUBLISH_ARGS...]
    local label=$1 why=$4 t0
    local B=(-b "$2" -X kafka.security.protocol=SSL -X kafka.ssl.ca.location="$3")
    shift 4
    echo "== $label"
    export EVENT_BUS_TOPIC_PREFIX=tls$$
    for cmd in "tail orders" topics; do
        t0=$(now_ms)
        # shellcheck disable=SC2086
        run 1 "$CLI" "${B[@]}" $cmd
        elapsed_ok "$t0" "$label: $cmd"
        [ "$(wc -l <"$T/err")" = 1 ] || fail "$label: $cmd printed $(wc -l <"$T/err") lines: $(cat "$T/err")"
        expect_in "$T/err" "^evbus-cli: ${cmd%% *}: TLS handshake with ssl://127.0.0.1:[0-9]+/bootstrap failed: $why"
        echo "    $cmd prints: $(cat "$T/err")"
    done
    t0=$(now_ms)
    run 1 "$CLI" "${B[@]}" "$@" publish $TYPE "$D/cli_orders.jsonl"
    elapsed_ok "$t0" "$label: publish"
    expect_in "$T/err" '0 messages delivered, 6 not delivered'
    [ "$(grep -c 'not delivered: .*last broker error: .*ssl://127.0.0.1:[0-9]*/bootstrap: .*certificate verify failed' "$T/err")" = 6 ] ||
        fail "$label: publish reasons: $(cat "$T/err")"
    ok
}
# publish gives up after kafka.message.timeout.ms.  Changed default: librdkafka's 300 s (the
# CLI's default too) would make each case wait 5 minutes; 30 s for the wrong CA, 10 s for the
# host name case, only to keep the test short.
BOUND=45 refused "SSL, a CA that did not sign the broker certificate" "$EVBUS_TEST_KAFKA_TLS_BOOTSTRAP" \
    "$EVBUS_TEST_KAFKA_TLS_WRONG_CA" "broker certificate not trusted: it is not signed by a CA of kafka.ssl.ca.location" \
    -X kafka.message.timeout.ms=30000
refused "SSL, a broker certificate for another host name" "$EVBUS_TEST_KAFKA_TLS_MISMATCH_BOOTSTRAP" "$CA" \
    "broker certificate is not issued for the host name connected to" -X kafka.message.timeout.ms=10000
# Verification turned off (kafka.enable.ssl.certificate.verification=false) stays off: the
# wrong-host listener is read without complaint.
export EVENT_BUS_TOPIC_PREFIX=tls$$
run 0 "$CLI" -b "$EVBUS_TEST_KAFKA_TLS_MISMATCH_BOOTSTRAP" -X kafka.security.protocol=SSL \
    -X kafka.enable.ssl.certificate.verification=false tail orders
round_trip "SSL without verification"

echo "== secrets"
[ -s "$ALL" ] || fail "no output collected"
for secret in "$EVBUS_TEST_KAFKA_SASL_PASSWORD" "$(cat "$EVBUS_TEST_KAFKA_TLS_DIR/password")"; do
    if grep -qF -- "$secret" "$ALL"; then fail "a secret appears in the output"; fi
    ok
done
echo "    $(wc -l <"$ALL") lines of output, no secret among them"

done_ok
