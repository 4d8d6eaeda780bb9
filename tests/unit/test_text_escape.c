/* evbus_text_escape(): the public sanitizer, its modes, and snprintf-style room handling. */
#include "testutil.h"

#include <string.h>

#include "evbus/evbus.h"

/* Escape in (n bytes) with flags into ample room and compare with want, byte for byte. */
static void check(const char *in, size_t n, int flags, const char *want) {
    char dst[256];
    assert_true(EVBUS_TEXT_ESCAPE_MAX(n) <= sizeof(dst));
    memset(dst, 'Z', sizeof(dst));
    size_t got = evbus_text_escape(dst, sizeof(dst), in, n, flags);
    assert_int_equal(got, strlen(want));
    assert_memory_equal(dst, want, got);
    assert_int_equal(dst[got], 0);
    /* the same through the short-room path, room for exactly the result */
    char tight[256];
    memset(tight, 'Z', sizeof(tight));
    assert_int_equal(evbus_text_escape(tight, got + 1, in, n, flags), got);
    assert_string_equal(tight, want);
}

static void test_modes(void **state) {
    (void)state;
    check("plain", 5, EVBUS_TEXT_TERMINAL, "plain");
    check("\x1b[2J\\x\xff", 7, EVBUS_TEXT_TERMINAL, "\\x1b[2J\\\\x\\xff");
    check("a\\b\n", 4, EVBUS_TEXT_TERMINAL | EVBUS_TEXT_KEEP_BACKSLASH, "a\\b\\n");
    check("x\xe2\x80\xa8y\xc2\x85", 7, EVBUS_TEXT_TERMINAL, "x\\u2028y\\u0085");
    check("say \"hi\"", 8, EVBUS_TEXT_JSON, "\"say \\\"hi\\\"\"");
    check("a\x01\xe2\x80\xae\xff", 6, EVBUS_TEXT_JSON, "\"a\\u0001\\u202e\\ufffd\"");
    check("caf\xc3\xa9", 5, EVBUS_TEXT_JSON, "\"caf\xc3\xa9\"");
    check("", 0, EVBUS_TEXT_JSON, "\"\"");
    check("{\"a\":\"\xc2\x9b\"}", 10, EVBUS_TEXT_JSON_TEXT, "{\"a\":\"\\u009b\"}");
    check("[1,\"\\n\"]", 8, EVBUS_TEXT_JSON_TEXT, "[1,\"\\n\"]");
}

static void test_room_as_snprintf(void **state) {
    (void)state;
    const char *in = "ab\x1b" "cd";
    /* no room: the length only */
    assert_int_equal(evbus_text_escape(NULL, 0, in, 5, EVBUS_TEXT_TERMINAL), 8);
    /* cut: dst_size - 1 bytes and the NUL */
    char dst[5];
    memset(dst, 'Z', sizeof(dst));
    assert_int_equal(evbus_text_escape(dst, sizeof(dst), in, 5, EVBUS_TEXT_TERMINAL), 8);
    assert_string_equal(dst, "ab\\x");
    char one[1] = {'Z'};
    assert_int_equal(evbus_text_escape(one, 1, in, 5, EVBUS_TEXT_JSON), 12);
    assert_int_equal(one[0], 0);
    /* NULL text of length 0 is the empty string */
    char e[8];
    assert_int_equal(evbus_text_escape(e, sizeof(e), NULL, 0, EVBUS_TEXT_JSON), 2);
    assert_string_equal(e, "\"\"");
}

static void test_bad_arguments(void **state) {
    (void)state;
    char dst[64];
    assert_int_equal(evbus_text_escape(dst, sizeof(dst), "x", 1, 0), EVBUS_TEXT_ERROR);
    assert_int_equal(evbus_text_escape(dst, sizeof(dst), "x", 1, EVBUS_TEXT_JSON | EVBUS_TEXT_TERMINAL),
                     EVBUS_TEXT_ERROR);
    assert_int_equal(evbus_text_escape(dst, sizeof(dst), "x", 1,
                                       EVBUS_TEXT_JSON | EVBUS_TEXT_KEEP_BACKSLASH),
                     EVBUS_TEXT_ERROR);
    assert_int_equal(evbus_text_escape(dst, sizeof(dst), NULL, 3, EVBUS_TEXT_JSON), EVBUS_TEXT_ERROR);
    assert_int_equal(evbus_text_escape(NULL, 4, "x", 1, EVBUS_TEXT_JSON), EVBUS_TEXT_ERROR);
    assert_int_equal(evbus_text_escape(dst, sizeof(dst), "x", SIZE_MAX / 2, EVBUS_TEXT_JSON),
                     EVBUS_TEXT_ERROR);
}

/* Worst cases fit EVBUS_TEXT_ESCAPE_MAX exactly as promised: every byte escaped. */
static void test_worst_case_fits(void **state) {
    (void)state;
    unsigned char in[40];
    memset(in, 0x01, sizeof(in));
    char dst[EVBUS_TEXT_ESCAPE_MAX(40)];
    assert_int_equal(evbus_text_escape(dst, sizeof(dst), (const char *)in, 40, EVBUS_TEXT_JSON), 242);
    memset(in, 0xff, sizeof(in));
    assert_int_equal(evbus_text_escape(dst, sizeof(dst), (const char *)in, 40, EVBUS_TEXT_JSON_TEXT),
                     240);
    assert_int_equal(evbus_text_escape(dst, sizeof(dst), (const char *)in, 40, EVBUS_TEXT_TERMINAL),
                     160);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_room_as_snprintf),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_worst_case_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
