#!/usr/bin/env bash
# The evbus Python package as a user installs it: a wheel built from python/ (python -m build,
# offline), installed into a fresh venv (its only dependency, cffi, from the wheels scripts/setup
# keeps), then used end to end on the embedded broker (tests/python/wheel_check.py), with
# libevbus found
#   1. through EVBUS_LIBRARY (the build's libevbus.so);
#   2. through the system loader: the library installed into a temporary prefix
#      (cmake --install) and found as libevbus.so.0 on LD_LIBRARY_PATH (no ldconfig: a test
#      must not change the machine);
# and the clear import errors: no library (naming libevbus.so.0 and EVBUS_LIBRARY), a library
# that is not a recent enough libevbus (naming the call it lacks).
set -euo pipefail
source "$EVBUS_SRC/tests/integration/cli_testlib.sh"
: "${EVBUS_BUILD:?set by ctest}"
CACHE=${EVBUS_CACHE:-$HOME/.cache/evbus}
PY=$CACHE/venv/bin/python
"$PY" -c 'import build, wheel, setuptools' || fail "the venv at $PY lacks build/wheel: run scripts/setup venv"
ls "$CACHE"/wheels/cffi-*.whl >/dev/null 2>&1 || fail "no cffi wheel in $CACHE/wheels: run scripts/setup venv"
unset PYTHONPATH EVBUS_LIBRARY
cd "$T"

# the wheel, built from a copy (building writes build/ and *.egg-info next to the sources)
cp -r "$EVBUS_SRC/python" "$T/src"
expect_rc 0 "$PY" -m build --no-isolation --wheel --outdir "$T/dist" "$T/src"
WHL=$(ls "$T"/dist/evbus-*.whl)
unzip -l "$WHL" >"$T/whl.list"
expect_in "$T/whl.list" 'evbus/py.typed'
expect_in "$T/whl.list" 'evbus/openedx/consumer.py'

# a fresh venv with the wheel and nothing else (no network)
python3 -m venv "$T/venv"
expect_rc 0 "$T/venv/bin/pip" install -q --disable-pip-version-check --no-index \
    --find-links "$CACHE/wheels" "$WHL"
V=$T/venv/bin/python
start_broker

# 1. EVBUS_LIBRARY
python_sanitizer_env # from here on, Python loads the build's libevbus.so
EVBUS_LIBRARY=$EVBUS_BUILD/libevbus.so expect_rc 0 "$V" "$EVBUS_SRC/tests/python/wheel_check.py" "$BOOTSTRAP"
expect_in "$T/out" "^wheel_check: ok [0-9.]+ $T/venv/.*/site-packages/evbus/__init__.py"

# 2. the system loader: libevbus.so.0 from an installed prefix on LD_LIBRARY_PATH
expect_rc 0 cmake --install "$EVBUS_BUILD" --prefix "$T/prefix"
LIBDIR=$(dirname "$(find "$T/prefix" -name 'libevbus.so.0' | head -1)")
[ -f "$LIBDIR/libevbus.so.0" ] || fail "cmake --install put no libevbus.so.0 under $T/prefix"
LD_LIBRARY_PATH=$LIBDIR expect_rc 0 "$V" "$EVBUS_SRC/tests/python/wheel_check.py" "$BOOTSTRAP"
expect_in "$T/out" '^wheel_check: ok '

# 3. no library at all: one clear ImportError naming what was looked for
if ldconfig -p 2>/dev/null | grep -q 'libevbus\.so\.0'; then
    echo "itest_python_wheel: libevbus.so.0 is installed system-wide here; the no-library case is not run"
else
    expect_rc 1 "$V" -c 'import evbus'
    expect_in "$T/err" 'LibraryNotFound: evbus: cannot load libevbus: looked for libevbus.so.0 through the system loader \(EVBUS_LIBRARY is not set\)'
fi
EVBUS_LIBRARY=$T/nowhere/libevbus.so expect_rc 1 "$V" -c 'import evbus'
expect_in "$T/err" "looked for EVBUS_LIBRARY=$T/nowhere/libevbus.so"
# 4. a library without the calls this binding needs
OTHER=$(ldconfig -p | sed -n 's/.*librdkafka\.so\.1 .*=> //p' | head -1)
[ -n "$OTHER" ] || fail "no librdkafka.so.1 to stand in for a libevbus without evbus_conf_add_schema"
EVBUS_LIBRARY=$OTHER expect_rc 1 "$V" -c 'import evbus'
expect_in "$T/err" "is too old: it lacks evbus_conf_add_schema\(\)"
echo "itest_python_wheel: $NCHECKS checks passed"
