#!/usr/bin/env bash
# Progress on a terminal: a 100k-line `publish` under a pseudo-terminal shows a single updating
# line on stderr (events, rate, delivered, failed) that ends with the final counts and gives way
# to the summary; the same run with stderr piped, or with -q, shows no progress at all.  The
# same for `replay` of a 5000-message DLQ.
source "$(dirname "$0")/cli_testlib.sh"
D=$EVBUS_SRC/tests/integration/data
TYPE=org.evbus.demo.order.placed.v1
N=100000

start_broker --topic orders:3 --topic orders-by-user:3
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
export EVENT_BUS_PRODUCER_CONFIG=$D/cli_producer_config.json
export EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas
unset EVENT_BUS_TOPIC_PREFIX

python3 - "$D/cli_orders.jsonl" "$T/big.jsonl" "$N" <<'PY'
import json, sys
base = json.loads(open(sys.argv[1]).readline())
with open(sys.argv[2], "w") as f:
    for i in range(int(sys.argv[3])):
        base["order_id"] = f"o-{i}"
        f.write(json.dumps(base, separators=(",", ":")) + "\n")
PY

# pty_run OUT CMD...: run CMD with stdin, stdout and stderr on a pseudo-terminal; OUT gets all
# it wrote there.  Bounded: killed after 240 s without output.
pty_run() {
    python3 - "$@" <<'PY'
import os, pty, select, subprocess, sys
out, cmd = sys.argv[1], sys.argv[2:]
master, slave = pty.openpty()
p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave)
os.close(slave)
buf = b""
while True:
    r, _, _ = select.select([master], [], [], 240)
    if not r:
        p.kill(); p.wait(); sys.exit("no output for 240 s")
    try:
        chunk = os.read(master, 65536)
    except OSError:
        break
    if not chunk:
        break
    buf += chunk
open(out, "wb").write(buf)
sys.exit(p.wait(timeout=60))
PY
}

pty_run "$T/tty" "$CLI" publish $TYPE "$T/big.jsonl" || fail "publish on a pty: exit $?: $(tail -c 500 "$T/tty")"
python3 - "$T/tty" "$N" <<'PY' || fail "progress on a pty"
import re, sys
out, n = open(sys.argv[1], "rb").read().decode(), int(sys.argv[2])
draws = re.findall(r"\r\x1b\[Kpublish: (\d+) events, (\d+)/s, (\d+) delivered, (\d+) failed", out)
assert len(draws) >= 2, out[-2000:]
events = [int(d[0]) for d in draws]
assert events == sorted(events), events          # counts only grow
assert events[0] < n, events[:3]                 # shown while still running
last = draws[-1]
assert int(last[0]) == n and int(last[2]) == 2 * n and int(last[3]) == 0, last  # 2 topics each
# the progress line is redrawn in place (never a newline inside it), then cleared for the summary
assert re.search(r"failed\r\x1b\[K\r?evbus-cli: publish: %d events sent, 0 lines rejected, %d messages delivered" % (n, 2 * n), out), out[-600:]
assert out.count("\n") <= 3, out.count("\n")     # the summary is the only line of text
print(f"    {len(draws)} progress draws; first {draws[0]}, last {last}")
PY
ok

# stderr not a terminal: the summary only (stdout may be a terminal: it does not matter).
expect_rc 0 "$CLI" publish $TYPE "$T/big.jsonl"
[ "$(wc -l <"$T/err")" = 1 ] || fail "piped stderr: $(head -c 600 "$T/err")"
expect_in "$T/err" "^evbus-cli: publish: $N events sent, 0 lines rejected, $((2 * N)) messages delivered, 0 not delivered"
expect_not_in "$T/err" $'[\r\033]'

# -q on a terminal: nothing on stderr at all.
pty_run "$T/tty-q" "$CLI" -q publish $TYPE "$D/cli_orders.jsonl" || fail "publish -q on a pty"
[ ! -s "$T/tty-q" ] || fail "-q on a pty printed: $(cat -v "$T/tty-q")"
ok

# Error lines take the progress line off the screen first: a bad line's message starts a line.
{ head -1000 "$T/big.jsonl"; echo '{"order_id": 1}'; head -1000 "$T/big.jsonl"; } >"$T/mixed.jsonl"
pty_run "$T/tty-bad" "$CLI" publish $TYPE "$T/mixed.jsonl" && fail "a rejected line: exit 0"
python3 - "$T/tty-bad" <<'PY' || fail "error line after progress: $(cat -v "$T/tty-bad" | tail -c 800)"
import re, sys
out = open(sys.argv[1], "rb").read().decode()
assert re.search(r"\r\x1b\[Kevbus-cli: publish: line 1001: ", out) or out.startswith("evbus-cli: publish: line 1001: "), out[:400]
PY
ok

# replay: the same line while dead letters go back to their topic; none when piped.
seq 5000 | timeout 60 kcat -b "$BOOTSTRAP" -P -t orders.dlq -H evbus_original_topic=replayed -H evbus_error=x
pty_run "$T/tty-replay" "$CLI" replay orders.dlq || fail "replay on a pty: $(tail -c 500 "$T/tty-replay")"
python3 - "$T/tty-replay" <<'PY' || fail "replay progress: $(cat -v "$T/tty-replay" | tail -c 800)"
import re, sys
out = open(sys.argv[1], "rb").read().decode()
draws = re.findall(r"\r\x1b\[Kreplay: (\d+) events, \d+/s, (\d+) delivered, (\d+) failed", out)
assert len(draws) >= 2 and draws[-1] == ("5000", "5000", "0"), draws
assert "\r\x1b[Kevbus-cli: replay: 5000 replayed, 0 skipped, 0 failed" in out, out[-400:]
PY
ok
expect_rc 0 "$CLI" replay orders.dlq --all
[ "$(cat "$T/err")" = "evbus-cli: replay: 5000 replayed, 0 skipped, 0 failed" ] || fail "piped replay: $(cat -v "$T/err")"
ok

done_ok
