#!/usr/bin/env bash
# Secrets never reach the output: every evbus-cli command that touches the broker or the schema
# registry (publish, tail, topics, validate-config, consume), with -v and -vv, on success and on
# the error paths (wrong SASL password, wrong registry secret, rejected settings), has its
# stdout and stderr searched for the SASL password and the registry API secret (and the
# registry's basic-auth token); finding one fails the test.  Runs on a SASL/SCRAM broker of its
# own (tests/kafka/with-kafka --sasl scram) with a real schema registry requiring basic auth, of
# its own too (Apicurio, tests/registry/with-registry --auth).
if [[ ${EVBUS_TEST_KAFKA_SASL_MECHANISMS:-} != *SCRAM-SHA-512* ]]; then
    exec "$EVBUS_SRC/tests/kafka/with-kafka" --sasl scram -- bash "$0" "$@"
fi
if [ -z "${EVBUS_TEST_REGISTRY_USER:-}" ]; then
    exec "$EVBUS_SRC/tests/registry/with-registry" --auth -- bash "$0" "$@"
fi
source "$(dirname "$0")/cli_testlib.sh"
D=$EVBUS_SRC/tests/integration/data
TYPE=org.evbus.demo.order.placed.v1
rand() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
REG_USER=$EVBUS_TEST_REGISTRY_USER
REG_SECRET=$EVBUS_TEST_REGISTRY_PASSWORD
WRONG_PW=wrongpw-$(rand)
WRONG_REG=wrongreg-$(rand)
SASL_PW=$EVBUS_TEST_KAFKA_SASL_PASSWORD
SECRETS=("$SASL_PW" "$REG_SECRET" "$WRONG_PW" "$WRONG_REG"
         "$(printf '%s:%s' "$REG_USER" "$REG_SECRET" | base64 -w0)"
         "$(printf '%s:%s' "$REG_USER" "$WRONG_REG" | base64 -w0)")

REG_URL=$EVBUS_TEST_REGISTRY_URL

export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$EVBUS_TEST_KAFKA_SASL_BOOTSTRAP
export EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas
export EVENT_BUS_PRODUCER_CONFIG=$D/cli_producer_config.json
export EVENT_BUS_TOPIC_PREFIX=sec$$
export EVENT_BUS_KAFKA_API_KEY=$EVBUS_TEST_KAFKA_SASL_USER
export EVENT_BUS_KAFKA_API_SECRET=$SASL_PW
export EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL=$REG_URL
export EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY=$REG_USER
export EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET=$REG_SECRET
X=(-X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=SCRAM-SHA-512 -X cli.timeout.ms=10000
   -X kafka.message.timeout.ms=10000)
LOGS=$T/logs
mkdir -p "$LOGS"

# run RC NAME CMD...: run CMD (env as set), keep its stdout+stderr as logs/NAME, check RC
# ("any": only that it ends).
run() {
    local want=$1 name=$2 rc=0
    shift 2
    timeout 60 "$@" >"$LOGS/$name" 2>&1 </dev/null || rc=$?
    if [ "$want" != any ] && [ "$rc" != "$want" ]; then
        head -c 3000 "$LOGS/$name" >&2
        fail "$name: exit $rc, expected $want"
    fi
    ok
}

# Success paths.
run 0 publish-v "$CLI" "${X[@]}" -v publish $TYPE "$D/cli_orders.jsonl"
expect_in "$LOGS/publish-v" '6 messages delivered'
run 0 publish-vv "$CLI" "${X[@]}" -vv publish $TYPE "$D/cli_orders.jsonl"
run 0 tail-v "$CLI" "${X[@]}" -v tail orders
expect_in "$LOGS/tail-v" '"type":"org.evbus.demo.order.placed.v1"'
run 0 tail-vv "$CLI" "${X[@]}" -vv tail orders -n 2 --format pretty
run 0 topics-v "$CLI" "${X[@]}" -v topics
expect_in "$LOGS/topics-v" 'partitions=3'
run 0 validate-config-v "$CLI" "${X[@]}" -v validate-config
run 0 secret-by-flag "$CLI" -X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=SCRAM-SHA-512 \
    -X "sasl.password=$SASL_PW" -X "schema.registry.api.secret=$REG_SECRET" -v tail orders -n 1

# consume (the daemon, with a plugin loaded): until its -v status line counts events of
# "orders" as handled (the status comes every 10 s), then SIGTERM.
"$CLI" "${X[@]}" -vv consume -t orders -g sec$$ --from-beginning \
    --plugin "$EVBUS_BUILD/tests/plugins/evbus_test_plugin_ok.so" >"$LOGS/consume-vv" 2>&1 </dev/null &
