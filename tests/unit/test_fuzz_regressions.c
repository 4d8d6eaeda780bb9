/*
 * Inputs the libFuzzer targets (tests/fuzz) found crashing or breaking a property,
 * kept as plain unit tests so they stay fixed in every build, sanitized or not.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "schema.h"

/* fuzz_schema: an empty name with no namespace read the byte before the name (UBSan,
 * core/schema.c valid_fullname) and could be accepted. */
static void test_schema_empty_name(void **state) {
    static const char *const bad[] = {
        "{\"type\":\"enum\",\"name\":\"\",\"symbols\":[\"A\"]}",
        "{\"type\":\"record\",\"name\":\"\",\"fields\":[]}",
        "{\"type\":\"fixed\",\"name\":\"\",\"size\":1}",
        "{\"type\":\"enum\",\"name\":\"\",\"namesacpe\":\"a.nul,boolliases\",\"symbols\":[\"Ax.Y4\"]}",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        evbus__schema_doc_t *d = evbus__schema_parse(bad[i], strlen(bad[i]), err, sizeof(err));
        if (d)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(strstr(err, "name ''"));
    }
}

/* fuzz_config: an error line longer than the 1200-byte line buffer was copied whole
 * (stack-buffer-overflow read in evbus__config_errors_to_errstr). */
static void test_config_long_error_line(void **state) {
    char type[591], key[1001], *text, errstr[8192];
    evbus__config_errors_t errs = {NULL, 0};
    (void)state;
    memset(type, 'a', sizeof(type) - 1);
    type[sizeof(type) - 1] = 0;
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = 0;
    text = malloc(strlen(type) + strlen(key) + 32);
    assert_non_null(text);
    sprintf(text, "{\"%s\": [{\"%s\": 1}]}", type, key);
    assert_null(evbus__config_load(text, NULL, NULL, &errs));
    free(text);
    assert_true(errs.count >= 2); /* the unknown key, the missing topic, ... */
    char *joined = evbus__config_errors_join(&errs);
    assert_non_null(joined);
    assert_true(strlen(joined) > 1200); /* the first line alone is longer than the buffer */
    free(joined);
    memset(errstr, 'x', sizeof(errstr));
    evbus__config_errors_to_errstr(&errs, errstr, sizeof(errstr));
    assert_non_null(memchr(errstr, 0, sizeof(errstr)));
    assert_int_equal(strncmp(errstr, "$[\"aaaa", 7), 0);
    /* every line is cut to the buffer, none runs into the next */
    for (char *p = errstr, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        assert_true(n < 1200);
        if (!nl)
            break;
    }
    evbus__config_errors_clear(&errs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_empty_name),
        cmocka_unit_test(test_config_long_error_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
