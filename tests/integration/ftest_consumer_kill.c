/* Fault test (3-node cluster, run by ktest_faults_consumer.sh): a consumer process is SIGKILLed
 * in the middle of a topic of N events; a new consumer in the same group takes over.  Every
 * event must be handled at least once; the duplicates (handled by both) are counted and printed:
 * they are what at-least-once costs, bounded by what the killed consumer had not committed.
 * EVBUS_TEST_FRAMING=confluent: the same in Confluent framing with a schema registry (the
 * test double). */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#define NPART 6
#define TAG "c"

static int g_fd = -1; /* the child's record file */
static char g_path[512];

/* The child's handler: one line per event with a single O_APPEND write (atomic across the
 * worker threads), then a short pause so that the kill lands mid-way. */
static evbus_err_t to_file(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)opaque;
    char line[128];
    int len = snprintf(line, sizeof(line), "%s\n", evbus_event_id(ev));
    if (write(g_fd, line, (size_t)len) != len) {
        snprintf(errstr, n, "cannot record");
        return EVBUS_ERR_IO;
    }
    struct timespec ts = {0, 200 * 1000};
    nanosleep(&ts, NULL);
    return EVBUS_OK;
}

/* The consumers' settings: the defaults, except in the CI variant session.timeout.ms 6 s
 * instead of 45 s.  The killed consumer stays a group member until its session times out, so
 * the new one gets its partitions only then: at the default that adds about 45 s; scripts/test
 * --long (EVBUS_TEST_LONG=1) runs at the default. */
static evbus_conf_t *kill_conf(const char *bs, const char *group) {
    evbus_conf_t *conf = cu_conf(bs, group);
    if (!tu_long())
        cu_set(conf, "kafka.session.timeout.ms", "6000");
    return conf;
}

static void child_main(const char *bs, const char *topic, const char *group) {
    char err[512];
    g_fd = open(g_path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    if (g_fd < 0 || !d || evbus_dispatcher_subscribe(d, CU_TYPE, to_file, NULL, NULL, 0, "child"))
        _exit(3);
    evbus_consumer_t *c = evbus_consumer_new(kill_conf(bs, group), d, err, sizeof(err));
    const char *topics[] = {topic};
    if (!c || evbus_consumer_subscribe(c, topics, 1, err, sizeof(err))) {
        fprintf(stderr, "child: %s\n", err);
        _exit(4);
    }
    evbus_consumer_run(c); /* until SIGKILL */
    _exit(0);
}

/* Events handled, by number: the child's file and the parent's handler together. */
typedef struct tally_s {
    pthread_mutex_t mu;
    fu_count_t c;
    long missing; /* events not handled yet */
    long parent;  /* parent handler calls */
    long expect_parent; /* what the new consumer must handle: everything not committed */
} tally_t;

static void tally_add(tally_t *t, const char *id, size_t len) {
    int i = fu_parse_id("ev-" TAG "-", id, len, t->c.n);
    pthread_mutex_lock(&t->mu);
    if (i >= 0 && t->c.seen[i] == 0)
        t->missing--;
    fu_count_add(&t->c, i);
    pthread_mutex_unlock(&t->mu);
}

static evbus_err_t record(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)errstr; (void)n;
    tally_t *t = opaque;
    const char *id = evbus_event_id(ev);
    tally_add(t, id, strlen(id));
    pthread_mutex_lock(&t->mu);
    t->parent++;
    pthread_mutex_unlock(&t->mu);
    return EVBUS_OK;
}

/* Complete lines of the child's file (a line cut by the kill is not an event handled). */
static long file_lines(tally_t *t) {
    FILE *f = fopen(g_path, "r");
    if (!f)
        return 0;
    char line[256];
    long n = 0;
    while (fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n')
            continue;
        n++;
        if (t)
            tally_add(t, line, len - 1);
    }
    fclose(f);
    return n;
}

/* Kill once the child handled a third and its group has committed something (at the default
 * auto.commit.interval.ms of 5 s), so that both what was committed and what was not are tested. */
