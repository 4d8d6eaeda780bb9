/*
 * The schema store: the current schema of each event type (<event_type>.avsc, or openedx-events'
 * own org+openedx+…_schema.avsc) and the earlier versions kept in history/, parsed once, then
 * read-only. Writers' fingerprints are looked up among both; the current schema of a type is the
 * reader schema every version of that type is resolved into.
 */
#include "schema.h"

#include "conf.h"

#include <dirent.h>
#include <stdatomic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct evbus__schema_store_s {
    char *dir;
    evbus__schema_entry_t *entries; /* current schemas, sorted by event type */
    size_t n;
    evbus__schema_entry_t *hist;    /* history/, sorted by event type then file */
    size_t nhist;
    evbus__schema_entry_t **by_fp;  /* both, sorted by fingerprint; a current one first */
    size_t nfp;
    uint64_t serial;                /* unique per store and change of it (see last_get) */
};

/* Stores made so far: a store's serial tells it from a later one at the same address. */
static atomic_uint_fast64_t g_serial;

/* Each thread's last evbus__schema_store_get() answer: a consumer's events are mostly of a few
 * types, one after another, and the binary search by strcmp was 0.3k instructions per event.
 * Keyed by the store's serial, so neither a destroyed store's entry nor one that a later
 * evbus__schema_store_add() moved is ever handed out. */
static _Thread_local struct {
    uint64_t serial;
    size_t len;
    char type[128];
    const evbus__schema_entry_t *e;
} last_get;

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_entry(const void *a, const void *b) {
    const evbus__schema_entry_t *x = a, *y = b;
    int c = strcmp(x->event_type, y->event_type);
    return c ? c : strcmp(x->path, y->path);
}

static int cmp_fp(const void *a, const void *b) {
    const evbus__schema_entry_t *x = *(evbus__schema_entry_t *const *)a;
    const evbus__schema_entry_t *y = *(evbus__schema_entry_t *const *)b;
    uint64_t fx = x->doc->fingerprint, fy = y->doc->fingerprint;
    if (fx != fy)
        return fx < fy ? -1 : 1;
    return x->history - y->history;
}

static void entries_free(evbus__schema_entry_t *es, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free((char *)es[i].event_type);
        free((char *)es[i].path);
        evbus__schema_doc_destroy((evbus__schema_doc_t *)es[i].doc);
    }
    free(es);
}

void evbus__schema_store_destroy(evbus__schema_store_t *st) {
    if (!st)
        return;
    entries_free(st->entries, st->n);
    entries_free(st->hist, st->nhist);
    free(st->by_fp);
    free(st->dir);
    free(st);
}

static const char *pick_dir(void) {
    const char *env = getenv("EVENT_BUS_SCHEMA_DIR");
    if (env && *env)
        return env;
#ifdef EVBUS_SCHEMA_INSTALL_DIR
    if (!is_dir("schemas") && is_dir(EVBUS_SCHEMA_INSTALL_DIR))
        return EVBUS_SCHEMA_INSTALL_DIR;
#endif
    return "schemas";
}

/* The event type a current schema's file name claims: "<type>.avsc", or openedx-events'
 * generate_avro_schemas naming "<type with '.' as '+'>_schema.avsc". malloc'd, NULL on OOM. */
char *evbus__schema_file_type(const char *file) {
    size_t l = strlen(file);
    static const char oe[] = "_schema.avsc";
    const size_t oel = sizeof(oe) - 1;
    if (l > oel && strcmp(file + l - oel, oe) == 0 && memchr(file, '+', l - oel)) {
        char *t = strndup(file, l - oel);
        for (char *p = t; p && *p; p++)
            if (*p == '+')
                *p = '.';
        return t;
    }
    return strndup(file, l > 5 ? l - 5 : l);
}

/* Parse one file into e (doc and event_type); "path: problem" in errstr on failure. type is
 * what the file name says, or NULL (history/) to take the record's namespace as it is. */
