#!/usr/bin/env bash
# Schema evolution through a real schema registry (Apicurio, tests/registry/with-registry), as in
# a rolling upgrade of an Open edX deployment: a service still on the old xblock.published
# schema (no "version" field) and one on the current schema write to one topic in Confluent
# framing. The registry keeps both as versions of the topic's subject, under the compatibility
# level a deployment sets (BACKWARD here: Apicurio's global default is NONE), and refuses a
# change that breaks it; readers fetch each writer schema by id and resolve it into their own.
# Then `evbus-cli schemas compat` is held against the registry's own compatibility endpoint:
# for each pair of schemas, evbus's verdict (FULL/BACKWARD/FORWARD/NONE) is the registry's.
# (itest_cli_evolution.sh does the same rolling upgrade without a registry.)
if [ -z "${EVBUS_TEST_REGISTRY_URL:-}" ]; then
    exec "$EVBUS_SRC/tests/registry/with-registry" -- bash "$0" "$@"
fi
source "$EVBUS_SRC/tests/integration/cli_testlib.sh"
REG=$EVBUS_TEST_REGISTRY_URL
TYPE=org.openedx.content_authoring.xblock.published.v1
S=$EVBUS_SRC/schemas
P=evo$$
SUBJECT=$P-content-authoring-xblock-published-$TYPE.CloudEvent
export EVENT_BUS_PRODUCER_CONFIG=$EVBUS_SRC/tests/integration/data/cli_producer_config.json
export EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL=$REG
unset EVENT_BUS_TOPIC_PREFIX

# reg METHOD PATH [JSON]: the registry's answer (body) on stdout; fails on a non-2xx status.
reg() {
    curl -sf --max-time 30 -X "$1" ${3:+-H 'Content-Type: application/vnd.schemaregistry.v1+json' --data "$3"} \
        "$REG$2" || fail "registry: $1 $2 failed"
}

old=$(ls "$S"/history/$TYPE.*.avsc)
[ "$(wc -l <<<"$old")" = 1 ] || fail "expected one history file for $TYPE"
mkdir -p "$T/old/history"
cp "$old" "$T/old/$TYPE.avsc"
cp "$S/$TYPE.avsc" "$T/old/history/$TYPE.current.avsc"
cp "$S/org.evbus.demo.order.placed.v1.avsc" "$T/old/"
grep -q '"version"' "$T/old/$TYPE.avsc" && fail "the history version should predate the version field"

start_broker
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
printf '%s\n' '{"xblock_info":{"usage_key":"block-v1:o+c+r+type@html+block@old","block_type":"html"}}' >"$T/old.jsonl"
printf '%s\n' '{"xblock_info":{"usage_key":"block-v1:o+c+r+type@html+block@new","block_type":"html","version":"v7"}}' >"$T/new.jsonl"

# 1. The old service writes first: its schema is the subject's version 1.
expect_rc 0 "$CLI" --prefix $P --schemas "$T/old" publish $TYPE "$T/old.jsonl"
[ "$(reg GET "/subjects/$SUBJECT/versions")" = "[1]" ] || fail "versions after the old writer"
ok
reg PUT "/config/$SUBJECT" '{"compatibility":"BACKWARD"}' >/dev/null
# 2. The upgraded service: a compatible change (a nullable field with a default), version 2.
expect_rc 0 "$CLI" --prefix $P --schemas "$S" publish $TYPE "$T/new.jsonl"
[ "$(reg GET "/subjects/$SUBJECT/versions")" = "[1,2]" ] || fail "versions after the new writer"
ok
# 3. A change BACKWARD forbids (a field without a default): the registry refuses it, the event
# is not sent, and the message says why.
mkdir -p "$T/bad"
python3 - "$S/$TYPE.avsc" "$T/bad/$TYPE.avsc" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["fields"][0]["type"]["fields"].append({"name": "required_new", "type": "string"})
json.dump(s, open(sys.argv[2], "w"))
PY
cp "$S/org.evbus.demo.order.placed.v1.avsc" "$T/bad/"
printf '%s\n' '{"xblock_info":{"usage_key":"block-v1:o+c+r+type@html+block@bad","block_type":"html","required_new":"x"}}' >"$T/bad.jsonl"
expect_rc 1 "$CLI" --prefix $P --schemas "$T/bad" publish $TYPE "$T/bad.jsonl"
expect_in "$T/err" 'HTTP 409 from POST /subjects/'
expect_in "$T/err" '1 events? (sent|failed)|0 messages delivered'
[ "$(reg GET "/subjects/$SUBJECT/versions")" = "[1,2]" ] || fail "the refused schema became a version"
ok

