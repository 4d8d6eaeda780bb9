/*
 * The schema-registry client (core/registry.c) against a real registry: Apicurio Registry's
 * Confluent-compatible API (tests/registry/with-registry; run on its own, the program starts
 * one). Registration on first use, the id cache, lookups by id, subject names as the Python bus
 * writes them, the registry's own refusals (unknown id, incompatible schema). The registry is
 * shared by the whole test group, so every subject here is unique and no id is assumed.
 * The faults a real registry cannot be made to produce (503s, timeouts, dropped connections)
 * stay on the double: tests/unit/test_registry.c.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "registry.h"
#include "schema.h"

static const char *g_url; /* .../apis/ccompat/v7 */

#define SCHEMA_A(ns) "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"" ns "\"," \
                     "\"fields\":[{\"name\":\"x\",\"type\":\"string\"}]}"
/* A with one more field that has no default: not BACKWARD compatible with A. */
#define SCHEMA_A_REQ(ns) "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"" ns "\"," \
                         "\"fields\":[{\"name\":\"x\",\"type\":\"string\"}," \
                         "{\"name\":\"y\",\"type\":\"long\"}]}"
/* A with a nullable field and a default: compatible both ways. */
#define SCHEMA_A_OPT(ns) "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"" ns "\"," \
                         "\"fields\":[{\"name\":\"x\",\"type\":\"string\"}," \
                         "{\"name\":\"y\",\"type\":[\"null\",\"long\"],\"default\":null}]}"

typedef struct fx_s {
    evbus__registry_t *reg;
    evbus__schema_doc_t *docs[4];
    char *name; /* unique, for subjects */
} fx_t;

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    fx->name = tu_unique_name("rt");
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    evbus__registry_destroy(fx->reg);
    for (size_t i = 0; i < 4; i++)
        evbus__schema_doc_destroy(fx->docs[i]);
    free(fx->name);
    free(fx);
    return 0;
}

static evbus__registry_t *reg_new(void) {
    char err[256] = "";
    evbus__registry_t *reg = evbus__registry_new(g_url, NULL, NULL, 10000, err, sizeof(err));
    if (!reg)
        fail_msg("registry_new: %s", err);
    return reg;
}

/* The registry's URL for a path under the API; subject names here need no escaping. */
static const char *api(const char *fmt, ...) {
    static char b[4][1024];
    static int slot;
    char *out = b[slot++ % 4];
    int n = snprintf(out, sizeof(b[0]), "%s", g_url);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + n, sizeof(b[0]) - (size_t)n, fmt, ap);
    va_end(ap);
    return out;
}

/* The HTTP status of a request, its body freed. */
static long http_status(const char *method, const char *url, const char *body) {
    long st = 0;
    free(tu_http(method, url, body, NULL, NULL, &st));
    return st;
}

/* The "id" of GET /subjects/<subject>/versions/latest (asserting 200). */
static int32_t latest_id(const char *subject) {
    long st = 0;
    char *body = tu_http("GET", api("/subjects/%s/versions/latest", subject), NULL, NULL, NULL, &st);
    if (st != 200)
        fail_msg("GET latest of %s: HTTP %ld: %s", subject, st, body);
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    json_t *id = json_object_get(j, "id");
    assert_true(json_is_integer(id));
    int32_t r = (int32_t)json_integer_value(id);
    json_decref(j);
    free(body);
    return r;
}

static void set_compat(const char *subject, const char *level) {
    char body[64];
    snprintf(body, sizeof(body), "{\"compatibility\":\"%s\"}", level);
    assert_int_equal(http_status("PUT", api("/config/%s", subject), body), 200);
}

/* Deletes a subject for good: soft, then permanent (Apicurio, like Confluent, refuses a
 * permanent delete of a subject not soft-deleted first: 409/40405 where Confluent says 404). */
static void delete_subject(const char *subject) {
    assert_int_equal(http_status("DELETE", api("/subjects/%s", subject), NULL), 200);
    assert_int_equal(http_status("DELETE", api("/subjects/%s?permanent=true", subject), NULL), 200);
}

/* ---- tests ------------------------------------------------------------------- */