static int g_target;
static const char *g_bs, *g_group, *g_topic;
static int64_t g_next_check;
static int child_far_enough(void *arg) {
    (void)arg;
    if (file_lines(NULL) < g_target || tu_now_us() < g_next_check)
        return 0;
    g_next_check = tu_now_us() + 250 * 1000; /* a committed-offsets query at most every 250 ms */
    return cu_committed(g_bs, g_group, g_topic, NPART) > 0;
}
static int all_handled(void *arg) {
    tally_t *t = arg;
    pthread_mutex_lock(&t->mu);
    int r = t->missing == 0 && t->parent >= t->expect_parent;
    pthread_mutex_unlock(&t->mu);
    return r;
}

static void test_consumer_kill(void **state) {
    (void)state;
    const char *bs = fu_bootstrap(3);
    cu_framing_start();
    const int n = tu_long() ? 200000 : 20000;
    char *topic = tu_unique_name("fk-cons"), *group = tu_unique_name("fk-grp"), *dir = tu_mkdtemp();
    snprintf(g_path, sizeof(g_path), "%s/child.txt", dir);
    fu_create_topic(bs, topic, NPART, 3);
    rd_kafka_t *p = cu_producer(bs);
    for (int i = 0; i < n; i++) {
        cu_produce_event(p, topic, -1, TAG, i, "ok", 0);
        if (i % 50000 == 49999) /* stay within librdkafka's default queue of 100k */
            cu_flush(p);
    }
    cu_flush(p);
    rd_kafka_destroy(p); /* no librdkafka threads left when we fork */

    int64_t t0 = tu_now_us();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child_main(bs, topic, group);
    g_target = n / 3;
    g_bs = bs;
    g_group = group;
    g_topic = topic;
    if (!cu_wait(child_far_enough, NULL, 120000))
        fail_msg("the first consumer handled only %ld of %d events in 120 s", file_lines(NULL), n);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int wst;
    assert_int_equal(waitpid(pid, &wst, 0), pid);
    assert_true(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL);

    tally_t t = {.missing = n};
    pthread_mutex_init(&t.mu, NULL);
    t.c.n = n;
    t.c.seen = calloc((size_t)n, sizeof(*t.c.seen));
    assert_non_null(t.c.seen);
    long before = file_lines(&t);
    printf("consumer SIGKILLed after handling %ld of %d events (%.1f s)\n", before, n, fu_secs(t0));
    assert_true(before >= n / 3 && before < n); /* killed mid-way */
    int64_t committed = cu_committed(bs, group, topic, NPART);
    printf("committed by the killed consumer: %lld of %d events\n", (long long)committed, n);
    /* offsets are committed only for events handled (at-least-once): never ahead of them */
    assert_true(committed <= before);
    t.expect_parent = n - committed;

    char err[512];
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, CU_TYPE, record, &t, NULL, 0, "parent"), 0);
    evbus_consumer_t *c = evbus_consumer_new(kill_conf(bs, group), d, err, sizeof(err));
    if (!c)
        fail_msg("consumer: %s", err);
    const char *topics[] = {topic};
    assert_int_equal(evbus_consumer_subscribe(c, topics, 1, err, sizeof(err)), EVBUS_OK);
    int64_t t1 = tu_now_us();
    cu_runner_t r;
    cu_start(&r, c);
    int done = cu_wait(all_handled, &t, 180000);
    cu_stop(&r);
    assert_int_equal(r.err, EVBUS_OK);
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);

    fu_count_finish(&t.c);
    printf("faults: consumer kill: events: %d, kills: 1, handled before the kill: %ld, "
           "by the new consumer: %ld (%.1f s), missing: %ld, duplicates: %ld\n",
           n, before, t.parent, fu_secs(t1), t.c.missing, t.c.duplicates);
    printf("duplicates: %ld\n", t.c.duplicates);
    assert_true(done); /* every event handled, the new consumer through to the end */
    assert_int_equal(t.c.foreign, 0);
    /* The new consumer started exactly at the committed offsets: nothing committed came again,
     * nothing uncommitted was skipped.  So the duplicates are what the killed consumer handled
     * and had not committed, no more. */
    assert_int_equal(t.parent, n - committed);
    assert_int_equal(t.c.duplicates, before - committed);
    fu_count_free(&t.c);
    pthread_mutex_destroy(&t.mu);
    tu_rm_rf(dir);
    free(dir);
    free(topic);
    free(group);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_consumer_kill)};
    return cmocka_run_group_tests(tests, NULL, cu_framing_teardown);
}
