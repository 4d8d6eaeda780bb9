# The BigchainDB/StoryBoard/Event-Gateway scenario of `consume`, shared by the embedded-broker
# (itest_cli_consume_config.sh) and real-Kafka (ktest_cli_consume_processes.sh) tests (sourced
# after cli_testlib.sh, with BOOTSTRAP set).  A consumer config file names the plugins: a
# configured v2 plugin that reads its settings in enabled()/init(), the same plugin switched off
# by its settings (reported once), and a filter that vetoes the org.openedx.* events.
D=$EVBUS_SRC/tests/integration/data
PLUGINS=$EVBUS_BUILD/tests/plugins
ORDER=org.evbus.demo.order.placed.v1
XBLOCK=org.openedx.content_authoring.xblock.published.v1
export EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas
export EVENT_BUS_PRODUCER_CONFIG=$D/cli_producer_config.json
export EVBUS_TEST_PLUGIN_OUT=$T/plugin.out
PFX=cc$$
NXB1=$(grep -c . "$EVBUS_SRC/examples/events/$XBLOCK.jsonl")
NORDERS=0 # orders published so far (a new group from the beginning sees them all)
NXB=0     # xblock events published so far

# write_config FILE GROUP DELAY_MS: the consumer config (plugin paths relative to the file).
write_config() {
    ln -sf "$PLUGINS/evbus_test_plugin_configured.so" "$T/configured.so"
    ln -sf "$PLUGINS/evbus_test_plugin_filter.so" "$T/filter.so"
    cat >"$1" <<JSON
{"topics": ["orders", "content-authoring-xblock-published"],
 "group": "$2",
 "plugins": [
   {"path": "configured.so", "settings": {"label": "worker", "delay_ms": $3}},
   {"path": "configured.so", "settings": {"label": "off", "enabled": false}},
   {"path": "filter.so", "settings": {"types": "org.openedx.*"}}],
 "retry": {"max": 2, "backoff_ms": 10},
 "dlq_suffix": ".dead"}
JSON
}

# publish_orders N TAG: N distinct orders (keys TAG-1..TAG-N), sent to orders and orders-by-user.
publish_orders() {
    python3 - "$1" "$2" "$D/cli_orders.jsonl" >"$T/orders.$2.jsonl" <<'PY'
import json, sys
n, tag, tmpl = int(sys.argv[1]), sys.argv[2], json.loads(open(sys.argv[3]).readline())
for i in range(1, n + 1):
    tmpl["order_id"] = "%s-%d" % (tag, i)
    print(json.dumps(tmpl))
PY
    "$CLI" -q -b "$BOOTSTRAP" --prefix "$PFX" publish "$ORDER" "$T/orders.$2.jsonl" || fail "publish $2"
    NORDERS=$((NORDERS + $1))
}
publish_xblocks() {
    "$CLI" -q -b "$BOOTSTRAP" --prefix "$PFX" publish "$XBLOCK" "$EVBUS_SRC/examples/events/$XBLOCK.jsonl" \
        || fail "publish xblocks"
    NXB=$((NXB + NXB1))
}

# Distinct event ids the worker plugin handled, and those the filter vetoed.
handled_ids() { grep '^cfg:worker ' "$EVBUS_TEST_PLUGIN_OUT" 2>/dev/null | awk '{print $2}' | sort -u; }
vetoed_ids() { grep '^veto ' "$EVBUS_TEST_PLUGIN_OUT" 2>/dev/null | awk '{print $2}' | sort -u; }
handled_ge() { [ "$(handled_ids | wc -l)" -ge "$1" ]; }
vetoed_ge() { [ "$(vetoed_ids | wc -l)" -ge "$1" ]; }

# No handler saw a vetoed event; the switched-off entry never ran.
check_veto() {
    local v
    [ "$(vetoed_ids | wc -l)" = "$NXB" ] || fail "vetoed $(vetoed_ids | wc -l) ids, expected $NXB"
    for v in $(vetoed_ids); do
        if grep -q "^cfg:[a-z]* $v " "$EVBUS_TEST_PLUGIN_OUT"; then fail "a handler saw vetoed event $v"; fi
    done
    expect_not_in "$EVBUS_TEST_PLUGIN_OUT" '^cfg:off '
    expect_not_in "$EVBUS_TEST_PLUGIN_OUT" '^init:test-configured:label=off'
    ok
}

