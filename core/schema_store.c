/* The schema store: every <event_type>.avsc of a directory, parsed once, then read-only. */
#include "schema.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct evbus__schema_store_s {
    char *dir;
    evbus__schema_entry_t *entries; /* sorted by event type */
    size_t n;
    evbus__schema_entry_t **by_fp;  /* sorted by fingerprint */
};

#ifdef EVBUS_SCHEMA_INSTALL_DIR
static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}
#endif

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_fp(const void *a, const void *b) {
    uint64_t x = (*(evbus__schema_entry_t *const *)a)->doc->fingerprint;
    uint64_t y = (*(evbus__schema_entry_t *const *)b)->doc->fingerprint;
    return x < y ? -1 : x > y;
}

void evbus__schema_store_destroy(evbus__schema_store_t *st) {
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++) {
        free((char *)st->entries[i].event_type);
        free((char *)st->entries[i].path);
        evbus__schema_doc_destroy((evbus__schema_doc_t *)st->entries[i].doc);
    }
    free(st->entries);
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

/* Parse one file into e; "path: problem" in errstr on failure. */
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
    } else if (!dot || strlen(type) != (size_t)(dot - r->fullname) ||
               strncmp(type, r->fullname, (size_t)(dot - r->fullname)) != 0) {
        evbus__seterr(errstr, errstr_size,
                      "%s: record namespace '%.*s' differs from the file name's event type '%s'",
                      path, dot ? (int)(dot - r->fullname) : 0, r->fullname, type);
    } else {
        e->doc = doc;
        return 0;
    }
    evbus__schema_doc_destroy(doc);
    return -1;
}

evbus__schema_store_t *evbus__schema_store_new(const char *dir, char *errstr, size_t errstr_size) {
    evbus__schema_store_t *st = calloc(1, sizeof(*st));
    char **names = NULL;
    size_t nnames = 0, cap = 0;
    DIR *d = NULL;
    if (!st)
        goto oom;
    if (!(st->dir = strdup(dir ? dir : pick_dir())))
        goto oom;
    if (!(d = opendir(st->dir))) {
        evbus__seterr(errstr, errstr_size, "%s: %s", st->dir, strerror(errno));
        goto fail;
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
        if (!(names[nnames] = strndup(de->d_name, l - 5)))
            goto oom;
        nnames++;
    }
    closedir(d);
    d = NULL;
    if (nnames)
        qsort(names, nnames, sizeof(*names), cmp_name);
    if (nnames && (!(st->entries = calloc(nnames, sizeof(*st->entries))) ||
                   !(st->by_fp = calloc(nnames, sizeof(*st->by_fp)))))
        goto oom;
    for (size_t i = 0; i < nnames; i++) {
        evbus__schema_entry_t *e = &st->entries[st->n];
        size_t pl = strlen(st->dir) + strlen(names[i]) + 7;
        char *path = malloc(pl);
        if (!path)
            goto oom;
        snprintf(path, pl, "%s/%s.avsc", st->dir, names[i]);
        if (load_one(e, path, names[i], errstr, errstr_size) != 0) {
            free(path);
            goto fail;
        }
        e->path = path;
        e->event_type = names[i];
        names[i] = NULL;
        st->by_fp[st->n] = e;
        st->n++;
    }
    if (st->n)
        qsort(st->by_fp, st->n, sizeof(*st->by_fp), cmp_fp);
    free(names);
    return st;
oom:
    evbus__seterr(errstr, errstr_size, "out of memory");
fail:
    if (d)
        closedir(d);
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    evbus__schema_store_destroy(st);
    return NULL;
}

const char *evbus__schema_store_dir(const evbus__schema_store_t *st) { return st->dir; }

const evbus__schema_entry_t *evbus__schema_store_get(const evbus__schema_store_t *st,
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
    size_t lo = 0, hi = st->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t m = st->by_fp[mid]->doc->fingerprint;
        if (m == fp)
            return st->by_fp[mid];
        if (fp < m)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

size_t evbus__schema_store_count(const evbus__schema_store_t *st) { return st->n; }

const evbus__schema_entry_t *evbus__schema_store_at(const evbus__schema_store_t *st, size_t i) {
    return i < st->n ? &st->entries[i] : NULL;
}
