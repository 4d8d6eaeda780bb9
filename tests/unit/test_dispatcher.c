/* Dispatcher units: routing (exact, list, glob), sync vs async failures, lifecycle events,
 * broker-less process_json. */
#include <pthread.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../libconsumer/dispatcher_int.h" /* the consumer's resumable dispatch */
#include "evbus/consumer.h"
#include "testutil.h"

typedef struct rec_s {
    pthread_mutex_t mu;
    char log[8192]; /* "name:type;" per call */
    int calls;
    evbus_err_t ret;
} rec_t;

static evbus_err_t recorder(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    rec_t *r = opaque;
    pthread_mutex_lock(&r->mu);
    r->calls++;
    size_t l = strlen(r->log);
    snprintf(r->log + l, sizeof(r->log) - l, "%s;", evbus_event_type(ev));
    pthread_mutex_unlock(&r->mu);
    if (r->ret)
        snprintf(errstr, n, "boom");
    return r->ret;
}

static rec_t *rec_new(evbus_err_t ret) {
    rec_t *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    pthread_mutex_init(&r->mu, NULL);
    r->ret = ret;
    return r;
}

static int g_freed;
static void rec_free(void *p) {
    rec_t *r = p;
    pthread_mutex_destroy(&r->mu);
    free(r);
    g_freed++;
}

static const char *k_events =
    "[{\"type\":\"org.a.one.v1\",\"data\":{\"x\":1}},"
    " {\"type\":\"org.a.two.v1\",\"data\":{\"x\":2},\"key\":\"k2\"},"
    " {\"type\":\"org.b.three.v1\",\"data\":{\"x\":3},\"id\":\"id-3\"}]";

static void test_routing(void **state) {
    (void)state;
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    rec_t *exact = rec_new(0), *list = rec_new(0), *glob = rec_new(0), *exact2 = rec_new(0);
    const char *lst[] = {"org.a.two.v1", "org.b.three.v1", "org.a.*"};
    g_freed = 0;
    assert_int_equal(evbus_dispatcher_subscribe(d, "org.a.one.v1", recorder, exact, rec_free, 0, "exact"), EVBUS_OK);
    assert_int_equal(evbus_dispatcher_subscribe(d, "org.a.one.v1", recorder, exact2, rec_free, 0, NULL), EVBUS_OK);
    assert_int_equal(evbus_dispatcher_subscribe_list(d, lst, 3, recorder, list, rec_free, 0, "list"), EVBUS_OK);
    assert_int_equal(evbus_dispatcher_subscribe(d, "org.*.v1", recorder, glob, rec_free, 0, "glob"), EVBUS_OK);
    assert_int_equal(evbus_dispatcher_subscribe(d, "", recorder, NULL, NULL, 0, NULL), EVBUS_ERR_INVALID_ARG);
    assert_int_equal(evbus_dispatcher_subscribe(d, "x", NULL, NULL, NULL, 0, NULL), EVBUS_ERR_INVALID_ARG);

    size_t nfailed = 99;
    char err[256];
    assert_int_equal(evbus_dispatcher_process_json(d, k_events, strlen(k_events), NULL, NULL, &nfailed,
                                                   err, sizeof(err)), EVBUS_OK);
    assert_int_equal(nfailed, 0);
    assert_string_equal(exact->log, "org.a.one.v1;");
    assert_string_equal(exact2->log, "org.a.one.v1;");
    /* a list handler matching twice (org.a.two.v1 and org.a.*) is called once */
    assert_string_equal(list->log, "org.a.one.v1;org.a.two.v1;org.b.three.v1;");
    assert_string_equal(glob->log, "org.a.one.v1;org.a.two.v1;org.b.three.v1;");
    evbus_dispatcher_destroy(d);
    assert_int_equal(g_freed, 4); /* every opaque freed once */
}

