/*
 * Plugin loading: dlopen, ABI check (v2, else v1), enabled() with its context, init/fini,
 * subscription into a dispatcher; a path that is a directory loads every *.so in it.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"
#include "dispatcher_int.h"

struct evbus__plugin_s {
    void *dl;
    const evbus_plugin_t *v1;    /* exactly one of v1, v2 */
    const evbus_plugin_v2_t *v2;
    const char *name;            /* the descriptor's */
    evbus_plugin_ctx_t *ctx;
    void *state;
    evbus__isolate_t *iso;       /* isolated: init/handle/fini run in a child */
};

const char *evbus__plugin_name(const evbus__plugin_t *pl) { return pl->name; }

evbus_err_t evbus__plugin_init(evbus__plugin_t *pl, void **state, char *errstr, size_t n) {
    *state = NULL;
    if (pl->v2)
        return pl->v2->init ? pl->v2->init(pl->ctx, state, errstr, n) : EVBUS_OK;
    return pl->v1->init ? pl->v1->init(state, errstr, n) : EVBUS_OK;
}

evbus_err_t evbus__plugin_call(const evbus__plugin_t *pl, void *state, const evbus_event_t *ev,
                               char *errstr, size_t n) {
    return pl->v2 ? pl->v2->handle(state, ev, errstr, n) : pl->v1->handle(state, ev, errstr, n);
}

void evbus__plugin_fini(const evbus__plugin_t *pl, void *state) {
    void (*fini)(void *) = pl->v2 ? pl->v2->fini : pl->v1->fini;
    if (fini)
        fini(state);
}

static evbus_err_t plugin_handle(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    evbus__plugin_t *pl = opaque;
    if (pl->iso)
        return evbus__isolate_handle(pl->iso, ev, errstr, n);
    return evbus__plugin_call(pl, pl->state, ev, errstr, n);
}

static void plugin_free(void *opaque) {
    evbus__plugin_t *pl = opaque;
    if (pl->iso)
        evbus__isolate_destroy(pl->iso); /* the child runs fini */
    else
        evbus__plugin_fini(pl, pl->state);
    evbus__plugin_ctx_destroy(pl->ctx);
    dlclose(pl->dl);
    free(pl);
}

/* Find dl's descriptor (v2 when exported, else v1) into pl.  0, or -1 + why when unusable. */
static int find_descriptor(void *dl, evbus__plugin_t *pl, int *abi, const char **why) {
    /* POSIX: a data pointer converts to a function pointer through memcpy. */
    void *sym = dlsym(dl, EVBUS_PLUGIN_SYMBOL_V2);
    const char *const *subs;
    int has_handle;
    *abi = -1;
    if (sym) {
        evbus_plugin_v2_fn fn;
        memcpy(&fn, &sym, sizeof(fn));
        if (!(pl->v2 = fn())) {
            *why = EVBUS_PLUGIN_SYMBOL_V2 "() returned NULL";
            return -1;
        }
        *abi = pl->v2->abi_version;
        if (*abi != EVBUS_PLUGIN_ABI_VERSION) {
            *why = "unsupported plugin ABI version";
            return -1;
        }
        pl->name = pl->v2->name;
        subs = pl->v2->subscriptions;
        has_handle = pl->v2->handle != NULL;
    } else if ((sym = dlsym(dl, EVBUS_PLUGIN_SYMBOL))) {
        evbus_plugin_v1_fn fn;
        memcpy(&fn, &sym, sizeof(fn));
        if (!(pl->v1 = fn())) {
            *why = EVBUS_PLUGIN_SYMBOL "() returned NULL";
            return -1;
        }
        *abi = pl->v1->abi_version;
        /* The v1 layout, whichever the source said: 1, or the current macro it was built with. */
        if (*abi != EVBUS_PLUGIN_ABI_VERSION_1 && *abi != EVBUS_PLUGIN_ABI_VERSION) {
            *why = "unsupported plugin ABI version";
            return -1;
        }
        pl->name = pl->v1->name;
        subs = pl->v1->subscriptions;
        has_handle = pl->v1->handle != NULL;
    } else {
        *why = "no " EVBUS_PLUGIN_SYMBOL_V2 "() or " EVBUS_PLUGIN_SYMBOL "() exported";
        return -1;
    }
    if (!pl->name || !*pl->name || !has_handle || !subs || !subs[0]) {
        *why = "plugin descriptor lacks name, handle or subscriptions";
        return -1;
    }
    return 0;
}

