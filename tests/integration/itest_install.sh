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
ls "$libdir"/libevbus-producer.so.0 "$libdir"/libevbus-consumer.so.0 "$libdir"/libevbus.a \
   "$libdir"/pkgconfig/evbus-producer.pc "$libdir"/cmake/evbus/evbusConfig.cmake >/dev/null

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
echo "itest_install: pkg-config and find_package builds run: $out"
