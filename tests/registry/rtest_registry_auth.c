/*
 * The registry client's HTTP basic auth (schema.registry.api.key / .api.secret) against a real
 * registry that requires it: Apicurio under tests/registry/with-registry --auth (Quarkus's
 * embedded user store). The program starts such a registry of its own when the one it runs
 * under has no auth (the registry group's does not).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "schema.h"

#define SCHEMA "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"t.auth.v1\"," \
               "\"fields\":[{\"name\":\"x\",\"type\":\"string\"}]}"

static const char *g_url, *g_user, *g_password;

static evbus__registry_t *reg_new(const char *user, const char *password) {
    char err[256] = "";
    evbus__registry_t *reg = evbus__registry_new(g_url, user, password, 10000, err, sizeof(err));
    if (!reg)
        fail_msg("registry_new: %s", err);
    return reg;
}

static void test_basic_auth(void **state) {
    (void)state;
    char err[512] = "", subject[300], wrong[128];
    char *name = tu_unique_name("auth");
    snprintf(subject, sizeof(subject), "%s-t.auth.v1.CloudEvent", name);
    snprintf(wrong, sizeof(wrong), "%sX", g_password);
    evbus__schema_doc_t *doc = tu_schema_parse(SCHEMA);
    int32_t id = -1;

    /* No credentials, or a wrong secret: the registry's 401, and the secret in no message. */
    evbus__registry_t *none = reg_new(NULL, NULL);
    evbus_err_t e = evbus__registry_id_for(none, subject, doc, &id, err, sizeof(err));
    evbus__registry_destroy(none);
    assert_int_equal(e, EVBUS_ERR_REGISTRY);
    if (!strstr(err, "HTTP 401 from POST /subjects/"))
        fail_msg("unexpected: %s", err);
    evbus__registry_t *bad = reg_new(g_user, wrong);
    e = evbus__registry_id_for(bad, subject, doc, &id, err, sizeof(err));
    evbus__registry_destroy(bad);
    assert_int_equal(e, EVBUS_ERR_REGISTRY);
    if (!strstr(err, "HTTP 401 from POST /subjects/"))
        fail_msg("unexpected: %s", err);
    assert_null(strstr(err, g_password));
    assert_int_equal(id, -1);

    /* The right ones: registered, and a fresh client reads the schema back by id. */
    evbus__registry_t *good = reg_new(g_user, g_password);
    e = evbus__registry_id_for(good, subject, doc, &id, err, sizeof(err));
    if (e)
        fail_msg("%s", err);
    evbus__registry_t *r2 = reg_new(g_user, g_password);
    const evbus__schema_doc_t *got = NULL;
    e = evbus__registry_schema_by_id(r2, id, &got, err, sizeof(err));
    if (e)
        fail_msg("%s", err);
    assert_true(got->fingerprint == doc->fingerprint);
    /* ...which the registry really keeps under that subject (asked with the credentials). */
    char url[1024];
    long st = 0;
    snprintf(url, sizeof(url), "%s/subjects/%s/versions", g_url, subject);
    char *body = tu_http("GET", url, NULL, g_user, g_password, &st);
    assert_int_equal(st, 200);
    assert_string_equal(body, "[1]");
    free(body);
    evbus__registry_destroy(r2);
    evbus__registry_destroy(good);
    evbus__schema_doc_destroy(doc);
    free(name);
}

int main(int argc, char **argv) {
    (void)argc;
    g_url = tu_real_registry(argv, "--auth");
    g_user = tu_env("EVBUS_TEST_REGISTRY_USER");
    g_password = tu_env("EVBUS_TEST_REGISTRY_PASSWORD");
    if (!g_user || !g_password) {
        fprintf(stderr, "rtest_registry_auth: with-registry --auth gave no credentials\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_auth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
