/*
 * The dispatcher: handlers by type/list/glob, sync then async, lifecycle events.
 * The handler list is an immutable, reference-counted snapshot: a dispatch takes a reference
 * and runs the handlers with no lock held, so a handler may subscribe or unsubscribe (which
 * publish a new snapshot) without deadlocking; a removed handler's opaque is freed only when
 * the last snapshot or async job that holds it lets go.
 */
#include <stdatomic.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "dispatcher_int.h"
#include "metrics.h"
#include "headers.h"

typedef struct sub_s {
    char **patterns;
    size_t npatterns;
    uint64_t globs; /* bit i: patterns[i] has a wildcard (from 64 on: assumed so); the others
                     * match by strcmp, far cheaper per event than the glob walk */
    evbus_handler_fn fn;
    void *opaque;
    void (*opaque_free)(void *);
    int flags;
    char *name;
    uint64_t id; /* unique in d and never reused: what a retry records as already handled */
    atomic_int refs; /* snapshots and async jobs holding it */
    /* Its duration counters in handler_hist, looked up by name on the first call only (a
     * family never drops a key, so the pointer stays good). */
    _Atomic uint64_t *_Atomic hist;
} sub_t;

typedef struct subs_s {
    atomic_int refs;
    size_t n;
    sub_t *v[];
} subs_t;

typedef struct job_s {
    struct job_s *next;
    sub_t *sub;
    evbus_event_t *ev;
    int lifecycle; /* a lifecycle event: no lifecycle about it */
} job_t;

struct evbus_dispatcher_s {
    pthread_mutex_t subs_mu; /* cur and next_id; held only to swap or take a reference */
    subs_t *cur;
    uint64_t next_id;

    /* async pool */
    pthread_mutex_t mu;
    pthread_cond_t cond;      /* work queued or stopping */
    pthread_cond_t idle_cond; /* pending dropped */
    job_t *head, *tail;
    size_t pending; /* queued + running */
    int nworkers;
    pthread_t *threads;
    int started, stopping;

    _Atomic uint64_t dispatched, handler_ok, handler_failed, async_failed, rejected;
    /* Bit i: some handler matches lifecycle type lc_types[i].  Kept up to date by subscribe,
     * so the three lifecycle checks per event take no lock and match no globs. */
    atomic_uint lc_mask;
    evbus__mmap_t *handler_hist; /* durations by handler name (metrics.h) */
};

static const char *const lc_types[] = {EVBUS_LC_EVENT_RECEIVED, EVBUS_LC_HANDLER_INVOKING,
                                       EVBUS_LC_HANDLER_INVOKED, EVBUS_LC_HANDLER_FAILED,
                                       EVBUS_LC_EVENT_DEAD_LETTERED, EVBUS_LC_EVENT_REJECTED};
#define N_LC_TYPES (sizeof(lc_types) / sizeof(lc_types[0]))

static int sub_matches(const sub_t *s, const char *type);

#define ADD(x) atomic_fetch_add_explicit(&(x), 1, memory_order_relaxed)
#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

/* ---- handler list snapshots ---- */

static void sub_free(sub_t *s) {
    if (!s)
        return;
    for (size_t i = 0; i < s->npatterns; i++)
        free(s->patterns[i]);
    free(s->patterns);
    free(s->name);
    free(s);
}

static sub_t *sub_ref(sub_t *s) {
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

/* The last holder calls opaque_free: a handler unsubscribed mid-call keeps its state until
 * that call returns. */
static void sub_unref(sub_t *s) {
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) > 1)
        return;
    if (s->opaque_free)
        s->opaque_free(s->opaque);
    sub_free(s);
}

static subs_t *subs_alloc(size_t n) {
    subs_t *l = malloc(sizeof(*l) + n * sizeof(sub_t *));
    if (l) {
        l->refs = 1;
        l->n = n;
    }
    return l;
}

/* Last registered first, so a plugin's fini runs before what it may depend on is freed. */
static void subs_unref(subs_t *l) {
    if (!l || atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) > 1)
        return;
    for (size_t i = l->n; i-- > 0;)
        sub_unref(l->v[i]);
    free(l);
}

