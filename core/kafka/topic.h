#ifndef EVBUS_CORE_TOPIC_H
#define EVBUS_CORE_TOPIC_H

#include "common.h"

/* Kafka's own limit on topic names. */
#define EVBUS__TOPIC_MAX 249

/**
 * Full topic name: "<prefix>-<topic>" when prefix is set and non-empty, else "<topic>" (malloc'd).
 * NULL when out of memory.
 */
char *evbus__topic_full(const char *prefix, const char *topic);
/** 0 when name is a legal Kafka topic name; else -1 and errstr says what is wrong. */
int evbus__topic_check(const char *name, char *errstr, size_t errstr_size);

#endif
