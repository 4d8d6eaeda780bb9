/*
 * libevbus-producer: publish events by type to their configured, prefixed topics.
 */
#ifndef EVBUS_PRODUCER_H
#define EVBUS_PRODUCER_H

#include "evbus/evbus.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct evbus_producer_s evbus_producer_t;

#ifdef __cplusplus
}
#endif
#endif
