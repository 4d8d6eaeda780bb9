#!/usr/bin/env bash
# A hostile producer against `evbus-cli tail` (embedded broker): keys, header names and values,
# ce_type, ce_id and event data carrying ESC sequences, C1 controls, U+2028, bidi overrides and
# invalid UTF-8.  Every format is checked byte for byte (the exact escapes expected), and every
# output, the coloured pretty format under a pseudo-terminal included, must hold no byte a
# terminal acts on other than tail's own colour codes.
source "$(dirname "$0")/cli_testlib.sh"
D=$EVBUS_SRC/tests/integration/data
TYPE=org.evbus.demo.order.placed.v1

start_broker --topic orders:1 --topic orders-by-user:1 --topic hostile:1
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
export EVENT_BUS_PRODUCER_CONFIG=$D/cli_producer_config.json
export EVENT_BUS_SCHEMA_DIR=$EVBUS_SRC/schemas
unset EVENT_BUS_TOPIC_PREFIX NO_COLOR

# 1. Through evbus itself: the key field and a data string hold ESC, C1 CSI, U+2028 and U+202E
#    (JSON escapes in, raw UTF-8 in the Avro bytes and the key).
cat >"$T/ev.jsonl" <<'J'
{"order_id":"\u001b[2Jo\u009b31m\u2028\u202e","placed_at":"2024-05-01T12:00:00.000000+00:00","customer":{"id":1,"email":"e","pii":{"username":"u\u001b]0;pwned\u0007","name":null}},"items":[],"total":1.0,"currency":"EUR","tags":{"\u001b[5m":"\u0085\u007f"},"note":"n\u2029\u2066"}
J
expect_rc 0 "$CLI" -q publish $TYPE "$T/ev.jsonl"

# 2. A raw producer (kcat): the valid value with a hostile raw key and hostile headers (ce_type,
#    ce_id, a header name and values with invalid UTF-8), and garbage with a hostile ce_type.
timeout 30 kcat -b "$BOOTSTRAP" -C -t orders -o 0 -c 1 -e -f '%s' >"$T/value.bin"
[ -s "$T/value.bin" ] || fail "no value read back"
timeout 30 kcat -b "$BOOTSTRAP" -P -t hostile -p 0 -k $'k\x1b[2J\xff\xc2\x9b' \
    -H $'ce_type=x\x1b]0;t\x07' -H $'ce_id=\x1b[1A\xe2\x80\xae' \
    -H $'x-\x1b[31m=\x9b2J\xe2\x80\xa8\\x1b' "$T/value.bin"
printf 'junk' >"$T/junk.bin"
timeout 30 kcat -b "$BOOTSTRAP" -P -t hostile -p 0 -H $'ce_type=bad\x1b[8m\xc2\x85' "$T/junk.bin"

for fmt in json pretty raw; do
    expect_rc 0 "$CLI" tail orders hostile --from-beginning --format "$fmt"
    cp "$T/out" "$T/$fmt.out"
done
script -qec "$CLI tail orders hostile --from-beginning --format pretty" /dev/null \
    </dev/null >"$T/tty.out"
grep -q $'\033\\[1;36m' "$T/tty.out" || fail "pretty under a pty is not coloured"
ok
# The same under a pty driven from Python (no `script` line editing in between), to be sure
# what the program writes to a terminal is checked, not what `script` makes of it.
python3 - "$CLI" "$T/pty.out" <<'PY' || fail "pty run"
import os, pty, sys, select, subprocess
master, slave = pty.openpty()
p = subprocess.Popen([sys.argv[1], "tail", "orders", "hostile", "--from-beginning", "--format",
                      "pretty"], stdout=slave, stderr=slave, stdin=subprocess.DEVNULL)
