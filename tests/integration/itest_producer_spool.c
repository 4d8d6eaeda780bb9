/* The crash-safe spool against the embedded broker.  A child producer (this program again,
 * with --child) prints each event as soon as send accepted it and is SIGKILLed at seeded
 * random moments, once while no broker is reachable; a producer reopened on the spool must
 * then deliver every printed event to both topics, first occurrences in order per key, with
 * duplicates no more than the events the spool held at the kills. */
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../libproducer/spool.h"
#include "evbus/spool.h"

#define TYPE "org.test.spool.order.v1"
#define NKEYS 16
#define RANGE 1000000 /* event numbers of child r: r * RANGE + j */

static const char *SCHEMA =
    "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"" TYPE "\",\"fields\":["
    "{\"name\":\"n\",\"type\":\"long\"},{\"name\":\"k\",\"type\":\"string\"},"
    "{\"name\":\"pad\",\"type\":\"string\"}]}";
static const char *CONFIG =
    "{\"" TYPE "\": [{\"topic\": \"orders\", \"event_key_field\": \"k\"},"
    " {\"topic\": \"orders-audit\", \"event_key_field\": \"k\"}]}";

static evbus_conf_t *conf_for(const char *bootstrap, const char *schemas, const char *prefix,
                              const char *spool) {
    char err[512];
    evbus_conf_t *c = evbus_conf_new();
    if (!c || evbus_conf_set(c, "kafka.bootstrap.servers", bootstrap, err, sizeof(err)) ||
        evbus_conf_set(c, "schema.dir", schemas, err, sizeof(err)) ||
        evbus_conf_set(c, "producer.config", CONFIG, err, sizeof(err)) ||
        evbus_conf_set(c, "topic.prefix", prefix, err, sizeof(err)) ||
        evbus_conf_set(c, "producer.spool.dir", spool, err, sizeof(err))) {
        fprintf(stderr, "conf: %s\n", err);
        exit(2);
    }
    return c;
}

static void event_id(char *out, size_t size, long n) {
    snprintf(out, size, "00000000-0000-4000-8000-%012ld", n);
}

/* --child BOOTSTRAP SCHEMAS PREFIX SPOOL FIRST: send events FIRST, FIRST+1, ... for ever,
 * printing "A <n>" once send accepted each; stops by itself after 120 s (a lost parent). */
static int child_main(char **argv) {
    char err[512];
    evbus_producer_t *p =
        evbus_producer_new(conf_for(argv[2], argv[3], argv[4], argv[5]), err, sizeof(err));
    if (!p) {
        fprintf(stderr, "child: %s\n", err);
        return 2;
    }
    long first = atol(argv[6]);
    int64_t end = tu_now_us() + 120 * 1000000LL;
    printf("R\n"); /* open: the parent may start counting */
    fflush(stdout);
    for (long n = first; tu_now_us() < end; n++) {
        char json[256], id[64];
        int len = snprintf(json, sizeof(json),
                           "{\"n\": %ld, \"k\": \"k%ld\", \"pad\": \"%0100ld\"}", n, n % NKEYS, n);
        event_id(id, sizeof(id), n);
        evbus_send_opts_t o = EVBUS_SEND_OPTS_INIT;
        o.id = id;
        evbus_err_t e = evbus_producer_send_opts(p, TYPE, json, (size_t)len, &o, err, sizeof(err));
        if (e != EVBUS_OK) {
            fprintf(stderr, "child: send %ld: %s: %s\n", n, evbus_err_name(e), err);
            return 1;
        }
        printf("A %ld\n", n);
        fflush(stdout);
    }
    evbus_producer_destroy(p);
    return 3;
}

typedef struct seen_s {
    long *printed; /* accepted, as the children printed */
    size_t nprinted, cap;
} seen_t;

static void note(seen_t *s, long n) {
    if (s->nprinted == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->printed = realloc(s->printed, s->cap * sizeof(long));
        assert_non_null(s->printed);
    }
    s->printed[s->nprinted++] = n;
}

static uint64_t held_in(const char *spool) {
    evbus__spool_found_t f;
    char err[512];
    if (evbus__spool_scan(spool, NULL, NULL, &f, err, sizeof(err)) != EVBUS_OK)
        fail_msg("scan: %s", err);
    return f.held;
}

