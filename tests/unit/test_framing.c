/* Wire framings: write, detect, reject truncated/garbage/empty. */
#include "testutil.h"

#include <string.h>

#include "framing.h"

static void test_single_object(void **state) {
    (void)state;
    evbus__buf_t b = EVBUS__BUF_INIT;
    evbus__frame_t f;
    char err[256];
    /* fingerprint of "int" (see test_schema.c): its 8 little-endian bytes are 8f5c393f1ad57572 */
    assert_int_equal(evbus__framing_write_single(&b, 0x7275d51a3f395c8fULL), 0);
    assert_int_equal(evbus__buf_append(&b, "\x02", 1), 0);
    assert_int_equal(b.len, 11);
    assert_memory_equal(b.data, "\xc3\x01\x8f\x5c\x39\x3f\x1a\xd5\x75\x72\x02", 11);
    memset(&f, 0, sizeof(f));
    assert_int_equal(evbus__framing_parse(b.data, b.len, &f, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(f.framing, EVBUS__FRAMING_SINGLE_OBJECT);
    assert_true(f.fingerprint == 0x7275d51a3f395c8fULL);
    assert_ptr_equal(f.payload, b.data + 10);
    assert_int_equal(f.payload_len, 1);
    /* header only: empty payload is still a frame (a datum of "null" is zero bytes) */
    assert_int_equal(evbus__framing_parse(b.data, 10, &f, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(f.payload_len, 0);
    for (size_t n = 1; n < 10; n++) {
        assert_int_equal(evbus__framing_parse(b.data, n, &f, err, sizeof(err)), EVBUS_ERR_DECODE);
        if (n >= 2) {
            char want[80];
            snprintf(want, sizeof(want), "truncated single-object header (%zu of 10 bytes)", n);
            assert_string_equal(err, want);
        }
    }
    assert_string_equal((evbus__framing_parse(b.data, 1, &f, err, sizeof(err)), err),
                        "unknown framing: 0xC3 not followed by 0x01");
    assert_int_equal(evbus__framing_parse("\xc3\x02\x00\x00\x00\x00\x00\x00\x00\x00", 10, &f, err,
                                          sizeof(err)),
                     EVBUS_ERR_DECODE);
    evbus__buf_free(&b);
}

static void test_confluent(void **state) {
    (void)state;
    evbus__buf_t b = EVBUS__BUF_INIT;
    evbus__frame_t f;
    char err[256];
    assert_int_equal(evbus__framing_write_confluent(&b, 0x01020304), 0);
    assert_int_equal(evbus__buf_append(&b, "ab", 2), 0);
    assert_memory_equal(b.data, "\x00\x01\x02\x03\x04" "ab", 7);
    assert_int_equal(evbus__framing_parse(b.data, b.len, &f, err, sizeof(err)), EVBUS_OK);
    assert_int_equal(f.framing, EVBUS__FRAMING_CONFLUENT);
    assert_int_equal(f.schema_id, 0x01020304);
    assert_ptr_equal(f.payload, b.data + 5);
    assert_int_equal(f.payload_len, 2);
    assert_int_equal(evbus__framing_parse(b.data, 4, &f, err, sizeof(err)), EVBUS_ERR_DECODE);
    assert_string_equal(err, "truncated Confluent header (4 of 5 bytes)");
    evbus__buf_reset(&b);
    assert_int_equal(evbus__framing_write_confluent(&b, 1), 0);
    assert_memory_equal(b.data, "\x00\x00\x00\x00\x01", 5);
    evbus__buf_free(&b);
}

static void test_garbage_and_empty(void **state) {
    (void)state;
    evbus__frame_t f;
    char err[256];
    assert_int_equal(evbus__framing_parse("", 0, &f, err, sizeof(err)), EVBUS_ERR_DECODE);
    assert_string_equal(err, "empty message value");
    assert_int_equal(evbus__framing_parse(NULL, 0, &f, err, sizeof(err)), EVBUS_ERR_DECODE);
    assert_int_equal(evbus__framing_parse("{\"a\":1}", 7, &f, err, sizeof(err)), EVBUS_ERR_DECODE);
    assert_string_equal(err, "unknown framing: first byte 0x7b (expected 0xC3 0x01 or 0x00)");
    assert_int_equal(evbus__framing_parse("\x01\x02", 2, &f, NULL, 0), EVBUS_ERR_DECODE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_object),
        cmocka_unit_test(test_confluent),
        cmocka_unit_test(test_garbage_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
