#include "testutil.h"

#include <string.h>

#include "evbus/evbus.h"

static void test_strerror_names(void **state) {
    (void)state;
    assert_string_equal(evbus_err_name(EVBUS_OK), "OK");
    assert_string_equal(evbus_err_name(EVBUS_ERR_KEY), "ERR_KEY");
    assert_string_equal(evbus_strerror(EVBUS_OK), "Success");
    /* every code has a distinct name and a message; unknown codes never give NULL */
    for (int c = 0; c > EVBUS_ERR__END; c--) {
        assert_non_null(evbus_strerror((evbus_err_t)c));
        assert_string_not_equal(evbus_err_name((evbus_err_t)c), "ERR_UNKNOWN");
    }
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