static int is_enabled(evbus__plugin_t *pl) {
    if (pl->v2)
        return !pl->v2->enabled || pl->v2->enabled(pl->ctx);
    return !pl->v1->enabled || pl->v1->enabled();
}

/* Load one shared object.  opts is complete (normalised by the caller). */
static evbus_err_t load_one(evbus_dispatcher_t *d, const char *path, const evbus_plugin_opts_t *opts,
                            int *loaded, char *errstr, size_t errstr_size) {
    *loaded = 0;
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl)
        return evbus__fail(EVBUS_ERR_PLUGIN, errstr, errstr_size, "%s: %s", path, dlerror());
    evbus__plugin_t *pl = calloc(1, sizeof(*pl));
    if (!pl) {
        dlclose(dl);
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    pl->dl = dl;
    const char *why = NULL;
    int abi;
    if (find_descriptor(dl, pl, &abi, &why) != 0) {
        evbus__seterr(errstr, errstr_size, "%s: %s (plugin ABI %d, library ABI %d)", path, why, abi,
                      EVBUS_PLUGIN_ABI_VERSION);
        dlclose(dl);
        free(pl);
        return EVBUS_ERR_PLUGIN;
    }
    if (!(pl->ctx = evbus__plugin_ctx_new(pl->name, opts->conf, opts->settings))) {
        dlclose(dl);
        free(pl);
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    if (!is_enabled(pl)) {
        const char *reason = evbus__plugin_ctx_reason(pl->ctx);
        if (opts->on_disabled)
            opts->on_disabled(path, pl->name, reason, opts->opaque);
        evbus__seterr(errstr, errstr_size, "%s: not enabled%s%s", pl->name, reason ? ": " : "",
                      reason ? reason : "");
        evbus__plugin_ctx_destroy(pl->ctx);
        dlclose(dl);
        free(pl);
        return EVBUS_OK;
    }
    char msg[512] = "";
    evbus_err_t err = EVBUS_OK;
    if (opts->flags & EVBUS_PLUGIN_LOAD_ISOLATE) {
        int tmo = opts->timeout_ms > 0 ? opts->timeout_ms : (int)evbus__conf_int(NULL, "handler.timeout.ms");
        if (!(pl->iso = evbus__isolate_new(pl, tmo)))
            err = evbus__fail(EVBUS_ERR_NOMEM, msg, sizeof(msg), "out of memory");
        else
            err = evbus__isolate_start(pl->iso, msg, sizeof(msg));
    } else {
        err = evbus__plugin_init(pl, &pl->state, msg, sizeof(msg));
    }
    if (err) {
        evbus__isolate_destroy(pl->iso);
        evbus__plugin_ctx_destroy(pl->ctx);
        dlclose(dl);
        free(pl);
        return evbus__fail(EVBUS_ERR_PLUGIN, errstr, errstr_size, "%s: init failed: %s", path,
                           msg[0] ? msg : evbus_strerror(err));
    }
    const char *const *subs = opts->subscriptions ? opts->subscriptions
                              : pl->v2 ? pl->v2->subscriptions : pl->v1->subscriptions;
    int async = ((pl->v2 ? pl->v2->flags : pl->v1->flags) & EVBUS_PLUGIN_ASYNC) != 0;
    size_t n = 0;
    while (subs[n])
        n++;
    err = evbus_dispatcher_subscribe_list(d, subs, n, plugin_handle, pl, plugin_free,
                                          async ? EVBUS_HANDLER_ASYNC : 0, pl->name);
    if (err) {
        plugin_free(pl);
        return evbus__fail(err, errstr, errstr_size, "%s: cannot subscribe: %s", path,
                           evbus_strerror(err));
    }
    *loaded = 1;
    return EVBUS_OK;
}

static int is_so(const struct dirent *e) {
    size_t n = strlen(e->d_name);
    return n > 3 && !strcmp(e->d_name + n - 3, ".so");
}

static evbus_err_t load_dir(evbus_dispatcher_t *d, const char *dir, const evbus_plugin_opts_t *opts,
                            int *nloaded, char *errstr, size_t errstr_size) {
    struct dirent **list = NULL;
    int n = scandir(dir, &list, is_so, alphasort);
    if (n < 0)
        return evbus__fail(EVBUS_ERR_IO, errstr, errstr_size, "%s: cannot read directory", dir);
    evbus_err_t err = EVBUS_OK;
    for (int i = 0; i < n; i++) {
        if (!err) {
            size_t len = strlen(dir) + strlen(list[i]->d_name) + 2;
            char *path = malloc(len);
            int loaded = 0;
            if (!path) {
                err = evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
            } else {
                snprintf(path, len, "%s/%s", dir, list[i]->d_name);
                err = load_one(d, path, opts, &loaded, errstr, errstr_size);
                *nloaded += loaded;
                free(path);
            }
        }
        free(list[i]);
    }
    free(list);
    return err;
}

/* The first release's evbus_plugin_opts_t ends with opaque. */
#define PLUGIN_OPTS_MIN (offsetof(evbus_plugin_opts_t, opaque) + sizeof(void *))

evbus_err_t evbus_dispatcher_load_plugins(evbus_dispatcher_t *d, const char *path,
                                          const evbus_plugin_opts_t *opts, int *nloaded,
                                          char *errstr, size_t errstr_size) {
    int count = 0;
    if (nloaded)
        *nloaded = 0;
    if (!d || !path)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size, "NULL dispatcher or path");
    evbus_plugin_opts_t o = EVBUS_PLUGIN_OPTS_INIT;
    if (opts) {
        /* Grow-safe: read only what the caller's struct holds; the first release's is the least. */
        size_t n = evbus__struct_in_size(opts, PLUGIN_OPTS_MIN);
        if (!n)
            return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                               "evbus_plugin_opts_t size %zu, expected at least %zu", opts->size,
                               (size_t)PLUGIN_OPTS_MIN);
        memcpy(&o, opts, n < sizeof(o) ? n : sizeof(o));
        o.size = sizeof(o);
    }
    size_t ns = 0;
    while (o.settings && o.settings[ns])
        ns++;
    if (ns % 2)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                           "plugin settings: a key without a value");
    if (o.subscriptions && !o.subscriptions[0])
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                           "plugin subscriptions: empty list");
    struct stat sb;
    evbus_err_t err;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        err = load_dir(d, path, &o, &count, errstr, errstr_size);
    else
        err = load_one(d, path, &o, &count, errstr, errstr_size);
    if (nloaded)
        *nloaded = count;
    return err;
}

