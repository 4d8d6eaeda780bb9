#!/usr/bin/env bash
# The README shows what a user of this repository sees, not the machine it was written on:
#   - no absolute path of a checkout or of a folder outside the repository (/work/..., /home/...,
#     /tmp/...): files it points to are in the repository, and every relative link resolves;
#   - its validate-config example is the real output of `evbus-cli validate-config bad.json` run
#     at the top of a checkout (data/readme_bad_config.json is that bad.json), schema folder
#     named as given, relative.
source "$(dirname "$0")/cli_testlib.sh"
R=$EVBUS_SRC/README.md
for f in "$R" "$EVBUS_SRC"/docs/*.md; do
    [ -f "$f" ] || continue
    if grep -nE '(^|[^A-Za-z0-9_.~-])/(work|home|root|tmp)/' "$f" >"$T/abs"; then
        fail "absolute machine paths in ${f#"$EVBUS_SRC"/}: $(head -c 600 "$T/abs")"
    fi
    ok
done
# relative markdown links (not URLs, not anchors) name files of the repository
grep -oE '\]\([^)#:]+(#[^)]*)?\)' "$R" | sed -E 's/^\]\(([^)#]+).*/\1/' | sort -u >"$T/links"
[ -s "$T/links" ] || fail "no relative links found in README.md"
while IFS= read -r l; do
    [ -e "$EVBUS_SRC/$l" ] || fail "README.md links to $l, which is not in the repository"
    ok
done <"$T/links"

# the validate-config example, from "$ evbus-cli validate-config bad.json" to "$ echo $?"
sed -n '/^\$ evbus-cli validate-config bad.json$/,/^\$ echo \$?$/p' "$R" | sed '1d;$d' >"$T/readme.out"
[ -s "$T/readme.out" ] || fail "README.md has no validate-config example"
mkdir "$T/checkout"
ln -s "$EVBUS_SRC/schemas" "$T/checkout/schemas"
cp "$EVBUS_SRC/tests/integration/data/readme_bad_config.json" "$T/checkout/bad.json"
rc=0
(cd "$T/checkout" && env -u EVENT_BUS_SCHEMA_DIR -u EVENT_BUS_PRODUCER_CONFIG -u EVENT_BUS_TOPIC_PREFIX \
    "$CLI" validate-config bad.json) >"$T/real.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "validate-config bad.json: exit $rc, expected 2: $(cat "$T/real.out")"
diff -u "$T/readme.out" "$T/real.out" >"$T/diff" ||
    fail "README.md's validate-config example is not what evbus-cli prints: $(cat "$T/diff")"
ok
done_ok
