/*
 * Wire framings of an Avro payload (README "Wire format"):
 *  - single-object: C3 01 + 8-byte little-endian CRC-64-AVRO fingerprint
 *  - Confluent:     00 + 4-byte big-endian schema id
 */
#ifndef EVBUS_CORE_FRAMING_H
#define EVBUS_CORE_FRAMING_H

#include "common.h"

typedef enum evbus__framing_e {
    EVBUS__FRAMING_SINGLE_OBJECT = 1,
    EVBUS__FRAMING_CONFLUENT = 2
} evbus__framing_t;

#define EVBUS__SINGLE_OBJECT_HDR_LEN 10
#define EVBUS__CONFLUENT_HDR_LEN 5

typedef struct evbus__frame_s {
    evbus__framing_t framing;
    uint64_t fingerprint;  /* single-object */
    int32_t schema_id;     /* Confluent */
    const unsigned char *payload; /* points into the input */
    size_t payload_len;
} evbus__frame_t;

#define EVBUS__FRAME_HDR_MAX EVBUS__SINGLE_OBJECT_HDR_LEN /* the longer of the two */

/**
 * The framing header for a payload, written to out (at least EVBUS__FRAME_HDR_MAX bytes);
 * returns its length.  For writers that lay the header down in front of a payload already
 * encoded (the producer), so the payload is never copied.
 */
size_t evbus__framing_header(unsigned char *out, evbus__framing_t framing, uint64_t fingerprint,
                             int32_t schema_id);
int evbus__framing_write_single(evbus__buf_t *out, uint64_t fingerprint);
int evbus__framing_write_confluent(evbus__buf_t *out, int32_t schema_id);
/** Detect the framing from the first bytes. EVBUS_ERR_DECODE + errstr for anything else or a truncated frame. */
evbus_err_t evbus__framing_parse(const void *data, size_t len, evbus__frame_t *frame, char *errstr,
                                 size_t errstr_size);

#endif