/* The current handler list, referenced: release with subs_unref(). */
static subs_t *subs_get(evbus_dispatcher_t *d) {
    pthread_mutex_lock(&d->subs_mu);
    subs_t *l = d->cur;
    atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&d->subs_mu);
    return l;
}

/* Caller holds subs_mu.  Installs l (taking its reference) and recomputes the lifecycle mask;
 * the old list is returned for the caller to release after unlocking (its opaque_free calls
 * may run user code). */
static subs_t *subs_swap_locked(evbus_dispatcher_t *d, subs_t *l) {
    subs_t *old = d->cur;
    d->cur = l;
    unsigned mask = 0;
    for (size_t k = 0; k < l->n; k++)
        for (size_t i = 0; i < N_LC_TYPES; i++)
            if (sub_matches(l->v[k], lc_types[i]))
                mask |= 1u << i;
    atomic_store_explicit(&d->lc_mask, mask, memory_order_release);
    return old;
}

evbus_dispatcher_t *evbus_dispatcher_new(void) {
    evbus_dispatcher_t *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    if (!(d->cur = subs_alloc(0)))
        goto fail0;
    if (pthread_mutex_init(&d->subs_mu, NULL) != 0)
        goto fail0;
    if (pthread_mutex_init(&d->mu, NULL) != 0)
        goto fail1;
    if (pthread_cond_init(&d->cond, NULL) != 0)
        goto fail2;
    if (pthread_cond_init(&d->idle_cond, NULL) != 0)
        goto fail3;
    d->nworkers = 2;
    d->next_id = 1;
    if (!(d->handler_hist = evbus__hist_new()))
        goto fail4;
    return d;
fail4:
    pthread_cond_destroy(&d->idle_cond);
fail3:
    pthread_cond_destroy(&d->cond);
fail2:
    pthread_mutex_destroy(&d->mu);
fail1:
    pthread_mutex_destroy(&d->subs_mu);
fail0:
    free(d->cur);
    free(d);
    return NULL;
}

void evbus_dispatcher_destroy(evbus_dispatcher_t *d) {
    if (!d)
        return;
    evbus_dispatcher_drain(d, -1);
    pthread_mutex_lock(&d->mu);
    d->stopping = 1;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->mu);
    if (d->started)
        for (int i = 0; i < d->nworkers; i++)
            pthread_join(d->threads[i], NULL);
    free(d->threads);
    subs_unref(d->cur);
    pthread_cond_destroy(&d->idle_cond);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->mu);
    pthread_mutex_destroy(&d->subs_mu);
    evbus__mmap_destroy(d->handler_hist);
    free(d);
}

evbus__mmap_t *evbus__dispatcher_handler_hist(evbus_dispatcher_t *d) { return d->handler_hist; }

evbus_err_t evbus_dispatcher_set_async_workers(evbus_dispatcher_t *d, int n) {
    if (!d || n < 1 || n > 256)
        return EVBUS_ERR_INVALID_ARG;
    pthread_mutex_lock(&d->mu);
    evbus_err_t err = d->started ? EVBUS_ERR_STATE : EVBUS_OK;
    if (!err)
        d->nworkers = n;
    pthread_mutex_unlock(&d->mu);
    return err;
}

