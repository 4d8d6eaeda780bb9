# The binary interface: libevbus exports exactly what the public headers declare (EVBUS_1.0)
# and nothing else; it holds no CLI code and links no libmicrohttpd; evbus-cli is a program
# over the public headers that links libevbus.so; and
# a plugin built with the headers only, or also linked with libevbus, loads into
# `evbus-cli consume` and handles events, with one copy of libevbus in the process.
. "$EVBUS_SRC/tests/integration/cli_testlib.sh"

lib=$(readlink -f "$EVBUS_BUILD/libevbus.so")
[ -f "$lib" ] || fail "libevbus.so not built"

# 1. exports == declarations.  Every EVBUS_EXPORT declaration names its function before the
#    first "(" on its line (the headers' style; a declaration that broke it would show here).
grep -h 'EVBUS_EXPORT' "$EVBUS_SRC"/include/evbus/*.h | grep -v '#define' |
    sed -E 's/\(.*//; s/.*[ *]([A-Za-z_0-9]+)$/\1/' | sort -u >"$T/declared"
[ "$(wc -l <"$T/declared")" -ge 40 ] || fail "too few declarations parsed: $(wc -l <"$T/declared")"
readelf --dyn-syms -W "$lib" | awk '$7 != "UND" && $7 != "ABS" && ($4 == "FUNC" || $4 == "OBJECT") {print $8}' >"$T/dynsyms"
grep '@@EVBUS_1.0$' "$T/dynsyms" | sed 's/@@.*//' | sort -u >"$T/public"
diff -u "$T/declared" "$T/public" || fail "exported EVBUS_1.0 symbols differ from the headers' declarations"
ok
# nothing else is exported: every defined dynamic symbol is in EVBUS_1.0, the only version node
if grep -v -e '@@EVBUS_1.0$' "$T/dynsyms" | grep -q .; then
    fail "exports outside EVBUS_1.0: $(grep -v -e '@@EVBUS_1.0$' "$T/dynsyms" | head -5 | tr '\n' ' ')"
fi
ok
readelf -V -W "$lib" | grep -q 'EVBUS_PRIVATE' && fail "libevbus.so still defines a version node EVBUS_PRIVATE"
ok

# 1b. no CLI in the library: no libmicrohttpd, no CLI function (the CLI's are evbus_cli_*; the
#     symbol table of this unstripped build lists static ones too), no CLI usage text.
readelf -d "$lib" | grep -q 'NEEDED.*libmicrohttpd' && fail "libevbus.so links libmicrohttpd"
ok
readelf -s -W "$lib" | awk '{print $8}' | grep -q '^evbus_cli_' &&
    fail "libevbus.so holds CLI code: $(readelf -s -W "$lib" | awk '{print $8}' | grep '^evbus_cli_' | head -3 | tr '\n' ' ')"
ok
grep -qa 'Usage: evbus-cli' "$lib" && fail "libevbus.so holds the CLI's usage texts"
ok
# ... and the CLI reaches no internal symbol (there is none to reach, but an evbus__ name that
# is undefined in evbus-cli would mean a build that links core objects into it)
readelf --dyn-syms -W "$CLI" | awk '{print $8}' | grep -q '^evbus__' && fail "evbus-cli refers to internal evbus__ symbols"
ok

# 2. evbus-cli is a client of the shared library
readelf -d "$CLI" | grep -q 'NEEDED.*\[libevbus\.so\.' || fail "evbus-cli does not link libevbus.so"
ok

# 2b. evbus-cli is written against the public headers only: every header its sources name in
#     quotes is one of its own (the rest are <evbus/...>, librdkafka's, jansson's, microhttpd's)
bad=$(grep -h '#include "' "$EVBUS_SRC"/cli/*.[ch] | sed -E 's/.*"(.*)".*/\1/' | sort -u |
    while read -r h; do [ -f "$EVBUS_SRC/cli/$h" ] || echo "$h"; done)
[ -z "$bad" ] || fail "cli/ includes headers that are not its own: $(echo $bad)"
ok
bad=$(grep -h '#include <evbus/' "$EVBUS_SRC"/cli/*.[ch] | sed -E 's/.*<evbus\/(.*)>.*/\1/' | sort -u |
    while read -r h; do [ -f "$EVBUS_SRC/include/evbus/$h" ] || echo "$h"; done)
[ -z "$bad" ] || fail "cli/ includes evbus headers that are not public: $(echo $bad)"
ok

# 2c. every public header compiles on its own, as the first include of a user or a binding
for h in "$EVBUS_SRC"/include/evbus/*.h; do
    printf '#include <evbus/%s>\nint main(void) { return 0; }\n' "$(basename "$h")" >"$T/hdr.c"
    # shellcheck disable=SC2046 # pkg-config's flags are words
    cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -I"$EVBUS_SRC/include" \
        $(pkg-config --cflags rdkafka) "$T/hdr.c" 2>"$T/hdr.err" ||
        { cat "$T/hdr.err" >&2; fail "include/evbus/$(basename "$h") does not compile on its own"; }
done
ok

# 3. both plugin builds load and run in evbus-cli consume, one libevbus per process
plain=$EVBUS_BUILD/examples/evbus_example_plugin.so
linked=$EVBUS_BUILD/examples/linked/evbus_example_plugin.so
readelf -d "$plain" | grep -q 'NEEDED.*libevbus' && fail "$plain should not link libevbus"
readelf -d "$linked" | grep -q 'NEEDED.*\[libevbus\.so\.' || fail "$linked should link libevbus"
ok
start_broker
type=org.evbus.demo.order.placed.v1
prefix=abi$RANDOM
expect_rc 0 "$CLI" -b "$BOOTSTRAP" --prefix "$prefix" -c "$EVBUS_SRC/examples/producer-config.json" \
    publish "$type" "$EVBUS_SRC/examples/events/$type.jsonl"
n=$(wc -l <"$EVBUS_SRC/examples/events/$type.jsonl")
for plugin in "$plain" "$linked"; do
    name=$(basename "$(dirname "$plugin")")
    err=$T/consume-$name.err
    "$CLI" -b "$BOOTSTRAP" --prefix "$prefix" consume -t orders -g "abi-$name" --from-beginning \
        --plugin "$plugin" >/dev/null 2>"$err" &
    pid=$!
    PIDS+=("$pid")
    seen() { [ "$(grep -c '^example-plugin: #' "$err")" -ge "$n" ]; }
    wait_until 60 seen || { cat "$err" >&2; fail "$plugin: handled $(grep -c '^example-plugin: #' "$err") of $n"; }
    ok
    # one copy of libevbus mapped in the consumer process
    maps=$(grep -c 'libevbus\.so' /proc/"$pid"/maps | head -1)
    [ "$(grep 'libevbus\.so' /proc/"$pid"/maps | awk '{print $6}' | sort -u | wc -l)" = 1 ] ||
        fail "$plugin: libevbus mapped from several files: $(grep libevbus /proc/"$pid"/maps)"
    [ "$maps" -ge 1 ] || fail "$plugin: libevbus not mapped"
    ok
    kill -TERM "$pid"
    wait "$pid" || fail "$plugin: consume exited with $?"
    expect_in "$err" "^example-plugin: $n events$" # fini ran
done
echo "itest_abi: $NCHECKS checks"
