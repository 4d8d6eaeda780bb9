/*
 * evbus_event_t: one consumed message (or a broker-less / lifecycle event) with copies of
 * everything a handler may read, so it outlives the rd_kafka_message_t it came from and can
 * be handed to async workers and isolated plugin children.
 *
 * The value is decoded to JSON lazily (first evbus_event_json() call, then cached), and the key
 * likewise: routing uses only the ce_type header.  Lazy state is guarded by a mutex, so the
 * accessors are safe from any thread.  Events are reference counted because async handlers keep
 * them after the dispatching call returns.
 */
#ifndef EVBUS_CORE_EVENT_H
#define EVBUS_CORE_EVENT_H

#include <pthread.h>

#include <librdkafka/rdkafka.h>

#include "common.h"
#include "framing.h"
#include "registry.h"
#include "schema.h"

/** Fields for evbus__event_new(); every pointer is copied. */
typedef struct evbus__event_init_s {
    const char *type, *id, *topic;
    int32_t partition;
    int64_t offset, timestamp;
    const void *value;
    size_t value_len;
    const void *key_raw;
    size_t key_raw_len;
    const char *key;   /* already-decoded key text (wins over key_raw) or NULL */
    const char *json;  /* already-decoded data or NULL */
    size_t json_len;
    const char *json_error; /* json NULL: why the data could not be decoded (isolated children) */
    int key_given;     /* 1: key is the decoded key, even when NULL (no key) */
} evbus__event_init_t;

/**
 * Event from a consumed message.  store/reg (reg may be NULL) are borrowed and must outlive the
 * event.  NULL only when out of memory: bad data never fails here, it is recorded and reported by
 * evbus__event_problem() (headers) or evbus_event_error() (value, after evbus_event_json()).
 */
evbus_event_t *evbus__event_from_message(const rd_kafka_message_t *rkm,
                                         const evbus__schema_store_t *store,
                                         evbus__registry_t *reg);

/**
 * Event from a consumed message, like evbus__event_from_message() but without copying: on
 * success the event takes rkm (its headers, value, key and topic name are referenced, and rkm is
 * destroyed with the event's last reference, on whichever thread drops it: the rd_kafka_t must
 * outlive the event).  NULL only when out of memory; the caller then keeps rkm.
 */
evbus_event_t *evbus__event_take_message(rd_kafka_message_t *rkm,
                                         const evbus__schema_store_t *store,
                                         evbus__registry_t *reg);

/** Event from parts (copied).  Used for broker-less dispatch and by isolated plugin children. */
evbus_event_t *evbus__event_new(const evbus__event_init_t *in, const evbus__schema_store_t *store,
                                evbus__registry_t *reg);
/** Event whose data is already JSON (broker-less dispatch, lifecycle events); id NULL = fresh uuid1. */
evbus_event_t *evbus__event_new_json(const char *type, const char *id, const char *json, size_t len);
/** Append a header (copied) to an event being built by evbus__event_new(); -1 when out of
 *  memory or for an event from evbus__event_from_message(). */
int evbus__event_add_header(evbus_event_t *ev, const char *name, const void *value, size_t len);

/** Have fn(arg) called when ev is freed (its last reference dropped: async handlers
 *  included), from whichever thread drops it.  Set before ev is shared. */
void evbus__event_on_release(evbus_event_t *ev, void (*fn)(void *arg), void *arg);

evbus_event_t *evbus__event_ref(evbus_event_t *ev);
/** Drop one reference; frees on the last.  NULL is a no-op. */
void evbus__event_destroy(evbus_event_t *ev);

/** EVBUS_OK, or why the message can never be handled (message text in *msgp). */
evbus_err_t evbus__event_problem(const evbus_event_t *ev, const char **msgp);

/**
 * Check, without decoding, that the value has a known framing, its schema can be found
 * (fingerprint in the store, or id in the registry) and belongs to the event's ce_type.
 * Permanent: EVBUS_ERR_DECODE (framing), _SCHEMA (unknown fingerprint or id, schema of another
 * type), _CONFIG (Confluent framing, no registry set).  Transient (see
 * evbus__registry_err_transient()): _REGISTRY, _TIMEOUT, _NOMEM.  errstr says which.
 */
evbus_err_t evbus__event_check_value(const evbus_event_t *ev, char *errstr, size_t errstr_size);

/*
 * The last check that passed: the framing's schema key (fingerprint or registry id) and the
 * ce_type it was found to belong to.  A consumer's events come in long runs of one type and
 * schema, and both lookups' answers never change (the store is not reloaded, a registry id
 * always names the same schema), so a match skips them.  Zeroed = empty.  One per thread.
 */
typedef struct evbus__check_cache_s {
    int valid;
    const evbus__schema_store_t *store;
    const evbus__registry_t *reg;
    evbus__framing_t framing;
    uint64_t fingerprint;
    int32_t schema_id;
    int has_type;
    size_t type_len;
    char type[128];
    const evbus__schema_doc_t *doc;     /* the writer schema that passed */
    const evbus__schema_entry_t *entry; /* its store entry (NULL from a registry) */
} evbus__check_cache_t;

/** evbus__event_check_value() remembering its last success in cache (NULL: none).  On success
 *  the writer schema found is also kept in ev for evbus_event_json(): call it before ev is
 *  shared with another thread. */
evbus_err_t evbus__event_check_value_cached(evbus_event_t *ev, evbus__check_cache_t *cache,
                                            char *errstr, size_t errstr_size);

/** as_written 1: evbus_event_json() gives the data in the writer's schema (tail's default);
 *  0 (the default): resolved into the current schema of the event's type. Call before the
 *  first evbus_event_json(); thread safe. */
void evbus__event_set_as_written(evbus_event_t *ev, int as_written);
/** 1 when evbus_event_json() was called and failed (a deterministic failure: retrying is useless). */
int evbus__event_json_failed(const evbus_event_t *ev);

/** The raw (framed) key bytes, NULL when the message has none; owned by ev. */
const void *evbus__event_key_raw(const evbus_event_t *ev, size_t *lenp);

/** Decode an Avro-framed key to text (see evbus_event_key()); malloc'd or NULL. */
char *evbus__key_decode(const void *data, size_t len, evbus__registry_t *reg);

#endif
