#!/usr/bin/env bash
# Every Open edX event type evbus ships a schema for (schemas/org.openedx.*, generated from
# openedx-events by scripts/openedx-schemas) can be named in a producer config, published,
# tailed and consumed on the embedded broker: one config with all of them (the key is the first
# string field of each schema), one datum per type made from its schema (every field filled,
# nullable ones alternately null and set), compared after the round trip.
source "$(dirname "$0")/cli_testlib.sh"
S=$EVBUS_SRC/schemas
export EVENT_BUS_SCHEMA_DIR=$S
unset EVENT_BUS_TOPIC_PREFIX EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL EVENT_BUS_PRODUCER_CONFIG

python3 - "$S" "$T" <<'PY'
import glob, json, os, sys
src, out = sys.argv[1], sys.argv[2]
cfg, n = {}, 0

def datum(t, named, flip):
    if isinstance(t, str) and t in named:
        t = named[t]
    if isinstance(t, list):  # openedx-events unions are ["null", T]
        other = [b for b in t if b != "null"][0]
        return None if flip[0] % 2 else datum(other, named, flip)
    if isinstance(t, dict):
        k = t["type"]
        if k == "record":
            named[t["name"]] = t
            r = {}
            for f in t["fields"]:
                flip[0] += 1
                r[f["name"]] = datum(f["type"], named, flip)
            return r
        if k == "array":
            return [datum(t["items"], named, flip), datum(t["items"], named, flip)]
        if k == "map":
            return {"k": datum(t["values"], named, flip)}
        if k == "enum":
            return t["symbols"][-1]
        return datum(k, named, flip)
    return {"string": "s\u00e9-%d" % flip[0], "long": 2**53 + flip[0], "int": -flip[0],
            "boolean": flip[0] % 2 == 0, "double": 0.5 + flip[0], "float": 1.25}[t]

def first_string(t, path):
    for f in t["fields"]:
        ft = f["type"]
        if ft == "string":
            return path + [f["name"]]
        if isinstance(ft, dict) and ft["type"] == "record":
            p = first_string(ft, path + [f["name"]])
            if p:
                return p
    return None

for p in sorted(glob.glob(os.path.join(src, "org.openedx.*.avsc"))):
    s = json.load(open(p))
    t = s["namespace"]
    key = first_string(s, [])
    assert key, t
    cfg[t] = [{"topic": "oe-all-%d" % n, "event_key_field": ".".join(key)}]
    with open(os.path.join(out, "%d.jsonl" % n), "w") as f:
        f.write(json.dumps(datum(s, {}, [0]), ensure_ascii=False) + "\n")
    with open(os.path.join(out, "types"), "a") as f:
        f.write("%d %s\n" % (n, t))
    n += 1
json.dump(cfg, open(os.path.join(out, "cfg.json"), "w"))
PY
NTYPES=$(wc -l <"$T/types")
[ "$NTYPES" -ge 64 ] || fail "only $NTYPES Open edX schemas"
expect_rc 0 "$CLI" validate-config "$T/cfg.json"
expect_in "$T/out" "^valid: $NTYPES event types, $NTYPES topics \\($NTYPES enabled\\)$"

start_broker
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
while read -r n type; do
    expect_rc 0 "$CLI" -c "$T/cfg.json" publish "$type" "$T/$n.jsonl"
done <"$T/types"
names=()
while read -r n type; do names+=("oe-all-$n"); done <"$T/types"
expect_rc 0 "$CLI" tail "${names[@]}" --from-beginning --format json
cp "$T/out" "$T/tailed"
python3 - "$T" <<'PY' || fail "round trip of every Open edX type"
import json, os, sys
d = sys.argv[1]
types = dict(l.split() for l in open(os.path.join(d, "types")))
got = [json.loads(l) for l in open(os.path.join(d, "tailed"))]
assert len(got) == len(types), (len(got), len(types))
for g in got:
    n = g["topic"].rsplit("-", 1)[1]
    assert g["type"] == types[n] and "error" not in g, g
    want = json.loads(open(os.path.join(d, n + ".jsonl")).read())
    assert g["data"] == want, (types[n], g["data"], want)
print("%d Open edX types published and tailed as sent" % len(got))
PY
ok

# consume: every type reaches a plugin (libconsumer) with its data.
plugin=$EVBUS_BUILD/examples/evbus_example_plugin.so
topics=()
while read -r n type; do topics+=(-t "oe-all-$n"); done <"$T/types"
"$CLI" consume "${topics[@]}" -g "all-$RANDOM" --from-beginning --plugin "$plugin" >"$T/c.out" 2>"$T/c.err" &
cpid=$!
PIDS+=("$cpid")
wait_until 120 bash -c "[ \$(grep -c '^example-plugin: #' '$T/c.err') -ge $NTYPES ]" ||
    fail "consume: $(grep -c '^example-plugin: #' "$T/c.err") of $NTYPES: $(tail -3 "$T/c.err")"
stop_pid "$cpid"
[ "$(grep '^example-plugin: #' "$T/c.err" | cut -d' ' -f3 | sort -u | wc -l)" = "$NTYPES" ] ||
    fail "consume: not every type"
ok
done_ok
