/* Test plugin, ABI v2 (StoryBoard-style): enabled() reads its settings through the context and
 * says why it is off; init() records what it read, including a consumer setting and a secret
 * it must not get.  Setting delay_ms makes each event take that long (a run to interrupt). */
#include <time.h>

#include "common.h"

static int enabled(const evbus_plugin_ctx_t *ctx) {
    const char *on = evbus_plugin_ctx_get(ctx, "enabled");
    if (on && !strcmp(on, "false")) {
        evbus_plugin_ctx_disable_reason(ctx, "switched off by its \"enabled\" setting");
        return 0;
    }
    if (!evbus_plugin_ctx_get(ctx, "label")) {
        evbus_plugin_ctx_disable_reason(ctx, "no \"label\" setting");
        return 0;
    }
    return 1;
}

typedef struct state_s {
    char label[64];
    long delay_ms;
} state_t;

static evbus_err_t init(const evbus_plugin_ctx_t *ctx, void **state, char *errstr, size_t n) {
    state_t *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(errstr, n, "out of memory");
        return EVBUS_ERR_NOMEM;
    }
    snprintf(s->label, sizeof(s->label), "%s", evbus_plugin_ctx_get(ctx, "label"));
    const char *delay = evbus_plugin_ctx_get(ctx, "delay_ms");
    s->delay_ms = delay ? strtol(delay, NULL, 10) : 0;
    const char *group = evbus_plugin_ctx_get(ctx, "consumer.group");
    const char *secret = evbus_plugin_ctx_get(ctx, "sasl.password");
    char what[256];
    snprintf(what, sizeof(what), "init:%s:label=%s:group=%s:secret=%s", evbus_plugin_ctx_name(ctx),
             s->label, group ? group : "(null)", secret ? secret : "(null)");
    tp_record(what, NULL);
    *state = s;
    return EVBUS_OK;
}

static evbus_err_t handle(void *state, const evbus_event_t *ev, char *errstr, size_t n) {
    (void)errstr; (void)n;
    state_t *s = state;
    char what[128];
    snprintf(what, sizeof(what), "cfg:%s", s->label);
    if (s->delay_ms > 0) {
        struct timespec ts = {s->delay_ms / 1000, (s->delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    tp_record(what, ev);
    return EVBUS_OK;
}

static void fini(void *state) { free(state); }

static const char *const subs[] = {"org.*", NULL};
static const evbus_plugin_v2_t plugin = {EVBUS_PLUGIN_ABI_VERSION, "test-configured", subs, enabled,
                                         init, handle, fini, 0};

EVBUS_EXPORT const evbus_plugin_v2_t *evbus_plugin_v2(void) { return &plugin; }
