/* Nemesis (Jepsen-style) fault test on a 3-node cluster of its own (run by ktest_faults_spool.sh):
 * for 60 s (10 minutes with EVBUS_TEST_LONG=1) a seeded random schedule SIGKILLs (then
 * restarts) and SIGSTOPs (then continues) brokers, the consumer group's two members and the
 * producer itself (reopened on its spool), one fault at a time, while the producer streams
 * events to two topics and the group handles them.  Then a checker reads both topics to their
 * ends and proves: no accepted event lost, no event twice on a topic beyond the events the
 * spool held at the producer kills (counted), every event handled at least once on each
 * topic (re-handled ones counted).  The seed is printed; EVBUS_TEST_SEED=N replays it.
 *
 * Processes: this program runs itself as the producer (--producer) and as each member
 * (--member).  The producer writes each event's number to accepted.log as soon as send
 * accepted it; members write "<topic> <ce_id>" to handled.log before their handler returns.
 * Both use O_APPEND writes of one line, so a SIGKILL never leaves half a line. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evbus/spool.h"
#include "testutil.h"

#define PREFIX "nm-"
#define RANGE 200000 /* event numbers of producer incarnation r: r * RANGE + j, j < RANGE */
#define NPART 6

static volatile sig_atomic_t g_stop;
static void on_term(int sig) {
    (void)sig;
    g_stop = 1;
}

static void append_line(int fd, const char *line, size_t len) {
    if (write(fd, line, len) != (ssize_t)len) {
        perror("append");
        _exit(5);
    }
}

/* --producer BS SPOOL TOPIC_A TOPIC_B FIRST OUT: send events FIRST.. (paced, about 2500/s)
 * until SIGTERM or RANGE of them, then destroy (what is undelivered stays in the spool). */
