/* `--format raw`: where the message is, its framing, and the bytes in hex. */
#include <inttypes.h>
#include <string.h>

#include <evbus/schema.h>

#include "output.h"

static int put_hex(evbus_cli_buf_t *b, const void *data, size_t len) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = data;
    if (!p || len == 0)
        return evbus_cli_buf_putc(b, '-');
    if (evbus_cli_buf_reserve(b, 2 * len) != 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        b->data[b->len++] = (unsigned char)hex[p[i] >> 4];
        b->data[b->len++] = (unsigned char)hex[p[i] & 15];
    }
    b->data[b->len] = 0;
    return 0;
}

/* framing column: single-object:<fingerprint> | confluent:<schema id> | none; then payload hex. */
static int put_framed(evbus_cli_buf_t *b, const void *data, size_t len) {
    int framing;
    uint64_t fingerprint;
    int32_t schema_id;
    size_t hdr;
    int r = 0;
    if (data && evbus_framing_parse(data, len, &framing, &fingerprint, &schema_id, &hdr, NULL, 0) ==
                    EVBUS_OK) {
        if (framing == EVBUS_FRAMING_SINGLE_OBJECT)
            r |= evbus_cli_buf_printf(b, "single-object:%016" PRIx64 "\t", fingerprint);
        else
            r |= evbus_cli_buf_printf(b, "confluent:%" PRId32 "\t", schema_id);
        r |= put_hex(b, (const unsigned char *)data + hdr, len - hdr);
    } else {
        r |= evbus_cli_buf_puts(b, "none\t");
        r |= put_hex(b, data, len);
    }
    return r;
}

int evbus_cli_out_raw(evbus_cli_buf_t *b, const evbus_event_t *ev) {
    size_t vlen;
    const void *v = evbus_event_value(ev, &vlen);
    /* Topic and type come from the message: sanitized, so a tab cannot shift the columns. */
    int r = evbus_cli_safe_cstr(b, evbus_event_topic(ev));
    r |= evbus_cli_buf_printf(b, "	%" PRId32 "	%" PRId64 "	%" PRId64 "	", evbus_event_partition(ev),
                           evbus_event_offset(ev), evbus_event_timestamp(ev));
    r |= evbus_cli_safe_cstr(b, evbus_cli_event_type(ev));
    r |= evbus_cli_buf_putc(b, '	');
    size_t klen;
    const void *key = evbus_event_key_raw(ev, &klen);
    r |= put_framed(b, key, klen);
    r |= evbus_cli_buf_putc(b, '\t');
    r |= put_framed(b, v, vlen);
    r |= evbus_cli_buf_putc(b, '\n');
    return r ? -1 : 0;
}