/* Run a child until it printed `accept` events (or died), then SIGKILL it. */
static void run_child(const char *self, const char *bootstrap, const char *schemas,
                      const char *prefix, const char *spool, long first, long accept, seen_t *s,
                      unsigned *seed) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char firsts[32];
    snprintf(firsts, sizeof(firsts), "%ld", first);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(self, self, "--child", bootstrap, schemas, prefix, spool, firsts, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    assert_non_null(f);
    char line[128];
    long got = 0;
    int ready = 0;
    while (got < accept && fgets(line, sizeof(line), f)) {
        if (line[0] == 'R') {
            ready = 1;
        } else if (line[0] == 'A') {
            note(s, atol(line + 2));
            got++;
        }
    }
    /* a random moment within the next few sends: mid-write, mid-report or between */
    for (int spin = rand_r(seed) % 20000; spin > 0; spin--)
        __asm__ __volatile__("" ::: "memory");
    kill(pid, SIGKILL);
    /* what it printed after our count, up to the kill, was accepted too */
    while (fgets(line, sizeof(line), f))
        if (line[0] == 'A')
            note(s, atol(line + 2));
    fclose(f);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!ready || !WIFSIGNALED(st))
        fail_msg("child %ld did not run until killed (status %d)", first / RANGE, st);
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

static void test_kill_and_reopen(void **state) {
    (void)state;
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(sl > 0);
    self[sl] = 0;
    unsigned seed = (unsigned)(tu_env("EVBUS_TEST_SEED") ? atol(tu_env("EVBUS_TEST_SEED"))
                                                         : (long)(tu_now_us() % 1000000));
    printf("seed %u (EVBUS_TEST_SEED=%u replays it)\n", seed, seed);
    tu_mock_t *mock = tu_mock_new(1);
    char *dir = tu_mkdtemp();
    free(tu_write_file(dir, TYPE ".avsc", SCHEMA));
    char spool[4200];
    snprintf(spool, sizeof(spool), "%s/spool", dir);
    char *prefix = tu_unique_name("sp");
    seen_t s = {0};
    uint64_t held_at_kills = 0;
    int rounds = 6;
    for (int r = 0; r < rounds; r++) {
        /* round 2: no broker reachable (nothing listens on port 9 of this host) */
        const char *bs = r == 2 ? "127.0.0.1:9" : tu_mock_bootstrap(mock);
        long accept = 50 + rand_r(&seed) % 3000;
        run_child(self, bs, dir, prefix, spool, (long)r * RANGE, accept, &s, &seed);
        uint64_t h = held_in(spool);
        held_at_kills += h;
        printf("round %d (%s): killed after %ld+ accepted; spool holds %llu\n", r,
               r == 2 ? "no broker" : "broker up", accept, (unsigned long long)h);
    }
    /* Reopen on the spool: everything it holds goes out. */
    char err[512];
    evbus_producer_t *p =
        evbus_producer_new(conf_for(tu_mock_bootstrap(mock), dir, prefix, spool), err, sizeof(err));
    if (!p)
        fail_msg("reopen: %s", err);
    assert_int_equal(evbus_producer_flush(p, 60000), 0);
    /* delivered: the spool gauges say it is empty (acks are written within 10 ms; bounded) */
    char metrics[8192];
    int64_t mend = tu_now_us() + 5000000;
    do {
        evbus_producer_metrics(p, metrics, sizeof(metrics));
    } while (!strstr(metrics, "\nevbus_producer_spool_events 0\n") && tu_now_us() < mend);
    if (!strstr(metrics, "\nevbus_producer_spool_events 0\n") ||
        !strstr(metrics, "\nevbus_producer_spool_bytes ") ||
        !strstr(metrics, "\nevbus_producer_spool_oldest_seconds "))
        fail_msg("spool metrics after delivery:\n%s", metrics);
    evbus_producer_destroy(p);
    assert_int_equal(held_in(spool), 0);

    qsort(s.printed, s.nprinted, sizeof(long), cmp_long);
    const char *topics[] = {"orders", "orders-audit"};
    for (int t = 0; t < 2; t++) {
        char topic[256];
        snprintf(topic, sizeof(topic), "%s-%s", prefix, topics[t]);
        rd_kafka_t *rk = tu_reader_new(tu_mock_bootstrap(mock), topic);
        unsigned char *count = calloc((size_t)rounds * RANGE, 1);
        long last[64][NKEYS]; /* per partition and key: the last first-seen event */
        memset(last, -1, sizeof(last));
        size_t found = 0, messages = 0, dupes = 0, disorder = 0;
        int64_t end = tu_now_us() + 60000000, idle = tu_now_us();
        /* until every printed event is seen and then 2 s pass without a message (the
         * duplicates, if any, are read too) */
        while (tu_now_us() < end && (found < s.nprinted || tu_now_us() - idle < 2000000)) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
            if (!m)
                continue;
            rd_kafka_headers_t *h;
            const void *v;
            size_t l;
            if (!m->err && rd_kafka_message_headers(m, &h) == 0 &&
                rd_kafka_header_get_last(h, "ce_id", &v, &l) == 0 && l == 36) {
                long n = atol((const char *)v + 24);
                messages++;
                idle = tu_now_us();
                if (n >= 0 && n < (long)rounds * RANGE) {
                    if (count[n]++) {
                        dupes++;
                    } else {
                        if (bsearch(&n, s.printed, s.nprinted, sizeof(long), cmp_long))
                            found++;
                        long *lk = &last[m->partition & 63][n % NKEYS];
                        if (n < *lk)
                            disorder++;
                        *lk = n;
                    }
                }
            }
            rd_kafka_message_destroy(m);
        }
        rd_kafka_destroy(rk);
        size_t lost = 0;
        for (size_t i = 0; i < s.nprinted; i++)
            lost += count[s.printed[i]] == 0;
        printf("%s: %zu printed (accepted), %zu messages, %zu lost, %zu duplicates (bound: %llu "
               "held at the kills), %zu out of order per key\n",
               topic, s.nprinted, messages, lost, dupes, (unsigned long long)held_at_kills,
               disorder);
        assert_int_equal(lost, 0);
        assert_int_equal(disorder, 0);
        assert_true(dupes <= held_at_kills);
        free(count);
    }
    free(s.printed);
    free(prefix);
    tu_mock_destroy(mock);
    tu_rm_rf(dir);
    free(dir);
}

