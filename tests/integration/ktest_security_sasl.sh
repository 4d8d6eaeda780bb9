#!/usr/bin/env bash
# SASL on a real broker (a cluster of its own: tests/kafka/with-kafka --sasl scram,plain, one
# SASL_PLAINTEXT listener offering SCRAM-SHA-512 and PLAIN).  For each mechanism:
#  - the right credentials, from EVENT_BUS_KAFKA_API_KEY / _API_SECRET, work: publish -> tail
#    round trip (the default is SASL_SSL + PLAIN like the Python bus, hence the -X overrides);
#  - a wrong password is exit status 1 within a bounded time, with the authentication failure
#    on stderr (publish), and nothing is delivered.
if [ "${EVBUS_TEST_KAFKA_SASL_MECHANISMS:-}" != SCRAM-SHA-512,PLAIN ]; then
    exec "$EVBUS_SRC/tests/kafka/with-kafka" --sasl scram,plain -- bash "$0" "$@"
fi
source "$(dirname "$0")/cli_testlib.sh"
D=$EVBUS_SRC/tests/integration/data
TYPE=org.evbus.demo.order.placed.v1
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$EVBUS_TEST_KAFKA_SASL_BOOTSTRAP
export EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas
export EVENT_BUS_PRODUCER_CONFIG=$D/cli_producer_config.json
export EVENT_BUS_KAFKA_API_KEY=$EVBUS_TEST_KAFKA_SASL_USER
export EVENT_BUS_KAFKA_API_SECRET=$EVBUS_TEST_KAFKA_SASL_PASSWORD
BOUND=30 # seconds a wrong password may take to be reported

# elapsed_ok START: the command started at START (ms) ended within BOUND seconds.
now_ms() { date +%s%3N; }
elapsed_ok() {
    local ms=$(($(now_ms) - $1))
    printf '    %s took %d.%03d s\n' "$2" $((ms / 1000)) $((ms % 1000))
    [ "$ms" -lt $((BOUND * 1000)) ] || fail "$2 took ${ms} ms (bound ${BOUND}s)"
    ok
}

for mech in SCRAM-SHA-512 PLAIN; do
    echo "== $mech"
    export EVENT_BUS_TOPIC_PREFIX=sasl$$-${mech%%-*}
    X=(-X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=$mech)

    # Right credentials: round trip.
    expect_rc 0 "$CLI" "${X[@]}" publish $TYPE "$D/cli_orders.jsonl"
    expect_in "$T/err" '3 events sent, 0 lines rejected, 6 messages delivered'
    expect_rc 0 "$CLI" "${X[@]}" tail orders
    python3 - "$D/cli_orders.jsonl" "$T/out" <<'PY' || fail "$mech round trip"
import json, sys
canon = lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False)
want = sorted(canon(json.loads(l)) for l in open(sys.argv[1]) if l.strip())
got = sorted(canon(json.loads(l)["data"]) for l in open(sys.argv[2]))
assert got == want, (got, want)
PY
    ok
    echo "    publish -> tail round trip: $(wc -l <"$T/out") events"

    # Wrong password: publish.
    t0=$(now_ms)
    EVENT_BUS_KAFKA_API_SECRET=wrong-$EVBUS_TEST_KAFKA_SASL_PASSWORD \
        expect_rc 1 "$CLI" "${X[@]}" -X kafka.message.timeout.ms=10000 publish $TYPE "$D/cli_orders.jsonl"
    elapsed_ok "$t0" "publish with a wrong password"
    # evbus-cli's own failure lines carry the broker's reason (librdkafka's logs are off)
    expect_in "$T/err" '^evbus-cli: publish: .* not delivered: .*last broker error: .*SASL authentication error'
    expect_in "$T/err" '0 messages delivered, 6 not delivered'
    echo "    publish prints: $(grep -m1 -o 'last broker error: [^)]*' "$T/err")"
    echo "    publish's own lines: $(grep '^evbus-cli:' "$T/err" | tail -1)"

    # Wrong password: tail and topics.
    for cmd in "tail orders" "topics"; do
        t0=$(now_ms)
        # shellcheck disable=SC2086
        EVENT_BUS_KAFKA_API_SECRET=wrong-$EVBUS_TEST_KAFKA_SASL_PASSWORD \
            expect_rc 1 "$CLI" "${X[@]}" -X cli.timeout.ms=10000 $cmd
        elapsed_ok "$t0" "$cmd with a wrong password"
        expect_in "$T/err" '^evbus-cli: [a-z]+: authentication failed: .*SASL authentication error'
        echo "    $cmd prints: $(grep '^evbus-cli:' "$T/err" | head -1)"
    done
done

# The default security protocol is SASL_SSL (as the Python bus): against this plaintext
# listener that fails, with exit status 1, in bounded time.
export EVENT_BUS_TOPIC_PREFIX=sasl$$-SCRAM
t0=$(now_ms)
expect_rc 1 "$CLI" -X cli.timeout.ms=5000 tail orders
elapsed_ok "$t0" "tail with the default SASL_SSL against a SASL_PLAINTEXT listener"
echo "    prints: $(grep '^evbus-cli:' "$T/err" | head -1)"

done_ok
