#include "testutil.h"

#include <string.h>

#include "evbus/evbus.h"

static void test_strerror_names(void **state) {
    (void)state;
    assert_string_equal(evbus_err_name(EVBUS_OK), "OK");
    assert_string_equal(evbus_err_name(EVBUS_ERR_KEY), "ERR_KEY");
    assert_string_equal(evbus_strerror(EVBUS_OK), "Success");
    /* every code has its own name (the enum name without EVBUS_) and its own message */
    for (int c = 0; c > EVBUS_ERR__END; c--) {
        const char *name = evbus_err_name((evbus_err_t)c), *msg = evbus_strerror((evbus_err_t)c);
        assert_string_not_equal(name, "ERR_UNKNOWN");
        assert_string_not_equal(msg, "Unknown error");
        assert_true(c == 0 ? !strcmp(name, "OK") : !strncmp(name, "ERR_", 4));
        for (int o = 0; o > c; o--) {
            assert_string_not_equal(name, evbus_err_name((evbus_err_t)o));
            assert_string_not_equal(msg, evbus_strerror((evbus_err_t)o));
        }
    }
    /* EVBUS_ERR__END is one past the last code; codes outside the table never give NULL */
    assert_string_equal(evbus_err_name(EVBUS_ERR__END), "ERR_UNKNOWN");
    assert_string_equal(evbus_strerror(EVBUS_ERR__END), "Unknown error");
    assert_string_equal(evbus_err_name((evbus_err_t)12345), "ERR_UNKNOWN");
    assert_string_equal(evbus_strerror((evbus_err_t)-999), "Unknown error");
}

static void test_version(void **state) {
    (void)state;
    assert_int_equal(evbus_version(), EVBUS_VERSION_HEX);
    assert_string_equal(evbus_version_str(), EVBUS_VERSION_STR);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror_names),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
