/* `--format raw`: where the message is, its framing, and the bytes in hex. */
#include <inttypes.h>
#include <string.h>

#include "framing.h"
#include "output.h"

static int put_hex(evbus__buf_t *b, const void *data, size_t len) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = data;
    if (!p || len == 0)
        return evbus__buf_putc(b, '-');
    if (evbus__buf_reserve(b, 2 * len) != 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        b->data[b->len++] = (unsigned char)hex[p[i] >> 4];
        b->data[b->len++] = (unsigned char)hex[p[i] & 15];
    }
    b->data[b->len] = 0;
    return 0;
}

/* framing column: single-object:<fingerprint> | confluent:<schema id> | none; then payload hex. */
static int put_framed(evbus__buf_t *b, const void *data, size_t len) {
    evbus__frame_t fr;
    int r = 0;
    if (data && evbus__framing_parse(data, len, &fr, NULL, 0) == EVBUS_OK) {
        if (fr.framing == EVBUS__FRAMING_SINGLE_OBJECT)
            r |= evbus__buf_printf(b, "single-object:%016" PRIx64 "\t", fr.fingerprint);
        else
            r |= evbus__buf_printf(b, "confluent:%" PRId32 "\t", fr.schema_id);
        r |= put_hex(b, fr.payload, fr.payload_len);
    } else {
        r |= evbus__buf_puts(b, "none\t");
        r |= put_hex(b, data, len);
    }
    return r;
}

int evbus_cli_out_raw(evbus__buf_t *b, const evbus_event_t *ev) {
    size_t vlen;
    const void *v = evbus_event_value(ev, &vlen);
    /* Topic and type come from the message: sanitized, so a tab cannot shift the columns. */
    int r = evbus__safe_cstr(b, evbus_event_topic(ev));
    r |= evbus__buf_printf(b, "	%" PRId32 "	%" PRId64 "	%" PRId64 "	", evbus_event_partition(ev),
                           evbus_event_offset(ev), evbus_event_timestamp(ev));
    r |= evbus__safe_cstr(b, evbus_cli_event_type(ev));
    r |= evbus__buf_putc(b, '	');
    size_t klen;
    const void *key = evbus__event_key_raw(ev, &klen);
    r |= put_framed(b, key, klen);
    r |= evbus__buf_putc(b, '\t');
    r |= put_framed(b, v, vlen);
    r |= evbus__buf_putc(b, '\n');
    return r ? -1 : 0;
}
