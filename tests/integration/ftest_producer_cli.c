/* Fault test (3-node cluster, run by ktest_faults_producer.sh): `evbus-cli publish` of 200k
 * events to two topics, with no -X at all (the defaults a user gets), while the leader of a
 * partition is SIGKILLed.  The publish must exit 0 with nothing in its --failed file, and an
 * independent raw consumer must find every event exactly once on both topics. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define PREFIX "pc-"
#define NPART 6

/* Messages in topic now: the sum of its partitions' high watermarks. */
static long topic_size(rd_kafka_t *rk, const char *topic) {
    long sum = 0;
    for (int i = 0; i < NPART; i++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, i, &lo, &hi, 5000);
        if (e)
            printf("watermarks of %s [%d]: %s\n", topic, i, rd_kafka_err2str(e));
        else
            sum += (long)hi;
    }
    return sum;
}

static void test_cli_leader_kill(void **state) {
    (void)state;
    const char *bs = fu_bootstrap(3);
    int n = tu_long() ? 1000000 : 200000;
    char *ta = tu_unique_name("fc-orders");
    char *tb = tu_unique_name("fc-audit");
    fu_create_topic(bs, ta, NPART, 3);
    fu_create_topic(bs, tb, NPART, 3);

    char *dir = tu_mkdtemp();
    char in[512], failed[512], out[512], errf[512], pc[1024];
    snprintf(in, sizeof(in), "%s/events.jsonl", dir);
    snprintf(failed, sizeof(failed), "%s/failed.jsonl", dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    snprintf(errf, sizeof(errf), "%s/err", dir);
    FILE *f = fopen(in, "w");
    assert_non_null(f);
    for (int i = 0; i < n; i++)
        fprintf(f, "{\"id\":\"%s%d\",\"n\":%d,\"action\":\"ok\"}\n", PREFIX, i, i);
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

    const char *registry = fu_registry_url(); /* before the fork: started in this process */
    int64_t t0 = tu_now_us();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (registry)
            setenv("EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL", registry, 1);
        else
            unsetenv("EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL");
        setenv("EVENT_BUS_PRODUCER_CONFIG", pc, 1);
        setenv("EVENT_BUS_SCHEMA_DIR", tu_src_path(CU_SCHEMA_DIR), 1);
        unsetenv("EVENT_BUS_TOPIC_PREFIX");
        if (!freopen(out, "w", stdout) || !freopen(errf, "w", stderr))
            _exit(127);
        execl(cli, cli, "-b", bs, "publish", CU_TYPE, in, "--failed", failed, (char *)NULL);
        _exit(127);
    }
    /* kill the leader of partition 0 once the publish is well under way (a fifth of the
     * events in the first topic) */
    int victim = fu_leader(bs, ta, 0);
    assert_true(victim >= 1 && victim <= 3);
    rd_kafka_t *rk = fu_client(bs); /* the child is started: no more forks */
    int64_t end = tu_now_us() + 120 * 1000000LL;
    long size;
    while ((size = topic_size(rk, ta)) < n / 5 && tu_now_us() < end)
        fu_sleep_ms(50);
    rd_kafka_destroy(rk);
    int running = waitpid(pid, NULL, WNOHANG) == 0;
    fu_node(victim, "stop", "KILL");
    printf("SIGKILL node %d (leader of %s [0]) with %ld messages in it (%.1f s)\n", victim, ta,
           size, fu_secs(t0));
    assert_true(running); /* killed mid-publish, not after it */
    int status = 0, done = 0;
    end = tu_now_us() + 600 * 1000000LL;
    while (!done && tu_now_us() < end) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        assert_true(w >= 0);
        done = w == pid;
        if (!done)
            fu_sleep_ms(200);
    }
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("publish still running after 600 s");
    }
    printf("publish exited with %d after %.1f s\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
           fu_secs(t0));
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "tail -n 5 '%s'", errf);
    if (system(cmd) != 0)
        printf("(could not show the publish's stderr)\n");
    fu_node(victim, "start", NULL);
    fu_wait_brokers(bs, 3, 90000);

    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    FILE *ff = fopen(failed, "r");
    assert_non_null(ff);
    assert_int_equal(fgetc(ff), EOF); /* nothing to re-publish */
    fclose(ff);
    const char *topics[] = {ta, tb};
    for (int t = 0; t < 2; t++) {
        fu_count_t c;
        fu_count_topic(bs, topics[t], PREFIX, n, &c, 300000);
        printf("%s: messages %ld, unique %ld, duplicates %ld, missing %ld, foreign %ld\n",
               topics[t], c.messages, c.unique, c.duplicates, c.missing, c.foreign);
        assert_int_equal(c.duplicates, 0);
        assert_int_equal(c.missing, 0);
        assert_int_equal(c.foreign, 0);
        assert_int_equal(c.messages, n);
        fu_count_free(&c);
    }
    tu_rm_rf(dir);
    free(dir);
    free(ta);
    free(tb);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cli_leader_kill)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