cpid=$!
PIDS+=("$cpid")
wait_until 60 grep -Eq 'status: .* handled=[1-9]' "$LOGS/consume-vv" ||
    { tail -50 "$LOGS/consume-vv" >&2; fail "consume: no events handled"; }
stop_pid "$cpid" TERM
[ "$STOP_RC" = 0 ] || fail "consume exit status $STOP_RC"
expect_in "$LOGS/consume-vv" 'consume: [0-9]+ handled'

# Error paths: wrong SASL password.
export EVENT_BUS_KAFKA_API_SECRET=$WRONG_PW
run 1 wrong-pw-publish "$CLI" "${X[@]}" -vv publish $TYPE "$D/cli_orders.jsonl"
expect_in "$LOGS/wrong-pw-publish" 'Authentication failed'
run 1 wrong-pw-tail "$CLI" "${X[@]}" -vv tail orders
run 1 wrong-pw-topics "$CLI" "${X[@]}" -v topics
# A consumer with bad credentials keeps retrying: stop it once it has reported the failure.
"$CLI" "${X[@]}" -v consume -t orders -g g$$ >"$LOGS/wrong-pw-consume" 2>&1 </dev/null &
wpid=$!
PIDS+=("$wpid")
wait_until 30 grep -q 'Authentication failed' "$LOGS/wrong-pw-consume" ||
    fail "consume with a wrong password: $(tail -5 "$LOGS/wrong-pw-consume")"
stop_pid "$wpid" TERM
echo "consume with a wrong password: exit $STOP_RC after SIGTERM; says: $(grep -m1 -o 'SASL authentication error: [^(]*' "$LOGS/wrong-pw-consume")"
export EVENT_BUS_KAFKA_API_SECRET=$SASL_PW

# Error paths: wrong registry secret (the registry answers 401).
export EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET=$WRONG_REG
run 1 wrong-reg-publish "$CLI" "${X[@]}" -vv publish $TYPE "$D/cli_orders.jsonl"
expect_in "$LOGS/wrong-reg-publish" '401|nauthori'
echo "publish with a wrong registry secret: $(grep -m1 -E '^evbus-cli: publish: .*(401|nauthori)' "$LOGS/wrong-reg-publish" | cut -c1-200)"
run any wrong-reg-tail "$CLI" "${X[@]}" -vv tail orders
# tail still prints the events (an error field each) or fails; either way it says why
expect_in "$LOGS/wrong-reg-tail" '401|nauthori'
echo "tail with a wrong registry secret: $(grep -m1 -oE '"error":"[^"]*"|^evbus-cli: tail: .*' "$LOGS/wrong-reg-tail")"
export EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET=$REG_SECRET

# Error paths: settings rejected (the secret is a value next to the bad one).
run 2 bad-mechanism "$CLI" -X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=BOGUS -v publish $TYPE "$D/cli_orders.jsonl"
run 2 bad-protocol "$CLI" -X security.protocol=NOPE -X "sasl.password=$SASL_PW" -v tail orders
run 2 bad-sasl-value "$CLI" -X "kafka.sasl.password=$SASL_PW" -X kafka.sasl.kerberos.min.time.before.relogin=-5 -v topics
run 2 bad-registry-url "$CLI" -X "schema.registry.url=not a url" -X "schema.registry.api.secret=$REG_SECRET" -v publish $TYPE "$D/cli_orders.jsonl"
printf '{"%s": [{"topic": "orders", "event_key_field": "nope"}]}\n' $TYPE >"$T/bad-config.json"
run 2 validate-config-bad "$CLI" -v validate-config "$T/bad-config.json"

# The search (checked first on a log that does hold a secret, so it is known to work).
# leaks DIR: prints and counts every secret found in DIR's files.
leaks() {
    local f s found=0
    for f in "$1"/*; do
        for s in "${SECRETS[@]}"; do
            if grep -qF -- "$s" "$f"; then
                echo "SECRET LEAKED in $(basename "$f"): $(grep -nF -- "$s" "$f" | head -3)" >&2
                found=$((found + 1))
            fi
        done
    done
    return $found
}
mkdir -p "$T/control"
printf 'evbus-cli: x: sasl.password=%s\n' "$SASL_PW" >"$T/control/log"
if leaks "$T/control" 2>/dev/null; then fail "the secret search finds nothing"; fi
leaks "$LOGS" || fail "a secret appeared in evbus-cli output"
ok
bytes=$(cat "$LOGS"/* | wc -c)
echo "security: ${#SECRETS[@]} secret values searched in $(ls "$LOGS" | wc -l) command outputs ($bytes bytes): none found"
done_ok
