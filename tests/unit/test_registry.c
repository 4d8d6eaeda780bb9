/*
 * Schema-registry client against tests/registry_double.py (a test double, not a registry):
 * ids, caching, lookups, auth, HTTP failures, timeouts, unreachable hosts, subject names.
 */
#include "testutil.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <curl/curl.h>

#include "registry.h"
#include "schema.h"

#define SCHEMA_A "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"t.a.v1\"," \
                 "\"fields\":[{\"name\":\"x\",\"type\":\"string\"}]}"
/* Same schema as A, written differently: the double must give it A's id. */
#define SCHEMA_A2 "{ \"namespace\": \"t.a.v1\", \"name\": \"CloudEvent\", \"type\": \"record\",\n" \
                  "  \"fields\": [ {\"type\": \"string\", \"name\": \"x\"} ] }"
#define SCHEMA_B "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"t.b.v1\"," \
                 "\"fields\":[{\"name\":\"n\",\"type\":[\"null\",\"long\"],\"default\":null}]}"

/* Per-test state: every double started is stopped in teardown, even when a test fails. */
typedef struct fx_s {
    tu_registry_t *dbl;
    evbus__registry_t *reg;
    evbus__schema_doc_t *docs[4];
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    evbus__registry_destroy(fx->reg);
    tu_registry_stop(fx->dbl);
    for (size_t i = 0; i < 4; i++)
        evbus__schema_doc_destroy(fx->docs[i]);
    free(fx);
    return 0;
}

static evbus__registry_t *reg_new(const char *url, const char *key, const char *secret,
                                  int timeout_ms) {
    char err[256] = "";
    evbus__registry_t *reg = evbus__registry_new(url, key, secret, timeout_ms, err, sizeof(err));
    if (!reg)
        print_error("registry_new: %s\n", err);
    assert_non_null(reg);
    return reg;
}