evbus_err_t evbus_dispatcher_subscribe_list(evbus_dispatcher_t *d, const char *const *patterns,
                                            size_t n, evbus_handler_fn fn, void *opaque,
                                            void (*opaque_free)(void *), int flags,
                                            const char *name) {
    if (!d || !patterns || n == 0 || !fn || (flags & ~EVBUS_HANDLER_ASYNC))
        return EVBUS_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (!patterns[i] || !*patterns[i])
            return EVBUS_ERR_INVALID_ARG;
    sub_t *s = calloc(1, sizeof(*s));
    if (!s)
        return EVBUS_ERR_NOMEM;
    atomic_init(&s->hist, NULL);
    if (!(s->patterns = calloc(n, sizeof(char *))))
        goto oom;
    for (size_t i = 0; i < n; i++, s->npatterns++) {
        if (!(s->patterns[i] = evbus__strdup(patterns[i])))
            goto oom;
        if (i >= 64 || strpbrk(patterns[i], "*?"))
            s->globs |= i < 64 ? (uint64_t)1 << i : 0;
    }
    if (name) {
        s->name = evbus__strdup(name);
    } else {
        evbus__buf_t b = EVBUS__BUF_INIT;
        for (size_t i = 0; i < n; i++)
            if ((i && evbus__buf_putc(&b, ',')) || evbus__buf_puts(&b, patterns[i]))
                break;
        s->name = evbus__buf_steal(&b);
        evbus__buf_free(&b);
    }
    if (!s->name)
        goto oom;
    s->fn = fn;
    s->opaque = opaque;
    s->opaque_free = opaque_free;
    s->flags = flags;
    s->refs = 1; /* the list's */

    pthread_mutex_lock(&d->subs_mu);
    subs_t *old = d->cur, *l = subs_alloc(old->n + 1);
    if (l) {
        s->id = d->next_id++;
        for (size_t i = 0; i < old->n; i++)
            l->v[i] = sub_ref(old->v[i]);
        l->v[old->n] = s;
        old = subs_swap_locked(d, l);
    }
    pthread_mutex_unlock(&d->subs_mu);
    if (l) {
        subs_unref(old);
        return EVBUS_OK;
    }
oom:
    sub_free(s); /* on failure the caller keeps opaque */
    return EVBUS_ERR_NOMEM;
}

evbus_err_t evbus_dispatcher_subscribe(evbus_dispatcher_t *d, const char *pattern,
                                       evbus_handler_fn fn, void *opaque,
                                       void (*opaque_free)(void *), int flags, const char *name) {
    return evbus_dispatcher_subscribe_list(d, &pattern, 1, fn, opaque, opaque_free, flags, name);
}

evbus_err_t evbus_dispatcher_unsubscribe(evbus_dispatcher_t *d, evbus_handler_fn fn, void *opaque) {
    if (!d || !fn)
        return EVBUS_ERR_INVALID_ARG;
    pthread_mutex_lock(&d->subs_mu);
    subs_t *old = d->cur;
    size_t keep = 0;
    for (size_t i = 0; i < old->n; i++)
        keep += !(old->v[i]->fn == fn && old->v[i]->opaque == opaque);
    if (keep == old->n) {
        pthread_mutex_unlock(&d->subs_mu);
        return EVBUS_ERR_INVALID_ARG;
    }
    subs_t *l = subs_alloc(keep);
    if (!l) {
        pthread_mutex_unlock(&d->subs_mu);
        return EVBUS_ERR_NOMEM;
    }
    for (size_t i = 0, k = 0; i < old->n; i++)
        if (!(old->v[i]->fn == fn && old->v[i]->opaque == opaque))
            l->v[k++] = sub_ref(old->v[i]);
    old = subs_swap_locked(d, l);
    pthread_mutex_unlock(&d->subs_mu);
    subs_unref(old);
    return EVBUS_OK;
}

static int sub_matches(const sub_t *s, const char *type) {
    if (!type)
        return 0;
    for (size_t i = 0; i < s->npatterns; i++)
        if (i < 64 && !(s->globs >> i & 1) ? !strcmp(s->patterns[i], type)
                                            : evbus__glob_match(s->patterns[i], type))
            return 1;
    return 0;
}

int evbus__dispatcher_has(evbus_dispatcher_t *d, const char *type) {
    int r = 0;
    /* The dispatcher's own calls pass the very strings of lc_types: no compare at all. */
    for (size_t i = 0; i < N_LC_TYPES; i++)
        if (type == lc_types[i])
            return (atomic_load_explicit(&d->lc_mask, memory_order_acquire) >> i) & 1;
    if (!strncmp(type, "evbus.", 6))
        for (size_t i = 0; i < N_LC_TYPES; i++)
            if (!strcmp(type, lc_types[i]))
                return (atomic_load_explicit(&d->lc_mask, memory_order_acquire) >> i) & 1;
    subs_t *l = subs_get(d);
    for (size_t i = 0; i < l->n && !r; i++)
        r = sub_matches(l->v[i], type);
    subs_unref(l);
    return r;
}