static int g_order_seq;
static int g_first_seen, g_second_seen;
static evbus_err_t fails_first(const evbus_event_t *ev, void *o, char *e, size_t n) {
    (void)ev; (void)o;
    g_first_seen = ++g_order_seq;
    snprintf(e, n, "no database");
    return EVBUS_ERR_HANDLER;
}
static evbus_err_t second(const evbus_event_t *ev, void *o, char *e, size_t n) {
    (void)ev; (void)o; (void)e; (void)n;
    g_second_seen = ++g_order_seq;
    return EVBUS_OK;
}

static int g_third_seen;
static evbus_err_t fails_third(const evbus_event_t *ev, void *o, char *e, size_t n) {
    (void)ev; (void)o;
    g_third_seen = ++g_order_seq;
    snprintf(e, n, "disk full");
    return EVBUS_ERR_IO;
}

static void keep_msg(size_t i, const evbus_event_t *ev, evbus_err_t err, const char *msg, void *opaque) {
    (void)i; (void)ev;
    assert_int_equal(err, EVBUS_ERR_HANDLER);
    snprintf(opaque, 256, "%s", msg);
}

/* The Python bus runs every receiver: a failing handler does not keep the others from the event. */
static void test_sync_failure_does_not_stop_others(void **state) {
    (void)state;
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    rec_t *async_rec = rec_new(0);
    assert_int_equal(evbus_dispatcher_subscribe(d, "t.*", fails_first, NULL, NULL, 0, "db-writer"), 0);
    assert_int_equal(evbus_dispatcher_subscribe(d, "t.*", second, NULL, NULL, 0, "second"), 0);
    assert_int_equal(evbus_dispatcher_subscribe(d, "t.*", fails_third, NULL, NULL, 0, "archiver"), 0);
    assert_int_equal(evbus_dispatcher_subscribe(d, "t.*", recorder, async_rec, rec_free, EVBUS_HANDLER_ASYNC, "async"), 0);
    g_order_seq = g_first_seen = g_second_seen = g_third_seen = 0;
    const char *one = "[{\"type\":\"t.x\",\"data\":{}}]";
    char err[256] = "";
    size_t nfailed = 0;
    assert_int_equal(evbus_dispatcher_process_json(d, one, strlen(one), NULL, NULL, &nfailed, err, sizeof(err)),
                     EVBUS_ERR_HANDLER);
    assert_int_equal(nfailed, 1);
    assert_int_equal(g_first_seen, 1);
    assert_int_equal(g_second_seen, 2); /* ran although the one before it failed */
    assert_int_equal(g_third_seen, 3);
    assert_int_equal(evbus_dispatcher_drain(d, 5000), 0);
    assert_int_equal(async_rec->calls, 0); /* async handlers only after sync success */
    evbus_dispatcher_stats_t st = EVBUS_DISPATCHER_STATS_INIT;
    evbus_dispatcher_stats(d, &st);
    assert_int_equal(st.handler_failed, 2);
    assert_int_equal(st.handler_ok, 1);
    assert_int_equal(st.dispatched, 1);

    /* the result names every handler that failed, with its message, and has the first code */
    char msg[256] = "";
    g_order_seq = 0;
    assert_int_equal(evbus_dispatcher_process_json(d, one, strlen(one), keep_msg, msg, NULL, err, sizeof(err)),
                     EVBUS_ERR_HANDLER);
    assert_string_equal(msg, "db-writer: no database; archiver: disk full");
    evbus_dispatcher_destroy(d);
}

