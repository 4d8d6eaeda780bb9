/*
 * The layout of an event.  Only core/ includes this: the libraries and the CLI read events
 * through evbus.h's accessors and event.h's functions, so the layout can change freely.
 */
#ifndef EVBUS_CORE_EVENT_INT_H
#define EVBUS_CORE_EVENT_INT_H

#include <stdatomic.h>

#include "event.h"

typedef struct evbus__event_header_s {
    char *name;
    char *value;      /* NUL-terminated (a copy, or librdkafka's, which keeps a terminator after
                       * every value); NULL for a null header value */
    size_t value_len; /* bytes, NUL excluded */
} evbus__event_header_t;

struct evbus_event_s {
    atomic_int refcnt;
    /* 1 for events from evbus__event_from_message() / _take_message(): headers, type, id,
     * topic, value and key_raw live in the event's own allocation (one malloc per consumed
     * message) or in rkm's, and are not freed on their own; evbus__event_add_header() refuses
     * such an event. */
    int packed;
    /* The message the event took (evbus__event_take_message()): headers, type, id, topic,
     * value and key_raw point into it, so it is destroyed with the event, not copied. */
    rd_kafka_message_t *rkm;
    char *type; /* NULL when the ce_type header is unusable (see problem) */
    char *id;
    char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp;
    evbus__event_header_t *headers;
    size_t nheaders;
    unsigned char *value; /* raw bytes, framing included; not NUL-terminated when in rkm */
    size_t value_len;
    unsigned char *key_raw; /* raw key bytes or NULL */
    size_t key_raw_len;

    /* Problem found at construction (unusable headers, no value): the message can never be
     * handled and goes to the dead-letter topic. */
    evbus_err_t problem_code;
    char *problem;

    /* Lazy decoding, under mu. */
    const evbus__schema_store_t *store;
    evbus__registry_t *reg;
    pthread_mutex_t mu;
    int json_done;
    char *json;
    size_t json_len;
    char *json_error;
    evbus_err_t json_err;
    int as_written; /* decode with the writer's schema only: no resolution to the current one */
    /* The writer schema the consumer's check found (evbus__event_check_value_cached()), so
     * decoding neither parses the framing nor looks the schema up again; NULL: not checked.
     * Set before the event is handed to any other thread, then only read. */
    const evbus__schema_doc_t *checked_writer;
    const evbus__schema_entry_t *checked_entry; /* its store entry, NULL from a registry */
    size_t checked_off;                         /* where the Avro payload starts in value */
    int key_done;
    char *key;

    /* Called once when the last reference goes (the consumer's in-flight count). */
    void (*release)(void *arg);
    void *release_arg;
};

#endif