data() { python3 -c 'import json,sys; [print(json.dumps(json.loads(l)["data"], separators=(",", ":"))) for l in open(sys.argv[1])]' "$1"; }

# 4. Readers: each message's writer schema comes from the registry by its id.
expect_rc 0 "$CLI" --prefix $P --schemas "$S" tail content-authoring-xblock-published --from-beginning --format raw
[ "$(grep -oE 'confluent:[0-9]+' "$T/out" | sort -u | wc -l)" -ge 3 ] || fail "expected two value ids and a key id: $(cut -c1-200 "$T/out")"
ok
expect_not_in "$T/out" 'block@bad'
# New reader (the current schemas).
expect_rc 0 "$CLI" --prefix $P --schemas "$S" tail content-authoring-xblock-published --from-beginning --as-reader
data "$T/out" >"$T/new_reader"
[ "$(wc -l <"$T/new_reader")" = 2 ] || fail "new reader: $(cat "$T/new_reader")"
expect_in "$T/new_reader" '^\{"xblock_info":\{"usage_key":"block-v1:o\+c\+r\+type@html\+block@old","block_type":"html","version":null\}\}$'
expect_in "$T/new_reader" '^\{"xblock_info":\{"usage_key":"block-v1:o\+c\+r\+type@html\+block@new","block_type":"html","version":"v7"\}\}$'
# Old reader: the version field the new writer added is dropped.
expect_rc 0 "$CLI" --prefix $P --schemas "$T/old" tail content-authoring-xblock-published --from-beginning --as-reader
data "$T/out" >"$T/old_reader"
[ "$(grep -c '"version"' "$T/old_reader" || true)" = 0 ] || fail "old reader saw version: $(cat "$T/old_reader")"
expect_in "$T/old_reader" '^\{"xblock_info":\{"usage_key":"block-v1:o\+c\+r\+type@html\+block@new","block_type":"html"\}\}$'
[ "$(wc -l <"$T/old_reader")" = 2 ] || fail "old reader: $(cat "$T/old_reader")"
# The consumer side: a plugin under `consume` (libconsumer) sees the reader's shape.
plugin=$EVBUS_BUILD/examples/evbus_example_plugin.so
[ -f "$plugin" ] || fail "no example plugin at $plugin"
"$CLI" --prefix $P --schemas "$S" consume -t content-authoring-xblock-published -g "evo-$RANDOM" \
    --from-beginning --plugin "$plugin" >"$T/consumed.out" 2>"$T/consumed" &
cpid=$!
PIDS+=("$cpid")
wait_until 60 grep -q 'block@new' "$T/consumed" || fail "consumer: $(cat "$T/consumed")"
wait_until 60 grep -q 'block@old' "$T/consumed" || fail "consumer: $(cat "$T/consumed")"
stop_pid "$cpid"
expect_in "$T/consumed" 'block@old","block_type":"html","version":null\}\}$'
expect_in "$T/consumed" 'block@new","block_type":"html","version":"v7"\}\}$'

# 5. `schemas compat` against the registry's compatibility endpoint. Pairs: the real upgrade
# both ways, a field without a default added, a field removed, a type changed, a nullable
# field made required; then the resolution rules one by one (promotions, enums, unions, nested
# records, arrays, maps, fixed). For each, the registry judges NEW against OLD (registered in a
# fresh subject) at BACKWARD and at FORWARD; both = FULL, neither = NONE.
# (A field renamed with its old name as an alias was NONE for evbus and BACKWARD for the
# registry before evbus read field aliases: this test found it.)
python3 - "$old" "$T" <<'PY'
import copy, json, sys
old = json.load(open(sys.argv[1]))
t = sys.argv[2]
def variant(name, edit):
    s = copy.deepcopy(old)
    edit(s["fields"][0]["type"]["fields"])
    json.dump(s, open("%s/%s.avsc" % (t, name), "w"))
variant("add_required", lambda f: f.append({"name": "extra", "type": "string"}))
variant("drop_field", lambda f: f.pop())
variant("retype", lambda f: f.__setitem__(0, {"name": f[0]["name"], "type": "int"}))
variant("add_optional", lambda f: f.append({"name": "extra", "type": ["null", "string"], "default": None}))
def rec(fields, ns="c.v1"):
    return {"type": "record", "name": "CloudEvent", "namespace": ns, "fields": fields}
def f(n, t, **kw):
    return dict(name=n, type=t, **kw)
