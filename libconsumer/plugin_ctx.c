/*
 * The configuration context a v2 plugin's enabled() and init() read (evbus_plugin_ctx_get),
 * and the one thing a plugin may write into it: why it is not enabled.
 *
 * A context owns copies of what it reads, because an isolated plugin's child runs init()
 * again after a restart, long after the load call's arguments are gone.  It lives in the core
 * (libevbus) beside the event accessors, the library plugins link against.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "plugin_ctx.h"

struct evbus_plugin_ctx_s {
    char *name;
    evbus_conf_t *conf; /* copy, or NULL */
    char **settings;    /* copy: key, value, ..., NULL */
    char *lookup;       /* scratch: "plugin.<name>.<key>" or the environment variable's name */
    char reason[256];
};

void evbus__plugin_ctx_destroy(evbus_plugin_ctx_t *ctx) {
    if (!ctx)
        return;
    free(ctx->name);
    evbus_conf_destroy(ctx->conf);
    for (size_t i = 0; ctx->settings && ctx->settings[i]; i++)
        free(ctx->settings[i]);
    free(ctx->settings);
    free(ctx->lookup);
    free(ctx);
}

evbus_plugin_ctx_t *evbus__plugin_ctx_new(const char *name, const evbus_conf_t *conf,
                                          const char *const *settings) {
    evbus_plugin_ctx_t *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return NULL;
    size_t n = 0;
    while (settings && settings[n])
        n++;
    if (!(ctx->name = evbus__strdup(name)) || (conf && !(ctx->conf = evbus_conf_dup(conf))) ||
        !(ctx->settings = calloc(n + 1, sizeof(char *))))
        goto fail;
    for (size_t i = 0; i < n; i++)
        if (!(ctx->settings[i] = evbus__strdup(settings[i])))
            goto fail;
    return ctx;
fail:
    evbus__plugin_ctx_destroy(ctx);
    return NULL;
}

const char *evbus__plugin_ctx_reason(const evbus_plugin_ctx_t *ctx) {
    return ctx && ctx->reason[0] ? ctx->reason : NULL;
}

/* ctx->lookup = a b c d, reusing the scratch buffer (none of a..d may point into it); NULL
 * when out of memory. */
static char *scratch(evbus_plugin_ctx_t *ctx, const char *a, const char *b, const char *c,
                     const char *d) {
    size_t len = strlen(a) + strlen(b) + strlen(c) + strlen(d) + 1;
    char *p = realloc(ctx->lookup, len);
    if (!p)
        return NULL;
    ctx->lookup = p;
    snprintf(p, len, "%s%s%s%s", a, b, c, d);
    return p;
}

const char *evbus_plugin_ctx_get(const evbus_plugin_ctx_t *cctx, const char *key) {
    if (!cctx || !key || !*key)
        return NULL;
    /* The context is the host's object; const only keeps plugins from changing settings. */
    evbus_plugin_ctx_t *ctx = (evbus_plugin_ctx_t *)cctx;
    const char *v;
    char *name;
    if (ctx->conf && (name = scratch(ctx, "plugin.", ctx->name, ".", key)) &&
        (v = evbus_conf_get(ctx->conf, name)))
        return v;
    for (size_t i = 0; ctx->settings[i] && ctx->settings[i + 1]; i += 2)
        if (!strcmp(ctx->settings[i], key))
            return ctx->settings[i + 1];
    if ((name = scratch(ctx, "EVBUS_PLUGIN_", ctx->name, "_", key))) {
        for (char *p = name; *p; p++)
            *p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
        if ((v = getenv(name)))
            return v;
    }
    /* Consumer settings, but no secret, and no other plugin's own settings. */
    if (!ctx->conf || !strncmp(key, "plugin.", 7) || evbus__conf_is_secret(key))
        return NULL;
    return evbus__conf_str(ctx->conf, key);
}

const char *evbus_plugin_ctx_name(const evbus_plugin_ctx_t *ctx) { return ctx ? ctx->name : NULL; }

void evbus_plugin_ctx_disable_reason(const evbus_plugin_ctx_t *cctx, const char *reason) {
    if (!cctx)
        return;
    evbus_plugin_ctx_t *ctx = (evbus_plugin_ctx_t *)cctx;
    snprintf(ctx->reason, sizeof(ctx->reason), "%s", reason ? reason : "");
}
