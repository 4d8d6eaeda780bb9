#!/usr/bin/env bash
# A hostile producer against `evbus-cli consume`'s log (embedded broker): ce_type and ce_id
# headers carrying ESC sequences, C1 controls, U+2028 and bidi controls reach the log lines
# (the audit line of a handled event, the dead-letter line).  In --log-format text and json,
# stderr must hold no byte a terminal acts on, with the escapes tail shows (text) or a JSON
# string that decodes back to the producer's bytes (json).  Waits for the lines, not a time.
source "$(dirname "$0")/cli_testlib.sh"
D=$EVBUS_SRC/tests/integration/data
TYPE=org.evbus.demo.order.placed.v1

start_broker --topic orders:1 --topic hostile:1
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
export EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas
unset EVENT_BUS_TOPIC_PREFIX

# A valid value, re-sent by a raw producer with hostile headers: a hostile ce_id on an event
# that is handled, a hostile ce_type on one that is dead-lettered (no schema of that type).
expect_rc 0 "$CLI" -q -c "$D/cli_producer_config.json" publish $TYPE "$D/cli_orders.jsonl"
timeout 30 kcat -b "$BOOTSTRAP" -C -t orders -o 0 -c 1 -e -f '%s' >"$T/value.bin"
[ -s "$T/value.bin" ] || fail "no value read back"
timeout 30 kcat -b "$BOOTSTRAP" -P -t hostile -p 0 -H "ce_type=$TYPE" \
    -H $'ce_id=id\x1b[2J\xc2\x9b\xe2\x80\xa8\xe2\x80\xae\\x1b' -H ce_source=s -H ce_specversion=1.0 \
    -H content-type=application/avro "$T/value.bin" || fail "kcat"
timeout 30 kcat -b "$BOOTSTRAP" -P -t hostile -p 0 -H $'ce_type=bad\x1b]0;t\x07\xc2\x85\xe2\x81\xa6' \
    -H ce_id=x "$T/value.bin" || fail "kcat"

for fmt in text json; do
    # audit.log=true: a line per handled event, with its ce_type and ce_id (off by default)
    "$CLI" --no-prefix -X audit.log=true consume -t hostile -g "g-$fmt-$$" --from-beginning \
        --log-format $fmt >"$T/$fmt.out" 2>"$T/$fmt.err" &
    pid=$!
    PIDS+=("$pid")
    wait_until 60 grep -q 'dead-lettered' "$T/$fmt.err" || fail "$fmt: no dead-letter line: $(cat "$T/$fmt.err")"
    wait_until 60 grep -q 'event handled' "$T/$fmt.err" || fail "$fmt: no audit line: $(cat "$T/$fmt.err")"
    stop_pid "$pid" TERM
    [ "$STOP_RC" = 0 ] || fail "consume --log-format $fmt exit $STOP_RC: $(cat "$T/$fmt.err")"
    ok
done

# Nothing a terminal acts on: ESC, C0 but newline, DEL, C1 (raw or as invalid bytes),
# U+2028/2029, the bidi controls.
python3 - "$T/text.err" "$T/json.err" <<'PY' || fail "raw control bytes in the log"
import re, sys
bad = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
for path in sys.argv[1:]:
    text = open(path, "rb").read().decode("utf-8")  # strict: no invalid UTF-8 either
    for n, line in enumerate(text.splitlines(), 1):
        m = bad.search(line)
        assert not m, "%s:%d: raw %r in %r" % (path, n, m.group(), line)
PY
ok
# text: the escapes tail shows; the producer's literal backslash doubled
expect_in "$T/text.err" 'ce_id=id\\x1b\[2J\\u009b\\u2028\\u202e\\\\x1b'
# (the dead-letter line shows the lifecycle event's JSON, escaped the same way)
expect_in "$T/text.err" 'dead-lettered: .*"type":"bad\\u001[bB]\]0;t\\u0007\\u0085\\u2066"'
# json: every line an object; the fields decode back to the producer's text
python3 - "$T/json.err" <<'PY' || fail "json log lines"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8").read().splitlines()]
audit = [o for o in objs if o.get("message") == "event handled"]
dead = [o for o in objs if o.get("message") == "dead-lettered"]
assert len(audit) == 1 and len(dead) == 1, objs
assert audit[0]["ce_id"] == "id\x1b[2J\u009b\u2028\u202e\\x1b", audit[0]
assert dead[0]["ce_type"] == "bad\x1b]0;t\x07\u0085\u2066", dead[0]
PY
ok
done_ok
