/* Test plugin, ABI v2 (Event-Gateway-style filter): a sync subscriber of evbus.event.received
 * that fails, so vetoes, events whose type matches one of the globs of its "types" setting or
 * whose key is one of its "keys" setting (both comma-separated). */
#include <fnmatch.h>

#include "common.h"

typedef struct state_s {
    char types[512], keys[512];
} state_t;

static int enabled(const evbus_plugin_ctx_t *ctx) {
    if (evbus_plugin_ctx_get(ctx, "types") || evbus_plugin_ctx_get(ctx, "keys"))
        return 1;
    evbus_plugin_ctx_disable_reason(ctx, "neither \"types\" nor \"keys\" is set: nothing to filter");
    return 0;
}

static evbus_err_t init(const evbus_plugin_ctx_t *ctx, void **state, char *errstr, size_t n) {
    state_t *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(errstr, n, "out of memory");
        return EVBUS_ERR_NOMEM;
    }
    const char *t = evbus_plugin_ctx_get(ctx, "types"), *k = evbus_plugin_ctx_get(ctx, "keys");
    snprintf(s->types, sizeof(s->types), "%s", t ? t : "");
    snprintf(s->keys, sizeof(s->keys), "%s", k ? k : "");
    *state = s;
    return EVBUS_OK;
}

/* The string value of "name" in the lifecycle event's flat JSON (no escapes in tests). */
static int field(const char *json, const char *name, char *out, size_t n) {
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":\"", name);
    const char *p = json ? strstr(json, pat) : NULL;
    if (!p)
        return -1;
    p += strlen(pat);
    const char *e = strchr(p, '"');
    if (!e || (size_t)(e - p) >= n)
        return -1;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = 0;
    return 0;
}

/* 1 when v matches one item of the comma-separated list (globs when glob). */
static int in_list(const char *list, const char *v, int glob) {
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save))
        if (glob ? fnmatch(it, v, 0) == 0 : strcmp(it, v) == 0)
            return 1;
    return 0;
}

static evbus_err_t handle(void *state, const evbus_event_t *ev, char *errstr, size_t n) {
    state_t *s = state;
    const char *json = evbus_event_json(ev, NULL);
    char type[256], key[256];
    if (field(json, "type", type, sizeof(type)) != 0)
        type[0] = 0;
    if (field(json, "key", key, sizeof(key)) != 0)
        key[0] = 0;
    if ((s->types[0] && in_list(s->types, type, 1)) || (s->keys[0] && key[0] && in_list(s->keys, key, 0))) {
        tp_record("veto", ev);
        snprintf(errstr, n, "filtered out: type %s key %s", type, key[0] ? key : "-");
        return EVBUS_ERR_HANDLER;
    }
    tp_record("pass", ev);
    return EVBUS_OK;
}

static void fini(void *state) { free(state); }

static const char *const subs[] = {EVBUS_LC_EVENT_RECEIVED, NULL};
static const evbus_plugin_v2_t plugin = {EVBUS_PLUGIN_ABI_VERSION, "test-filter", subs, enabled, init,
                                         handle, fini, 0};

EVBUS_EXPORT const evbus_plugin_v2_t *evbus_plugin_v2(void) { return &plugin; }
