#!/usr/bin/env bash
# The shipped schemas/ are what scripts/openedx-schemas generates from the pinned openedx-events
# (requirements.txt) with its own AvroSignalSerializer: --check on a copy changes nothing. Needs
# only the setup venv, not Kafka; labelled with the other Python-side tests (kafka) so that it
# runs where the venv is.
source "$EVBUS_SRC/tests/integration/cli_testlib.sh"
PY=${EVBUS_CACHE:-$HOME/.cache/evbus}/venv/bin/python
[ -x "$PY" ] || fail "no Python venv at $PY: run scripts/setup venv"
cp -r "$EVBUS_SRC/schemas" "$T/schemas"
expect_rc 0 "$EVBUS_SRC/scripts/openedx-schemas" --check "$T/schemas"
expect_in "$T/err" '^openedx-schemas: openedx-events 10\.5\.0: 73 signals, 9 unserializable, 64 unchanged, 0 written'
# and it notices a change: an older file is reported, and regenerating moves it to history/
printf '%s\n' '{"type":"record","name":"CloudEvent","namespace":"org.openedx.learning.certificate.created.v1","fields":[{"name":"x","type":"string"}]}' \
    >"$T/schemas/org.openedx.learning.certificate.created.v1.avsc"
expect_rc 1 "$EVBUS_SRC/scripts/openedx-schemas" --check "$T/schemas"
expect_in "$T/err" 'would change: org\.openedx\.learning\.certificate\.created\.v1$'
expect_rc 0 "$EVBUS_SRC/scripts/openedx-schemas" "$T/schemas"
[ "$(ls "$T"/schemas/history/org.openedx.learning.certificate.created.v1.*.avsc | wc -l)" = 1 ] || fail "no history file"
cmp -s "$T/schemas/org.openedx.learning.certificate.created.v1.avsc" \
    "$EVBUS_SRC/schemas/org.openedx.learning.certificate.created.v1.avsc" || fail "not regenerated"
ok
done_ok
