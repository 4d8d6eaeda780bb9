/*
 * Plugin loading: dlopen, ABI check, enabled(), init/fini, subscription into a dispatcher.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "dispatcher_int.h"

typedef struct plugin_s {
    void *dl;
    const evbus_plugin_t *desc;
    void *state;
    evbus__isolate_t *iso; /* isolated: handle() runs in a child */
} plugin_t;

static evbus_err_t plugin_handle(const evbus_event_t *ev, void *opaque, char *errstr, size_t n) {
    plugin_t *pl = opaque;
    if (pl->iso)
        return evbus__isolate_handle(pl->iso, ev, errstr, n);
    return pl->desc->handle(pl->state, ev, errstr, n);
}

static void plugin_free(void *opaque) {
    plugin_t *pl = opaque;
    if (pl->iso)
        evbus__isolate_destroy(pl->iso); /* the child runs fini */
    else if (pl->desc->fini)
        pl->desc->fini(pl->state);
    dlclose(pl->dl);
    free(pl);
}

evbus_err_t evbus_dispatcher_load_plugin(evbus_dispatcher_t *d, const char *path, int load_flags,
                                         int timeout_ms, int *loaded, char *errstr,
                                         size_t errstr_size) {
    if (loaded)
        *loaded = 0;
    if (!d || !path)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size, "NULL dispatcher or path");
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl)
        return evbus__fail(EVBUS_ERR_PLUGIN, errstr, errstr_size, "%s: %s", path, dlerror());
    evbus_plugin_v1_fn fn;
    /* POSIX: a data pointer converts to a function pointer through memcpy. */
    void *sym = dlsym(dl, EVBUS_PLUGIN_SYMBOL);
    memcpy(&fn, &sym, sizeof(fn));
    const evbus_plugin_t *p = sym ? fn() : NULL;
    const char *why = NULL;
    if (!sym)
        why = "no " EVBUS_PLUGIN_SYMBOL "() exported";
    else if (!p)
        why = EVBUS_PLUGIN_SYMBOL "() returned NULL";
    else if (p->abi_version != EVBUS_PLUGIN_ABI_VERSION)
        why = "unsupported plugin ABI version";
    else if (!p->name || !*p->name || !p->handle || !p->subscriptions || !p->subscriptions[0])
        why = "plugin descriptor lacks name, handle or subscriptions";
    if (why) {
        evbus__seterr(errstr, errstr_size, "%s: %s (plugin ABI %d, library ABI %d)", path, why,
                      p ? p->abi_version : -1, EVBUS_PLUGIN_ABI_VERSION);
        dlclose(dl);
        return EVBUS_ERR_PLUGIN;
    }
    if (p->enabled && !p->enabled()) {
        dlclose(dl);
        return EVBUS_OK;
    }
    plugin_t *pl = calloc(1, sizeof(*pl));
    if (!pl) {
        dlclose(dl);
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    pl->dl = dl;
    pl->desc = p;
    char msg[512] = "";
    evbus_err_t err = EVBUS_OK;
    if (load_flags & EVBUS_PLUGIN_LOAD_ISOLATE) {
        if (!(pl->iso = evbus__isolate_new(p, timeout_ms > 0 ? timeout_ms : (int)evbus__conf_int(NULL, "handler.timeout.ms"))))
            err = evbus__fail(EVBUS_ERR_NOMEM, msg, sizeof(msg), "out of memory");
        else
            err = evbus__isolate_start(pl->iso, msg, sizeof(msg));
    } else if (p->init) {
        err = p->init(&pl->state, msg, sizeof(msg));
    }
    if (err) {
        if (pl->iso)
            evbus__isolate_destroy(pl->iso);
        dlclose(dl);
        free(pl);
        return evbus__fail(EVBUS_ERR_PLUGIN, errstr, errstr_size, "%s: init failed: %s", path,
                           msg[0] ? msg : evbus_strerror(err));
    }
    size_t n = 0;
    while (p->subscriptions[n])
        n++;
    err = evbus_dispatcher_subscribe_list(d, (const char *const *)p->subscriptions, n, plugin_handle,
                                          pl, plugin_free,
                                          (p->flags & EVBUS_PLUGIN_ASYNC) ? EVBUS_HANDLER_ASYNC : 0,
                                          p->name);
    if (err) {
        plugin_free(pl);
        return evbus__fail(err, errstr, errstr_size, "%s: cannot subscribe: %s", path,
                           evbus_strerror(err));
    }
    if (loaded)
        *loaded = 1;
    return EVBUS_OK;
}

static int is_so(const struct dirent *e) {
    size_t n = strlen(e->d_name);
    return n > 3 && !strcmp(e->d_name + n - 3, ".so");
}

evbus_err_t evbus_dispatcher_load_plugins_dir(evbus_dispatcher_t *d, const char *dir,
                                              int load_flags, int timeout_ms, int *nloaded,
                                              char *errstr, size_t errstr_size) {
    if (nloaded)
        *nloaded = 0;
    if (!d || !dir)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size, "NULL dispatcher or dir");
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
                err = evbus_dispatcher_load_plugin(d, path, load_flags, timeout_ms, &loaded, errstr,
                                                   errstr_size);
                if (!err && loaded && nloaded)
                    (*nloaded)++;
                free(path);
            }
        }
        free(list[i]);
    }
    free(list);
    return err;
}
