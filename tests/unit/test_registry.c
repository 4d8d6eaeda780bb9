/*
 * Schema-registry client: the faults a real registry cannot be made to produce, against
 * tests/registry_double.py (a test double, not a registry): a 5xx on every request, an answer
 * slower than the timeout, nobody listening; plus argument checks and subject names.
 * Everything a real registry does (registration, ids, the cache, lookups, basic auth, its
 * refusals) is tested against Apicurio Registry: tests/registry/rtest_registry_*.c.
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

/* ---- tests ------------------------------------------------------------------- */

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

/* The bus's key schema text (edx-event-bus-kafka's extract_key_schema): the field's definition,
 * json.dumps(sort_keys=True) style, walked the way descend_avro_schema walks. */
static void test_bus_key_text(void **state) {
    (void)state;
    static const char value[] =
        "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"t.k.v1\",\"fields\":["
        "{\"name\":\"xblock_info\",\"type\":{\"type\":\"record\",\"name\":\"XBlockData\",\"fields\":["
        "{\"type\":\"string\",\"name\":\"usage_key\"},"
        "{\"name\":\"label\",\"type\":\"string\",\"doc\":\"caf\xc3\xa9 \\\\ \u2603 \U0001F600\"}]}},"
        "{\"name\":\"user_id\",\"type\":\"long\"},"
        "{\"name\":\"maybe\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"M\",\"fields\":["
        "{\"name\":\"k\",\"type\":\"string\"}]}],\"default\":null}]}";
    char *s = evbus__registry_bus_key_text(value, "xblock_info.usage_key");
    assert_non_null(s);
    assert_string_equal(s, "{\"name\": \"usage_key\", \"type\": \"string\"}");
    /* As its own schema it is the string the key is encoded with, under <topic>-string. */
    evbus__schema_doc_t *doc = tu_schema_parse(s);
    assert_int_equal(doc->root->kind, EVBUS__AVRO_STRING);
    char *subject = evbus__registry_key_subject("p-t", doc->root);
    assert_string_equal(subject, "p-t-string");
    free(subject);
    evbus__schema_doc_destroy(doc);
    free(s);
    s = evbus__registry_bus_key_text(value, "xblock_info.label");
    assert_non_null(s);
    /* (Python's own output for this doc: lower-case hex, surrogate pairs) */
    assert_string_equal(s, "{\"doc\": \"caf\\u00e9 \\\\ \\u2603 \\ud83d\\ude00\", \"name\": "
                           "\"label\", \"type\": \"string\"}");
    free(s);
    s = evbus__registry_bus_key_text(value, "user_id");
    assert_non_null(s);
    assert_string_equal(s, "{\"name\": \"user_id\", \"type\": \"long\"}");
    free(s);
    /* The bus cannot descend into a union; a missing field, an empty path, bad text: none. */
    assert_null(evbus__registry_bus_key_text(value, "maybe.k"));
    assert_null(evbus__registry_bus_key_text(value, "xblock_info.nope"));
    assert_null(evbus__registry_bus_key_text(value, "user_id.x"));
    assert_null(evbus__registry_bus_key_text(value, ""));
    assert_null(evbus__registry_bus_key_text("{", "user_id"));
    assert_null(evbus__registry_bus_key_text(NULL, "user_id"));
}

int main(void) {
    /* The double's children must not turn a dead pipe into a dead test. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_http_500, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subject_names, setup, teardown),
        cmocka_unit_test(test_bus_key_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