void evbus__dispatcher_count_event(evbus_dispatcher_t *d) { ADD(d->dispatched); }

/* One handler call with its accounting and (unless lifecycle) its lifecycle events.
 * msg (msg_size > 0) gets the handler's message on failure. */
static evbus_err_t invoke(evbus_dispatcher_t *d, sub_t *s, const evbus_event_t *ev, int lifecycle,
                          int attempt, char *msg, size_t msg_size) {
    char own[512];
    if (!msg || msg_size == 0) {
        msg = own;
        msg_size = sizeof(own);
    }
    msg[0] = 0;
    if (!lifecycle)
        evbus__dispatcher_emit(d, EVBUS_LC_HANDLER_INVOKING, ev,
                               &(evbus__lc_info_t){.handler = s->name, .duration_us = -1});
    int64_t t0 = evbus__now_us();
    evbus_err_t err = s->fn(ev, s->opaque, msg, msg_size);
    int64_t dur = evbus__now_us() - t0;
    if (!lifecycle) {
        _Atomic uint64_t *h = atomic_load_explicit(&s->hist, memory_order_acquire);
        if (!h && (h = evbus__hist_counters(d->handler_hist, s->name)))
            atomic_store_explicit(&s->hist, h, memory_order_release);
        evbus__hist_observe_at(h, dur);
    }
    /* Not one of ours, or the veto's own code from a plain handler: keep codes meaningful. */
    if (err != EVBUS_OK && (err > 0 || err <= EVBUS_ERR__END || err == EVBUS_ERR_REJECTED))
        err = EVBUS_ERR_HANDLER;
    if (err && !msg[0])
        snprintf(msg, msg_size, "%s", evbus_strerror(err));
    if (!err) {
        ADD(d->handler_ok);
        if (!lifecycle)
            evbus__dispatcher_emit(d, EVBUS_LC_HANDLER_INVOKED, ev,
                                   &(evbus__lc_info_t){.handler = s->name, .duration_us = dur});
        return EVBUS_OK;
    }
    ADD(d->handler_failed);
    if (s->flags & EVBUS_HANDLER_ASYNC)
        ADD(d->async_failed);
    if (!lifecycle)
        evbus__dispatcher_emit(d, EVBUS_LC_HANDLER_FAILED, ev,
                               &(evbus__lc_info_t){.handler = s->name, .duration_us = dur,
                                                   .error = msg, .error_code = err,
                                                   .attempts = attempt});
    return err;
}

/* ---- async pool ---- */

static void *worker_main(void *arg) {
    evbus_dispatcher_t *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->head && !d->stopping)
            pthread_cond_wait(&d->cond, &d->mu);
        if (!d->head)
            break; /* stopping and nothing left */
        job_t *j = d->head;
        d->head = j->next;
        if (!d->head)
            d->tail = NULL;
        pthread_mutex_unlock(&d->mu);
        invoke(d, j->sub, j->ev, j->lifecycle, 0, NULL, 0);
        sub_unref(j->sub);
        evbus__event_destroy(j->ev);
        free(j);
        pthread_mutex_lock(&d->mu);
        if (--d->pending == 0)
            pthread_cond_broadcast(&d->idle_cond);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* Caller holds d->mu. */
static int pool_start_locked(evbus_dispatcher_t *d) {
    if (d->started)
        return 0;
    d->threads = calloc((size_t)d->nworkers, sizeof(pthread_t));
    if (!d->threads)
        return -1;
    for (int i = 0; i < d->nworkers; i++) {
        if (pthread_create(&d->threads[i], NULL, worker_main, d) != 0) {
            /* run with the threads we got; none at all is a failure */
            if (i == 0) {
                free(d->threads);
                d->threads = NULL;
                return -1;
            }
            d->nworkers = i;
            break;
        }
    }
    d->started = 1;
    return 0;
}

