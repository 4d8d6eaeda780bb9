/* Wire framings of an Avro payload: single-object (C3 01 + fingerprint) and Confluent (00 + id). */
#include "framing.h"

size_t evbus__framing_header(unsigned char *h, evbus__framing_t framing, uint64_t fingerprint,
                             int32_t schema_id) {
    if (framing == EVBUS__FRAMING_CONFLUENT) {
        uint32_t id = (uint32_t)schema_id;
        h[0] = 0x00;
        h[1] = (unsigned char)(id >> 24);
        h[2] = (unsigned char)(id >> 16);
        h[3] = (unsigned char)(id >> 8);
        h[4] = (unsigned char)id;
        return EVBUS__CONFLUENT_HDR_LEN;
    }
    h[0] = 0xC3;
    h[1] = 0x01;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (unsigned char)(fingerprint >> (8 * i)); /* little-endian, as the spec says */
    return EVBUS__SINGLE_OBJECT_HDR_LEN;
}

int evbus__framing_write_single(evbus__buf_t *out, uint64_t fingerprint) {
    unsigned char h[EVBUS__FRAME_HDR_MAX];
    return evbus__buf_append(out, h,
                             evbus__framing_header(h, EVBUS__FRAMING_SINGLE_OBJECT, fingerprint, 0));
}

int evbus__framing_write_confluent(evbus__buf_t *out, int32_t schema_id) {
    unsigned char h[EVBUS__FRAME_HDR_MAX];
    return evbus__buf_append(out, h,
                             evbus__framing_header(h, EVBUS__FRAMING_CONFLUENT, 0, schema_id));
}

evbus_err_t evbus__framing_parse(const void *data, size_t len, evbus__frame_t *frame, char *errstr,
                                 size_t errstr_size) {
    const unsigned char *p = data;
    if (!p || len == 0)
        return evbus__fail(EVBUS_ERR_DECODE, errstr, errstr_size, "empty message value");
    if (p[0] == 0xC3) {
        if (len < 2 || p[1] != 0x01)
            return evbus__fail(EVBUS_ERR_DECODE, errstr, errstr_size,
                               "unknown framing: 0xC3 not followed by 0x01");
        if (len < EVBUS__SINGLE_OBJECT_HDR_LEN)
            return evbus__fail(EVBUS_ERR_DECODE, errstr, errstr_size,
                               "truncated single-object header (%zu of %d bytes)", len,
                               EVBUS__SINGLE_OBJECT_HDR_LEN);
        uint64_t fp = 0;
        for (int i = 0; i < 8; i++)
            fp |= (uint64_t)p[2 + i] << (8 * i);
        frame->framing = EVBUS__FRAMING_SINGLE_OBJECT;
        frame->fingerprint = fp;
        frame->schema_id = 0;
        frame->payload = p + EVBUS__SINGLE_OBJECT_HDR_LEN;
        frame->payload_len = len - EVBUS__SINGLE_OBJECT_HDR_LEN;
        return EVBUS_OK;
    }
    if (p[0] == 0x00) {
        if (len < EVBUS__CONFLUENT_HDR_LEN)
            return evbus__fail(EVBUS_ERR_DECODE, errstr, errstr_size,
                               "truncated Confluent header (%zu of %d bytes)", len,
                               EVBUS__CONFLUENT_HDR_LEN);
        uint32_t id = ((uint32_t)p[1] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 8) | p[4];
        frame->framing = EVBUS__FRAMING_CONFLUENT;
        frame->fingerprint = 0;
        frame->schema_id = (int32_t)id;
        frame->payload = p + EVBUS__CONFLUENT_HDR_LEN;
        frame->payload_len = len - EVBUS__CONFLUENT_HDR_LEN;
        return EVBUS_OK;
    }
    return evbus__fail(EVBUS_ERR_DECODE, errstr, errstr_size,
                       "unknown framing: first byte 0x%02x (expected 0xC3 0x01 or 0x00)", p[0]);
}
