/*
 * What the library hears from each librdkafka client it makes: its log lines (routed to the
 * owner's evbus log) and its statistics JSON (statistics.interval.ms, feeding the metrics).
 * librdkafka's log callback has no opaque of its own, so the owner (the client's opaque) is
 * looked up in a small process-wide table.
 */
#ifndef EVBUS_CORE_KAFKA_OBS_H
#define EVBUS_CORE_KAFKA_OBS_H

#include <librdkafka/rdkafka.h>

#include "log.h"

/** Statistics JSON of one client (valid during the call); runs on the thread that polls it. */
typedef void (*evbus__stats_fn)(void *ctx, const char *json, size_t len);

/**
 * Set owner as kc's opaque and route the client's log lines to log and (stats not NULL, and
 * interval_ms > 0 unless the application set kafka.statistics.interval.ms) its statistics
 * to stats(ctx, ...).  log and ctx must live until evbus__kafka_obs_unbind(owner) after the
 * client is destroyed.  Several clients may share one owner.  0, or -1 when out of memory.
 */
int evbus__kafka_obs_bind(rd_kafka_conf_t *kc, const evbus_conf_t *conf, void *owner,
                          const evbus__log_t *log, evbus__stats_fn stats, void *ctx);
/** Undo one evbus__kafka_obs_bind() of owner (after rd_kafka_destroy). */
void evbus__kafka_obs_unbind(void *owner);

#endif
