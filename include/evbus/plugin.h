/*
 * evbus plugin ABI: what a plugin shared object exports and sees.  The header is new in 0.3;
 * the ABI it holds, moved from evbus/consumer.h, is 0.1's (v1) and 0.2's (v2).
 *
 * A plugin is a shared object exporting evbus_plugin_v2() (or, older, evbus_plugin_v1()), which
 * returns a descriptor in the plugin's static storage.  `evbus-cli consume --plugin` and
 * evbus_dispatcher_load_plugin() (evbus/consumer.h) load it.  A plugin needs only this header
 * and evbus/evbus.h (event accessors); the host process provides the library:
 *   cc -shared -fPIC plugin.c $(pkg-config --cflags evbus-consumer)
 */
#ifndef EVBUS_PLUGIN_H
#define EVBUS_PLUGIN_H

#include "evbus/evbus.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Lifecycle event types, subscribable like any type (evbus/consumer.h says what they carry). */
#define EVBUS_LC_EVENT_RECEIVED "evbus.event.received"
#define EVBUS_LC_HANDLER_INVOKING "evbus.handler.invoking"
#define EVBUS_LC_HANDLER_INVOKED "evbus.handler.invoked"       /* + duration_us */
#define EVBUS_LC_HANDLER_FAILED "evbus.handler.failed"         /* + duration_us, error, attempts */
#define EVBUS_LC_EVENT_DEAD_LETTERED "evbus.event.dead_lettered" /* + error, handler, attempts */
#define EVBUS_LC_EVENT_REJECTED "evbus.event.rejected" /* + handler (the vetoing one), error; since 0.2 */

/* ABI 2 (evbus_plugin_v2(), since 0.2) gives enabled() and init() a configuration context.  ABI 1
 * (evbus_plugin_v1()) keeps loading: the exported symbol tells which layout a plugin uses. */
#define EVBUS_PLUGIN_ABI_VERSION 2
#define EVBUS_PLUGIN_ABI_VERSION_1 1
#define EVBUS_PLUGIN_ASYNC 0x1 /* failures never block the event */

/** What a plugin's evbus_plugin_v1() returns (static storage in the plugin).  abi_version is
 *  1, or EVBUS_PLUGIN_ABI_VERSION for sources written against it (the symbol decides). */
typedef struct evbus_plugin_s {
    int abi_version;                   /* EVBUS_PLUGIN_ABI_VERSION_1 */
    const char *name;
    const char *const *subscriptions;  /* NULL-terminated event types or globs ("org.openedx.*") */
    int  (*enabled)(void);             /* optional: 0 = skip this plugin (e.g. reads an env var) */
    evbus_err_t (*init)(void **state, char *errstr, size_t errstr_size);   /* optional */
    evbus_err_t (*handle)(void *state, const evbus_event_t *ev, char *errstr, size_t errstr_size);
    void (*fini)(void *state);         /* optional */
    int flags;                         /* EVBUS_PLUGIN_ASYNC: failures never block the event */
} evbus_plugin_t;

/** The one symbol a v1 plugin exports. */
typedef const evbus_plugin_t *(*evbus_plugin_v1_fn)(void);
#define EVBUS_PLUGIN_SYMBOL "evbus_plugin_v1"

/**
 * Since 0.2 (with everything about v2 below).  A plugin's view of its configuration, given to
 * a v2 plugin's enabled() and init().
 * Valid only during that call (copy what you keep).  Owned by the host.
 */
typedef struct evbus_plugin_ctx_s evbus_plugin_ctx_t;

/**
 * The setting key for the plugin: its own setting "plugin.<name>.<key>" (name: the plugin's
 * descriptor name) from, first to last, the host's configuration (-X plugin.<name>.<key>=V), the
 * "settings" of its entry in the consumer config file, the environment variable
 * EVBUS_PLUGIN_<NAME>_<KEY> (upper case, every character but A-Z and 0-9 as '_'); else the
 * consumer setting named key (e.g. "consumer.group"; secrets such as sasl.password give NULL).
 * @returns the value, borrowed and valid as long as ctx, or NULL when unset (or ctx/key NULL).
 * Thread safety: as ctx (one call at a time).
 */
EVBUS_EXPORT const char *evbus_plugin_ctx_get(const evbus_plugin_ctx_t *ctx, const char *key);

/** The plugin's name (its descriptor's), borrowed as ctx.  Thread safety: as ctx. */
EVBUS_EXPORT const char *evbus_plugin_ctx_name(const evbus_plugin_ctx_t *ctx);

/**
 * From enabled(): say why the plugin is off (the host reports it once, at start).  The only
 * thing a plugin may record in ctx; copied (truncated to 255 bytes).  NULL reason clears it.
 * Thread safety: as ctx (one call at a time).
 */
EVBUS_EXPORT void evbus_plugin_ctx_disable_reason(const evbus_plugin_ctx_t *ctx, const char *reason);

/** What a v2 plugin's evbus_plugin_v2() returns (static storage in the plugin). */
typedef struct evbus_plugin_v2_s {
    int abi_version;                   /* EVBUS_PLUGIN_ABI_VERSION (2) */
    const char *name;                  /* also names its settings: plugin.<name>.<key> */
    const char *const *subscriptions;  /* NULL-terminated event types or globs */
    int  (*enabled)(const evbus_plugin_ctx_t *ctx);   /* optional: 0 = skip this plugin */
    evbus_err_t (*init)(const evbus_plugin_ctx_t *ctx, void **state, char *errstr,
                        size_t errstr_size);           /* optional */
    evbus_err_t (*handle)(void *state, const evbus_event_t *ev, char *errstr, size_t errstr_size);
    void (*fini)(void *state);         /* optional */
    int flags;                         /* EVBUS_PLUGIN_ASYNC */
} evbus_plugin_v2_t;

/** The one symbol a v2 plugin exports (looked up before evbus_plugin_v1). */
typedef const evbus_plugin_v2_t *(*evbus_plugin_v2_fn)(void);
#define EVBUS_PLUGIN_SYMBOL_V2 "evbus_plugin_v2"

#ifdef __cplusplus
}
#endif
#endif /* EVBUS_PLUGIN_H */