/* GET url: the body, asserting HTTP 200. */
static char *http_get(const char *url) {
    long status = 0;
    char *body = tu_http_get(url, &status);
    assert_int_equal(status, 200);
    return body;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_register_same_id_and_cache(void **state) {
    fx_t *fx = *state;
    char err[512] = "";
    int32_t id1 = -1, id2 = -1, id3 = -1, idb = -1;
    fx->dbl = tu_registry_start(NULL);
    fx->reg = reg_new(fx->dbl->url, NULL, NULL, 5000);
    evbus__schema_doc_t *a = fx->docs[0] = tu_schema_parse(SCHEMA_A);
    evbus__schema_doc_t *a2 = fx->docs[1] = tu_schema_parse(SCHEMA_A2);
    evbus__schema_doc_t *b = fx->docs[2] = tu_schema_parse(SCHEMA_B);

    assert_int_equal(evbus__registry_id_for(fx->reg, "topic-t.a.v1.CloudEvent", a, &id1, err,
                                            sizeof(err)), EVBUS_OK);
    assert_int_equal(id1, 1);
    /* Same schema in other clothes, other subject: ids are global, same schema same id. */
    assert_int_equal(evbus__registry_id_for(fx->reg, "other-t.a.v1.CloudEvent", a2, &id2, err,
                                            sizeof(err)), EVBUS_OK);
    assert_int_equal(id2, id1);
    assert_int_equal(evbus__registry_id_for(fx->reg, "topic-t.b.v1.CloudEvent", b, &idb, err,
                                            sizeof(err)), EVBUS_OK);
    assert_int_equal(idb, 2);
    const evbus__schema_doc_t *got = NULL, *got2 = NULL;
    assert_int_equal(evbus__registry_schema_by_id(fx->reg, idb, &got, err, sizeof(err)),
                     EVBUS_OK);

    /* With the double gone, only the caches can answer. */
    tu_registry_stop(fx->dbl);
    fx->dbl = NULL;
    assert_int_equal(evbus__registry_id_for(fx->reg, "topic-t.a.v1.CloudEvent", a, &id3, err,
                                            sizeof(err)), EVBUS_OK);
    assert_int_equal(id3, id1);
    assert_int_equal(evbus__registry_schema_by_id(fx->reg, idb, &got2, err, sizeof(err)),
                     EVBUS_OK);
    assert_ptr_equal(got2, got);
    /* ...and something not cached really needs the registry. */
    int32_t idx = -1;
    assert_int_not_equal(evbus__registry_id_for(fx->reg, "new-subject", a, &idx, err,
                                                sizeof(err)), EVBUS_OK);
    assert_int_equal(idx, -1);
}

static void test_lookup_roundtrip(void **state) {
    fx_t *fx = *state;
    char err[512] = "";
    size_t len = 0;
    char *text = evbus__read_file(tu_src_path("schemas/org.evbus.demo.order.placed.v1.avsc"), &len,
                                  err, sizeof(err));
    assert_non_null(text);
    fx->docs[0] = tu_schema_parse(text);
    free(text);
    fx->dbl = tu_registry_start(NULL);
    fx->reg = reg_new(fx->dbl->url, NULL, NULL, 5000);

    int32_t id = -1;
    assert_int_equal(evbus__registry_id_for(fx->reg, "t-org.evbus.demo.order.placed.v1.CloudEvent",
                                            fx->docs[0], &id, err, sizeof(err)), EVBUS_OK);
    /* A fresh client has nothing cached: the schema comes from the registry. */
    evbus__registry_t *r2 = reg_new(fx->dbl->url, NULL, NULL, 5000);
    const evbus__schema_doc_t *got = NULL;
    evbus_err_t e = evbus__registry_schema_by_id(r2, id, &got, err, sizeof(err));
    if (e)
        print_error("%s\n", err);
    assert_int_equal(e, EVBUS_OK);
    assert_non_null(got);
    assert_string_equal(got->canonical, fx->docs[0]->canonical);
    assert_true(got->fingerprint == fx->docs[0]->fingerprint);
    /* Defaults survive the trip (we register the schema as written, not its canonical form). */
    assert_non_null(strstr(got->json, "\"default\""));

    /* the registry says no schema has this id: the message can never be read (permanent) */
    e = evbus__registry_schema_by_id(r2, id + 100, &got, err, sizeof(err));
    assert_int_equal(e, EVBUS_ERR_SCHEMA);
    assert_false(evbus__registry_err_transient(e));
    assert_non_null(strstr(err, "HTTP 404"));
    evbus__registry_destroy(r2);
}

static void test_subject_is_url_encoded(void **state) {
    fx_t *fx = *state;
    char err[512] = "", url[256];
    int32_t id = -1;
    fx->dbl = tu_registry_start(NULL);
    fx->reg = reg_new(fx->dbl->url, NULL, NULL, 5000);
    fx->docs[0] = tu_schema_parse(SCHEMA_A);
    assert_int_equal(evbus__registry_id_for(fx->reg, "we?ird/sub ject%-t.a.v1.CloudEvent",
                                            fx->docs[0], &id, err, sizeof(err)), EVBUS_OK);
    snprintf(url, sizeof(url), "%s/subjects", fx->dbl->url);
    char *body = http_get(url);
    assert_string_equal(body, "[\"we?ird/sub ject%-t.a.v1.CloudEvent\"]");
    free(body);
}

static void test_basic_auth(void **state) {
    fx_t *fx = *state;
    char err[512] = "";
    int32_t id = -1;
    fx->dbl = tu_registry_start("--user", "svc-key", "--password", "Right-Secret-42", NULL);
    fx->docs[0] = tu_schema_parse(SCHEMA_A);

    fx->reg = reg_new(fx->dbl->url, "svc-key", "Wrong-Secret-99", 5000);
    evbus_err_t e = evbus__registry_id_for(fx->reg, "t-x", fx->docs[0], &id, err, sizeof(err));
    assert_int_equal(e, EVBUS_ERR_REGISTRY);
    assert_non_null(strstr(err, "HTTP 401 from POST /subjects/t-x/versions: Unauthorized"));
    assert_null(strstr(err, "Wrong-Secret-99"));
    assert_null(strstr(err, "Right-Secret-42"));
    evbus__registry_destroy(fx->reg);
    fx->reg = NULL;

    fx->reg = reg_new(fx->dbl->url, "svc-key", "Right-Secret-42", 5000);
    e = evbus__registry_id_for(fx->reg, "t-x", fx->docs[0], &id, err, sizeof(err));
    if (e)
        print_error("%s\n", err);
    assert_int_equal(e, EVBUS_OK);
    assert_int_equal(id, 1);
    const evbus__schema_doc_t *got = NULL;
    evbus__registry_t *r2 = reg_new(fx->dbl->url, "svc-key", "Right-Secret-42", 5000);
    e = evbus__registry_schema_by_id(r2, id, &got, err, sizeof(err));
    evbus__registry_destroy(r2);
    assert_int_equal(e, EVBUS_OK);
}

static void test_http_500(void **state) {
    fx_t *fx = *state;
    char err[512] = "";
    int32_t id = -1;
    const evbus__schema_doc_t *got = NULL;
    fx->dbl = tu_registry_start("--fail-status", "500", NULL);
    fx->reg = reg_new(fx->dbl->url, NULL, NULL, 5000);
    fx->docs[0] = tu_schema_parse(SCHEMA_A);
    assert_int_equal(evbus__registry_id_for(fx->reg, "t-a", fx->docs[0], &id, err, sizeof(err)),
                     EVBUS_ERR_REGISTRY);
    assert_non_null(strstr(err, "HTTP 500"));
    assert_non_null(strstr(err, "injected failure"));
    /* a 5xx may pass: the consumer retries it, never dead-letters it */
    evbus_err_t e = evbus__registry_schema_by_id(fx->reg, 1, &got, err, sizeof(err));
    assert_int_equal(e, EVBUS_ERR_REGISTRY);
    assert_true(evbus__registry_err_transient(e));
    assert_non_null(strstr(err, "HTTP 500 from GET /schemas/ids/1"));
    assert_null(got);
}

static void test_timeout(void **state) {
    fx_t *fx = *state;
    char err[512] = "";
    int32_t id = -1;
    fx->dbl = tu_registry_start("--delay-ms", "4000", NULL);
    fx->reg = reg_new(fx->dbl->url, NULL, NULL, 300);
    fx->docs[0] = tu_schema_parse(SCHEMA_A);
    evbus_err_t e = evbus__registry_id_for(fx->reg, "t-a", fx->docs[0], &id, err, sizeof(err));
    /* EVBUS_ERR_TIMEOUT is curl's own verdict on the 300 ms limit (the double answers after
     * 4 s), so no clock is needed to tell it gave up on time. */
    assert_int_equal(e, EVBUS_ERR_TIMEOUT);
    assert_true(evbus__registry_err_transient(e));
    assert_non_null(strstr(err, "schema registry"));
}

static void test_unreachable(void **state) {
    fx_t *fx = *state;
    char err[512] = "", url[64];
    int32_t id = -1;
    /* A port that was free a moment ago: bind, learn it, close. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
    close(s);
    snprintf(url, sizeof(url), "http://user:Url-Secret-7@127.0.0.1:%d/", ntohs(sa.sin_port));
    fx->reg = reg_new(url, NULL, NULL, 2000);
    fx->docs[0] = tu_schema_parse(SCHEMA_A);
    evbus_err_t e = evbus__registry_id_for(fx->reg, "t-a", fx->docs[0], &id, err, sizeof(err));
    assert_true(e == EVBUS_ERR_REGISTRY || e == EVBUS_ERR_TIMEOUT);
    assert_true(evbus__registry_err_transient(e));
    assert_non_null(strstr(err, "schema registry: POST"));
    assert_null(strstr(err, "Url-Secret-7"));
}

typedef struct race_s {
    evbus__registry_t *reg;
    const evbus__schema_doc_t *doc;
    int32_t id;
    evbus_err_t err;
    const evbus__schema_doc_t *got;
} race_t;

static void *race_main(void *p) {
    race_t *r = p;
    char err[256];
    r->err = evbus__registry_id_for(r->reg, "race-t.a.v1.CloudEvent", r->doc, &r->id, err,
                                    sizeof(err));
    if (!r->err)
        r->err = evbus__registry_schema_by_id(r->reg, r->id, &r->got, err, sizeof(err));
    return NULL;
}

static void test_threads_share_caches(void **state) {
    fx_t *fx = *state;
    fx->dbl = tu_registry_start(NULL);
    fx->reg = reg_new(fx->dbl->url, NULL, NULL, 5000);
    fx->docs[0] = tu_schema_parse(SCHEMA_A);
    pthread_t th[8];
    race_t r[8];
    for (int i = 0; i < 8; i++) {
        r[i] = (race_t){fx->reg, fx->docs[0], -1, -1, NULL};
        assert_int_equal(pthread_create(&th[i], NULL, race_main, &r[i]), 0);
    }
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(r[i].err, EVBUS_OK);
        assert_int_equal(r[i].id, 1);
        assert_non_null(r[i].got);
        assert_string_equal(r[i].got->canonical, fx->docs[0]->canonical);
    }
    /* Racing misses may each have fetched a copy, but later calls all see one cached doc. */
    const evbus__schema_doc_t *a = NULL, *b = NULL;
    char err[256];
    assert_int_equal(evbus__registry_schema_by_id(fx->reg, 1, &a, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(evbus__registry_schema_by_id(fx->reg, 1, &b, err, sizeof(err)), EVBUS_OK);
    assert_ptr_equal(a, b);
}

static void test_bad_arguments(void **state) {
    (void)state;
    char err[256] = "";
    assert_null(evbus__registry_new(NULL, NULL, NULL, 100, err, sizeof(err)));
    assert_null(evbus__registry_new("", NULL, NULL, 100, err, sizeof(err)));
    assert_null(evbus__registry_new("ftp://x", NULL, NULL, 100, err, sizeof(err)));
    assert_non_null(strstr(err, "http://"));
    evbus__registry_t *reg = reg_new("http://127.0.0.1:9", NULL, NULL, 100);
    int32_t id = 7;
    const evbus__schema_doc_t *doc = NULL;
    assert_int_equal(evbus__registry_id_for(reg, NULL, NULL, &id, err, sizeof(err)),
                     EVBUS_ERR_INVALID_ARG);
    assert_int_equal(evbus__registry_schema_by_id(reg, -1, &doc, err, sizeof(err)),
                     EVBUS_ERR_INVALID_ARG);
    assert_int_equal(id, 7);
    evbus__registry_destroy(reg);
    evbus__registry_destroy(NULL);
}

static void test_subject_names(void **state) {
    fx_t *fx = *state;
    char *s = evbus__registry_value_subject("dev-content-authoring-xblock-lifecycle",
                                            "org.openedx.content_authoring.xblock.published.v1");
    assert_string_equal(s, "dev-content-authoring-xblock-lifecycle-"
                           "org.openedx.content_authoring.xblock.published.v1.CloudEvent");
    free(s);
    assert_null(evbus__registry_value_subject(NULL, "x"));
    assert_null(evbus__registry_value_subject("t", NULL));

    fx->docs[0] = tu_schema_parse("\"string\"");
    s = evbus__registry_key_subject("dev-topic", fx->docs[0]->root);
    assert_string_equal(s, "dev-topic-string");
    free(s);
    fx->docs[1] = tu_schema_parse(SCHEMA_A);
    s = evbus__registry_key_subject("dev-topic", fx->docs[1]->root);
    assert_string_equal(s, "dev-topic-t.a.v1.CloudEvent");
    free(s);
    /* Key paths end on scalars, including fields inside records: still the type name. */
    s = evbus__registry_key_subject("t", fx->docs[1]->root->fields[0].type);
    assert_string_equal(s, "t-string");
    free(s);
    assert_null(evbus__registry_key_subject("t", NULL));
}

int main(void) {
    /* The double's children must not turn a dead pipe into a dead test. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_same_id_and_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subject_is_url_encoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_basic_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_500, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_share_caches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subject_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