def enum(syms, **kw):
    return dict(type="enum", name="E", symbols=syms, **kw)
rules = {
    "int_to_long": (rec([f("a", "int")]), rec([f("a", "long")])),
    "long_to_int": (rec([f("a", "long")]), rec([f("a", "int")])),
    "int_to_double": (rec([f("a", "int")]), rec([f("a", "double")])),
    "string_to_bytes": (rec([f("a", "string")]), rec([f("a", "bytes")])),
    "enum_add_symbol": (rec([f("a", enum(["A", "B"]))]), rec([f("a", enum(["A", "B", "C"]))])),
    "enum_add_symbol_default": (rec([f("a", enum(["A", "B"], default="A"))]),
                                rec([f("a", enum(["A", "B", "C"], default="A"))])),
    "union_add_branch": (rec([f("a", ["null", "string"])]), rec([f("a", ["null", "string", "long"])])),
    "to_union": (rec([f("a", "string")]), rec([f("a", ["null", "string"], default=None)])),
    "from_union": (rec([f("a", ["null", "string"], default=None)]), rec([f("a", "string")])),
    "array_int_long": (rec([f("a", {"type": "array", "items": "int"})]),
                       rec([f("a", {"type": "array", "items": "long"})])),
    "map_retype": (rec([f("a", {"type": "map", "values": "string"})]),
                   rec([f("a", {"type": "map", "values": "long"})])),
    "fixed_size": (rec([f("a", {"type": "fixed", "name": "X", "size": 4})]),
                   rec([f("a", {"type": "fixed", "name": "X", "size": 8})])),
    "field_alias": (rec([f("a", "string")]), rec([f("b", "string", aliases=["a"])])),
    "field_alias_back": (rec([f("b", "string", aliases=["a"])]), rec([f("a", "string")])),
    "nested_add_default": (rec([f("r", rec([f("x", "int")], ns="n"))]),
                           rec([f("r", rec([f("x", "int"), f("y", "int", default=1)], ns="n"))])),
}
with open("%s/rules" % t, "w") as out:
    for name, (a, b) in rules.items():
        json.dump(a, open("%s/%s.old.avsc" % (t, name), "w"))
        json.dump(b, open("%s/%s.new.avsc" % (t, name), "w"))
        out.write("%s/%s.old.avsc %s/%s.new.avsc\n" % (t, name, t, name))
PY
pairs=("$old $S/$TYPE.avsc" "$S/$TYPE.avsc $old" "$old $T/add_required.avsc"
       "$T/add_required.avsc $old" "$old $T/drop_field.avsc" "$old $T/retype.avsc"
       "$T/add_optional.avsc $T/add_required.avsc")
mapfile -t -O ${#pairs[@]} pairs <"$T/rules"
[ ${#pairs[@]} = 22 ] || fail "expected 22 pairs, made ${#pairs[@]}"
n=0
for pair in "${pairs[@]}"; do
    read -r a b <<<"$pair"
    n=$((n + 1))
    expect_rc 0 "$CLI" schemas compat "$a" "$b"
    ours=$(grep -oE '^(FULL|BACKWARD|FORWARD|NONE)' "$T/out") || fail "schemas compat printed: $(cat "$T/out")"
    theirs=$(python3 - "$REG" "$P-compat-$n" "$a" "$b" <<'PY'
import json, sys, urllib.request
reg, subject, a, b = sys.argv[1:5]
def call(method, path, body):
    req = urllib.request.Request(reg + path, method=method, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
    return json.load(urllib.request.urlopen(req, timeout=30))
call("POST", "/subjects/%s/versions" % subject, {"schema": open(a).read()})
ok = {}
for level in ("BACKWARD", "FORWARD"):
    call("PUT", "/config/%s" % subject, {"compatibility": level})
    ok[level] = call("POST", "/compatibility/subjects/%s/versions/latest" % subject,
                     {"schema": open(b).read()})["is_compatible"]
print("FULL" if ok["BACKWARD"] and ok["FORWARD"] else "BACKWARD" if ok["BACKWARD"]
      else "FORWARD" if ok["FORWARD"] else "NONE")
PY
) || fail "registry compatibility check of $(basename "$a") -> $(basename "$b")"
    printf 'compat %s -> %s: evbus %s, registry %s\n' "$(basename "$a")" "$(basename "$b")" "$ours" "$theirs"
    [ "$ours" = "$theirs" ] || fail "evbus says $ours, the registry $theirs: $(basename "$a") -> $(basename "$b")"
    ok
done
done_ok
