/* `evbus-cli publish` at its defaults rides out a broker outage that Kafka itself rides out
 * (issue 29, item 14): the embedded broker is down for 40 s from the start of a publish of
 * 100 events to two topics, then comes back.  The publish must not give up during the
 * outage, must exit 0 with nothing in --failed, and both topics must hold every event.  (With
 * kafka.message.timeout.ms shortened to 30 s, every event was reported not delivered after
 * 30 s and the publish exited 1 while the broker was still down.) */
#include "testutil.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka_mock.h>

#define N 100
#define OUTAGE_S 40 /* past the 30 s publish once had, far within librdkafka's 300 s */

static void test_publish_rides_out_an_outage(void **state) {
    (void)state;
    tu_mock_t *mock = tu_mock_new(1);
    char *prefix = tu_unique_name("outage");
    char *dir = tu_mkdtemp();
    char in[512], failed[512], errf[512], pc[1024], ta[256], tb[256];
    snprintf(in, sizeof(in), "%s/events.jsonl", dir);
    snprintf(failed, sizeof(failed), "%s/failed.jsonl", dir);
    snprintf(errf, sizeof(errf), "%s/err", dir);
    snprintf(ta, sizeof(ta), "%s-a", prefix);
    snprintf(tb, sizeof(tb), "%s-b", prefix);
    FILE *f = fopen(in, "w");
    assert_non_null(f);
    for (int i = 0; i < N; i++)
        fprintf(f, "{\"id\":\"o%d\",\"n\":%d,\"action\":\"ok\"}\n", i, i);
    assert_int_equal(fclose(f), 0);
    snprintf(pc, sizeof(pc),
             "{\"%s\": [{\"topic\": \"%s\", \"event_key_field\": \"id\"},"
             " {\"topic\": \"%s\", \"event_key_field\": \"id\"}]}", CU_TYPE, ta, tb);
    const char *cli = tu_env("EVBUS_CLI");
    char cli_default[512];
    if (!cli) {
        snprintf(cli_default, sizeof(cli_default), "%s/evbus-cli", EVBUS_TEST_BUILDDIR);
        cli = cli_default;
    }
    /* the broker goes down before the publish starts */
    assert_int_equal(rd_kafka_mock_broker_set_down(tu_mock_cluster(mock), 1), 0);
    setenv("EVENT_BUS_PRODUCER_CONFIG", pc, 1);
    setenv("EVENT_BUS_SCHEMA_DIR", tu_src_path(CU_SCHEMA_DIR), 1);
    unsetenv("EVENT_BUS_TOPIC_PREFIX");
    char *argv[] = {(char *)cli, "-b", (char *)tu_mock_bootstrap(mock), "publish", CU_TYPE, in,
                    "--failed", failed, NULL};
    int64_t t0 = tu_now_us();
    pid_t pid = cu_spawn(argv, errf);
    /* The outage: OUTAGE_S seconds of a down broker (the fault's length, not a wait for a
     * state); the publish must still be running at its end. */
    int status = 0;
    while (tu_now_us() - t0 < OUTAGE_S * 1000000LL) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        assert_true(w >= 0);
        if (w == pid) {
            char cmd[700];
            snprintf(cmd, sizeof(cmd), "tail -n 5 '%s'", errf);
            if (system(cmd) != 0)
                printf("(could not show the publish's stderr)\n");
            fail_msg("publish exited with %d after %.1f s, while the broker was still down",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1, fu_secs(t0));
        }
        fu_sleep_ms(200);
    }
    assert_int_equal(rd_kafka_mock_broker_set_up(tu_mock_cluster(mock), 1), 0);
    printf("broker up again after %.1f s\n", fu_secs(t0));
    /* now it delivers and exits, within a bound */
    int done = 0;
    int64_t end = tu_now_us() + 120 * 1000000LL;
    while (!done && tu_now_us() < end) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        assert_true(w >= 0);
        done = w == pid;
        if (!done)
            fu_sleep_ms(100);
    }
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("publish still running 120 s after the broker came back");
    }
    printf("publish exited with %d after %.1f s\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
           fu_secs(t0));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    FILE *ff = fopen(failed, "r");
    assert_non_null(ff);
    assert_int_equal(fgetc(ff), EOF); /* nothing to re-publish */
    fclose(ff);
    const char *topics[] = {ta, tb};
    for (int t = 0; t < 2; t++) {
        cu_msgs_t ms;
        assert_int_equal(cu_read_topic(tu_mock_bootstrap(mock), topics[t], &ms, N, 30000), N);
        cu_msgs_free(&ms);
    }
    tu_rm_rf(dir);
    free(dir);
    free(prefix);
    tu_mock_destroy(mock);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_publish_rides_out_an_outage)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