static int load_one(evbus__schema_entry_t *e, const char *path, const char *type, char *errstr,
                    size_t errstr_size) {
    char err[400];
    size_t len;
    char *text = evbus__read_file(path, &len, errstr, errstr_size);
    if (!text)
        return -1;
    evbus__schema_doc_t *doc = evbus__schema_parse(text, len, err, sizeof(err));
    free(text);
    if (!doc) {
        evbus__seterr(errstr, errstr_size, "%s: %s", path, err);
        return -1;
    }
    const evbus__schema_t *r = doc->root;
    const char *dot = r->kind == EVBUS__AVRO_RECORD ? strrchr(r->fullname, '.') : NULL;
    if (r->kind != EVBUS__AVRO_RECORD) {
        evbus__seterr(errstr, errstr_size, "%s: top-level type is %s, not a record", path,
                      evbus__avro_kind_name(r->kind));
    } else if (!dot && !type) {
        evbus__seterr(errstr, errstr_size, "%s: record '%s' has no namespace (the event type)",
                      path, r->fullname);
    } else if (type && (!dot || strlen(type) != (size_t)(dot - r->fullname) ||
                        strncmp(type, r->fullname, (size_t)(dot - r->fullname)) != 0)) {
        evbus__seterr(errstr, errstr_size,
                      "%s: record namespace '%.*s' differs from the file name's event type '%s'",
                      path, dot ? (int)(dot - r->fullname) : 0, r->fullname, type);
    } else if (!(e->event_type = strndup(r->fullname, (size_t)(dot - r->fullname)))) {
        evbus__seterr(errstr, errstr_size, "out of memory");
    } else {
        e->doc = doc;
        return 0;
    }
    evbus__schema_doc_destroy(doc);
    return -1;
}

/* Every .avsc file of dir into esp/np (sorted by type, then path). A missing history/ is empty. */
static int load_dir(const char *dir, int history, evbus__schema_entry_t **esp, size_t *np,
                    char *errstr, size_t errstr_size) {
    char **names = NULL;
    size_t nnames = 0, cap = 0, n = 0;
    evbus__schema_entry_t *es = NULL;
    DIR *d = opendir(dir);
    int rc = -1;
    if (!d) {
        if (history && errno == ENOENT)
            return 0;
        evbus__seterr(errstr, errstr_size, "%s: %s", dir, strerror(errno));
        return -1;
    }
    for (struct dirent *de; (de = readdir(d));) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l <= 5 || strcmp(de->d_name + l - 5, ".avsc") != 0)
            continue;
        if (nnames == cap) {
            size_t nc = cap ? cap * 2 : 32;
            char **p = realloc(names, nc * sizeof(*names));
            if (!p)
                goto oom;
            names = p;
            cap = nc;
        }
        if (!(names[nnames] = strdup(de->d_name)))
            goto oom;
        nnames++;
    }
    closedir(d);
    d = NULL;
    if (nnames)
        qsort(names, nnames, sizeof(*names), cmp_name);
    if (nnames && !(es = calloc(nnames, sizeof(*es))))
        goto oom;
    for (size_t i = 0; i < nnames; i++) {
        evbus__schema_entry_t *e = &es[n];
        size_t pl = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(pl), *type = NULL;
        if (!path || (!history && !(type = evbus__schema_file_type(names[i])))) {
            free(path);
            goto oom;
        }
        snprintf(path, pl, "%s/%s", dir, names[i]);
        int bad = load_one(e, path, type, errstr, errstr_size);
        free(type);
        if (bad) {
            free(path);
            goto fail;
        }
        e->path = path;
        e->history = history;
        n++;
    }
    if (n)
        qsort(es, n, sizeof(*es), cmp_entry);
    for (size_t i = 1; !history && i < n; i++) {
        if (strcmp(es[i - 1].event_type, es[i].event_type) == 0) {
            evbus__seterr(errstr, errstr_size, "%s and %s both hold the current schema of %s",
                          es[i - 1].path, es[i].path, es[i].event_type);
            goto fail;
        }
    }
    *esp = es;
    *np = n;
    es = NULL;
    n = 0;
    rc = 0;
    goto fail;
