/* cli/safe_text.c: the terminal sanitizer every piece of outside text in the CLI's output takes. */
#include "testutil.h"

#include <string.h>

#include "json_scan.h"
#include "output.h"
#include "text_scan.h"

/* Sanitize in (n bytes) with fn and compare with want, byte for byte. */
#define CHECK_TEXT(in, n, flags, want)                                                   \
    do {                                                                                 \
        evbus_cli_buf_t b_ = EVBUS_CLI_BUF_INIT;                                               \
        assert_int_equal(evbus_cli_safe_text(&b_, (in), (n), (flags)), 0);               \
        assert_int_equal(b_.len, strlen(want));                                          \
        assert_memory_equal(b_.data, (want), b_.len);                                    \
        evbus_cli_buf_free(&b_);                                                            \
    } while (0)
#define CHECK_JSON(in, n, want)                                                          \
    do {                                                                                 \
        evbus_cli_buf_t b_ = EVBUS_CLI_BUF_INIT;                                               \
        assert_int_equal(evbus_cli_json_string(&b_, (in), (n)), 0);                      \
        assert_int_equal(b_.len, strlen(want));                                          \
        assert_memory_equal(b_.data, (want), b_.len);                                    \
        evbus_cli_buf_free(&b_);                                                            \
    } while (0)

/* Not one byte a terminal acts on: no C0 control, no DEL, no C1 (as UTF-8: C2 80..C2 9F), no
 * U+2028/2029 (E2 80 A8/A9), no bidi control (E2 80 AA..AE, E2 81 A6..A9), valid UTF-8. */
static void assert_terminal_safe(const unsigned char *s, size_t n) {
    assert_int_equal(evbus__utf8_valid_prefix(s, n), n);
    for (size_t i = 0; i < n; i++) {
        assert_true(s[i] >= 0x20 && s[i] != 0x7F);
        if (s[i] == 0xC2 && i + 1 < n)
            assert_false(s[i + 1] >= 0x80 && s[i + 1] <= 0x9F);
        if (s[i] == 0xE2 && i + 2 < n && s[i + 1] == 0x80)
            assert_false(s[i + 2] >= 0xA8 && s[i + 2] <= 0xAE);
        if (s[i] == 0xE2 && i + 2 < n && s[i + 1] == 0x81)
            assert_false(s[i + 2] >= 0xA6 && s[i + 2] <= 0xA9);
    }
}

static void test_text_plain_unchanged(void **state) {
    (void)state;
    CHECK_TEXT("course-v1:edX+DemoX+Demo_Course", 31, 0, "course-v1:edX+DemoX+Demo_Course");
    CHECK_TEXT("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", 14, 0, "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80");
    CHECK_TEXT("", 0, 0, "");
    CHECK_TEXT("say \"hi\"", 8, 0, "say \"hi\"");
}

static void test_text_controls_visible(void **state) {
    (void)state;
    CHECK_TEXT("\x1b[2Jkey", 7, 0, "\\x1b[2Jkey");
    CHECK_TEXT("x\x1b]0;t\x07", 7, 0, "x\\x1b]0;t\\x07");
    CHECK_TEXT("a\tb\nc\rd", 7, 0, "a\\tb\\nc\\rd");
    CHECK_TEXT("del\x7f", 4, 0, "del\\x7f");
    CHECK_TEXT("nul\0x", 5, 0, "nul\\x00x");
    /* C1 CSI (U+009B) and NEL (U+0085) as UTF-8 */
    CHECK_TEXT("\xc2\x9b" "31m", 5, 0, "\\u009b31m");
    CHECK_TEXT("\xc2\x85", 2, 0, "\\u0085");
    /* line separator, right-to-left override, isolates, BOM */
    CHECK_TEXT("a\xe2\x80\xa8" "b", 5, 0, "a\\u2028b");
    CHECK_TEXT("\xe2\x80\xae" "gpj.exe", 10, 0, "\\u202egpj.exe");
    CHECK_TEXT("\xe2\x81\xa6\xe2\x81\xa9", 6, 0, "\\u2066\\u2069");
    CHECK_TEXT("\xef\xbb\xbfx", 4, 0, "\\ufeffx");
}

static void test_text_invalid_utf8_bytes(void **state) {
    (void)state;
    CHECK_TEXT("a\xff" "b", 3, 0, "a\\xffb");
    CHECK_TEXT("\xc3", 1, 0, "\\xc3");                   /* truncated */
    CHECK_TEXT("\xc0\xaf", 2, 0, "\\xc0\\xaf");          /* overlong */
    CHECK_TEXT("\xed\xa0\x80", 3, 0, "\\xed\\xa0\\x80"); /* surrogate */
    /* a raw C1 byte is not UTF-8: shown as the byte, never sent */
    CHECK_TEXT("\x9b" "2J", 3, 0, "\\x9b2J");
}

static void test_text_backslash(void **state) {
    (void)state;
    /* escaped by default, so the text "\x1b" and the byte ESC look different */
    CHECK_TEXT("\\x1b", 4, 0, "\\\\x1b");
    CHECK_TEXT("\x1b", 1, 0, "\\x1b");
    CHECK_TEXT("C:\\dir\x1b", 7, EVBUS_CLI_SAFE_KEEP_BACKSLASH, "C:\\dir\\x1b");
}

