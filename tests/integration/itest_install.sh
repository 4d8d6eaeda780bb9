# An installed tree runs from wherever it is: `cmake --install` into a temporary prefix, then the
# whole tree is MOVED to an /opt-like place (<tmp>/opt/evbus), so nothing can depend on the path it
# was installed to.  From there, with no LD_LIBRARY_PATH anywhere:
#  - the installed evbus-cli runs (RUNPATH $ORIGIN/../<libdir>, checked with readelf and ldd);
#  - outside programs build against the installed tree with pkg-config (+ an rpath to the
#    installed libdir, as the README says for a prefix outside the loader's path) and with
#    find_package(evbus), and run: evbus_version_str() from the installed library;
#  - the installed example sources (producer.c, consumer.c) build the same way, and publish and
#    consume through the installed evbus-cli's embedded broker;
#  - plugins built with --cflags only and with --libs load into the installed evbus-cli.
set -euo pipefail
: "${EVBUS_BUILD:?set by ctest}" "${EVBUS_SRC:?set by ctest}"
unset LD_LIBRARY_PATH
T=$(mktemp -d "${TMPDIR:-/tmp}/evbus-install.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$EVBUS_BUILD" --prefix "$T/staging" >"$T/install.log"
mkdir -p "$T/opt"
mv "$T/staging" "$T/opt/evbus"
prefix=$T/opt/evbus
libdir=$(dirname "$(find "$prefix" -name libevbus.so.0 | head -1)")
[ -d "$libdir" ] || fail "libevbus.so.0 not installed"
for f in include/evbus/evbus.h include/evbus/producer.h include/evbus/consumer.h bin/evbus-cli \
         share/evbus/schemas/org.evbus.demo.order.placed.v1.avsc share/man/man1/evbus-cli.1.gz \
         share/doc/evbus/examples/producer.c share/doc/evbus/examples/consumer.c \
         share/doc/evbus/CONFIGURATION.md; do
    [ -e "$prefix/$f" ] || fail "$f not installed"
done
ls "$libdir"/libevbus.a "$libdir"/pkgconfig/evbus.pc \
   "$libdir"/pkgconfig/evbus-producer.pc "$libdir"/pkgconfig/evbus-consumer.pc \
   "$libdir"/cmake/evbus/evbusConfig.cmake >/dev/null
# Debian packaging files go only into packages (component installs), never into a plain install.
[ ! -e "$prefix/share/doc/libevbus0" ] || fail "a plain install holds the packages' doc files"
want_ver=$(sed -n 's/^#define EVBUS_VERSION_STR "\(.*\)"/\1/p' "$EVBUS_SRC/include/evbus/evbus.h")

# 1. the installed evbus-cli: RUNPATH relative to itself, and the loader takes the moved library
cli=$prefix/bin/evbus-cli
readelf -d "$cli" | grep -E 'RUNPATH.*\$ORIGIN/\.\./' >/dev/null ||
    fail "evbus-cli has no RUNPATH \$ORIGIN/../<libdir>: $(readelf -d "$cli" | grep -E 'R(UN)?PATH' || echo none)"
loaded=$(ldd "$cli" | sed -n 's/^[[:space:]]*libevbus\.so\.0 => \([^ ]*\) .*/\1/p')
[ -n "$loaded" ] && [ "$(readlink -f "$loaded")" = "$(readlink -f "$libdir/libevbus.so.0")" ] ||
    fail "evbus-cli does not load the installed library: $(ldd "$cli" | grep libevbus || echo 'not found')"
"$cli" --version >"$T/version" 2>&1 || { cat "$T/version"; fail "installed evbus-cli --version"; }
grep -qF "$want_ver" "$T/version" || fail "evbus-cli --version printed '$(cat "$T/version")'"

cat >"$T/app.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <evbus/producer.h>
#include <evbus/consumer.h>
int main(void) {
    evbus_conf_t *c = evbus_conf_new();
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    char err[256];
    /* no producer config: a clear error, the conf still ours */
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    int ok = c && d && !p && strstr(err, "producer config") != NULL;
    evbus_conf_destroy(c);
    evbus_dispatcher_destroy(d);
    printf("%s %s\n", evbus_version_str(), ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}
C
# A sanitizer build installs instrumented libraries: the outside program needs the runtime too.
san=()
[ -n "${EVBUS_SANITIZE:-}" ] && san=(-fsanitize="$EVBUS_SANITIZE")
# 2. pkg-config, from the moved tree (the .pc files find their prefix from their own place)
export PKG_CONFIG_PATH=$libdir/pkgconfig
pc_libdir=$(pkg-config --variable=libdir evbus)
[ "$(cd "$pc_libdir" && pwd -P)" = "$(cd "$libdir" && pwd -P)" ] || fail "evbus.pc's libdir is $pc_libdir"
cc_pc() { # out, sources..., then pkg-config modules after --
    local out=$1; shift
    local srcs=() ; while [ "$1" != -- ]; do srcs+=("$1"); shift; done; shift
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Werror "${san[@]}" -o "$out" "${srcs[@]}" $(pkg-config --cflags --libs "$@") \
        -Wl,-rpath,"$pc_libdir"
}
cc_pc "$T/app-pc" "$T/app.c" -- evbus-producer evbus-consumer
out=$(env -u EVENT_BUS_PRODUCER_CONFIG "$T/app-pc")
[ "$out" = "$want_ver ok" ] || fail "pkg-config app printed '$out'"
# 3. find_package(evbus)
mkdir -p "$T/proj"
cp "$T/app.c" "$T/proj/app.c"
cat >"$T/proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(outside C)
find_package(evbus REQUIRED)
add_executable(app app.c)
target_link_libraries(app PRIVATE evbus::producer evbus::consumer)
CM
cmake -S "$T/proj" -B "$T/proj/b" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="${san[*]}" >"$T/cmake.log" 2>&1 || { cat "$T/cmake.log"; exit 1; }
cmake --build "$T/proj/b" >"$T/build.log" 2>&1 || { cat "$T/build.log"; exit 1; }
out=$(env -u EVENT_BUS_PRODUCER_CONFIG "$T/proj/b/app")
[ "$out" = "$want_ver ok" ] || fail "find_package app printed '$out'"

# 4. the installed examples, built against the installed tree, through the installed broker
ex=$prefix/share/doc/evbus/examples
cc_pc "$T/producer" "$ex/producer.c" -- evbus-producer
cc_pc "$T/consumer" "$ex/consumer.c" -- evbus-consumer
export EVENT_BUS_SCHEMA_DIR=$prefix/share/evbus/schemas
"$cli" broker >"$T/broker.out" 2>"$T/broker.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '^bootstrap.servers=' "$T/broker.out" && break; sleep 0.1; done
bs=$(sed -n 's/^bootstrap.servers=//p' "$T/broker.out")
[ -n "$bs" ] || { cat "$T/broker.err"; fail "installed broker did not start"; }
type=org.evbus.demo.order.placed.v1
EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$bs EVENT_BUS_PRODUCER_CONFIG=$ex/producer-config.json \
    timeout 60 "$T/producer" "$type" <"$ex/events/$type.jsonl" 2>"$T/producer.err" ||
    { cat "$T/producer.err"; fail "installed example producer"; }
grep -q '^producer: 3 sent, 0 rejected, 0 undelivered$' "$T/producer.err" ||
    { cat "$T/producer.err"; fail "installed example producer did not send the 3 events"; }
EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$bs "$T/consumer" --from-beginning inst-example orders \
    >"$T/consumer.out" 2>"$T/consumer.err" &
cpid=$!
for _ in $(seq 600); do [ "$(grep -c " $type " "$T/consumer.out")" -ge 3 ] && break; sleep 0.1; done
kill -TERM $cpid
( sleep 30; kill -KILL $cpid 2>/dev/null ) & # bounded: a stuck consumer fails below
wdog=$!
crc=0; wait $cpid || crc=$?
kill $wdog 2>/dev/null || true
[ $crc = 0 ] || { cat "$T/consumer.err"; fail "installed example consumer exited $crc"; }
[ "$(grep -c " $type " "$T/consumer.out")" = 3 ] ||
    { cat "$T/consumer.out" "$T/consumer.err"; fail "installed example consumer did not print the 3 events"; }

# 5. a plugin built against the installed headers only, and one also linked with --libs, both
#    load into the installed evbus-cli (which provides the library) and handle events.
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror "${san[@]}" -shared -fPIC -o "$T/plugin-cflags.so" \
    "$ex/plugin/plugin.c" $(pkg-config --cflags evbus-consumer)
cc_pc "$T/plugin-libs.so" "$ex/plugin/plugin.c" -shared -fPIC -- evbus-consumer
for p in cflags libs; do
    # (no `timeout` wrapper: its own exit status on SIGTERM would hide consume's)
    "$cli" -b "$bs" consume -t orders -g "inst-$p" --from-beginning \
        --plugin "$T/plugin-$p.so" 2>"$T/consume-$p.err" &
    cpid=$!
    for _ in $(seq 600); do [ "$(grep -c '^example-plugin: #' "$T/consume-$p.err")" -ge 3 ] && break; sleep 0.1; done
    kill -TERM $cpid
    ( sleep 30; kill -KILL $cpid 2>/dev/null ) & # bounded: a stuck consume fails the test below
    wdog=$!
    crc=0; wait $cpid || crc=$?
    kill $wdog 2>/dev/null || true
    [ $crc = 0 ] || { cat "$T/consume-$p.err"; fail "consume with the $p plugin exited $crc"; }
    grep -q '^example-plugin: 3 events$' "$T/consume-$p.err" ||
        { cat "$T/consume-$p.err"; fail "the plugin built with $p did not handle the 3 events"; }
done
echo "itest_install: from a moved prefix, no LD_LIBRARY_PATH: evbus-cli $want_ver (RUNPATH), pkg-config and find_package apps, the installed examples (3 events each way), plugins built with --cflags and --libs"
