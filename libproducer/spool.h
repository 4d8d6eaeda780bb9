/*
 * The producer's crash-safe spool (producer.spool.dir): an append-only log of segment files
 * holding every accepted event (its framed messages, keys and headers) until each of its
 * topics reported it delivered.  spool_record.c encodes and checks records, spool_store.c
 * keeps the files (lock, scan, repair, sync, space), spool.c ties them to the producer.
 *
 * Directory: `evbus-spool` (the format version), `lock` (flock'ed by the one producer, holds
 * its pid), `NNNNNNNNNNNNNNNN.seg` segments in write order, `quarantine/` damaged records.
 */
#ifndef EVBUS_LIBPRODUCER_SPOOL_H
#define EVBUS_LIBPRODUCER_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "evbus/evbus.h"

#define EVBUS__SPOOL_VERSION 1
#define EVBUS__SPOOL_MARKER "evbus-spool"
#define EVBUS__SPOOL_HDR 32 /* record header bytes */

enum { EVBUS__SPOOL_SYNC_NONE, EVBUS__SPOOL_SYNC_INTERVAL, EVBUS__SPOOL_SYNC_ALWAYS };
enum { EVBUS__SREC_EVENT = 1, EVBUS__SREC_ACK = 2, EVBUS__SREC_SKIP = 3 };

/* ---- spool_record.c ---- */

uint32_t evbus__crc32c(uint32_t crc, const void *data, size_t len);

/** One message of an event: pointers into the record's bytes. */
typedef struct evbus__spool_msg_s {
    const char *topic; /* full topic name, NUL-terminated in the record */
    const void *key;
    size_t klen;
    const void *val;
    size_t vlen;
} evbus__spool_msg_t;

#define EVBUS__SPOOL_MAX_HDRS 32

/** An event record decoded (views into the payload; msgs is malloc'ed). */
typedef struct evbus__spool_event_s {
    int64_t created_us;
    const char *event_type, *id;
    size_t nhdrs;
    const char *hname[EVBUS__SPOOL_MAX_HDRS];
    const void *hval[EVBUS__SPOOL_MAX_HDRS];
    size_t hlen[EVBUS__SPOOL_MAX_HDRS];
    size_t nmsgs;
    evbus__spool_msg_t *msgs;
} evbus__spool_event_t;

/** A growable byte buffer for encoding. */
typedef struct evbus__sbuf_s {
    unsigned char *data;
    size_t len, cap;
} evbus__sbuf_t;
int evbus__sbuf_put(evbus__sbuf_t *b, const void *d, size_t n);
int evbus__sbuf_str(evbus__sbuf_t *b, const void *d, size_t n); /* u32 length + bytes + NUL */
void evbus__sbuf_free(evbus__sbuf_t *b);

/** Start an event payload in b (reset first). */
int evbus__spool_enc_begin(evbus__sbuf_t *b, int64_t created_us, const char *event_type,
                           const char *id, size_t nhdrs);
/** Then nhdrs headers, then the message count, then each message. */
int evbus__spool_enc_hdr(evbus__sbuf_t *b, const char *name, const void *val, size_t len);
int evbus__spool_enc_nmsgs(evbus__sbuf_t *b, size_t n);
int evbus__spool_enc_msg(evbus__sbuf_t *b, const char *topic, const void *key, size_t klen,
                         const void *val, size_t vlen, int same_value_as_previous);
/** Decode payload into ev (0) or -1 when malformed (a record that passed its checksum but is
 *  not an event of this format).  evbus__spool_event_clear() frees ev->msgs. */
int evbus__spool_dec(const unsigned char *payload, size_t len, evbus__spool_event_t *ev);
void evbus__spool_event_clear(evbus__spool_event_t *ev);

/* ---- spool_store.c ---- */

typedef struct evbus__spool_s evbus__spool_t;

typedef struct evbus__spool_opts_s {
    int sync;                 /* EVBUS__SPOOL_SYNC_* */
    int64_t max_bytes;        /* on disk, all segments */
    int64_t segment_bytes;    /* 0: derived from max_bytes */
} evbus__spool_opts_t;

/** Where an event record is: enough to read it back and to release it. */
typedef struct evbus__spool_loc_s {
    uint64_t seq;
    uint32_t seg;
    uint32_t len; /* payload bytes */
    uint64_t off; /* of the header */
    int64_t created_us;
} evbus__spool_loc_t;

/** What opening found. */
typedef struct evbus__spool_found_s {
    uint64_t torn;        /* torn last records cut off */
    uint64_t quarantined; /* damaged records moved to quarantine/ */
    uint64_t held;        /* events not yet delivered */
} evbus__spool_found_t;

/**
 * Open (creating it when missing or empty) and lock dir.  A dir held by a live producer,
 * one of another version, or one that is not a spool is an error naming why.  Repairs a
 * torn tail and quarantines damaged records (found says how many).
 */
evbus__spool_t *evbus__spool_open(const char *dir, const evbus__spool_opts_t *o,
                                  evbus__spool_found_t *found, char *errstr, size_t errstr_size);
/** Sync (unless none), unlock and free.  NULL is fine. */
void evbus__spool_close(evbus__spool_t *sp);
const char *evbus__spool_dir(const evbus__spool_t *sp);

/** The held events, in write order, from open: n and the array (owned by sp until
 *  evbus__spool_held_release()). */
const evbus__spool_loc_t *evbus__spool_held(const evbus__spool_t *sp, size_t *n);
void evbus__spool_held_release(evbus__spool_t *sp);

/**
 * Append an event payload, waiting up to deadline_us for room under max_bytes; with sync
 * always, returns after it is fsync'ed (grouped with concurrent writers).
 * EVBUS_OK and *loc; EVBUS_ERR_QUEUE_FULL (nothing written); EVBUS_ERR_IO.
 */
evbus_err_t evbus__spool_append(evbus__spool_t *sp, const void *payload, size_t len,
                                int64_t created_us, int64_t deadline_us, evbus__spool_loc_t *loc,
                                char *errstr, size_t errstr_size);
/** Read an event's payload back into b. 0 or -1. */
int evbus__spool_read(evbus__spool_t *sp, const evbus__spool_loc_t *loc, evbus__sbuf_t *b);
/** The event left the spool: every topic has it (takes effect at the next tick). */
void evbus__spool_release(evbus__spool_t *sp, const evbus__spool_loc_t *loc);
/** Periodic work: write acks, sync when due (interval), delete delivered segments. */
void evbus__spool_tick(evbus__spool_t *sp, int64_t sync_interval_us);

/** Gauges: events and bytes held (on disk), age in seconds of the oldest held segment. */
void evbus__spool_gauges(evbus__spool_t *sp, uint64_t *events, uint64_t *bytes, double *oldest_s);

/** Read-only scan (no lock, no repair), for `spool status`: cb per held event. */
typedef void evbus__spool_scan_cb(const evbus__spool_event_t *ev, size_t bytes, void *opaque);
evbus_err_t evbus__spool_scan(const char *dir, evbus__spool_scan_cb *cb, void *opaque,
                              evbus__spool_found_t *found, char *errstr, size_t errstr_size);

#endif