/* Queue an async call; when the pool cannot take it, run it here rather than drop it. */
static void enqueue(evbus_dispatcher_t *d, sub_t *s, const evbus_event_t *ev, int lifecycle) {
    job_t *j = malloc(sizeof(*j));
    pthread_mutex_lock(&d->mu);
    if (!j || d->stopping || pool_start_locked(d) != 0) {
        pthread_mutex_unlock(&d->mu);
        free(j);
        invoke(d, s, ev, lifecycle, 0, NULL, 0);
        return;
    }
    j->next = NULL;
    j->sub = sub_ref(s);
    j->ev = evbus__event_ref((evbus_event_t *)ev);
    j->lifecycle = lifecycle;
    if (d->tail)
        d->tail->next = j;
    else
        d->head = j;
    d->tail = j;
    d->pending++;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->mu);
}

int evbus_dispatcher_drain(evbus_dispatcher_t *d, int timeout_ms) {
    if (!d)
        return 0;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    if (timeout_ms > 0) {
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&d->mu);
    while (d->pending > 0 && timeout_ms != 0) {
        if (timeout_ms < 0)
            pthread_cond_wait(&d->idle_cond, &d->mu);
        else if (pthread_cond_timedwait(&d->idle_cond, &d->mu, &dl) != 0)
            break;
    }
    int r = (int)d->pending;
    pthread_mutex_unlock(&d->mu);
    return r;
}

/* ---- dispatch ---- */

void evbus__run_clear(evbus__run_t *r) {
    for (size_t i = 0; i < r->nfail; i++) {
        free(r->fail[i].handler);
        free(r->fail[i].error);
    }
    if (r->fail != r->fail_inline)
        free(r->fail);
    if (r->done != r->done_inline)
        free(r->done);
    memset(r, 0, sizeof(*r));
}

void evbus__run_move(evbus__run_t *dst, evbus__run_t *src) {
    *dst = *src;
    if (src->done == src->done_inline)
        dst->done = dst->done_inline;
    if (src->fail == src->fail_inline)
        dst->fail = dst->fail_inline;
    memset(src, 0, sizeof(*src));
}

static int run_done(const evbus__run_t *r, uint64_t id) {
    for (size_t i = 0; i < r->ndone; i++)
        if (r->done[i] == id)
            return 1;
    return 0;
}

/* Grow *v (an array of cap elements of size sz, possibly the inline one) to hold want. */
static int grow(void **v, size_t *cap, size_t want, size_t sz, void *inline_v, size_t inline_cap,
                size_t used) {
    if (want <= *cap)
        return 0;
    if (!*v && want <= inline_cap) {
        *v = inline_v;
        *cap = inline_cap;
        return 0;
    }
    void *n = *v == inline_v ? malloc(want * sz) : realloc(*v, want * sz);
    if (!n)
        return -1;
    if (*v == inline_v)
        memcpy(n, inline_v, used * sz);
    *v = n;
    *cap = want;
    return 0;
}

/* Room for n more successes and n failures, made before any handler runs, so that recording
 * a result never fails after the handler has run (a success not recorded would run again). */
static int run_reserve(evbus__run_t *r, size_t n) {
    void *d = r->done, *f = r->fail;
    int err = grow(&d, &r->done_cap, r->ndone + n, sizeof(uint64_t), r->done_inline,
                   sizeof(r->done_inline) / sizeof(r->done_inline[0]), r->ndone) ||
              grow(&f, &r->fail_cap, n, sizeof(evbus__failure_t), r->fail_inline,
                   sizeof(r->fail_inline) / sizeof(r->fail_inline[0]), 0);
    r->done = d;
    r->fail = f;
    return err ? -1 : 0;
}