static void unblock_term(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static int producer_main(char **argv) {
    signal(SIGTERM, on_term);
    unblock_term();
    char err[1024];
    const char *topics[] = {argv[4], argv[5]};
    evbus_conf_t *conf = fu_producer_conf_topics(argv[2], topics, 2);
    cu_set(conf, "producer.spool.dir", argv[3]);
    evbus_producer_t *p = evbus_producer_new(conf, err, sizeof(err));
    if (!p) {
        fprintf(stderr, "producer: %s\n", err);
        return 2;
    }
    int fd = open(argv[7], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return 2;
    long first = atol(argv[6]);
    for (long i = first; !g_stop && i < first + RANGE; i++) {
        evbus_err_t e = fu_send(p, PREFIX, (int)i, err, sizeof(err));
        if (e != EVBUS_OK) {
            fprintf(stderr, "producer: send %ld: %s: %s\n", i, evbus_err_name(e), err);
            return 1;
        }
        char line[32];
        int n = snprintf(line, sizeof(line), "%ld\n", i);
        append_line(fd, line, (size_t)n);
        if (i % 50 == 49) { /* pacing, so that events stream through the whole run */
            struct timespec ts = {0, 20000000};
            nanosleep(&ts, NULL);
        }
    }
    evbus_producer_destroy(p);
    close(fd);
    return 0;
}

static int g_hfd = -1;
static evbus_err_t on_event(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    (void)opaque;
    (void)errstr;
    (void)n;
    char line[512];
    int len = snprintf(line, sizeof(line), "%s %s\n", evbus_event_topic(ev), evbus_event_id(ev));
    append_line(g_hfd, line, (size_t)len);
    return EVBUS_OK;
}

/* --member BS GROUP TOPIC_A TOPIC_B OUT: a group member until SIGTERM/SIGKILL. */
static int member_main(char **argv) {
    char err[1024];
    g_hfd = open(argv[6], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    if (g_hfd < 0 || !d ||
        evbus_dispatcher_subscribe(d, CU_TYPE, on_event, NULL, NULL, 0, "nemesis") != EVBUS_OK)
        return 2;
    evbus_consumer_t *c = evbus_consumer_new(cu_conf(argv[2], argv[3]), d, err, sizeof(err));
    const char *topics[] = {argv[4], argv[5]};
    if (!c || evbus_consumer_subscribe(c, topics, 2, err, sizeof(err)) != EVBUS_OK) {
        fprintf(stderr, "member: %s\n", err);
        return 2;
    }
    evbus_consumer_handle_signals(c);
    unblock_term();
    evbus_err_t e = evbus_consumer_run(c);
    evbus_consumer_destroy(c);
    evbus_dispatcher_destroy(d);
    return e == EVBUS_OK ? 0 : 1;
}

/* ---- the nemesis ---- */

typedef struct world_s {
    char self[4096];
    const char *bs;
    char *topic_a, *topic_b, *group;
    char spool[4200], accepted[4200], handled[4200];
    pid_t producer, member[2];
    int incarnation;
    uint64_t held_at_kills;
    int producer_kills;
    int64_t t0;
} world_t;

/* The child starts with SIGTERM blocked and unblocks it once its handler is in place: a stop
 * sent right after the spawn is then a clean stop, not a kill.  The mask is set in the parent
 * around fork(), not in the child after it: a SIGTERM sent before the child first ran would
 * otherwise find it with the default action (a run failed so: the producer reopened at the end
 * of the schedule was stopped at once and died of the signal).  The child also dies with this
 * process (PR_SET_PDEATHSIG, kept across exec): a failed assertion here must not leave members
 * running, which hold the test's output pipe open and hang the script. */
static pid_t spawn(char *const argv[]) {
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    assert_int_equal(sigprocmask(SIG_BLOCK, &set, &old), 0);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(126); /* the parent is already gone */
        execv(argv[0], argv);
        _exit(127);
    }
    assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
    assert_true(pid >= 0);
    return pid;
}

static void start_producer(world_t *w) {
    char first[32];
    snprintf(first, sizeof(first), "%ld", (long)w->incarnation * RANGE);
    char *argv[] = {w->self, "--producer", (char *)w->bs, w->spool, w->topic_a, w->topic_b,
                    first, w->accepted, NULL};
    w->producer = spawn(argv);
}

static void start_member(world_t *w, int m) {
    char *argv[] = {w->self, "--member", (char *)w->bs, w->group, w->topic_a, w->topic_b,
                    w->handled, NULL};
    w->member[m] = spawn(argv);
}

static uint64_t spool_held(const char *spool) {
    char err[1024];
    evbus_spool_info_t *in = evbus_spool_info_new(spool, err, sizeof(err));
    if (!in)
        fail_msg("spool: %s", err);
    uint64_t n = evbus_spool_info_events(in);
    evbus_spool_info_destroy(in);
    return n;
}

/* A producer that finished its range exits 0: the next incarnation takes over. */
static void reap_producer(world_t *w) {
    int st;
    if (waitpid(w->producer, &st, WNOHANG) == w->producer) {
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fail_msg("producer incarnation %d ended with status %d", w->incarnation, st);
        w->incarnation++;
        start_producer(w);
    }
}

/* The schedule's pause, with the producer watched meanwhile. */
static void pause_ms(world_t *w, int ms) {
    int64_t end = tu_now_us() + ms * 1000LL;
    while (tu_now_us() < end) {
        reap_producer(w);
        fu_sleep_ms(100);
    }
}

static pid_t broker_pid(int k) {
    char path[4200];
    snprintf(path, sizeof(path), "%s/node-%d.pid", tu_env("EVBUS_TEST_KAFKA_DIR"), k);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long pid = 0;
    assert_int_equal(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    return (pid_t)pid;
}

static void fault(world_t *w, unsigned *seed) {
    int kind = (int)(rand_r(seed) % 6);
    int hold = 1000 + (int)(rand_r(seed) % 4000);
    double t = fu_secs(w->t0);
    if (kind <= 1) {
        int k = 1 + (int)(rand_r(seed) % 3);
        if (kind == 0) {
            printf("t=%.1f s: SIGKILL broker %d, restart after %d ms\n", t, k, hold);
            fu_node(k, "stop", "KILL");
            pause_ms(w, hold);
            fu_node(k, "start", NULL);
        } else {
            pid_t pid = broker_pid(k);
            printf("t=%.1f s: SIGSTOP broker %d for %d ms\n", t, k, hold);
            kill(pid, SIGSTOP);
            pause_ms(w, hold);
            kill(pid, SIGCONT);
        }
        fu_wait_brokers(w->bs, 3, 180000); /* healed before the next fault */
    } else if (kind <= 3) {
        if (kind == 2) {
            kill(w->producer, SIGKILL);
            int st;
            assert_int_equal(waitpid(w->producer, &st, 0), w->producer);
            uint64_t held = spool_held(w->spool);
            w->held_at_kills += held;
            w->producer_kills++;
            printf("t=%.1f s: SIGKILL producer (incarnation %d); its spool holds %llu events; "
                   "reopened on it\n", t, w->incarnation, (unsigned long long)held);
            w->incarnation++;
            start_producer(w);
        } else {
            printf("t=%.1f s: SIGSTOP producer for %d ms\n", t, hold);
            kill(w->producer, SIGSTOP);
            pause_ms(w, hold); /* reap sees nothing: a stopped child is not reported */
            kill(w->producer, SIGCONT);
        }
    } else {
        int m = (int)(rand_r(seed) % 2);
        if (kind == 4) {
            printf("t=%.1f s: SIGKILL member %d, restarted\n", t, m);
            kill(w->member[m], SIGKILL);
            int st;
            assert_int_equal(waitpid(w->member[m], &st, 0), w->member[m]);
            start_member(w, m);
        } else {
            printf("t=%.1f s: SIGSTOP member %d for %d ms\n", t, m, hold);
            kill(w->member[m], SIGSTOP);
            pause_ms(w, hold);
            kill(w->member[m], SIGCONT);
        }
    }
}

/* Wait (bounded) for pid to exit after SIGTERM; SIGKILL past the bound.  1 if it exited 0. */
static int stop_child(pid_t pid, int timeout_ms) {
    kill(pid, SIGTERM);
    int64_t end = tu_now_us() + timeout_ms * 1000LL;
    int st;
    while (tu_now_us() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                printf("child %ld ended with status %d after SIGTERM\n", (long)pid, st);
            return WIFEXITED(st) && WEXITSTATUS(st) == 0;
        }
        fu_sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return 0;
}

/* handled.log: per topic (0 = a, 1 = b), copies of each event handled. */
static void read_handled(world_t *w, int n, uint16_t *h[2]) {
    memset(h[0], 0, (size_t)n * sizeof(uint16_t));
    memset(h[1], 0, (size_t)n * sizeof(uint16_t));
    FILE *f = fopen(w->handled, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        *sp = 0;
        char *id = sp + 1;
        id[strcspn(id, "\n")] = 0;
        int t = !strcmp(line, w->topic_a) ? 0 : !strcmp(line, w->topic_b) ? 1 : -1;
        int i = fu_parse_id(PREFIX, id, strlen(id), n);
        if (t >= 0 && i >= 0 && h[t][i] < UINT16_MAX)
            h[t][i]++;
    }
    fclose(f);
}

static void test_nemesis(void **state) {
    (void)state;
    world_t w;
    memset(&w, 0, sizeof(w));
    w.bs = fu_bootstrap(3);
    ssize_t sl = readlink("/proc/self/exe", w.self, sizeof(w.self) - 1);
    assert_true(sl > 0);
    w.self[sl] = 0;
    unsigned seed = (unsigned)(tu_env("EVBUS_TEST_SEED") ? atol(tu_env("EVBUS_TEST_SEED"))
                                                         : (long)(tu_now_us() % 1000000007));
    const unsigned seed0 = seed; /* seed itself moves with the schedule */
    int secs = tu_long() ? 600 : 60;
    printf("nemesis: seed %u (EVBUS_TEST_SEED=%u replays the schedule), %d s of faults\n", seed,
           seed, secs);
    w.topic_a = tu_unique_name("nemesis-a");
    w.topic_b = tu_unique_name("nemesis-b");
    w.group = tu_unique_name("nemesis-group");
    fu_create_topic(w.bs, w.topic_a, NPART, 3);
    fu_create_topic(w.bs, w.topic_b, NPART, 3);
    char *dir = tu_mkdtemp();
    snprintf(w.spool, sizeof(w.spool), "%s/spool", dir);
    snprintf(w.accepted, sizeof(w.accepted), "%s/accepted.log", dir);
    snprintf(w.handled, sizeof(w.handled), "%s/handled.log", dir);
    w.t0 = tu_now_us();
    start_producer(&w);
    start_member(&w, 0);
    start_member(&w, 1);
    int64_t end = w.t0 + secs * 1000000LL;
    int nfaults = 0;
    while (tu_now_us() < end) {
        pause_ms(&w, 1000 + (int)(rand_r(&seed) % 2000));
        fault(&w, &seed);
        nfaults++;
    }
    /* The end: the producer stops (what it has not delivered stays in the spool), a producer
     * reopened on the spool delivers the rest. */
    if (!stop_child(w.producer, 30000))
        fail_msg("the producer did not stop cleanly within 30 s of SIGTERM");
    char err[1024];
    const char *topics[] = {w.topic_a, w.topic_b};
    evbus_conf_t *conf = fu_producer_conf_topics(w.bs, topics, 2);
    cu_set(conf, "producer.spool.dir", w.spool);
    evbus_producer_t *p = evbus_producer_new(conf, err, sizeof(err));
    if (!p)
        fail_msg("reopen: %s", err);
    int left = evbus_producer_flush(p, 180000);
    evbus_producer_destroy(p);
    printf("t=%.1f s: %d faults; the last producer stopped; %d events left after draining its spool\n",
           fu_secs(w.t0), nfaults, left);
    assert_int_equal(left, 0);
    assert_int_equal(spool_held(w.spool), 0);

    /* What was accepted. */
    int n = (w.incarnation + 1) * RANGE;
    unsigned char *acc = calloc((size_t)n, 1);
    assert_non_null(acc);
    FILE *f = fopen(w.accepted, "r");
    assert_non_null(f);
    long naccepted = 0, v;
    while (fscanf(f, "%ld", &v) == 1) {
        assert_true(v >= 0 && v < n);
        naccepted += !acc[v];
        acc[v] = 1;
    }
    fclose(f);

    /* Every accepted event handled on both topics (the group catches up, bounded). */
    uint16_t *h[2] = {calloc((size_t)n, 2), calloc((size_t)n, 2)};
    assert_non_null(h[0]);
    assert_non_null(h[1]);
    long unhandled = 0;
    int64_t hend = tu_now_us() + 300 * 1000000LL;
    do {
        read_handled(&w, n, h);
        unhandled = 0;
        for (int i = 0; i < n; i++)
            unhandled += acc[i] && (!h[0][i] || !h[1][i]);
        if (unhandled)
            fu_sleep_ms(1000);
    } while (unhandled && tu_now_us() < hend);
    for (int m = 0; m < 2; m++)
        stop_child(w.member[m], 60000);
    read_handled(&w, n, h);
    long rehandled = 0;
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < n; i++)
            rehandled += h[t][i] > 1 ? h[t][i] - 1 : 0;

    /* The checker: both topics read to their ends. */
    long lost_total = 0, dupes_total = 0;
    for (int t = 0; t < 2; t++) {
        fu_count_t c;
        fu_count_topic(w.bs, topics[t], PREFIX, n, &c, 300000);
        long lost = 0;
        for (int i = 0; i < n; i++)
            lost += acc[i] && !c.seen[i];
        printf("checker: %s: %ld accepted, %ld messages, %ld unique, %ld lost, %ld duplicates "
               "(bound: %llu held by the spool at %d producer kills), %ld foreign\n",
               topics[t], naccepted, c.messages, c.unique, lost, c.duplicates,
               (unsigned long long)w.held_at_kills, w.producer_kills, c.foreign);
        lost_total += lost;
        dupes_total += c.duplicates;
        assert_int_equal(c.foreign, 0);
        assert_true((uint64_t)c.duplicates <= w.held_at_kills);
        fu_count_free(&c);
    }
    printf("checker: %ld accepted events, %ld lost, %ld duplicates on the topics, %ld not handled, "
           "%ld re-handled; seed %u\n",
           naccepted, lost_total, dupes_total, unhandled, rehandled, seed0);
    assert_true(naccepted > 0);
    assert_int_equal(lost_total, 0);
    assert_int_equal(unhandled, 0);
    free(acc);
    free(h[0]);
    free(h[1]);
    free(w.topic_a);
    free(w.topic_b);
    free(w.group);
    tu_rm_rf(dir);
    free(dir);
}

int main(int argc, char **argv) {
    if (argc == 8 && !strcmp(argv[1], "--producer"))
        return producer_main(argv);
    if (argc == 7 && !strcmp(argv[1], "--member"))
        return member_main(argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_nemesis)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
