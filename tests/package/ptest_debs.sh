# The Debian packages, installed for real: scripts/package builds libevbus0, libevbus-dev and
# evbus-cli from this source (lintian: no error), `apt-get install` installs them into the
# system, then /usr/bin/evbus-cli runs (broker, publish, tail with the packaged schemas) and an
# app built with `pkg-config evbus-producer` and one with find_package(evbus) run, with no
# LD_LIBRARY_PATH and no RUNPATH; finally the packages are purged and the machine is as found.
#
# Why for real and not in a chroot or `dpkg --root`: CI is a throwaway machine and runs as
# root; the packages' dependencies (librdkafka1, libjansson4, libcurl4, the -dev packages) are
# the system's own, which is exactly what a user's apt resolves.  A separate root would need
# a whole Debian system in it (debootstrap, network) to satisfy them.  A dry run first checks
# that apt would install nothing but our three packages, and at the end the test checks that
# the list of installed packages is the one before.
# Registered only in the normal build (tests/CMakeLists.txt), RUN_SERIAL with RESOURCE_LOCK dpkg.
set -euo pipefail
: "${EVBUS_SRC:?set by ctest}"
unset LD_LIBRARY_PATH PKG_CONFIG_PATH EVENT_BUS_SCHEMA_DIR
fail() { echo "FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (CI runs as root): it installs the packages for real"
pkgs=(libevbus0 libevbus-dev evbus-cli)
installed() { dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "$@" 2>/dev/null | awk '$2 ~ /^[ih]/ {print $1}'; }
already=$(installed "${pkgs[@]}" || true)
[ -z "$already" ] || fail "already installed: $already (this test installs and purges them; remove them first)"

T=$(mktemp -d "${TMPDIR:-/tmp}/evbus-debs.XXXXXX")
before=$T/packages.before
dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\n' | sort >"$before"
bpid=
cleanup() {
    [ -z "$bpid" ] || { kill "$bpid" 2>/dev/null; wait "$bpid" 2>/dev/null || true; }
    if [ -n "$(installed "${pkgs[@]}" || true)" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${pkgs[@]}" >"$T/purge.log" 2>&1 ||
            { echo "FAIL: purge"; cat "$T/purge.log"; }
    fi
    rm -rf "$T"
}
trap cleanup EXIT

bash "$EVBUS_SRC/scripts/package" --out "$T/dist" --build "$T/build" >"$T/package.log" 2>&1 ||
    { cat "$T/package.log"; fail "scripts/package"; }
grep -E '^[EW]: ' "$T/package.log" || true # lintian's findings (errors already failed it)
for p in "${pkgs[@]}"; do ls "$T/dist/${p}"_*.deb >/dev/null || fail "no $p package"; done
ls "$T"/dist/evbus-*-py3-none-any.whl >/dev/null || fail "no Python wheel"
dpkg-deb -f "$T"/dist/evbus-cli_*.deb Depends | grep -q 'libevbus0 (>= ' || fail "evbus-cli does not depend on libevbus0"
dpkg-deb -f "$T"/dist/libevbus0_*.deb Depends | grep -q microhttpd && fail "libevbus0 depends on libmicrohttpd (CLI code in the library?)"
dpkg-deb -e "$T"/dist/libevbus0_*.deb "$T/ctl"
grep -qE '^libevbus 0 libevbus0 \(>= ' "$T/ctl/shlibs" || fail "libevbus0 has no shlibs line"

# First a dry run: apt must have nothing to install but our three packages (nothing to fetch).
apt-get install -s --no-install-recommends "$T"/dist/*.deb >"$T/install.sim" 2>&1 ||
    { cat "$T/install.sim"; fail "apt-get install -s"; }
others=$(awk '$1 == "Inst" {print $2}' "$T/install.sim" | grep -vxE 'libevbus0|libevbus-dev|evbus-cli' || true)
[ -z "$others" ] || fail "installing the packages would also install: $others (run scripts/setup first)"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "$T"/dist/*.deb >"$T/install.log" 2>&1 || { cat "$T/install.log"; fail "apt-get install"; }
[ "$(installed "${pkgs[@]}" | wc -l)" = 3 ] || fail "not all three packages are installed"

# evbus-cli from /usr/bin: no RUNPATH (Debian policy), the library through ld.so.cache
readelf -d /usr/bin/evbus-cli | grep -qE 'R(UN)?PATH' && fail "/usr/bin/evbus-cli carries an RPATH/RUNPATH"
ldconfig -p | grep -q 'libevbus.so.0 ' || fail "libevbus.so.0 is not in ld.so.cache (ldconfig trigger)"
want_ver=$(sed -n 's/^#define EVBUS_VERSION_STR "\(.*\)"/\1/p' "$EVBUS_SRC/include/evbus/evbus.h")
/usr/bin/evbus-cli --version >"$T/version" 2>&1 || { cat "$T/version"; fail "/usr/bin/evbus-cli --version"; }
grep -qF "$want_ver" "$T/version" || fail "evbus-cli --version printed '$(cat "$T/version")'"
[ -f /usr/share/man/man1/evbus-cli.1.gz ] || fail "no man page"

# it works with the packaged schemas (no schema dir given: ./schemas, then /usr/share/evbus/schemas)
cd "$T"
/usr/bin/evbus-cli broker >"$T/broker.out" 2>"$T/broker.err" &
bpid=$!
for _ in $(seq 100); do grep -q '^bootstrap.servers=' "$T/broker.out" && break; sleep 0.1; done
bs=$(sed -n 's/^bootstrap.servers=//p' "$T/broker.out")
[ -n "$bs" ] || { cat "$T/broker.err"; fail "packaged broker did not start"; }
type=org.evbus.demo.order.placed.v1
ex=$EVBUS_SRC/examples
timeout 60 /usr/bin/evbus-cli -b "$bs" -c "$ex/producer-config.json" publish "$type" \
    "$ex/events/$type.jsonl" 2>"$T/pub.err" || { cat "$T/pub.err"; fail "publish"; }
timeout 60 /usr/bin/evbus-cli -b "$bs" -c "$ex/producer-config.json" tail orders --from-beginning \
    --format json >"$T/tail.out" 2>"$T/tail.err" || { cat "$T/tail.err"; fail "tail"; }
[ "$(grep -c "\"type\":\"$type\"" "$T/tail.out")" = 3 ] || { cat "$T/tail.out"; fail "tail did not read the 3 events"; }

# an app built against the packages: pkg-config from the system's search path
cat >"$T/app.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <evbus/producer.h>
int main(void) {
    evbus_conf_t *c = evbus_conf_new();
    char err[256];
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err)); /* no config: refused */
    int ok = c && !p && strstr(err, "producer config") != NULL;
    evbus_conf_destroy(c);
    printf("%s %s\n", evbus_version_str(), ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}
C
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror -o "$T/app" "$T/app.c" $(pkg-config --cflags --libs evbus-producer) ||
    fail "build with pkg-config evbus-producer"
out=$(env -u EVENT_BUS_PRODUCER_CONFIG "$T/app")
[ "$out" = "$want_ver ok" ] || fail "pkg-config app printed '$out'"
# shellcheck disable=SC2046
# libevbus.a with its dependencies' shared libraries (evbus.pc's Requires.private names them)
cc -std=c11 -Wall -Werror -o "$T/app-static" "$T/app.c" $(pkg-config --cflags evbus-producer) \
    /usr/lib/*/libevbus.a $(pkg-config --libs $(pkg-config --print-requires-private evbus)) -lpthread -lm -ldl ||
    fail "static build against libevbus.a"
ldd "$T/app-static" | grep -q libevbus && fail "the static app loads libevbus.so"
out=$(env -u EVENT_BUS_PRODUCER_CONFIG "$T/app-static")
[ "$out" = "$want_ver ok" ] || fail "static app printed '$out'"
mkdir -p "$T/proj"; cp "$T/app.c" "$T/proj/"
printf 'cmake_minimum_required(VERSION 3.18)\nproject(outside C)\nfind_package(evbus REQUIRED)\nadd_executable(app app.c)\ntarget_link_libraries(app PRIVATE evbus::producer)\n' >"$T/proj/CMakeLists.txt"
{ cmake -S "$T/proj" -B "$T/proj/b" && cmake --build "$T/proj/b"; } >"$T/cmake.log" 2>&1 || { cat "$T/cmake.log"; fail "find_package(evbus) build"; }
out=$(env -u EVENT_BUS_PRODUCER_CONFIG "$T/proj/b/app")
[ "$out" = "$want_ver ok" ] || fail "find_package app printed '$out'"

# remove them: the machine as found
kill "$bpid"; wait "$bpid" 2>/dev/null || true; bpid=
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${pkgs[@]}" >"$T/purge.log" 2>&1 || { cat "$T/purge.log"; fail "apt-get purge"; }
[ ! -e /usr/bin/evbus-cli ] && [ ! -e /usr/share/evbus ] && [ ! -e /usr/include/evbus ] || fail "files left after purge"
ldconfig -p | grep -q 'libevbus.so.0 ' && fail "libevbus.so.0 still in ld.so.cache after purge"
dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\n' | sort >"$T/packages.after"
diff -u "$before" "$T/packages.after" || fail "the installed packages differ from before the test"
echo "ptest_debs: libevbus0, libevbus-dev, evbus-cli $want_ver built (lintian: no error), installed with apt-get, evbus-cli and pkg-config/static/find_package apps ran, purged; packages as before"
