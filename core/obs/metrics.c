/*
 * Counter families, histograms and Prometheus text helpers (see metrics.h).
 */
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct mkey_s {
    char *key;
    _Atomic uint64_t *c; /* ncounters */
} mkey_t;

/* Keys are only ever appended (and freed with the family), so the hot path finds its key
 * without a lock: a new slot is filled under mu, then published by the release store of
 * nkeys; readers load nkeys with acquire and scan that many. */
struct evbus__mmap_s {
    pthread_mutex_t mu; /* adding keys */
    size_t ncounters;
    mkey_t keys[EVBUS__METRICS_MAX_KEYS + 1]; /* the last slot is "_other" */
    atomic_size_t nkeys;
};

evbus__mmap_t *evbus__mmap_new(size_t ncounters) {
    evbus__mmap_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m);
        return NULL;
    }
    m->ncounters = ncounters;
    return m;
}

void evbus__mmap_destroy(evbus__mmap_t *m) {
    if (!m)
        return;
    for (size_t i = 0; i < atomic_load(&m->nkeys); i++) {
        free(m->keys[i].key);
        free(m->keys[i].c);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static _Atomic uint64_t *find(evbus__mmap_t *m, const char *key) {
    size_t n = atomic_load_explicit(&m->nkeys, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(m->keys[i].key, key))
            return m->keys[i].c;
    return NULL;
}

static _Atomic uint64_t *counters(evbus__mmap_t *m, const char *key) {
    if (!key)
        key = "";
    _Atomic uint64_t *c = find(m, key);
    if (c)
        return c;
    pthread_mutex_lock(&m->mu);
    if (!(c = find(m, key))) {
        size_t nkeys = atomic_load_explicit(&m->nkeys, memory_order_relaxed); /* under mu */
        if (nkeys >= EVBUS__METRICS_MAX_KEYS) /* full: count under the overflow key */
            c = find(m, key = "_other");
        if (!c) {
            char *k = strdup(key);
            _Atomic uint64_t *nc = calloc(m->ncounters, sizeof(*nc));
            if (k && nc) {
                for (size_t i = 0; i < m->ncounters; i++)
                    atomic_init(&nc[i], 0);
                nkeys = atomic_load_explicit(&m->nkeys, memory_order_relaxed);
                m->keys[nkeys] = (mkey_t){k, nc}; /* nkeys <= MAX_KEYS: a slot is left */
                atomic_store_explicit(&m->nkeys, nkeys + 1, memory_order_release);
                c = nc;
            } else {
                free(k);
                free(nc);
            }
        }
    }
    pthread_mutex_unlock(&m->mu);
    return c;
}

void evbus__mmap_add(evbus__mmap_t *m, const char *key, size_t i, uint64_t v) {
    _Atomic uint64_t *c = m && i < m->ncounters ? counters(m, key) : NULL;
    if (c)
        atomic_fetch_add_explicit(&c[i], v, memory_order_relaxed);
}

void evbus__mmap_each(evbus__mmap_t *m, void (*fn)(void *arg, const char *key, const uint64_t *c),
                      void *arg) {
    if (!m)
        return;
    uint64_t snap[64];
    size_t nkeys = atomic_load_explicit(&m->nkeys, memory_order_acquire);
    for (size_t k = 0; k < nkeys; k++) {
        size_t n = m->ncounters < 64 ? m->ncounters : 64;
        for (size_t i = 0; i < n; i++)
            snap[i] = atomic_load_explicit(&m->keys[k].c[i], memory_order_relaxed);
        fn(arg, m->keys[k].key, snap);
    }
}

/* Handler durations: upper bounds in microseconds; counters are per bucket (not cumulative),
 * then the count and the sum in microseconds. */
static const int64_t bounds_us[] = {1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
                                    1000000, 2500000, 5000000, 10000000};
#define NB (sizeof(bounds_us) / sizeof(bounds_us[0]))

evbus__mmap_t *evbus__hist_new(void) { return evbus__mmap_new(NB + 3); }

void evbus__hist_observe(evbus__mmap_t *h, const char *key, int64_t us) {
    evbus__hist_observe_at(evbus__hist_counters(h, key), us);
}

_Atomic uint64_t *evbus__hist_counters(evbus__mmap_t *h, const char *key) {
    return h ? counters(h, key) : NULL;
}

void evbus__hist_observe_at(_Atomic uint64_t *c, int64_t us) {
    if (!c)
        return;
    size_t i = 0;
    while (i < NB && us > bounds_us[i])
        i++;
    atomic_fetch_add_explicit(&c[i], 1, memory_order_relaxed); /* i == NB: above the last bound */
    atomic_fetch_add_explicit(&c[NB + 1], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c[NB + 2], us > 0 ? (uint64_t)us : 0, memory_order_relaxed);
}

typedef struct hist_ctx_s {
    evbus__buf_t *b;
    const char *name, *label;
    int r;
} hist_ctx_t;

static void hist_one(void *arg, const char *key, const uint64_t *c) {
    hist_ctx_t *x = arg;
    uint64_t cum = 0;
    for (size_t i = 0; i <= NB; i++) {
        cum += c[i];
        x->r |= evbus__buf_printf(x->b, "%s_bucket{%s=", x->name, x->label);
        x->r |= evbus__prom_label(x->b, key);
        if (i < NB)
            x->r |= evbus__buf_printf(x->b, ",le=\"%g\"} %llu\n", (double)bounds_us[i] / 1e6,
                                      (unsigned long long)cum);
        else
            x->r |= evbus__buf_printf(x->b, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    x->r |= evbus__buf_printf(x->b, "%s_sum{%s=", x->name, x->label);
    x->r |= evbus__prom_label(x->b, key);
    x->r |= evbus__buf_printf(x->b, "} %.6f\n", (double)c[NB + 2] / 1e6);
    x->r |= evbus__buf_printf(x->b, "%s_count{%s=", x->name, x->label);
    x->r |= evbus__prom_label(x->b, key);
    x->r |= evbus__buf_printf(x->b, "} %llu\n", (unsigned long long)c[NB + 1]);
}

int evbus__hist_render(evbus__buf_t *b, const char *name, const char *help, const char *label,
                       evbus__mmap_t *h) {
    hist_ctx_t x = {b, name, label, evbus__prom_head(b, name, help, "histogram")};
    evbus__mmap_each(h, hist_one, &x);
    return x.r;
}

int evbus__prom_label(evbus__buf_t *b, const char *v) {
    int r = evbus__buf_putc(b, '"');
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            r |= evbus__buf_putc(b, '\\') | evbus__buf_putc(b, (unsigned char)*p);
        else if (*p == '\n')
            r |= evbus__buf_puts(b, "\\n");
        else
            r |= evbus__buf_putc(b, (unsigned char)*p);
    }
    return r | evbus__buf_putc(b, '"');
}

int evbus__prom_head(evbus__buf_t *b, const char *name, const char *help, const char *type) {
    return evbus__buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

size_t evbus__prom_copy_out(const evbus__buf_t *b, char *buf, size_t size) {
    if (buf && size) {
        size_t n = b->len < size - 1 ? b->len : size - 1;
        if (n)
            memcpy(buf, b->data, n);
        buf[n] = 0;
    }
    return b->len;
}
