#!/usr/bin/env bash
# evbus.openedx on the embedded broker, without the real bus (tests/python/openedx_units.py): the
# Django settings map to evbus settings (EVBUS_PRODUCER_SPOOL_DIR passed as producer.spool.dir),
# a failed send is logged for replay and counted and never raised, an unconfigured route is sent,
# errors are exception classes; and the plain Python API from the source tree
# (tests/python/wheel_check.py: Producer, Consumer with a list-subscribed handler that fails once
# and is retried).
set -euo pipefail
source "$EVBUS_SRC/tests/integration/cli_testlib.sh"
: "${EVBUS_BUILD:?set by ctest}"
PY=${EVBUS_CACHE:-$HOME/.cache/evbus}/venv/bin/python
"$PY" -c 'import cffi; from django.conf import settings; settings.configure(); import openedx_events' ||
    fail "the venv at $PY lacks cffi/Django/openedx-events: run scripts/setup venv"
export EVBUS_LIBRARY=$EVBUS_BUILD/libevbus.so PYTHONPATH=$EVBUS_SRC/python
python_sanitizer_env
unset EVENT_BUS_SCHEMA_DIR
cd "$T"
start_broker
expect_rc 0 "$PY" "$EVBUS_SRC/tests/python/openedx_units.py" "$BOOTSTRAP"
expect_in "$T/out" '^openedx_units: ok$'
expect_rc 0 "$PY" "$EVBUS_SRC/tests/python/wheel_check.py" "$BOOTSTRAP"
expect_in "$T/out" "^wheel_check: ok .* $EVBUS_SRC/python/evbus/__init__.py"
echo "itest_python_openedx: $NCHECKS checks passed"