oom:
    evbus__seterr(errstr, errstr_size, "out of memory");
fail:
    if (d)
        closedir(d);
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    entries_free(es, n);
    return rc;
}

/* A new serial for st, made or changed (evbus__schema_store_add()): every thread's last_get of
 * it misses from now on. */
static void store_renew(evbus__schema_store_t *st) {
    st->serial = atomic_fetch_add(&g_serial, 1) + 1; /* never 0: last_get's empty value */
}

/* (Re)build the fingerprint index over entries and hist. 0, or -1 when out of memory. */
static int index_fp(evbus__schema_store_t *st) {
    free(st->by_fp);
    st->by_fp = NULL;
    st->nfp = 0;
    if (st->n + st->nhist && !(st->by_fp = calloc(st->n + st->nhist, sizeof(*st->by_fp))))
        return -1;
    for (size_t i = 0; i < st->n; i++)
        st->by_fp[st->nfp++] = &st->entries[i];
    for (size_t i = 0; i < st->nhist; i++)
        st->by_fp[st->nfp++] = &st->hist[i];
    if (st->nfp)
        qsort(st->by_fp, st->nfp, sizeof(*st->by_fp), cmp_fp);
    return 0;
}

evbus__schema_store_t *evbus__schema_store_new(const char *dir, char *errstr, size_t errstr_size) {
    evbus__schema_store_t *st = calloc(1, sizeof(*st));
    char *hdir = NULL;
    if (!st || !(st->dir = strdup(dir ? dir : pick_dir())) ||
        !(hdir = malloc(strlen(st->dir) + sizeof("/history"))))
        goto oom;
    sprintf(hdir, "%s/history", st->dir);
    if (load_dir(st->dir, 0, &st->entries, &st->n, errstr, errstr_size) != 0 ||
        (is_dir(hdir) &&
         load_dir(hdir, 1, &st->hist, &st->nhist, errstr, errstr_size) != 0))
        goto fail;
    if (index_fp(st) != 0)
        goto oom;
    store_renew(st);
    free(hdir);
    return st;
oom:
    evbus__seterr(errstr, errstr_size, "out of memory");
fail:
    free(hdir);
    evbus__schema_store_destroy(st);
    return NULL;
}

const char *evbus__schema_store_dir(const evbus__schema_store_t *st) { return st->dir; }

static const evbus__schema_entry_t *store_search(const evbus__schema_store_t *st,
                                                 const char *event_type);

const evbus__schema_entry_t *evbus__schema_store_get(const evbus__schema_store_t *st,
                                                     const char *event_type) {
    size_t tlen = strlen(event_type);
    if (last_get.serial == st->serial && last_get.len == tlen &&
        memcmp(last_get.type, event_type, tlen) == 0)
        return last_get.e;
    const evbus__schema_entry_t *e = store_search(st, event_type);
    if (e && tlen < sizeof(last_get.type)) { /* answers found only: a miss is cheap to repeat */
        last_get.serial = st->serial;
        last_get.len = tlen;
        memcpy(last_get.type, event_type, tlen);
        last_get.e = e;
    }
    return e;
}