static void test_register_on_first_use_then_cache(void **state) {
    fx_t *fx = *state;
    char err[512] = "", subject[300];
    snprintf(subject, sizeof(subject), "%s-t.a.v1.CloudEvent", fx->name);
    fx->reg = reg_new();
    fx->docs[0] = tu_schema_parse(SCHEMA_A("t.a.v1"));

    /* Nothing is registered before the first use. */
    assert_int_equal(http_status("GET", api("/subjects/%s/versions", subject), NULL), 404);
    int32_t id1 = -1, id2 = -1, id3 = -1;
    evbus_err_t e = evbus__registry_id_for(fx->reg, subject, fx->docs[0], &id1, err, sizeof(err));
    if (e)
        fail_msg("%s", err);
    assert_true(id1 >= 0);
    /* The registry holds it under that subject with that id. */
    assert_int_equal(latest_id(subject), id1);

    /* The id is cached: with the subject gone from the registry, the client still answers,
     * and asks nothing (a request would have registered the subject again). */
    delete_subject(subject);
    assert_int_equal(http_status("GET", api("/subjects/%s/versions", subject), NULL), 404);
    assert_int_equal(evbus__registry_id_for(fx->reg, subject, fx->docs[0], &id2, err, sizeof(err)),
                     EVBUS_OK);
    assert_int_equal(id2, id1);
    assert_int_equal(http_status("GET", api("/subjects/%s/versions", subject), NULL), 404);

    /* A client with an empty cache registers it again. */
    evbus__registry_t *r2 = reg_new();
    e = evbus__registry_id_for(r2, subject, fx->docs[0], &id3, err, sizeof(err));
    evbus__registry_destroy(r2);
    if (e)
        fail_msg("%s", err);
    assert_int_equal(latest_id(subject), id3);
}