# The latest "N partition(s) assigned" of a member pid (0 when none yet).
assigned_of() {
    local n
    n=$(grep -E "\(pid $2\): [0-9]+ partition" "$1" | tail -1 | sed -E 's/.*: ([0-9]+) partition.*/\1/')
    echo "${n:-0}"
}
assigned_gt0() { [ "$(assigned_of "$1" "$2")" -gt 0 ]; }
assigned_is() { [ "$(assigned_of "$1" "$2")" = "$3" ]; }
# member_pid LOG IDX: the pid of member IDX's latest run.
member_pid() { grep -E "member $2 \(pid [0-9]+\): [0-9]+ partition" "$1" | tail -1 | sed -E 's/.*\(pid ([0-9]+)\).*/\1/'; }
has_member_pid() { [ -n "$(member_pid "$1" "$2")" ] && [ "$(member_pid "$1" "$2")" != "${3:-}" ]; }

# processes_scenario NPARTS_TOTAL (of both topics): `consume --processes 2` from EVBUS_CONSUMER_CONFIG; member 1
# is killed mid-run; every event is handled at least once, its partitions go to member 0 and then
# to the restarted member 1 (restarted after the session timeout); SIGTERM stops everything with
# exit 0.  Kafka's default session timeout (45 s) would keep the dead member's partitions, and
# the restart, that long: 6 s (the brokers' minimum) makes the test take seconds; the default is
# what the single-process runs use.
processes_scenario() {
    local nparts=$1 log=$T/procs.err n0=60 n1=20
    : >"$EVBUS_TEST_PLUGIN_OUT"
    write_config "$T/procs.json" "procs-$PFX" 100
    # Both topics exist before the start (a topic made later is seen only at the next metadata
    # refresh), but most orders come once both members hold partitions: a member that joins
    # late finds the first one's queue handled first (a revoke waits for it), and would have
    # nothing of its own to handle before the kill.
    publish_orders 3 a0
    publish_xblocks
    EVBUS_CONSUMER_CONFIG=$T/procs.json "$CLI" -v -b "$BOOTSTRAP" --prefix "$PFX" \
        -X kafka.session.timeout.ms=6000 -X kafka.heartbeat.interval.ms=500 \
        consume --processes 2 --from-beginning >"$T/procs.out" 2>"$log" &
    local sup=$!
    PIDS+=("$sup")
    wait_until 60 has_member_pid "$log" 0 || fail "member 0 did not start: $(cat "$log")"
    wait_until 60 has_member_pid "$log" 1 || fail "member 1 did not start: $(cat "$log")"
    local p0 p1
    p0=$(member_pid "$log" 0)
    p1=$(member_pid "$log" 1)
    wait_until 60 assigned_gt0 "$log" "$p0" || fail "member 0 got no partition: $(cat "$log")"
    wait_until 60 assigned_gt0 "$log" "$p1" || fail "member 1 got no partition: $(cat "$log")"
    publish_orders $n0 a
    wait_until 60 grep -q "^cfg:worker .* $p1\$" "$EVBUS_TEST_PLUGIN_OUT" || fail "member 1 handled nothing"
    handled_ge "$NORDERS" && fail "all handled before the kill: no mid-run kill (raise delay_ms)"
    kill -KILL "$p1"
    wait_until 60 grep -q "member 1 (pid $p1) killed by signal 9; restarting" "$log" || fail "no restart notice"
    ok
    wait_until 60 assigned_is "$log" "$p0" "$nparts" || fail "partitions not moved to member 0: $(cat "$log")"
    ok
    wait_until 60 has_member_pid "$log" 1 "$p1" || fail "member 1 not restarted: $(cat "$log")"
    local p1b
    p1b=$(member_pid "$log" 1)
    wait_until 60 assigned_gt0 "$log" "$p1b" || fail "restarted member got no partition: $(cat "$log")"
    ok
    publish_orders $n1 b
    wait_until 120 handled_ge "$NORDERS" || fail "handled $(handled_ids | wc -l) of $NORDERS"
    wait_until 60 vetoed_ge "$NXB" || fail "vetoed $(vetoed_ids | wc -l) of $NXB"
    [ "$(handled_ids | wc -l)" = "$NORDERS" ] || fail "handled ids: $(handled_ids | wc -l) of $NORDERS"
    grep -q "^cfg:worker .* $p1b\$" "$EVBUS_TEST_PLUGIN_OUT" || fail "restarted member handled nothing"
    check_veto
    # Reported once although two members started and one restarted.
    [ "$(grep -c 'plugin test-configured (.*configured.so) not enabled: switched off' "$log")" = 1 ] \
        || fail "disabled plugin not reported exactly once: $(cat "$log")"
    stop_pid "$sup" TERM
    [ "$STOP_RC" = 0 ] || fail "supervisor exit $STOP_RC: $(tail -20 "$log")"
    for p in "$p0" "$p1b"; do
        if kill -0 "$p" 2>/dev/null; then fail "member $p still running"; fi
    done
    [ "$(grep -c 'handled, .* rejected$' "$log")" -ge 2 ] || fail "members did not close cleanly: $(tail "$log")"
    ok
}
