#!/usr/bin/env bash
# Consumer fault tests on a 3-node Kafka cluster of their own (tests/kafka/with-kafka --brokers 3):
#   ftest_consumer_kill     a consumer SIGKILLed mid-way; its group successor handles the rest
#                           (every event at least once; prints "duplicates: N")
#   ftest_consumer_poison   garbage, truncated, unknown-fingerprint, wrong-schema and
#                           ce_type-less messages go to <topic>.dlq with their reason
#   ftest_consumer_plugins  isolated plugins that crash, hang or leak: the consumer survives,
#                           the event is dead-lettered after retry.max+1 attempts
# Each runs twice: in single-object framing, and in Confluent framing with a schema registry
# (EVBUS_TEST_FRAMING=confluent: the programs start the registry test double), as Open edX runs.
# EVBUS_TEST_LONG=1 makes the kill test 10x larger.
set -euo pipefail
: "${EVBUS_SRC:?set by ctest}" "${EVBUS_BUILD:?set by ctest}"

if [ -z "${EVBUS_FAULTS_CLUSTER:-}" ]; then
    # Our own cluster, whatever cluster the caller runs (scripts/test wraps ctest in a 1-node one).
    export EVBUS_FAULTS_CLUSTER=1
    exec "$EVBUS_SRC/tests/kafka/with-kafka" --brokers 3 -- bash "$0" "$@"
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/evbus-faults.XXXXXX")
trap 'rm -rf "$T"' EXIT

# The leaking plugin: 1 MiB leaked per event; an event whose action is "leak" grows the process
# past 256 MiB, then dies of SIGKILL as the kernel's OOM killer would end it.
cat >"$T/leaking.c" <<'C'
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "evbus/consumer.h"

static void record(const char *what, const evbus_event_t *ev) {
    const char *path = getenv("EVBUS_TEST_PLUGIN_OUT");
    char line[512];
    int n = snprintf(line, sizeof(line), "%s %s %d\n", what, evbus_event_id(ev), (int)getpid());
    int fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT, 0644) : -1;
    if (fd < 0)
        return;
    if (write(fd, line, (size_t)n) != n) {
    }
    close(fd);
}

static long rss_mib(void) {
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * sysconf(_SC_PAGESIZE) / (1024 * 1024);
}

static evbus_err_t handle(void *state, const evbus_event_t *ev, char *errstr, size_t n) {
    (void)state; (void)errstr; (void)n;
    char *p = malloc(1 << 20);
    if (p)
        memset(p, 1, 1 << 20); /* never freed */
    const char *json = evbus_event_json(ev, NULL);
    if (json && strstr(json, "\"action\":\"leak\"")) {
        record("leaking", ev);
        while (rss_mib() < 256) {
            char *q = malloc(16 << 20);
            if (!q)
                break;
            memset(q, 1, 16 << 20);
        }
        raise(SIGKILL);
    }
    record("leak-ok", ev);
    return EVBUS_OK;
}

static const char *const subs[] = {"org.evbus.test.*", NULL};
static const evbus_plugin_t plugin = {EVBUS_PLUGIN_ABI_VERSION, "test-leaking", subs, NULL, NULL,
                                      handle, NULL, 0};

const evbus_plugin_t *evbus_plugin_v1(void) { return &plugin; }
C
# Headers only, as outside plugins are built: the test program provides the library.
cc -shared -fPIC -Wall -Wextra -Werror -I"$EVBUS_SRC/include" -o "$T/evbus_test_plugin_leaking.so" \
    "$T/leaking.c"
export EVBUS_TEST_LEAK_PLUGIN=$T/evbus_test_plugin_leaking.so

rc=0
for framing in single confluent; do
for t in ftest_consumer_kill ftest_consumer_poison ftest_consumer_plugins; do
    printf '\n=== %s, %s framing (3 brokers) ===\n' "$t" "$framing"
    start=$SECONDS
    st=0
    EVBUS_TEST_FRAMING=$framing "$EVBUS_BUILD/tests/$t" 2>&1 | tee "$T/$t.$framing.out" || st=${PIPESTATUS[0]}
    if [ "$st" -eq 77 ]; then # skipped something, failed nothing (tu_run_group_tests)
        # this script starts the cluster they need: a skip here means they did not run
        printf '=== %s (%s): SKIPPED inside its own cluster: counted as a failure\n' "$t" "$framing"
        rc=1
    elif [ "$st" -eq 0 ] && [ "$framing" = confluent ] && ! grep -q '^framing: Confluent' "$T/$t.$framing.out"; then
        printf '=== %s: did not run in Confluent framing: counted as a failure\n' "$t"
        rc=1
    elif [ "$st" -eq 0 ]; then
        printf '=== %s (%s): ok in %ds\n' "$t" "$framing" $((SECONDS - start))
    else
        printf '=== %s (%s): FAILED (status %d) after %ds\n' "$t" "$framing" "$st" $((SECONDS - start))
        rc=1
    fi
done
done
exit $rc