/* "h1: e1; h2: e2" of the last attempt's failures. */
static void run_summary(const evbus__run_t *r, char *errstr, size_t errstr_size) {
    if (!errstr || !errstr_size)
        return;
    size_t off = 0;
    errstr[0] = 0;
    for (size_t i = 0; i < r->nfail && off < errstr_size; i++) {
        int w = snprintf(errstr + off, errstr_size - off, "%s%s: %s", i ? "; " : "",
                         r->fail[i].handler ? r->fail[i].handler : "?",
                         r->fail[i].error ? r->fail[i].error : evbus_strerror(r->fail[i].code));
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

static evbus_err_t received(evbus_dispatcher_t *d, const evbus_event_t *ev, evbus__run_t *run,
                            char *errstr, size_t errstr_size);

evbus_err_t evbus__dispatcher_run(evbus_dispatcher_t *d, const evbus_event_t *ev, int attempt,
                                  evbus__run_t *run, char *errstr, size_t errstr_size) {
    for (size_t i = 0; i < run->nfail; i++) {
        free(run->fail[i].handler);
        free(run->fail[i].error);
    }
    run->nfail = 0;
    if (attempt <= 1) {
        evbus_err_t verr = received(d, ev, run, errstr, errstr_size);
        if (verr != EVBUS_OK)
            return verr;
    }
    subs_t *l = subs_get(d);
    if (run_reserve(run, l->n) != 0) {
        subs_unref(l);
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    evbus_err_t first = EVBUS_OK;
    for (size_t i = 0; i < l->n; i++) {
        sub_t *s = l->v[i];
        if ((s->flags & EVBUS_HANDLER_ASYNC) || !sub_matches(s, evbus_event_type(ev)) || run_done(run, s->id))
            continue;
        char msg[512];
        evbus_err_t err = invoke(d, s, ev, 0, attempt, msg, sizeof(msg));
        if (!err) {
            run->done[run->ndone++] = s->id;
            continue;
        }
        /* The name and message are copied; on OOM the failure is still counted, unnamed. */
        run->fail[run->nfail++] = (evbus__failure_t){evbus__strdup(s->name), evbus__strdup(msg), err};
        if (!first)
            first = err;
    }
    if (!first)
        for (size_t k = 0; k < l->n; k++)
            if ((l->v[k]->flags & EVBUS_HANDLER_ASYNC) && sub_matches(l->v[k], evbus_event_type(ev)))
                enqueue(d, l->v[k], ev, 0);
    subs_unref(l);
    if (first)
        run_summary(run, errstr, errstr_size);
    return first;
}

evbus_err_t evbus_dispatcher_dispatch(evbus_dispatcher_t *d, const evbus_event_t *ev, char *errstr,
                                      size_t errstr_size) {
    if (!d || !ev)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size, "NULL dispatcher or event");
    evbus__run_t run = {0};
    evbus__dispatcher_count_event(d);
    evbus_err_t err = evbus__dispatcher_run(d, ev, 1, &run, errstr, errstr_size);
    evbus__run_clear(&run);
    return err;
}

/* The first release's evbus_dispatcher_stats_t ends with async_pending. */
#define DISPATCHER_STATS_MIN (offsetof(evbus_dispatcher_stats_t, async_pending) + sizeof(uint64_t))

evbus_err_t evbus_dispatcher_stats(evbus_dispatcher_t *d, evbus_dispatcher_stats_t *st) {
    evbus_dispatcher_stats_t full = {.size = sizeof(full)};
    if (!d)
        return EVBUS_ERR_INVALID_ARG;
    full.dispatched = LOAD(d->dispatched);
    full.handler_ok = LOAD(d->handler_ok);
    full.handler_failed = LOAD(d->handler_failed);
    full.async_failed = LOAD(d->async_failed);
    full.rejected = LOAD(d->rejected);
    pthread_mutex_lock(&d->mu);
    full.async_pending = d->pending;
    pthread_mutex_unlock(&d->mu);
    return evbus__struct_out(st, &full, sizeof(full), DISPATCHER_STATS_MIN);
}

/* ---- lifecycle ---- */

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

json_t *evbus__run_failures_json(const evbus__run_t *run) {
    json_t *a = json_array();
    for (size_t i = 0; a && run && i < run->nfail; i++) {
        json_t *o = json_object();
        if (!o || json_object_set_new(o, "handler", str_or_null(run->fail[i].handler)) ||
            json_object_set_new(o, "error", str_or_null(run->fail[i].error)) ||
            json_object_set_new(o, "error_code", json_string(evbus_err_name(run->fail[i].code))) ||
            json_array_append_new(a, o)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* 1 when one of s's patterns is type itself, not a glob that happens to match it. */
static int sub_names(const sub_t *s, const char *type) {
    for (size_t i = 0; i < s->npatterns; i++)
        if (!strcmp(s->patterns[i], type))
            return 1;
    return 0;
}

/*
 * Publish lc_type about ev.  With veto (evbus.event.received only), the sync subscribers that
 * name lc_type exactly run in order and the first that fails stops the fan-out: its code, name
 * (*who, a copy the caller frees) and message come back.  Everyone else only observes (a "*" or
 * "evbus.*" logger that fails must not drop every event), and then EVBUS_OK is returned.
 */
static evbus_err_t emit(evbus_dispatcher_t *d, const char *lc_type, const evbus_event_t *ev,
                        const evbus__lc_info_t *info, int veto, char **who, char *msg,
                        size_t msg_size) {
    evbus_err_t verr = EVBUS_OK;
    if (!evbus__dispatcher_has(d, lc_type))
        return EVBUS_OK; /* nobody listens: build nothing */
    const char *key = evbus_event_key(ev);
    json_t *o = json_object();
    if (!o)
        return EVBUS_OK;
    json_object_set_new(o, "type", str_or_null(evbus_event_type(ev)));
    json_object_set_new(o, "id", str_or_null(evbus_event_id(ev)));
    json_object_set_new(o, "topic", str_or_null(evbus_event_topic(ev)));
    json_object_set_new(o, "partition", json_integer(evbus_event_partition(ev)));
    json_object_set_new(o, "offset", json_integer(evbus_event_offset(ev)));
    json_object_set_new(o, "key", str_or_null(key));
    if (info) {
        if (info->handler)
            json_object_set_new(o, "handler", json_string(info->handler));
        if (info->duration_us >= 0)
            json_object_set_new(o, "duration_us", json_integer(info->duration_us));
        if (info->error) {
            json_object_set_new(o, "error", json_string(info->error));
            json_object_set_new(o, "error_code", json_string(evbus_err_name(info->error_code)));
        }
        if (info->attempts > 0)
            json_object_set_new(o, "attempts", json_integer(info->attempts));
        if (info->run && info->run->nfail > 0) {
            json_t *f = evbus__run_failures_json(info->run);
            if (f)
                json_object_set_new(o, "failures", f);
        }
    }
    char *txt = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!txt)
        return EVBUS_OK;
    evbus__event_init_t in = {.type = lc_type, .id = NULL, .topic = evbus_event_topic(ev),
                              .partition = evbus_event_partition(ev), .offset = evbus_event_offset(ev),
                              .timestamp = evbus_event_timestamp(ev), .key = key, .json = txt,
                              .json_len = strlen(txt)};
    char uuid[64];
    snprintf(uuid, sizeof(uuid), "%s", evbus_event_id(ev) ? evbus_event_id(ev) : "");
    in.id = uuid; /* the lifecycle event carries the original's id */
    evbus_event_t *lc = evbus__event_new(&in, NULL, NULL);
    free(txt);
    if (!lc)
        return EVBUS_OK;
    /* Trace context follows the event into its lifecycle events (README "Operating"). */
    static const char *const trace_hdrs[] = {"traceparent", "tracestate"};
    for (size_t i = 0; i < 2; i++) {
        const char *tv = evbus_event_header(ev, trace_hdrs[i]);
        if (tv && evbus__event_add_header(lc, trace_hdrs[i], tv, strlen(tv)) != 0)
            break; /* out of memory: the lifecycle event still goes out, without it */
    }
    subs_t *l = subs_get(d);
    for (size_t i = 0; i < l->n; i++) {
        sub_t *s = l->v[i];
        if (!sub_matches(s, lc_type))
            continue;
        if (s->flags & EVBUS_HANDLER_ASYNC) {
            enqueue(d, s, lc, 1);
        } else if (!veto || !sub_names(s, lc_type)) {
            invoke(d, s, lc, 1, 0, NULL, 0); /* observers: their failure fails nothing */
        } else if ((verr = invoke(d, s, lc, 1, 0, msg, msg_size)) != EVBUS_OK) {
            *who = evbus__strdup(s->name); /* the snapshot may go with its subscriber */
            break;
        }
    }
    subs_unref(l);
    evbus__event_destroy(lc);
    return verr;
}

void evbus__dispatcher_emit(evbus_dispatcher_t *d, const char *lc_type, const evbus_event_t *ev,
                            const evbus__lc_info_t *info) {
    emit(d, lc_type, ev, info, 0, NULL, NULL, 0);
}

/* evbus.event.received, whose sync subscribers may veto the event: then it is announced as
 * evbus.event.rejected, the vetoing subscriber and its message become run's one failure, and
 * EVBUS_ERR_REJECTED is returned with "<subscriber>: <message>" in errstr. */
static evbus_err_t received(evbus_dispatcher_t *d, const evbus_event_t *ev, evbus__run_t *run,
                            char *errstr, size_t errstr_size) {
    char msg[512] = "";
    char *who = NULL;
    evbus_err_t err = emit(d, EVBUS_LC_EVENT_RECEIVED, ev, NULL, 1, &who, msg, sizeof(msg));
    if (!err)
        return EVBUS_OK;
    ADD(d->rejected);
    evbus__dispatcher_emit(d, EVBUS_LC_EVENT_REJECTED, ev,
                           &(evbus__lc_info_t){.handler = who, .duration_us = -1, .error = msg,
                                               .error_code = err});
    evbus__seterr(errstr, errstr_size, "%s: %s", who ? who : "?", msg);
    if (run_reserve(run, 1) == 0) /* out of memory: the veto still holds, unnamed */
        run->fail[run->nfail++] = (evbus__failure_t){who, evbus__strdup(msg), EVBUS_ERR_REJECTED};
    else
        free(who);
    return EVBUS_ERR_REJECTED;
}


/* ---- broker-less dispatch ---- */

evbus_err_t evbus_dispatcher_process_json(evbus_dispatcher_t *d, const char *json, size_t len,
                                          evbus_result_cb cb, void *opaque, size_t *nfailed,
                                          char *errstr, size_t errstr_size) {
    if (nfailed)
        *nfailed = 0;
    if (!d || !json)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size, "NULL argument");
    json_error_t jerr;
    json_t *arr = json_loadb(json, len, 0, &jerr);
    if (!arr || !json_is_array(arr)) {
        json_decref(arr);
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                           arr ? "expected a JSON array of {type, data} objects"
                               : "invalid JSON at line %d column %d: %s",
                           jerr.line, jerr.column, jerr.text);
    }
    size_t failed = 0, i;
    json_t *item;
    json_array_foreach(arr, i, item) {
        char msg[512] = "";
        evbus_err_t err = EVBUS_OK;
        evbus_event_t *ev = NULL;
        const char *type = json_string_value(json_object_get(item, "type"));
        json_t *data = json_object_get(item, "data");
        json_t *id = json_object_get(item, "id"), *key = json_object_get(item, "key");
        if (!json_is_object(item) || !type || !*type || !data || (id && !json_is_string(id)) ||
            (key && !json_is_string(key) && !json_is_null(key))) {
            err = evbus__fail(EVBUS_ERR_INVALID_ARG, msg, sizeof(msg),
                              "$[%zu]: expected {\"type\": string, \"data\": value, "
                              "\"id\"?: string, \"key\"?: string}", i);
        } else {
            char *txt = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
            char uuid[EVBUS__UUID_LEN];
            if (!id)
                evbus__uuid1(uuid);
            evbus__event_init_t in = {.type = type, .id = id ? json_string_value(id) : uuid,
                                      .partition = -1, .offset = -1, .timestamp = -1,
                                      .key = json_string_value(key), .json = txt,
                                      .json_len = txt ? strlen(txt) : 0};
            if (!txt || !(ev = evbus__event_new(&in, NULL, NULL)))
                err = evbus__fail(EVBUS_ERR_NOMEM, msg, sizeof(msg), "out of memory");
            else
                err = evbus_dispatcher_dispatch(d, ev, msg, sizeof(msg));
            free(txt);
        }
        if (err)
            failed++;
        if (cb)
            cb(i, ev, err, err ? msg : NULL, opaque);
        evbus__event_destroy(ev);
    }
    size_t total = json_array_size(arr);
    json_decref(arr);
    if (nfailed)
        *nfailed = failed;
    return failed ? evbus__fail(EVBUS_ERR_HANDLER, errstr, errstr_size,
                                "%zu of %zu events failed", failed, total)
                  : EVBUS_OK;
}