/* Through the producer: a full spool makes send wait queue.full.timeout.ms, then
 * EVBUS_ERR_QUEUE_FULL with nothing written; a second producer on a held spool is refused
 * naming the holder's pid; transactions with a spool are a configuration error. */
static void test_full_and_locked(void **state) {
    (void)state;
    char *dir = tu_mkdtemp();
    free(tu_write_file(dir, TYPE ".avsc", SCHEMA));
    char spool[4200], err[1024];
    snprintf(spool, sizeof(spool), "%s/spool", dir);
    /* no broker (nothing listens on port 9), so nothing leaves the spool */
    evbus_conf_t *c = conf_for("127.0.0.1:9", dir, "full", spool);
    /* lowered from 1 GiB so that a few events fill it, and the wait from 60 s so that the
     * test does not take a minute: both defaults are what the test is about, scaled down */
    assert_int_equal(evbus_conf_set(c, "producer.spool.max.bytes", "8192", err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "queue.full.timeout.ms", "200", err, sizeof(err)), 0);
    assert_int_equal(evbus_conf_set(c, "kafka.log_level", "0", err, sizeof(err)), 0);
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    if (!p)
        fail_msg("producer: %s", err);
    int n = 0;
    evbus_err_t e = EVBUS_OK;
    for (; n < 200 && e == EVBUS_OK; n++) {
        char json[256];
        int len = snprintf(json, sizeof(json), "{\"n\": %d, \"k\": \"k\", \"pad\": \"%0100d\"}", n, n);
        e = evbus_producer_send(p, TYPE, json, (size_t)len, err, sizeof(err));
    }
    assert_int_equal(e, EVBUS_ERR_QUEUE_FULL);
    if (!strstr(err, "is full") || !strstr(err, "nothing written"))
        fail_msg("full spool error: %s", err);
    evbus_spool_info_t *in = evbus_spool_info_new(spool, err, sizeof(err));
    assert_non_null(in);
    assert_int_equal(evbus_spool_info_events(in), (uint64_t)(n - 1)); /* the refused one is not there */
    evbus_spool_info_destroy(in);

    /* a second producer on the same spool */
    evbus_conf_t *c2 = conf_for("127.0.0.1:9", dir, "full", spool);
    evbus_producer_t *p2 = evbus_producer_new(c2, err, sizeof(err));
    assert_null(p2);
    evbus_conf_destroy(c2); /* still ours: creation failed */
    char want[64];
    snprintf(want, sizeof(want), "in use by another producer (pid %ld)", (long)getpid());
    if (!strstr(err, want))
        fail_msg("second producer: \"%s\" does not say %s", err, want);
    evbus_producer_destroy(p);

    /* with transactions: refused at creation, saying why */
    evbus_conf_t *t = conf_for("127.0.0.1:9", dir, "full", spool);
    assert_int_equal(evbus_conf_set(t, "producer.transactional", "true", err, sizeof(err)), 0);
    evbus_producer_t *p3 = evbus_producer_new(t, err, sizeof(err));
    assert_null(p3);
    evbus_conf_destroy(t);
    assert_non_null(strstr(err, "producer.transactional"));
    tu_rm_rf(dir);
    free(dir);
}

