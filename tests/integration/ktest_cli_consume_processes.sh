#!/usr/bin/env bash
# consume --processes against real Kafka (tests/kafka/with-kafka): the consumer config names the
# plugins (a configured v2 plugin, a filter vetoing org.openedx.* events); member 1 is killed
# mid-run; every event is handled at least once, partitions go to the survivor and then to the
# restarted member; SIGTERM stops everything with exit 0.
source "$(dirname "$0")/cli_testlib.sh"
if [ -z "${EVBUS_TEST_KAFKA_BOOTSTRAP:-}" ]; then
    exec "$EVBUS_SRC/tests/kafka/with-kafka" -- bash "$0" "$@"
fi
source "$(dirname "$0")/consume_testlib.sh"
BOOTSTRAP=$EVBUS_TEST_KAFKA_BOOTSTRAP
processes_scenario 6 # the test cluster auto-creates topics with 3 partitions
done_ok
