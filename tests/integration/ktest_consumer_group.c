/* Real Kafka (EVBUS_TEST_KAFKA_BOOTSTRAP, set by tests/kafka/with-kafka): two consumers in one
 * group share the partitions; after one is SIGKILLed the other takes over and every event is
 * handled at least once. */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define NA 120 /* before the kill */
#define NB 60  /* after the kill: the survivor alone */
#define NPART 4

static char g_child_out[512];

static evbus_err_t to_file(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)opaque; (void)errstr; (void)n;
    char line[256];
    int len = snprintf(line, sizeof(line), "%s\n", evbus_event_id(ev));
    int fd = open(g_child_out, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0 || write(fd, line, (size_t)len) != len) {
        snprintf(errstr, n, "cannot record");
        if (fd >= 0)
            close(fd);
        return EVBUS_ERR_IO;
    }
    close(fd);
    return EVBUS_OK;
}

/* The child: a plain group member until killed.  Runs before the parent starts any thread. */
static void child_main(const char *bs, const char *topic, const char *group) {
    char err[512];
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    if (!d || evbus_dispatcher_subscribe(d, CU_TYPE, to_file, NULL, NULL, 0, "child"))
        _exit(3);
    evbus_conf_t *conf = cu_conf(bs, group);
    evbus_consumer_t *c = evbus_consumer_new(conf, d, err, sizeof(err));
    const char *topics[] = {topic};
    if (!c || evbus_consumer_subscribe(c, topics, 1, err, sizeof(err))) {
        fprintf(stderr, "child: %s\n", err);
        _exit(4);
    }
    evbus_consumer_run(c); /* until SIGKILL */
    _exit(0);
}


typedef struct st_s { evbus_consumer_t *c; cu_seen_t *seen; const char *tag; int n; int min_child; } st_t;

static int shared(void *arg) { /* both members hold partitions */
    evbus_consumer_stats_t s = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(((st_t *)arg)->c, &s);
    return s.assigned >= 1 && s.assigned < NPART;
}
static int child_busy(void *arg) { return cu_file_count(g_child_out, "ev-") >= ((st_t *)arg)->min_child; }
static int file_has(const char *id) {
    char want[160];
    snprintf(want, sizeof(want), "%s\n", id);
    FILE *f = fopen(g_child_out, "r");
    if (!f)
        return 0;
    char line[256];
    int r = 0;
    while (!r && fgets(line, sizeof(line), f))
        r = !strcmp(line, want);
    fclose(f);
    return r;
}
static int all_handled(void *arg) {
    st_t *s = arg;
    char id[128];
    for (int i = 0; i < s->n; i++) {
        snprintf(id, sizeof(id), "ev-%s-%d", s->tag, i);
        if (!cu_seen_has(s->seen, id) && !(s->min_child >= 0 && file_has(id)))
            return 0;
    }
    return 1;
}

static void create_topic(const char *bs, const char *topic) {
    char err[512];
    rd_kafka_t *rk = cu_producer(bs);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, NPART, 1, err, sizeof(err));
    assert_non_null(nt);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    assert_non_null(ev);
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    assert_non_null(res);
    size_t n;
    const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
    assert_int_equal(n, 1);
    if (rd_kafka_topic_result_error(tr[0]) && rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        fail_msg("create %s: %s", topic, rd_kafka_topic_result_error_string(tr[0]));
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_destroy(rk);
}

static void test_group_failover(void **state) {
    (void)state;
    const char *bs = tu_env("EVBUS_TEST_KAFKA_BOOTSTRAP");
    if (!bs) {
        fprintf(stderr, "EVBUS_TEST_KAFKA_BOOTSTRAP is not set: run under tests/kafka/with-kafka\n");
        skip();
    }
    char *topic = tu_unique_name("ktc-group"), *group = tu_unique_name("kgrp"), *dir = tu_mkdtemp();
    snprintf(g_child_out, sizeof(g_child_out), "%s/child.txt", dir);
    /* topic first (in a short-lived client), then fork before this process starts threads */
    create_topic(bs, topic);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child_main(bs, topic, group);

    cu_seen_t seen = {0};
    pthread_mutex_init(&seen.mu, NULL);
    evbus_dispatcher_t *d;
    evbus_consumer_t *c = cu_consumer(bs, group, topic, cu_record, &seen, "parent", &d);
    cu_runner_t r;
    cu_start(&r, c);
    st_t s = {c, &seen, "a", NA, 1};
    assert_true(cu_wait(shared, &s, 90000));

    rd_kafka_t *p = cu_producer(bs);
    for (int i = 0; i < NA; i++)
        cu_produce_event(p, topic, i % NPART, "a", i, "ok", 0);
    cu_flush(p);
    assert_true(cu_wait(child_busy, &s, 60000)); /* the child did take part */
    assert_int_equal(kill(pid, SIGKILL), 0);
    int wst;
    assert_int_equal(waitpid(pid, &wst, 0), pid);
    assert_true(WIFSIGNALED(wst));

    /* every event of the first batch handled by someone, what the child did not commit again */
    assert_true(cu_wait(all_handled, &s, 120000));
    assert_true(cu_seen_n(&seen) > 0);
    /* the survivor now owns every partition */
    for (int i = 0; i < NB; i++)
        cu_produce_event(p, topic, i % NPART, "b", i, "ok", 0);
    cu_flush(p);
    st_t sb = {c, &seen, "b", NB, -1};
    assert_true(cu_wait(all_handled, &sb, 120000));
    evbus_consumer_stats_t st = EVBUS_CONSUMER_STATS_INIT;
    evbus_consumer_stats(c, &st);
    assert_int_equal(st.assigned, NPART);
    cu_stop(&r);
    assert_int_equal(r.err, EVBUS_OK);

    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    rd_kafka_destroy(p);
    cu_seen_free(&seen);
    tu_rm_rf(dir);
    free(dir);
    free(topic);
    free(group);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_group_failover)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
