/*
 * libevbus-consumer: dispatch events to local handlers and plugins.
 */
#ifndef EVBUS_CONSUMER_H
#define EVBUS_CONSUMER_H

#include "evbus/evbus.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct evbus_consumer_s evbus_consumer_t;
typedef struct evbus_dispatcher_s evbus_dispatcher_t;

#ifdef __cplusplus
}
#endif
#endif
