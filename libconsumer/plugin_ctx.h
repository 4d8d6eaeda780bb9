/*
 * The host's side of evbus_plugin_ctx_t (public accessors in include/evbus/consumer.h).
 */
#ifndef EVBUS_CORE_PLUGIN_CTX_H
#define EVBUS_CORE_PLUGIN_CTX_H

#include "common.h"
#include "evbus/consumer.h"

/** A context with copies of name, conf (may be NULL) and settings (key, value, ..., NULL).
 *  NULL when out of memory. */
evbus_plugin_ctx_t *evbus__plugin_ctx_new(const char *name, const evbus_conf_t *conf,
                                          const char *const *settings);
void evbus__plugin_ctx_destroy(evbus_plugin_ctx_t *ctx);
/** What the plugin gave with evbus_plugin_ctx_disable_reason(), or NULL. */
const char *evbus__plugin_ctx_reason(const evbus_plugin_ctx_t *ctx);

#endif
