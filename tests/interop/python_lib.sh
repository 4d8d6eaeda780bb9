# Shared setup of the Python package's Kafka tests (sourced, not run): the evbus package from
# python/ over the build's libevbus (EVBUS_LIBRARY), the venv's openedx-events and
# edx-event-bus-kafka, the test drivers in tests/python/.
source "$(dirname "${BASH_SOURCE[0]}")/interop_lib.sh"
"$PY" -c 'import cffi; from django.conf import settings; settings.configure(); import openedx_events, edx_event_bus_kafka' ||
    fail "the venv at $PY lacks cffi/Django/openedx-events/edx-event-bus-kafka: run scripts/setup venv"
export EVBUS_LIBRARY=$EVBUS_BUILD/libevbus.so
export PYTHONPATH=$EVBUS_SRC/python
TP=$EVBUS_SRC/tests/python
# The library's own schemas/ must play no part: the service's openedx-events gives them.
unset EVENT_BUS_SCHEMA_DIR
cd "$T"

# svc NAME ARGS...: oe_service.py (a Django service on evbus), bounded; stdout to $T/NAME.
svc() {
    local name=$1 rc=0
    shift
    timeout 240 "$PY" "$TP/oe_service.py" "$@" --bootstrap "$BOOTSTRAP" >"$T/$name" 2>"$T/$name.err" || rc=$?
    [ $rc = 0 ] || { tail -c 4000 "$T/$name.err" >&2; fail "oe_service.py $1 exited $rc"; }
    grep -h '^oe_service: ' "$T/$name.err" || true
    ok
}

# bus NAME ARGS...: the real bus (openedx_bus.py), bounded; stdout to $T/NAME.
bus() {
    local name=$1 rc=0
    shift
    timeout 240 "$PY" "$I/openedx_bus.py" "$@" --bootstrap "$BOOTSTRAP" >"$T/$name" 2>"$T/$name.err" || rc=$?
    [ $rc = 0 ] || { tail -c 4000 "$T/$name.err" >&2; fail "openedx_bus.py $1 exited $rc"; }
    grep -h '^openedx_bus: ' "$T/$name.err" || true
    ok
}
