# Shared setup of the interop tests (sourced, not run): the Python peer (peer.py, in the venv
# that scripts/setup makes), the all-types interop schema and events, the real registry.
# Builds on tests/integration/cli_testlib.sh (expect_rc, wait_until, cleanup of PIDS, ok/fail).
source "$EVBUS_SRC/tests/integration/cli_testlib.sh"
: "${EVBUS_TEST_KAFKA_BOOTSTRAP:?run inside tests/kafka/with-kafka}" "${EVBUS_BUILD:?set by ctest}"

I=$EVBUS_SRC/tests/interop
PY=${EVBUS_CACHE:-$HOME/.cache/evbus}/venv/bin/python
[ -x "$PY" ] || fail "no Python venv at $PY: run scripts/setup venv"
"$PY" -c 'import confluent_kafka, fastavro' || fail "the venv at $PY lacks confluent-kafka/fastavro"

TYPE=org.evbus.test.interop.alltypes.v1
SCHEMAS=$I/schemas_interop
SCHEMA=$SCHEMAS/$TYPE.avsc
EVENTS=$I/data/alltypes.jsonl
NEVENTS=$(grep -c . "$EVENTS")
KEY_FIELD=inner.name
BOOTSTRAP=$EVBUS_TEST_KAFKA_BOOTSTRAP
export EVENT_BUS_SCHEMA_DIR=$SCHEMAS
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
unset EVENT_BUS_TOPIC_PREFIX EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL EVENT_BUS_PRODUCER_CONFIG

# peer NAME ARGS...: run peer.py (bounded); stdout to $T/NAME, its summary lines echoed.
peer() {
    local name=$1 rc=0
    shift
    timeout 180 "$PY" "$I/peer.py" "$@" >"$T/$name" 2>"$T/$name.err" || rc=$?
    if [ $rc != 0 ]; then
        printf -- '--- peer %s stderr\n%s\n' "$1" "$(tail -c 4000 "$T/$name.err")" >&2
        fail "peer $1 exited $rc"
    fi
    grep -h '^peer: ' "$T/$name" "$T/$name.err" || true
    ok
}

# start_registry: sets REG to the real schema registry (Apicurio) of tests/registry/with-registry,
# which the test runs under (shared with other tests: subjects are made unique by the prefixes).
start_registry() {
    REG=${EVBUS_TEST_REGISTRY_URL:?run inside tests/registry/with-registry}
    curl -sf -o /dev/null --max-time 30 "$REG/subjects" || fail "the registry at $REG does not answer"
}

# subjects PREFIX: the registry's subjects that start with PREFIX, sorted, one a line.
subjects() {
    curl -sf --max-time 30 "$REG/subjects" |
        python3 -c 'import json, sys; [print(s) for s in sorted(json.load(sys.stdin)) if s.startswith(sys.argv[1])]' "$1"
}
