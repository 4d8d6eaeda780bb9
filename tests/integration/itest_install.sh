# An outside program builds against the INSTALLED tree, both with pkg-config and with
# find_package(evbus), and runs: evbus_version_str() from the installed libraries.
set -euo pipefail
: "${EVBUS_BUILD:?set by ctest}" "${EVBUS_SRC:?set by ctest}"
T=$(mktemp -d "${TMPDIR:-/tmp}/evbus-install.XXXXXX")
trap 'rm -rf "$T"' EXIT
prefix=$T/prefix
cmake --install "$EVBUS_BUILD" --prefix "$prefix" >"$T/install.log"
libdir=$(ls -d "$prefix"/lib* | head -1)
for f in include/evbus/evbus.h include/evbus/producer.h include/evbus/consumer.h bin/evbus-cli \
         share/evbus/schemas/org.evbus.demo.order.placed.v1.avsc share/man/man1/evbus-cli.1; do
    [ -e "$prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
ls "$libdir"/libevbus.so.0 "$libdir"/libevbus.a "$libdir"/pkgconfig/evbus.pc \
   "$libdir"/pkgconfig/evbus-producer.pc "$libdir"/pkgconfig/evbus-consumer.pc \
   "$libdir"/cmake/evbus/evbusConfig.cmake >/dev/null

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
# 1. pkg-config
export PKG_CONFIG_PATH=$libdir/pkgconfig
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror "${san[@]}" -o "$T/app-pc" "$T/app.c" $(pkg-config --cflags --libs evbus-producer evbus-consumer)
out=$(env -u EVENT_BUS_PRODUCER_CONFIG LD_LIBRARY_PATH="$libdir" "$T/app-pc")
[ "$out" = "$(sed -n 's/^#define EVBUS_VERSION_STR "\(.*\)"/\1/p' "$EVBUS_SRC/include/evbus/evbus.h") ok" ] ||
    { echo "FAIL: pkg-config app printed '$out'"; exit 1; }
# 2. find_package(evbus)
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
case $out in *" ok") ;; *) echo "FAIL: find_package app printed '$out'"; exit 1 ;; esac

# 3. a plugin built against the installed headers only, and one also linked with --libs, both
#    load into the installed evbus-cli (which provides the library) and handle events.
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror "${san[@]}" -shared -fPIC -o "$T/plugin-cflags.so" \
    "$EVBUS_SRC/examples/plugin/plugin.c" $(pkg-config --cflags evbus-consumer)
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror "${san[@]}" -shared -fPIC -o "$T/plugin-libs.so" \
    "$EVBUS_SRC/examples/plugin/plugin.c" $(pkg-config --cflags --libs evbus-consumer)
cli=$prefix/bin/evbus-cli
export LD_LIBRARY_PATH=$libdir EVENT_BUS_SCHEMA_DIR=$prefix/share/evbus/schemas
"$cli" broker >"$T/broker.out" 2>"$T/broker.err" &
bpid=$!
trap 'kill $bpid 2>/dev/null; wait $bpid 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do grep -q '^bootstrap.servers=' "$T/broker.out" && break; sleep 0.1; done
bs=$(sed -n 's/^bootstrap.servers=//p' "$T/broker.out")
[ -n "$bs" ] || { echo "FAIL: installed broker did not start"; cat "$T/broker.err"; exit 1; }
type=org.evbus.demo.order.placed.v1
timeout 60 "$cli" -b "$bs" -c "$EVBUS_SRC/examples/producer-config.json" publish "$type" \
    "$EVBUS_SRC/examples/events/$type.jsonl" 2>"$T/pub.err" || { cat "$T/pub.err"; exit 1; }
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
    [ $crc = 0 ] || { echo "FAIL: consume with the $p plugin exited $crc"; cat "$T/consume-$p.err"; exit 1; }
    grep -q '^example-plugin: 3 events$' "$T/consume-$p.err" ||
        { echo "FAIL: the plugin built with $p did not handle the 3 events"; cat "$T/consume-$p.err"; exit 1; }
done
echo "itest_install: pkg-config and find_package builds run: $out; plugins built with --cflags and --libs load"
