/*
 * evbus spool: read what a producer's crash-safe spool (producer.spool.dir) holds, without
 * opening a producer on it.  A producer delivers what its spool holds by itself; to deliver
 * one and stop, open a producer on it (any producer config, "{}" will do: the spool holds
 * every message ready to send) and evbus_producer_flush() it, as `evbus-cli spool drain` does.
 *
 * The README's "Crash safety" section states the guarantees.
 * Since 0.3: everything in this header.
 */
#ifndef EVBUS_SPOOL_H
#define EVBUS_SPOOL_H

#include "evbus/evbus.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a spool held when it was read: opaque, from evbus_spool_info_new(). */
typedef struct evbus_spool_info_s evbus_spool_info_t;

/**
 * Read the spool in dir: the events not yet delivered to all of their topics, their bytes,
 * the oldest one's age, per topic.  Read-only: no lock is taken (a producer may be running
 * on it; the figures are then a snapshot), nothing is repaired or moved.
 * @returns a new info object (the caller destroys it), or NULL with errstr: dir missing, not
 *   a spool, of another spool format version, unreadable, or out of memory.
 * Thread safe (no shared state).
 */
EVBUS_EXPORT evbus_spool_info_t *evbus_spool_info_new(const char *dir, char *errstr,
                                                      size_t errstr_size);
/** Free info.  NULL is a no-op. */
EVBUS_EXPORT void evbus_spool_info_destroy(evbus_spool_info_t *info);

/** Events held (not yet delivered to every one of their topics). */
EVBUS_EXPORT uint64_t evbus_spool_info_events(const evbus_spool_info_t *info);
/** Bytes of those events' records (framed messages, keys, headers). */
EVBUS_EXPORT uint64_t evbus_spool_info_bytes(const evbus_spool_info_t *info);
/** Age in seconds of the oldest held event (since send accepted it), or -1 when none. */
EVBUS_EXPORT double evbus_spool_info_oldest_seconds(const evbus_spool_info_t *info);
/** Records found damaged or torn (the next producer opening the spool cuts off a torn last
 *  record and moves damaged ones to DIR/quarantine/). */
EVBUS_EXPORT uint64_t evbus_spool_info_damaged(const evbus_spool_info_t *info);
/** Topics the held events go to, in first-seen order. */
EVBUS_EXPORT size_t evbus_spool_info_topic_count(const evbus_spool_info_t *info);
/** The idx-th topic's full name (owned by info, valid until it is destroyed), or NULL when
 *  idx is out of range. */
EVBUS_EXPORT const char *evbus_spool_info_topic_name(const evbus_spool_info_t *info, size_t idx);
/** Held events for the idx-th topic (0 when idx is out of range). */
EVBUS_EXPORT uint64_t evbus_spool_info_topic_events(const evbus_spool_info_t *info, size_t idx);
/** Bytes of their messages (key + value) for that topic (0 when idx is out of range). */
EVBUS_EXPORT uint64_t evbus_spool_info_topic_bytes(const evbus_spool_info_t *info, size_t idx);

#ifdef __cplusplus
}
#endif
#endif