os.close(slave)
out = b""
while True:
    r, _, _ = select.select([master], [], [], 30)
    if not r:
        p.kill(); sys.exit("no output for 30 s")
    try:
        chunk = os.read(master, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
sys.exit(p.wait(timeout=30) or open(sys.argv[2], "wb").write(out) and 0)
PY
ok

python3 - "$T" <<'PY' || fail "hostile output check"
import json, re, sys
T = sys.argv[1]
def rd(n): return open(f"{T}/{n}.out", "rb").read()
# Only tail's own colours may be escape sequences; after removing them, no C0 control but
# newline (and the pty's CR), no DEL, no C1, no U+2028/2029, no bidi control, valid UTF-8.
COLOURS = re.compile(rb"\x1b\[(?:0|1;36|2|34|32|1;31)m")
BAD = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
def safe(name, allow_colour=False, allow_cr=False, allow_tab=False):
    b = rd(name)
    if allow_tab:  # raw's column separator
        b = b.replace(b"\t", b" ")
    if allow_colour:
        b = COLOURS.sub(b"", b)
    if allow_cr:
        b = b.replace(b"\r\n", b"\n")
    s = b.decode("utf-8")  # raises on invalid UTF-8
    m = BAD.search(s)
    assert not m, f"{name}: raw {m.group()!r} at {m.start()}: {s[max(0, m.start()-40):m.start()+40]!r}"
safe("json"); safe("pretty"); safe("raw", allow_tab=True)
safe("tty", allow_colour=True, allow_cr=True)
safe("pty", allow_colour=True, allow_cr=True)

# json: valid JSON, the same values, every unsafe code point as \uXXXX
# tail orders by timestamp only within a topic: put the lines in (topic, offset) order
lines = rd("json").decode().splitlines()
assert len(lines) == 3, lines
lines.sort(key=lambda l: (json.loads(l)["topic"] != "orders", json.loads(l)["offset"]))
ev, raw, junk = (json.loads(l) for l in lines)
assert ev["key"] == "\x1b[2Jo\x9b31m\u2028\u202e", ev["key"]
assert ev["data"]["customer"]["pii"]["username"] == "u\x1b]0;pwned\x07"
assert ev["data"]["tags"] == {"\x1b[5m": "\x85\x7f"}
assert ev["data"]["note"] == "n\u2029\u2066"
j = lines[0]
for want in (r'"key":"\u001b[2Jo\u009b31m\u2028\u202e"', r'"username":"u\u001b]0;pwned\u0007"',
             r'"tags":{"\u001b[5m":"\u0085\u007f"}', r'"note":"n\u2029\u2066"'):
    assert want in j, (want, j)
# the raw key is not UTF-8 (no key string), the headers are shown with U+FFFD for bad bytes
assert raw["key"] is None, raw["key"]
assert raw["type"] == "x\x1b]0;t\x07" and raw["id"] == "\x1b[1A\u202e", (raw["type"], raw["id"])
assert raw["headers"]["x-\x1b[31m"] == "\ufffd2J\u2028\\x1b", raw["headers"]
for want in (r'"type":"x\u001b]0;t\u0007"', r'"id":"\u001b[1A\u202e"',
             r'"x-\u001b[31m":"\ufffd2J\u2028\\x1b"'):
    assert want in lines[1], (want, lines[1])
assert junk["type"] == "bad\x1b[8m\x85" and "error" in junk
assert r'"type":"bad\u001b[8m\u0085"' in lines[2], lines[2]

# pretty: the escapes are visible text; a literal backslash is doubled
p = rd("pretty").decode()
for want in ("  key     \\x1b[2Jo\\u009b31m\\u2028\\u202e\n",
             '    "username": "u\\u001b]0;pwned\\u0007",\n',
             '    "\\u001b[5m": "\\u0085\\u007f"\n',
             "  key     k\\x1b[2J\\xff\\u009b\n",   # raw key bytes, not UTF-8: shown escaped
             "  type    x\\x1b]0;t\\x07\n",
             "  id      \\x1b[1A\\u202e\n",
             "  x-\\x1b[31m=\\x9b2J\\u2028\\\\x1b\n",
             "  type    bad\\x1b[8m\\u0085\n"):
    assert want in p, (want, p)
# under the pty the same text, coloured (events of the two topics may interleave differently
# from one run to the next: compare the events, not their order)
t = COLOURS.sub(b"", rd("pty")).decode().replace("\r\n", "\n")
blocks = lambda x: sorted(x.split("\n\n"))
assert blocks(t) == blocks(p), (t, p)

# raw: tab-separated columns stay 9 per line, the type column sanitized
r = sorted(rd("raw").decode().splitlines(), key=lambda l: (l.split("\t")[0] != "orders", l.split("\t")[2]))
assert all(len(l.split("\t")) == 9 for l in r), r
assert r[1].split("\t")[4] == "x\\x1b]0;t\\x07", r[1]
assert r[2].split("\t")[4] == "bad\\x1b[8m\\u0085", r[2]
print("hostile output checked: %d json, %d pretty, %d raw bytes" % (len(rd("json")), len(p), len(rd("raw"))))
PY
ok

# Error lines quote outside text too: a topic name given with an ESC is shown escaped.
expect_rc 2 "$CLI" tail $'bad\x1b[2Jtopic'
expect_in "$T/err" '^evbus-cli: tail: .*bad\\x1b\[2Jtopic'
expect_not_in "$T/err" $'\033'

done_ok
