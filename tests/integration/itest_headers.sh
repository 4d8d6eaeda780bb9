# Header hygiene, checked rather than hoped for:
#  1. the public headers compile as C++ (g++ -std=c++11/17/20 -Wall -Wextra -Werror -pedantic)
#     and as C11 (-pedantic too), and every EVBUS_<NAME>_INIT macro initializes its
#     evbus_<name>_t in both, setting size to sizeof (one style: every field, in order);
#  2. the version agrees everywhere: EVBUS_VERSION_STR is MAJOR.MINOR.PATCH, the library's
#     runtime version is it, the built library is libevbus.so.<version> with SONAME
#     libevbus.so.<MAJOR>, its public symbols carry the node EVBUS_1.0 (as evbus.h says), the
#     man page names the version, and no "Since X.Y" note is newer than the version;
#  3. stale names are gone: no "libevbus-producer"/"libevbus-consumer" (there is one library,
#     libevbus) and no reference to a CONVENTIONS file (it is not in the tree), in any file.
set -euo pipefail
: "${EVBUS_BUILD:?set by ctest}" "${EVBUS_SRC:?set by ctest}"
T=$(mktemp -d "${TMPDIR:-/tmp}/evbus-headers.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
inc=$EVBUS_SRC/include
san=()
[ -n "${EVBUS_SANITIZE:-}" ] && san=(-fsanitize="$EVBUS_SANITIZE")

# --- 1. C++ and C, every _INIT macro
mapfile -t inits < <(grep -hoE '^#define EVBUS_[A-Z0-9_]+_INIT\b' "$inc"/evbus/*.h | awk '{print $2}' | sort -u)
[ ${#inits[@]} -ge 5 ] || fail "found only ${#inits[@]} _INIT macros: ${inits[*]}"
{
    for h in "$inc"/evbus/*.h; do echo "#include <evbus/$(basename "$h")>"; done
    echo '#include <stdio.h>'
    echo 'int main(void) {'
    echo '    int bad = 0;'
    for m in "${inits[@]}"; do
        # EVBUS_SEND_OPTS_INIT initializes evbus_send_opts_t: the name says the type.
        t=$(sed -E 's/^EVBUS_(.*)_INIT$/evbus_\1_t/' <<<"$m" | tr 'A-Z' 'a-z')
        grep -qE "\\}[[:space:]]*$t;" "$inc"/evbus/*.h || fail "$m: no type $t (an _INIT macro is named after its type)"
        echo "    { $t v = $m; if (v.size != sizeof(v)) { printf(\"$m: size %zu\\\\n\", v.size); bad = 1; } }"
    done
    echo '    printf("%s\n", evbus_version_str());'
    echo '    return bad;'
    echo '}'
} >"$T/inits.c"
cp "$T/inits.c" "$T/inits.cpp"
want_ver=$(sed -n 's/^#define EVBUS_VERSION_STR "\(.*\)"/\1/p' "$inc/evbus/evbus.h")
lib=$EVBUS_BUILD/libevbus.so
[ -e "$lib" ] || fail "$lib not built"
run() { # compiler flags... ; the program must print the version and exit 0
    local exe=$T/prog
    "$@" "${san[@]}" -I"$inc" -o "$exe" "$T/inits.${src_ext}" -L"$EVBUS_BUILD" -levbus \
        -Wl,-rpath,"$EVBUS_BUILD" >"$T/cc.log" 2>&1 || { cat "$T/cc.log"; fail "$*: does not compile"; }
    local out; out=$("$exe") || fail "$*: $out"
    [ "$out" = "$want_ver" ] || fail "$*: printed $out"
}
src_ext=cpp
for std in c++11 c++17 c++20; do
    run g++ -std=$std -Wall -Wextra -Werror -pedantic
done
src_ext=c
run gcc -std=c11 -Wall -Wextra -Werror -pedantic
echo "ok: headers compile as C++11/17/20 and C11 with -Wall -Wextra -Werror -pedantic; ${#inits[@]} _INIT macros: ${inits[*]}"

# --- 2. one version everywhere
maj=$(sed -n 's/^#define EVBUS_VERSION_MAJOR \([0-9]*\)$/\1/p' "$inc/evbus/evbus.h")
min=$(sed -n 's/^#define EVBUS_VERSION_MINOR \([0-9]*\)$/\1/p' "$inc/evbus/evbus.h")
pat=$(sed -n 's/^#define EVBUS_VERSION_PATCH \([0-9]*\)$/\1/p' "$inc/evbus/evbus.h")
[ "$maj.$min.$pat" = "$want_ver" ] || fail "EVBUS_VERSION_STR $want_ver is not $maj.$min.$pat"
[ "$(readlink "$lib")" = "libevbus.so.$maj" ] && [ -e "$EVBUS_BUILD/libevbus.so.$want_ver" ] ||
    fail "built library: $(ls "$EVBUS_BUILD"/libevbus.so*)"
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libevbus.so.$maj" ] || fail "SONAME $soname, expected libevbus.so.$maj"
grep -q 'node EVBUS_1.0' "$inc/evbus/evbus.h" || fail "evbus.h does not name the symbol node EVBUS_1.0"
grep -qE '^EVBUS_1\.0 \{' "$EVBUS_SRC/cmake/evbus.map" || fail "cmake/evbus.map has no node EVBUS_1.0"
# public (evbus_, not evbus__) defined symbols: every one at EVBUS_1.0
readelf --dyn-syms -W "$lib" | awk '$7 != "UND" && $8 ~ /^evbus_[^_]/ {print $8}' >"$T/syms"
[ "$(wc -l <"$T/syms")" -ge 50 ] || fail "only $(wc -l <"$T/syms") public symbols in $lib"
if grep -v '@@EVBUS_1\.0$' "$T/syms" >"$T/offnode"; then
    fail "public symbols outside EVBUS_1.0: $(head -5 "$T/offnode" | tr '\n' ' ')"
fi
# the Python package is released with the library: the same version
grep -qE "^version = \"$want_ver\"$" "$EVBUS_SRC/python/pyproject.toml" ||
    fail "python/pyproject.toml's version is not $want_ver: $(grep '^version' "$EVBUS_SRC/python/pyproject.toml")"
grep -qE "^__version__ = \"$want_ver\"" "$EVBUS_SRC/python/evbus/__init__.py" ||
    fail "python/evbus/__init__.py's __version__ is not $want_ver"
grep -qE "^\.TH .*\"evbus $want_ver\"" "$EVBUS_SRC/docs/evbus-cli.1" ||
    fail "docs/evbus-cli.1's .TH does not name evbus $want_ver: $(grep '^\.TH' "$EVBUS_SRC/docs/evbus-cli.1")"
grep -rhoiE 'since [0-9]+\.[0-9]+\b' "$inc" | awk '{print $2}' | sort -u >"$T/since"
[ -s "$T/since" ] || fail "no Since notes found"
while read -r v; do
    [ "$(printf '%s\n%s.%s\n' "$v" "$maj" "$min" | sort -V | tail -1)" = "$maj.$min" ] ||
        fail "a \"Since $v\" note is newer than $maj.$min"
done <"$T/since"
echo "ok: version $want_ver, libevbus.so.$want_ver, SONAME $soname, $(wc -l <"$T/syms") public symbols at EVBUS_1.0, man page, Since notes $(tr '\n' ' ' <"$T/since")"

# --- 3. stale names
cd "$EVBUS_SRC"
stale() { # pattern -> the files holding it, this script aside
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git grep -n -e "$1" >"$T/hits" || true # tracked files only
    else
        grep -rn --exclude-dir=build\* --exclude-dir=.git -e "$1" . >"$T/hits" || true
    fi
    grep -v 'tests/integration/itest_headers.sh:' "$T/hits" || true
}
hits=$(stale 'libevbus-producer\|libevbus-consumer')
[ -z "$hits" ] || { echo "$hits"; fail "stale library names (there is one library, libevbus)"; }
hits=$(stale 'CONVENTIONS')
[ -z "$hits" ] || { echo "$hits"; fail "references to a CONVENTIONS file, which is not in the tree"; }
echo "ok: no stale library names, no CONVENTIONS references"