static void test_same_schema_two_subjects(void **state) {
    fx_t *fx = *state;
    char err[512] = "", s1[300], s2[300];
    snprintf(s1, sizeof(s1), "%s-one-t.b.v1.CloudEvent", fx->name);
    snprintf(s2, sizeof(s2), "%s-two-t.b.v1.CloudEvent", fx->name);
    fx->reg = reg_new();
    fx->docs[0] = tu_schema_parse(SCHEMA_A("t.b.v1"));
    int32_t id1 = -1, id2 = -1;
    assert_int_equal(evbus__registry_id_for(fx->reg, s1, fx->docs[0], &id1, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(evbus__registry_id_for(fx->reg, s2, fx->docs[0], &id2, err, sizeof(err)), EVBUS_OK);
    /* Ids are the registry's, global: one schema text, one id, in every subject. */
    assert_int_equal(id1, id2);
    assert_int_equal(latest_id(s1), id1);
    assert_int_equal(latest_id(s2), id1);
    /* Registering again in the same subject is idempotent: no second version. */
    evbus__registry_t *r2 = reg_new();
    int32_t id3 = -1;
    assert_int_equal(evbus__registry_id_for(r2, s1, fx->docs[0], &id3, err, sizeof(err)), EVBUS_OK);
    evbus__registry_destroy(r2);
    assert_int_equal(id3, id1);
    char *v = tu_http("GET", api("/subjects/%s/versions", s1), NULL, NULL, NULL, NULL);
    assert_string_equal(v, "[1]");
    free(v);
}

static void test_lookup_by_id(void **state) {
    fx_t *fx = *state;
    char err[512] = "", subject[300];
    size_t len = 0;
    char *text = evbus__read_file(tu_src_path("schemas/org.evbus.demo.order.placed.v1.avsc"), &len,
                                  err, sizeof(err));
    assert_non_null(text);
    fx->docs[0] = tu_schema_parse(text);
    free(text);
    snprintf(subject, sizeof(subject), "%s-org.evbus.demo.order.placed.v1.CloudEvent", fx->name);
    fx->reg = reg_new();
    int32_t id = -1;
    assert_int_equal(evbus__registry_id_for(fx->reg, subject, fx->docs[0], &id, err, sizeof(err)), EVBUS_OK);

    /* A fresh client has nothing cached: the schema comes from the registry. */
    evbus__registry_t *r2 = reg_new();
    const evbus__schema_doc_t *got = NULL, *again = NULL;
    evbus_err_t e = evbus__registry_schema_by_id(r2, id, &got, err, sizeof(err));
    if (e)
        fail_msg("%s", err);
    assert_string_equal(got->canonical, fx->docs[0]->canonical);
    assert_true(got->fingerprint == fx->docs[0]->fingerprint);
    /* Defaults survive the trip: the schema is registered as written, not in canonical form. */
    assert_non_null(strstr(got->json, "\"default\""));
    /* ...and cached: the same document again. */
    assert_int_equal(evbus__registry_schema_by_id(r2, id, &again, err, sizeof(err)), EVBUS_OK);
    assert_ptr_equal(again, got);

    /* No schema has this id: the registry answers 404 (40403), a message can never be read. */
    e = evbus__registry_schema_by_id(r2, 2000000000, &got, err, sizeof(err));
    assert_int_equal(e, EVBUS_ERR_SCHEMA);
    assert_false(evbus__registry_err_transient(e));
    if (!strstr(err, "HTTP 404"))
        fail_msg("unexpected: %s", err);
    evbus__registry_destroy(r2);
}

/* The registry refuses a schema its compatibility rule rejects: the client says so, with the
 * status and the registry's own message. Apicurio's global level is NONE (Confluent's is
 * BACKWARD): the level is set on the subject, as a deployment would. */
static void test_incompatible_schema_refused(void **state) {
    fx_t *fx = *state;
    char err[1024] = "", subject[300];
    snprintf(subject, sizeof(subject), "%s-t.c.v1.CloudEvent", fx->name);
    fx->reg = reg_new();
    fx->docs[0] = tu_schema_parse(SCHEMA_A("t.c.v1"));
    fx->docs[1] = tu_schema_parse(SCHEMA_A_REQ("t.c.v1"));
    fx->docs[2] = tu_schema_parse(SCHEMA_A_OPT("t.c.v1"));
    int32_t id = -1, idr = -1, ido = -1;
    assert_int_equal(evbus__registry_id_for(fx->reg, subject, fx->docs[0], &id, err, sizeof(err)), EVBUS_OK);
    set_compat(subject, "BACKWARD");
    evbus_err_t e = evbus__registry_id_for(fx->reg, subject, fx->docs[1], &idr, err, sizeof(err));
    assert_int_equal(e, EVBUS_ERR_REGISTRY);
    assert_int_equal(idr, -1);
    if (!strstr(err, "HTTP 409 from POST /subjects/") || !strstr(err, "ncompatible"))
        fail_msg("unexpected: %s", err);
    /* A compatible change (a nullable field with a default) is a new version, a new id. */
    e = evbus__registry_id_for(fx->reg, subject, fx->docs[2], &ido, err, sizeof(err));
    if (e)
        fail_msg("%s", err);
    assert_int_not_equal(ido, id);
    assert_int_equal(latest_id(subject), ido);
    char *v = tu_http("GET", api("/subjects/%s/versions", subject), NULL, NULL, NULL, NULL);
    assert_string_equal(v, "[1,2]");
    free(v);
}

/* Subject names with characters that must be escaped in a URL path reach the registry intact. */
static void test_subject_is_url_encoded(void **state) {
    fx_t *fx = *state;
    char err[512] = "", subject[300];
    snprintf(subject, sizeof(subject), "%s we?ird%%-t.d.v1.CloudEvent", fx->name);
    fx->reg = reg_new();
    fx->docs[0] = tu_schema_parse(SCHEMA_A("t.d.v1"));
    int32_t id = -1;
    evbus_err_t e = evbus__registry_id_for(fx->reg, subject, fx->docs[0], &id, err, sizeof(err));
    if (e)
        fail_msg("%s", err);
    char *body = tu_http("GET", api("/subjects"), NULL, NULL, NULL, NULL);
    json_t *j = json_loads(body, 0, NULL);
    assert_true(json_is_array(j));
    int found = 0;
    for (size_t i = 0; i < json_array_size(j); i++)
        found += json_is_string(json_array_get(j, i)) &&
                 strcmp(json_string_value(json_array_get(j, i)), subject) == 0;
    if (found != 1)
        fail_msg("subject \"%s\" not listed once in %s", subject, body);
    json_decref(j);
    free(body);
}

typedef struct race_s {
    evbus__registry_t *reg;
    const evbus__schema_doc_t *doc;
    const char *subject;
    int32_t id;
    evbus_err_t err;
    const evbus__schema_doc_t *got;
} race_t;

static void *race_main(void *p) {
    race_t *r = p;
    char err[256];
    r->err = evbus__registry_id_for(r->reg, r->subject, r->doc, &r->id, err, sizeof(err));
    if (!r->err)
        r->err = evbus__registry_schema_by_id(r->reg, r->id, &r->got, err, sizeof(err));
    return NULL;
}

/* Threads missing the cache at once all get the registry's one id (POST is idempotent). */
static void test_threads_share_caches(void **state) {
    fx_t *fx = *state;
    char subject[300];
    snprintf(subject, sizeof(subject), "%s-t.e.v1.CloudEvent", fx->name);
    fx->reg = reg_new();
    fx->docs[0] = tu_schema_parse(SCHEMA_A("t.e.v1"));
    pthread_t th[8];
    race_t r[8];
    for (int i = 0; i < 8; i++) {
        r[i] = (race_t){fx->reg, fx->docs[0], subject, -1, -1, NULL};
        assert_int_equal(pthread_create(&th[i], NULL, race_main, &r[i]), 0);
    }
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    int32_t id = latest_id(subject);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(r[i].err, EVBUS_OK);
        assert_int_equal(r[i].id, id);
        assert_string_equal(r[i].got->canonical, fx->docs[0]->canonical);
    }
    char *v = tu_http("GET", api("/subjects/%s/versions", subject), NULL, NULL, NULL, NULL);
    assert_string_equal(v, "[1]");
    free(v);
}

int main(int argc, char **argv) {
    (void)argc;
    g_url = tu_real_registry(argv, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_on_first_use_then_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_schema_two_subjects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incompatible_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subject_is_url_encoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_share_caches, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
