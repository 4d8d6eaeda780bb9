# docs/CONFIGURATION.md is current: what docs/gen_configuration.c writes now from conf.c's table
# is byte for byte the file in the tree (as librdkafka's CONFIGURATION.md is made from its
# property table).  When a setting or its default changes, regenerate:
#   cmake --build build --target configuration-doc
set -euo pipefail
: "${EVBUS_BUILD:?set by ctest}" "${EVBUS_SRC:?set by ctest}"
gen=$EVBUS_BUILD/evbus_gen_configuration
doc=$EVBUS_SRC/docs/CONFIGURATION.md
[ -x "$gen" ] || { echo "FAIL: $gen not built"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/evbus-confdoc.XXXXXX")
trap 'rm -rf "$T"' EXIT
"$gen" >"$T/now.md" || { echo "FAIL: the generator refused (above: a setting without a description?)"; exit 1; }
# a row read from the table, so that an empty or broken output cannot pass as current
grep -qF '| `queue.full.timeout.ms` | integer | 0 .. 3600000 | `60000` |' "$T/now.md" ||
    { echo "FAIL: no queue.full.timeout.ms row in the generated reference"; exit 1; }
if ! diff -u "$doc" "$T/now.md"; then
    echo "FAIL: docs/CONFIGURATION.md is not current: cmake --build build --target configuration-doc"
    exit 1
fi
echo "itest_configuration_doc: docs/CONFIGURATION.md is current ($(grep -c '^| `' "$doc") rows)"