static void test_async_failure_does_not_block(void **state) {
    (void)state;
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_set_async_workers(d, 3), EVBUS_OK);
    rec_t *bad = rec_new(EVBUS_ERR_HANDLER), *ok = rec_new(0);
    assert_int_equal(evbus_dispatcher_subscribe(d, "t.*", recorder, bad, rec_free, EVBUS_HANDLER_ASYNC, "bad"), 0);
    assert_int_equal(evbus_dispatcher_subscribe(d, "t.*", recorder, ok, rec_free, 0, "ok"), 0);
    const char *two = "[{\"type\":\"t.x\",\"data\":1},{\"type\":\"t.y\",\"data\":2}]";
    char err[256] = "";
    assert_int_equal(evbus_dispatcher_process_json(d, two, strlen(two), NULL, NULL, NULL, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(evbus_dispatcher_drain(d, 5000), 0);
    assert_int_equal(bad->calls, 2);
    assert_int_equal(ok->calls, 2);
    assert_int_equal(evbus_dispatcher_set_async_workers(d, 2), EVBUS_ERR_STATE);
    evbus_dispatcher_stats_t st = EVBUS_DISPATCHER_STATS_INIT;
    evbus_dispatcher_stats(d, &st);
    assert_int_equal(st.async_failed, 2);
    assert_int_equal(st.async_pending, 0);
    evbus_dispatcher_destroy(d);
}

/* Records "lctype(handler)" of lifecycle events, and checks their data. */
typedef struct lc_s {
    char log[4096];
    json_t *last_failed;
    json_t *last_invoked;
} lc_t;

static evbus_err_t lc_rec(const evbus_event_t *ev, void *opaque, char *e, size_t n) {
    (void)e; (void)n;
    lc_t *l = opaque;
    json_t *j = json_loads(evbus_event_json(ev, NULL), 0, NULL);
    assert_non_null(j);
    const char *h = json_string_value(json_object_get(j, "handler"));
    size_t len = strlen(l->log);
    snprintf(l->log + len, sizeof(l->log) - len, "%s(%s);", evbus_event_type(ev), h ? h : "");
    json_t **slot = NULL;
    if (!strcmp(evbus_event_type(ev), EVBUS_LC_HANDLER_FAILED))
        slot = &l->last_failed;
    else if (!strcmp(evbus_event_type(ev), EVBUS_LC_HANDLER_INVOKED))
        slot = &l->last_invoked;
    if (slot) {
        json_decref(*slot);
        *slot = j;
    } else {
        json_decref(j);
    }
    return EVBUS_ERR_HANDLER; /* a failing observer must not fail the event */
}

static void test_lifecycle_order(void **state) {
    (void)state;
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    lc_t l = {0};
    assert_int_equal(evbus_dispatcher_subscribe(d, "evbus.*", lc_rec, &l, NULL, 0, "observer"), 0);
    assert_int_equal(evbus_dispatcher_subscribe(d, "t.ok", second, NULL, NULL, 0, "h-ok"), 0);
    assert_int_equal(evbus_dispatcher_subscribe(d, "t.bad", fails_first, NULL, NULL, 0, "h-bad"), 0);
    const char *evs = "[{\"type\":\"t.ok\",\"data\":{},\"id\":\"e1\",\"key\":\"K1\"},"
                      "{\"type\":\"t.bad\",\"data\":{},\"id\":\"e2\"},"
                      "{\"type\":\"t.none\",\"data\":{},\"id\":\"e3\"}]";
    size_t nfailed = 0;
    assert_int_equal(evbus_dispatcher_process_json(d, evs, strlen(evs), NULL, NULL, &nfailed, NULL, 0),
                     EVBUS_ERR_HANDLER);
    assert_int_equal(nfailed, 1); /* only t.bad: observer failures count for nothing */
    assert_string_equal(l.log,
                        "evbus.event.received();evbus.handler.invoking(h-ok);evbus.handler.invoked(h-ok);"
                        "evbus.event.received();evbus.handler.invoking(h-bad);evbus.handler.failed(h-bad);"
                        "evbus.event.received();");
    assert_non_null(l.last_invoked);
    assert_string_equal(json_string_value(json_object_get(l.last_invoked, "type")), "t.ok");
    assert_string_equal(json_string_value(json_object_get(l.last_invoked, "id")), "e1");
    assert_string_equal(json_string_value(json_object_get(l.last_invoked, "key")), "K1");
    assert_true(json_is_integer(json_object_get(l.last_invoked, "duration_us")));
    assert_non_null(l.last_failed);
    assert_string_equal(json_string_value(json_object_get(l.last_failed, "error")), "no database");
    assert_string_equal(json_string_value(json_object_get(l.last_failed, "type")), "t.bad");
    assert_true(json_is_null(json_object_get(l.last_failed, "key")));
    json_decref(l.last_failed);
    json_decref(l.last_invoked);
    evbus_dispatcher_destroy(d);
}

/* A handler that, on its first call, adds a recorder and removes itself: with the read lock held
 * while handlers ran, both calls deadlocked (ctest's timeout bounds this test). */
typedef struct churn_s {
    evbus_dispatcher_t *d;
    rec_t *added;
    int calls;
} churn_t;
static evbus_err_t g_sub_err = -99, g_unsub_err = -99; /* churn's opaque is gone when they are read */
static evbus_err_t churn(const evbus_event_t *ev, void *o, char *e, size_t n) {
    (void)ev; (void)e; (void)n;
    churn_t *c = o;
    if (c->calls++ == 0) {
        g_sub_err = evbus_dispatcher_subscribe(c->d, "t.*", recorder, c->added, rec_free, 0, "added");
        g_unsub_err = evbus_dispatcher_unsubscribe(c->d, churn, c);
    }
    return EVBUS_OK;
}
static void churn_free(void *o) {
    free(o);
    g_freed++;
}

static void test_subscribe_during_dispatch(void **state) {
    (void)state;
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    churn_t *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->d = d;
    c->added = rec_new(0);
    rec_t *lc = rec_new(0);
    g_freed = 0;
    assert_int_equal(evbus_dispatcher_subscribe(d, "t.*", churn, c, churn_free, 0, "churn"), EVBUS_OK);
    assert_int_equal(evbus_dispatcher_subscribe(d, EVBUS_LC_HANDLER_INVOKED, recorder, lc, rec_free, 0, "lc"), 0);
    const char *one = "[{\"type\":\"t.x\",\"data\":{}}]";
    char err[256] = "";
    rec_t *added = c->added;
    assert_int_equal(evbus_dispatcher_process_json(d, one, strlen(one), NULL, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(g_sub_err, EVBUS_OK);
    assert_int_equal(g_unsub_err, EVBUS_OK);
    assert_int_equal(added->calls, 0); /* the event keeps the handler list it started with */
    assert_int_equal(g_freed, 1);         /* churn's opaque, once its call had returned */
    assert_int_equal(lc->calls, 1);
    assert_int_equal(evbus_dispatcher_process_json(d, one, strlen(one), NULL, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(added->calls, 1);
    assert_int_equal(lc->calls, 2); /* the added handler's invocation, not churn's */
    assert_int_equal(evbus_dispatcher_unsubscribe(d, churn, NULL), EVBUS_ERR_INVALID_ARG);
    assert_int_equal(evbus_dispatcher_unsubscribe(d, recorder, added), EVBUS_OK);
    assert_int_equal(g_freed, 2);
    assert_int_equal(evbus_dispatcher_process_json(d, one, strlen(one), NULL, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(lc->calls, 2); /* nothing handles t.x now */
    evbus_dispatcher_destroy(d);
    assert_int_equal(g_freed, 3);
}

/* The consumer's retry: only the handlers that failed run again, also past the room a run keeps
 * inline (8 successes, 4 failures): 12 handlers, the odd ones failing their first call. */
typedef struct cnt_s { int calls; int fail_first; } cnt_t;
static evbus_err_t counted(const evbus_event_t *ev, void *o, char *e, size_t n) {
    (void)ev;
    cnt_t *c = o;
    if (c->calls++ == 0 && c->fail_first) {
        snprintf(e, n, "first call fails");
        return EVBUS_ERR_HANDLER;
    }
    return EVBUS_OK;
}

static void test_retry_runs_only_failed(void **state) {
    (void)state;
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    cnt_t c[12] = {{0, 0}};
    for (int i = 0; i < 12; i++) {
        char name[16];
        snprintf(name, sizeof(name), "h%d", i);
        c[i].fail_first = i % 2;
        assert_int_equal(evbus_dispatcher_subscribe(d, "t.*", counted, &c[i], NULL, 0, name), 0);
    }
    evbus_event_t *ev = evbus__event_new_json("t.x", NULL, "{}", 2);
    assert_non_null(ev);
    evbus__run_t run = {0};
    char err[1024];
    assert_int_equal(evbus__dispatcher_run(d, ev, 1, &run, err, sizeof(err)), EVBUS_ERR_HANDLER);
    assert_int_equal(run.nfail, 6);
    assert_int_equal(run.ndone, 6);
    assert_string_equal(run.fail[5].handler, "h11");
    assert_non_null(strstr(err, "h1: first call fails; h3: first call fails"));
    assert_int_equal(evbus__dispatcher_run(d, ev, 2, &run, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(run.nfail, 0);
    assert_int_equal(run.ndone, 12);
    assert_int_equal(evbus__dispatcher_run(d, ev, 3, &run, err, sizeof(err)), EVBUS_OK);
    for (int i = 0; i < 12; i++)
        assert_int_equal(c[i].calls, 1 + i % 2); /* a success never runs again */
    /* moved runs keep what they hold (the consumer parks a run while a partition is away) */
    evbus__run_t parked;
    evbus__run_move(&parked, &run);
    assert_int_equal(run.ndone, 0);
    assert_int_equal(parked.ndone, 12);
    assert_int_equal(evbus__dispatcher_run(d, ev, 4, &parked, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(c[0].calls, 1);
    evbus__run_clear(&parked);
    evbus__run_clear(&run);
    evbus__event_destroy(ev);
    evbus_dispatcher_destroy(d);
}

typedef struct res_s { int n; evbus_err_t errs[8]; char ids[8][64]; } res_t;
static void on_result(size_t i, const evbus_event_t *ev, evbus_err_t err, const char *msg, void *opaque) {
    res_t *r = opaque;
    assert_int_equal(i, (size_t)r->n);
    r->errs[r->n] = err;
    snprintf(r->ids[r->n], sizeof(r->ids[0]), "%s", ev ? evbus_event_id(ev) : "-");
    if (err)
        assert_non_null(msg);
    r->n++;
}

static evbus_err_t data_check(const evbus_event_t *ev, void *o, char *e, size_t n) {
    (void)o;
    size_t len = 0;
    const char *j = evbus_event_json(ev, &len);
    if (!j || strcmp(j, "{\"a\":[1,\"x\"],\"b\":null}") || len != strlen(j)) {
        snprintf(e, n, "unexpected data %s", j ? j : "(null)");
        return EVBUS_ERR_HANDLER;
    }
    return EVBUS_OK;
}

static void test_process_json_results(void **state) {
    (void)state;
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    assert_int_equal(evbus_dispatcher_subscribe(d, "t.*", data_check, NULL, NULL, 0, NULL), 0);
    const char *evs = "[{\"type\":\"t.a\",\"data\":{\"a\":[1,\"x\"],\"b\":null},\"id\":\"i0\"},"
                      "{\"data\":{}},"
                      "{\"type\":\"t.a\",\"data\":{\"a\":2},\"id\":\"i2\"},"
                      "{\"type\":\"t.a\",\"data\":{\"a\":[1,\"x\"],\"b\":null}}]";
    res_t r = {0};
    size_t nfailed = 0;
    char err[128];
    assert_int_equal(evbus_dispatcher_process_json(d, evs, strlen(evs), on_result, &r, &nfailed, err, sizeof(err)),
                     EVBUS_ERR_HANDLER);
    assert_int_equal(r.n, 4);
    assert_int_equal(nfailed, 2);
    assert_int_equal(r.errs[0], EVBUS_OK);
    assert_string_equal(r.ids[0], "i0");
    assert_int_equal(r.errs[1], EVBUS_ERR_INVALID_ARG);
    assert_int_equal(r.errs[2], EVBUS_ERR_HANDLER);
    assert_int_equal(r.errs[3], EVBUS_OK);
    assert_int_equal(strlen(r.ids[3]), 36); /* a generated uuid */
    assert_int_equal(evbus_dispatcher_process_json(d, "{}", 2, NULL, NULL, NULL, err, sizeof(err)),
                     EVBUS_ERR_INVALID_ARG);
    assert_int_equal(evbus_dispatcher_process_json(d, "[", 1, NULL, NULL, NULL, err, sizeof(err)),
                     EVBUS_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "invalid JSON"));
    evbus_dispatcher_destroy(d);
}

/* Grow-safe stats: a program built with an older (shorter) struct gets only the fields it
 * knows, one with a newer (longer) struct gets the rest zeroed, a too-short one an error. */
static void test_stats_struct_sizes(void **state) {
    (void)state;
    evbus_dispatcher_t *d = evbus_dispatcher_new();
    assert_non_null(d);
    rec_t *ok = rec_new(0);
    assert_int_equal(evbus_dispatcher_subscribe(d, "t.*", recorder, ok, rec_free, 0, "ok"), 0);
    const char *one = "[{\"type\":\"t.x\",\"data\":1}]";
    assert_int_equal(evbus_dispatcher_process_json(d, one, strlen(one), NULL, NULL, NULL, NULL, 0), EVBUS_OK);

    enum { EXTRA = 32 };
    unsigned char buf[sizeof(evbus_dispatcher_stats_t) + 2 * EXTRA];
    evbus_dispatcher_stats_t st = EVBUS_DISPATCHER_STATS_INIT;
    /* The first release's struct: up to async_pending. */
    size_t v1 = offsetof(evbus_dispatcher_stats_t, async_pending) + sizeof(uint64_t);
    memset(buf, 0xAA, sizeof(buf));
    memcpy(buf, &v1, sizeof(v1));
    assert_int_equal(evbus_dispatcher_stats(d, (evbus_dispatcher_stats_t *)(void *)buf), EVBUS_OK);
    memcpy(&st, buf, sizeof(st) < v1 ? sizeof(st) : v1);
    assert_int_equal(st.size, v1);
    assert_int_equal(st.dispatched, 1);
    assert_int_equal(st.handler_ok, 1);
    for (size_t i = v1; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0xAA); /* nothing written past what the caller declared */

    /* A newer program's longer struct: what this library does not know is zeroed. */
    size_t newer = sizeof(evbus_dispatcher_stats_t) + EXTRA;
    memset(buf, 0xAA, sizeof(buf));
    memcpy(buf, &newer, sizeof(newer));
    assert_int_equal(evbus_dispatcher_stats(d, (evbus_dispatcher_stats_t *)(void *)buf), EVBUS_OK);
    for (size_t i = sizeof(evbus_dispatcher_stats_t); i < newer; i++)
        assert_int_equal(buf[i], 0);
    for (size_t i = newer; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0xAA);

    /* Shorter than the first release, or unset (0): refused, nothing written. */
    size_t tiny = sizeof(size_t) + sizeof(uint64_t);
    memset(buf, 0xAA, sizeof(buf));
    memcpy(buf, &tiny, sizeof(tiny));
    assert_int_equal(evbus_dispatcher_stats(d, (evbus_dispatcher_stats_t *)(void *)buf), EVBUS_ERR_INVALID_ARG);
    for (size_t i = sizeof(tiny); i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0xAA);
    evbus_dispatcher_stats_t zero = {0};
    assert_int_equal(evbus_dispatcher_stats(d, &zero), EVBUS_ERR_INVALID_ARG);
    assert_int_equal(evbus_dispatcher_stats(d, NULL), EVBUS_ERR_INVALID_ARG);
    assert_int_equal(evbus_dispatcher_stats(NULL, &st), EVBUS_ERR_INVALID_ARG);
    evbus_dispatcher_destroy(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_sync_failure_does_not_stop_others),
        cmocka_unit_test(test_async_failure_does_not_block),
        cmocka_unit_test(test_subscribe_during_dispatch),
        cmocka_unit_test(test_retry_runs_only_failed),
        cmocka_unit_test(test_lifecycle_order),
        cmocka_unit_test(test_process_json_results),
        cmocka_unit_test(test_stats_struct_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