static void count_cb(const evbus_delivery_t *d, void *opaque) {
    int *c = opaque;
    __atomic_add_fetch(&c[d->err == EVBUS_OK ? 0 : 1], 1, __ATOMIC_SEQ_CST);
}

/* A message the broker refuses for good is not reported failed: it is sent again from the
 * spool (oldest first) until it is delivered, and flush waits for it. */
static void test_refused_then_resent(void **state) {
    (void)state;
    tu_mock_t *mock = tu_mock_new(1);
    char *dir = tu_mkdtemp();
    free(tu_write_file(dir, TYPE ".avsc", SCHEMA));
    char spool[4200], err[1024];
    snprintf(spool, sizeof(spool), "%s/spool", dir);
    char *prefix = tu_unique_name("rs");
    evbus_conf_t *c = conf_for(tu_mock_bootstrap(mock), dir, prefix, spool);
    int counts[2] = {0, 0};
    evbus_conf_set_delivery_cb(c, count_cb, counts);
    evbus_producer_t *p = evbus_producer_new(c, err, sizeof(err));
    if (!p)
        fail_msg("producer: %s", err);
    /* the next Produce requests fail with an error librdkafka does not retry */
    tu_mock_fail_produce(mock, 4, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    for (int i = 0; i < 5; i++) {
        char json[256];
        int len = snprintf(json, sizeof(json), "{\"n\": %d, \"k\": \"k\", \"pad\": \"x\"}", i);
        assert_int_equal(evbus_producer_send(p, TYPE, json, (size_t)len, err, sizeof(err)), EVBUS_OK);
    }
    assert_int_equal(evbus_producer_flush(p, 60000), 0);
    evbus_producer_stats_t st = EVBUS_PRODUCER_STATS_INIT;
    evbus_producer_stats(p, &st);
    printf("refused then re-sent: %d deliveries reported, %d failures reported; librdkafka "
           "reported %llu failed messages\n", counts[0], counts[1], (unsigned long long)st.failed);
    assert_true(st.failed > 0);                /* the broker did refuse some */
    assert_int_equal(__atomic_load_n(&counts[1], __ATOMIC_SEQ_CST), 0); /* none reported failed */
    assert_int_equal(__atomic_load_n(&counts[0], __ATOMIC_SEQ_CST), 10); /* 5 events x 2 topics */
    evbus_producer_destroy(p);
    tu_mock_destroy(mock);
    free(prefix);
    tu_rm_rf(dir);
    free(dir);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--child"))
        return argc == 7 ? child_main(argv) : 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_full_and_locked),
                                       cmocka_unit_test(test_refused_then_resent),
                                       cmocka_unit_test(test_kill_and_reopen)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