static void test_text_every_byte_pair_is_safe(void **state) {
    (void)state;
    /* Every 1- and 2-byte input, and a few 3-byte prefixes: the output never holds a byte a
     * terminal acts on (exhaustive over what fits in a unit test). */
    unsigned char in[3];
    evbus_cli_buf_t b = EVBUS_CLI_BUF_INIT;
    for (unsigned x = 0; x < 256; x++) {
        for (unsigned y = 0; y < 256; y++) {
            in[0] = (unsigned char)x;
            in[1] = (unsigned char)y;
            evbus_cli_buf_reset(&b);
            assert_int_equal(evbus_cli_safe_text(&b, (const char *)in, 2, 0), 0);
            assert_terminal_safe(b.data, b.len);
            evbus_cli_buf_reset(&b);
            assert_int_equal(evbus_cli_json_string(&b, (const char *)in, 2), 0);
            assert_terminal_safe(b.data, b.len);
            for (unsigned z = 0x80; z < 0xC0; z += 0x3F) {
                in[2] = (unsigned char)z;
                evbus_cli_buf_reset(&b);
                assert_int_equal(evbus_cli_safe_text(&b, (const char *)in, 3, 0), 0);
                assert_terminal_safe(b.data, b.len);
            }
        }
    }
    evbus_cli_buf_free(&b);
}

static void test_json_string(void **state) {
    (void)state;
    CHECK_JSON("plain", 5, "\"plain\"");
    CHECK_JSON("q\"b\\", 4, "\"q\\\"b\\\\\"");
    CHECK_JSON("\x1b[2J", 4, "\"\\u001b[2J\"");
    CHECK_JSON("caf\xc3\xa9", 5, "\"caf\xc3\xa9\"");
    CHECK_JSON("\x7f", 1, "\"\\u007f\"");
    CHECK_JSON("\xc2\x9b", 2, "\"\\u009b\"");
    CHECK_JSON("a\xe2\x80\xa8\n", 5, "\"a\\u2028\\n\"");
    CHECK_JSON("\xe2\x80\xae" "x", 4, "\"\\u202ex\"");
    CHECK_JSON("a\xff" "b", 3, "\"a\\ufffdb\"");
    CHECK_JSON("\xff\x1b", 2, "\"\\ufffd\\u001b\"");
}

static void test_json_text(void **state) {
    (void)state;
    const char *in = "{\"a\":\"x\xe2\x80\xa8y\",\"b\":\"\xc2\x9b\x7f\",\"c\":\"\\u001b\xc3\xa9\"}";
    const char *want = "{\"a\":\"x\\u2028y\",\"b\":\"\\u009b\\u007f\",\"c\":\"\\u001b\xc3\xa9\"}";
    evbus_cli_buf_t b = EVBUS_CLI_BUF_INIT;
    assert_int_equal(evbus_cli_safe_json_text(&b, in, strlen(in)), 0);
    assert_string_equal((const char *)b.data, want);
    /* harmless text is copied as is */
    evbus_cli_buf_reset(&b);
    const char *ok = "{\"k\":\"caf\xc3\xa9\",\"n\":[1,2.5e3]}";
    assert_int_equal(evbus_cli_safe_json_text(&b, ok, strlen(ok)), 0);
    assert_string_equal((const char *)b.data, ok);
    evbus_cli_buf_free(&b);
}

/* The word-at-a-time scans stop exactly where a byte loop would: every byte value at every
 * position of strings up to three words long, so both the word and the tail loop are met. */
static void test_word_scans_match_bytes(void **state) {
    (void)state;
    unsigned char s[32];
    for (size_t n = 1; n <= 24; n++) {
        for (size_t pos = 0; pos < n; pos++) {
            for (unsigned c = 0; c < 256; c++) {
                memset(s, 'a', sizeof(s));
                s[pos] = (unsigned char)c;
                int plain = c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
                int verbatim = c >= 0x20 && c != '"' && c != '\\';
                assert_int_equal(evbus_cli_plain_ascii_len(s, n), plain ? n : pos);
                assert_int_equal(evbus_cli_below_7f_len(s, n), c < 0x7F ? n : pos);
                assert_int_equal(evbus_cli_json_verbatim_len(s, n), verbatim ? n : pos);
                assert_int_equal(evbus__utf8_valid_prefix(s, n), c < 0x80 ? n : pos);
            }
        }
    }
    /* JSON escaping around word boundaries */
    evbus_cli_buf_t b = EVBUS_CLI_BUF_INIT;
    const char *in = "abcdefg\"hijklmno\\pqrstuv\nw";
    assert_int_equal(evbus_cli_json_write_string(&b, in, strlen(in)), 0);
    assert_string_equal((const char *)b.data, "\"abcdefg\\\"hijklmno\\\\pqrstuv\\nw\"");
    evbus_cli_buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_plain_unchanged),
        cmocka_unit_test(test_text_controls_visible),
        cmocka_unit_test(test_text_invalid_utf8_bytes),
        cmocka_unit_test(test_text_backslash),
        cmocka_unit_test(test_text_every_byte_pair_is_safe),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_json_text),
        cmocka_unit_test(test_word_scans_match_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
