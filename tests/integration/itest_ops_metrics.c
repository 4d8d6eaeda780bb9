/* Operating evbus-cli consume (issue 15): /metrics scraped during and after a run with
 * failures and dead letters, parsed by Prometheus' own text parser (ops_check.py, in the test
 * venv); /healthz 503 while dead-letter writes fail; --log-format json lines, audit lines, and
 * no secret in them.  Settings are the defaults (retry.max=3, retry.backoff.ms=100,
 * metrics.interval.ms=1000, librdkafka's 5 s auto-commit) unless a comment says otherwise. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h */

#define API_PRODUCE 0 /* Kafka protocol ApiKey of Produce (rdkafka_mock.h takes raw keys) */

#define SECRET "evbus-TOPSECRET-42"

static char py[1024];
static pid_t child = -1; /* the consume under test: stopped by the teardown if a check fails */
static char child_err[512]; /* its stderr, shown when a check failed */

/* The test venv's Python (scripts/setup venv), as tests/interop/interop_lib.sh finds it. */
static const char *venv_python(void) {
    const char *cache = getenv("EVBUS_CACHE");
    if (cache && *cache)
        snprintf(py, sizeof(py), "%s/venv/bin/python", cache);
    else
        snprintf(py, sizeof(py), "%s/.cache/evbus/venv/bin/python", getenv("HOME"));
    return py;
}

/* The port from "serving /metrics and /healthz on port N" in the consumer's stderr, waited for. */
static int wait_port(const char *errfile) {
    for (int i = 0; i < 300; i++) { /* 30 s */
        FILE *f = fopen(errfile, "r");
        char line[4096];
        int port = -1;
        while (f && fgets(line, sizeof(line), f)) {
            const char *p = strstr(line, "on port ");
            if (p && strstr(line, "serving /metrics"))
                port = atoi(p + 8);
        }
        if (f)
            fclose(f);
        if (port > 0)
            return port;
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    fail_msg("consume did not say where it serves metrics");
    return -1;
}

static int check(const char *mode, const char *arg1, const char *arg2) {
    char *argv[] = {(char *)venv_python(), (char *)tu_src_path("tests/integration/ops_check.py"),
                    (char *)mode, (char *)arg1, (char *)arg2, NULL};
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    return cu_wait_exit(pid);
}

/* Stop the consume under test (SIGTERM); its exit status. */
static int stop_child(void) {
    assert_int_equal(kill(child, SIGTERM), 0);
    int rc = cu_wait_exit(child);
    child = -1;
    return rc;
}

static int teardown(void **state) {
    (void)state;
    if (child > 0) { /* a failed check left it running: it must not outlive the test */
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        child = -1;
        FILE *f = fopen(child_err, "r"); /* what it said, to tell why */
        if (f) {
            char buf[4096];
            size_t n;
            fseek(f, -(long)sizeof(buf) + 1, SEEK_END); /* the tail, or from the start if short */
            printf("--- the consume's stderr (tail):\n");
            while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
                fwrite(buf, 1, n, stdout);
            fclose(f);
        }
    }
    return 0;
}

static pid_t consume(const char *cli, const char *bs, const char *topic, const char *group,
                     const char *errfile) {
    snprintf(child_err, sizeof(child_err), "%s", errfile);
    char *argv[] = {(char *)cli, "-b", (char *)bs, "--schemas", (char *)tu_src_path(CU_SCHEMA_DIR),
                    "-X", "audit.log=true", "-X", "kafka.sasl.password=" SECRET, "-v", "consume",
                    "-t", (char *)topic, "-g", (char *)group, "--from-beginning", "--plugin",
                    (char *)cu_plugin("selective"), "--metrics", "127.0.0.1:0", "--log-format",
                    "json", NULL};
    return cu_spawn(argv, errfile);
}

static void test_metrics_health_logs(void **state) {
    (void)state;
    const char *cli = tu_env("EVBUS_CLI");
    assert_non_null(cli); /* set by tests/CMakeLists.txt */
    char *imp[] = {(char *)venv_python(), "-c", "import prometheus_client", NULL};
    if (cu_wait_exit(cu_spawn(imp, "/dev/null")) != 0)
        fail_msg("%s lacks prometheus_client (tests/interop/requirements.txt): run scripts/setup venv",
                 py);
    tu_mock_t *m = tu_mock_new(1);
    const char *bs = tu_mock_bootstrap(m);
    char *topic = tu_unique_name("ops"), *topic2 = tu_unique_name("ops-dlqfail");
    char *dir = tu_mkdtemp();
    rd_kafka_t *p = cu_producer(bs);
    for (int i = 0; i < 14; i++) /* 10 handled, 4 failing on every attempt */
        cu_produce_event(p, topic, -1, "ops", i, i < 10 ? "ok" : "fail", 0);
    for (int i = 0; i < 2; i++) /* no headers: undecodable, dead-lettered */
        cu_produce_raw(p, topic, -1, "garbage", 7, NULL, 0, NULL, 0);
    cu_produce_event(p, topic2, 0, "ops2", 0, "fail", 0);
    cu_flush(p);

    /* 1. A run with failures and dead letters: counters, lag 0, health, JSON logs. */
    char errfile[512];
    snprintf(errfile, sizeof(errfile), "%s/consume.err", dir);
    child = consume(cli, bs, topic, "ops-grp", errfile);
    char port[16];
    snprintf(port, sizeof(port), "%d", wait_port(errfile));
    assert_int_equal(check("run", port, NULL), 0);
    assert_int_equal(stop_child(), 0);
    assert_int_equal(check("jsonlog", errfile, SECRET), 0);

    /* 2. Dead-letter writes that keep failing: every Produce request is refused from now on
     * (the test's own producer is done), so the partition waits while the write is retried,
     * and /healthz says why. */
    rd_kafka_resp_err_t errs[64];
    for (size_t i = 0; i < 64; i++)
        errs[i] = RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
    rd_kafka_mock_push_request_errors_array(tu_mock_cluster(m), API_PRODUCE, 64, errs);
    snprintf(errfile, sizeof(errfile), "%s/consume2.err", dir);
    child = consume(cli, bs, topic2, "ops-grp2", errfile);
    snprintf(port, sizeof(port), "%d", wait_port(errfile));
    assert_int_equal(check("dlqfail", port, NULL), 0);
    /* Stopped while the write is retried: the event stays uncommitted for the next run, and
     * stopping on request is a clean exit (consumer.max.consecutive.errors, unset by default,
     * is what turns such failures into exit 1). */
    assert_int_equal(stop_child(), 0);

    rd_kafka_destroy(p);
    tu_mock_destroy(m);
    tu_rm_rf(dir);
    free(dir);
    free(topic);
    free(topic2);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_metrics_health_logs, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