static const evbus__schema_entry_t *store_search(const evbus__schema_store_t *st,
                                                 const char *event_type) {
    size_t lo = 0, hi = st->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(event_type, st->entries[mid].event_type);
        if (c == 0)
            return &st->entries[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const evbus__schema_entry_t *evbus__schema_store_by_fingerprint(const evbus__schema_store_t *st,
                                                                uint64_t fp) {
    /* Lower bound: with the same schema both current and in history/, the current entry. */
    size_t lo = 0, hi = st->nfp;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st->by_fp[mid]->doc->fingerprint < fp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < st->nfp && st->by_fp[lo]->doc->fingerprint == fp ? st->by_fp[lo] : NULL;
}

size_t evbus__schema_store_count(const evbus__schema_store_t *st) { return st->n; }

const evbus__schema_entry_t *evbus__schema_store_at(const evbus__schema_store_t *st, size_t i) {
    return i < st->n ? &st->entries[i] : NULL;
}

size_t evbus__schema_store_history_count(const evbus__schema_store_t *st) { return st->nhist; }

const evbus__schema_entry_t *evbus__schema_store_history_at(const evbus__schema_store_t *st,
                                                            size_t i) {
    return i < st->nhist ? &st->hist[i] : NULL;
}

/* What a registered schema's entry names as its file. */
#define REGISTERED_PATH "(registered by evbus_conf_add_schema)"

int evbus__schema_store_add(evbus__schema_store_t *st, const char *json, size_t len, char *errstr,
                            size_t errstr_size) {
    char err[400];
    evbus__schema_doc_t *doc = evbus__schema_parse(json, len, err, sizeof(err));
    if (!doc) {
        evbus__seterr(errstr, errstr_size, "registered schema: %s", err);
        return -1;
    }
    const evbus__schema_t *r = doc->root;
    const char *dot = r->kind == EVBUS__AVRO_RECORD ? strrchr(r->fullname, '.') : NULL;
    evbus__schema_entry_t e = {0};
    if (!dot) {
        evbus__seterr(errstr, errstr_size,
                      "registered schema: not a record whose namespace is the event type");
        evbus__schema_doc_destroy(doc);
        return -1;
    }
    e.event_type = strndup(r->fullname, (size_t)(dot - r->fullname));
    e.path = strdup(REGISTERED_PATH);
    e.doc = doc;
    evbus__schema_entry_t *cur = e.event_type && e.path ? (evbus__schema_entry_t *)
                                                          evbus__schema_store_get(st, e.event_type)
                                                        : NULL;
    /* Room first, so that nothing changes when out of memory. */
    evbus__schema_entry_t *grown = NULL;
    if (e.event_type && e.path) {
        if (cur)
            grown = realloc(st->hist, (st->nhist + 1) * sizeof(*grown));
        else
            grown = realloc(st->entries, (st->n + 1) * sizeof(*grown));
    }
    if (!grown) {
        evbus__seterr(errstr, errstr_size, "out of memory");
        free((char *)e.event_type);
        free((char *)e.path);
        evbus__schema_doc_destroy(doc);
        return -1;
    }
    store_renew(st); /* entries move and change below: what last_get holds is stale */
    if (cur) {
        /* The replaced schema stays readable as an earlier version of the type. */
        st->hist = grown;
        st->hist[st->nhist] = *cur;
        st->hist[st->nhist++].history = 1;
        *cur = e;
    } else {
        st->entries = grown;
        st->entries[st->n++] = e;
        qsort(st->entries, st->n, sizeof(*st->entries), cmp_entry);
    }
    if (index_fp(st) != 0) {
        evbus__seterr(errstr, errstr_size, "out of memory");
        return -1;
    }
    return 0;
}

evbus__schema_store_t *evbus__schema_store_from_conf(const evbus_conf_t *conf, char *errstr,
                                                     size_t errstr_size) {
    const char *dir = evbus_conf_get(conf, "schema.dir");
    size_t nreg = evbus__conf_schema_count(conf);
    evbus__schema_store_t *st;
    if (nreg && !dir && !is_dir(pick_dir())) {
        /* The caller carries its own schemas: no directory is needed. */
        st = calloc(1, sizeof(*st));
        if (!st || !(st->dir = strdup(REGISTERED_PATH))) {
            free(st);
            evbus__seterr(errstr, errstr_size, "out of memory");
            return NULL;
        }
        store_renew(st);
    } else if (!(st = evbus__schema_store_new(dir, errstr, errstr_size))) {
        return NULL;
    }
    for (size_t i = 0; i < nreg; i++) {
        size_t len = 0;
        const char *json = evbus__conf_schema_at(conf, i, &len);
        if (evbus__schema_store_add(st, json, len, errstr, errstr_size) != 0) {
            evbus__schema_store_destroy(st);
            return NULL;
        }
    }
    return st;
}
