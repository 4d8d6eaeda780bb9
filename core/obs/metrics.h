/*
 * Building blocks of the Prometheus text the producer and consumer render: counter families
 * keyed by one label value (an event type, a handler, a topic) with a bounded number of keys,
 * handler-duration histograms, and the text format's escaping.
 */
#ifndef EVBUS_CORE_METRICS_H
#define EVBUS_CORE_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "common.h"

/* Label values come from the wire (ce_type) or from plugins: past this many distinct values
 * a family counts under "_other", so a flood of made-up types cannot grow memory or the text. */
#define EVBUS__METRICS_MAX_KEYS 256

typedef struct evbus__mmap_s evbus__mmap_t;

/** A family of ncounters atomic counters per key.  NULL when out of memory. */
evbus__mmap_t *evbus__mmap_new(size_t ncounters);
void evbus__mmap_destroy(evbus__mmap_t *m);
/** Add v to counter i of key (NULL key: ""); nothing when out of memory.  Thread safe. */
void evbus__mmap_add(evbus__mmap_t *m, const char *key, size_t i, uint64_t v);
/** fn(arg, key, counters) for every key, in first-use order.  Thread safe. */
void evbus__mmap_each(evbus__mmap_t *m, void (*fn)(void *arg, const char *key, const uint64_t *c),
                      void *arg);

/** Histogram family of durations (seconds buckets 0.001 .. 10). */
evbus__mmap_t *evbus__hist_new(void);
void evbus__hist_observe(evbus__mmap_t *h, const char *key, int64_t duration_us);
/** key's counters in h (created if new; the "_other" key's when h is full), for
 *  evbus__hist_observe_at(): the same pointer for h's lifetime, so a caller that observes one key
 *  often can look it up once.  NULL when h is NULL or out of memory. */
_Atomic uint64_t *evbus__hist_counters(evbus__mmap_t *h, const char *key);
/** evbus__hist_observe() into counters from evbus__hist_counters() (NULL: nothing). */
void evbus__hist_observe_at(_Atomic uint64_t *c, int64_t duration_us);
/** Render h as histogram `name` with label `label` = key (HELP and TYPE lines included). */
int evbus__hist_render(evbus__buf_t *b, const char *name, const char *help, const char *label,
                       evbus__mmap_t *h);

/** Append v as a label value, escaped as the text format wants (\\ \" \n). */
int evbus__prom_label(evbus__buf_t *b, const char *v);
/** "# HELP name help\n# TYPE name type\n" */
int evbus__prom_head(evbus__buf_t *b, const char *name, const char *help, const char *type);

/** Copy b's text into buf[0..size) snprintf-style; returns b's length. */
size_t evbus__prom_copy_out(const evbus__buf_t *b, char *buf, size_t size);

#endif