evbus_err_t evbus_dispatcher_load_plugin(evbus_dispatcher_t *d, const char *path, int load_flags,
                                         int timeout_ms, int *loaded, char *errstr,
                                         size_t errstr_size) {
    if (loaded)
        *loaded = 0;
    if (!d || !path)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size, "NULL dispatcher or path");
    evbus_plugin_opts_t o = EVBUS_PLUGIN_OPTS_INIT;
    o.flags = load_flags;
    o.timeout_ms = timeout_ms;
    int n = 0;
    evbus_err_t err = load_one(d, path, &o, &n, errstr, errstr_size);
    if (loaded)
        *loaded = n;
    return err;
}

evbus_err_t evbus_dispatcher_load_plugins_dir(evbus_dispatcher_t *d, const char *dir,
                                              int load_flags, int timeout_ms, int *nloaded,
                                              char *errstr, size_t errstr_size) {
    int n = 0;
    if (nloaded)
        *nloaded = 0;
    if (!d || !dir)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size, "NULL dispatcher or dir");
    evbus_plugin_opts_t o = EVBUS_PLUGIN_OPTS_INIT;
    o.flags = load_flags;
    o.timeout_ms = timeout_ms;
    evbus_err_t err = load_dir(d, dir, &o, &n, errstr, errstr_size);
    if (nloaded)
        *nloaded = n;
    return err;
}
