# Shared helpers for the evbus-cli shell tests (sourced, not run).  They drive the built
# binary $EVBUS_CLI the way a user would; everything started here is killed on exit.
set -euo pipefail

: "${EVBUS_CLI:?set by ctest}" "${EVBUS_SRC:?set by ctest}"
CLI=$EVBUS_CLI
T=$(mktemp -d "${TMPDIR:-/tmp}/evbus-cli-test.XXXXXX")
PIDS=()
NCHECKS=0
SKIPPING=0

cleanup() {
    local rc=$? p
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$T"
    # 77 is "skipped" to ctest (SKIP_RETURN_CODE): only skip_test ends a test so; a command
    # that happened to exit 77 (under set -e) is a failure.
    if [ "$rc" -eq 77 ] && [ "$SKIPPING" != 1 ]; then
        printf 'FAIL: exit status 77 without skip_test: counted as a failure\n' >&2
        exit 1
    fi
}
trap cleanup EXIT

# skip_test WHY: this test cannot run here (reported as skipped, never as passed).  A failed
# check has already ended the test (fail exits), so a skip never hides a failure.
skip_test() {
    printf 'SKIP: %s\n' "$*" >&2
    SKIPPING=1
    exit 77
}

fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}
ok() { NCHECKS=$((NCHECKS + 1)); }

# expect_rc N CMD...: run CMD (stdout > $T/out, stderr > $T/err), check its exit status.
expect_rc() {
    local want=$1 rc=0
    shift
    timeout 60 "$@" >"$T/out" 2>"$T/err" || rc=$?
    if [ "$rc" != "$want" ]; then
        printf -- '--- stdout\n%s\n--- stderr\n%s\n' "$(head -c 3000 "$T/out")" "$(head -c 3000 "$T/err")" >&2
        fail "exit $rc, expected $want: $*"
    fi
    ok
}
# expect_in FILE REGEX: the file has a line matching the extended regex.
expect_in() {
    grep -Eq -- "$2" "$1" || { printf -- '--- %s\n%s\n' "$1" "$(head -c 3000 "$1")" >&2; fail "no /$2/ in $1"; }
    ok
}
expect_not_in() {
    if grep -Eq -- "$2" "$1"; then fail "unexpected /$2/ in $1"; fi
    ok
}

# wait_until SECONDS CMD...: poll CMD until it succeeds or the deadline passes.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# lines_ge FILE N: FILE has at least N lines (for wait_until).
lines_ge() { [ "$(wc -l <"$1")" -ge "$2" ]; }

# start_broker [ARGS]: run `evbus-cli broker`, set BOOTSTRAP and BROKER_PID.
start_broker() {
    local out=$T/broker.$RANDOM
    "$CLI" broker "$@" >"$out" 2>"$out.err" &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
    wait_until 30 grep -q '^bootstrap.servers=' "$out" || fail "broker did not start: $(cat "$out.err")"
    BOOTSTRAP=$(sed -n 's/^bootstrap.servers=//p' "$out")
    [ -n "$BOOTSTRAP" ] || fail "empty bootstrap line"
}

# stop_pid PID [SIGNAL]: signal (default TERM) and wait (bounded); sets STOP_RC to its exit status.
stop_pid() {
    local pid=$1 rc=0 i
    kill "-${2:-TERM}" "$pid"
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        fail "pid $pid did not stop on SIGTERM"
    fi
    wait "$pid" || rc=$?
    STOP_RC=$rc
}

# kproduce TOPIC [kcat args]: produce stdin lines with kcat.
kproduce() {
    local topic=$1
    shift
    timeout 30 kcat -b "$BOOTSTRAP" -P -t "$topic" "$@"
}

done_ok() { printf 'ok: %d checks\n' "$NCHECKS"; }

# For a Python process that loads the build's libevbus.so: in the ASan build the library needs
# the ASan runtime first in the process, and Python loads it late (cffi's dlopen), so the runtime
# is preloaded.  Leak checking is off there: CPython keeps much of its memory until exit by
# design, which LeakSanitizer would report as leaks; the library's leaks are the C tests' to find.
python_sanitizer_env() {
    case ${EVBUS_SANITIZE:-} in *address*) ;; *) return 0 ;; esac
    local rt
    rt=$(${CC:-cc} -print-file-name=libasan.so)
    [ -f "$rt" ] || fail "the ASan runtime was not found (cc -print-file-name=libasan.so: $rt)"
    export LD_PRELOAD=$rt ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
}
