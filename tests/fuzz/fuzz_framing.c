/*
 * Wire framing detection on fuzzed message values: never reads past len, the payload
 * span stays inside the input, and writing the parsed header back gives the same bytes.
 */
#include <stdint.h>

#include "framing.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned char *bytes = malloc(size ? size : 1);
    if (!bytes)
        return 0;
    if (size)
        memcpy(bytes, data, size);
    evbus__frame_t f;
    char err[128];
    memset(&f, 0, sizeof(f));
    evbus_err_t e = evbus__framing_parse(bytes, size, &f, err, sizeof(err));
    if (e == EVBUS_OK) {
        evbus__buf_t hdr = EVBUS__BUF_INIT;
        int w;
        if (f.payload < bytes || f.payload_len > size || f.payload + f.payload_len != bytes + size)
            fuzz_die("framing", "payload span outside the input");
        if (f.framing == EVBUS__FRAMING_SINGLE_OBJECT)
            w = evbus__framing_write_single(&hdr, f.fingerprint);
        else if (f.framing == EVBUS__FRAMING_CONFLUENT)
            w = evbus__framing_write_confluent(&hdr, f.schema_id);
        else
            fuzz_die("framing", "unknown framing kind returned");
        if (w == 0 && (hdr.len != (size_t)(f.payload - bytes) || memcmp(hdr.data, bytes, hdr.len)))
            fuzz_die("framing", "re-written header differs from the parsed one");
        evbus__buf_free(&hdr);
    } else if (e != EVBUS_ERR_DECODE || !err[0]) {
        fuzz_die("framing", "failure is not EVBUS_ERR_DECODE with a message");
    }
    /* a tiny errstr must still be NUL-terminated and never overrun */
    char small[4] = {'x', 'x', 'x', 'x'};
    if (evbus__framing_parse(bytes, size, &f, small, sizeof(small)) != EVBUS_OK &&
        !memchr(small, 0, sizeof(small)))
        fuzz_die("framing", "errstr not NUL-terminated");
    free(bytes);
    return 0;
}
