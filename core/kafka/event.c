#include "event_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"
#include "framing.h"
#include "headers.h"
#include "json_scan.h"
#include "resolve.h"

static char *dup_n(const void *p, size_t n) {
    char *r = malloc(n + 1);
    if (!r)
        return NULL;
    if (n)
        memcpy(r, p, n);
    r[n] = 0;
    return r;
}

static evbus_event_t *event_alloc(void) {
    evbus_event_t *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return NULL;
    if (pthread_mutex_init(&ev->mu, NULL) != 0) {
        free(ev);
        return NULL;
    }
    ev->refcnt = 1;
    ev->partition = -1;
    ev->offset = -1;
    ev->timestamp = -1;
    return ev;
}

static int set_problem(evbus_event_t *ev, evbus_err_t code, const char *msg) {
    if (ev->problem)
        return 0; /* the first problem is the reason */
    ev->problem_code = code;
    ev->problem = evbus__strdup(msg);
    return ev->problem ? 0 : -1;
}

int evbus__event_add_header(evbus_event_t *ev, const char *name, const void *value, size_t len) {
    if (ev->packed)
        return -1; /* its header array is part of the event's block */
    evbus__event_header_t *h = realloc(ev->headers, (ev->nheaders + 1) * sizeof(*h));
    if (!h)
        return -1;
    ev->headers = h;
    h = &ev->headers[ev->nheaders];
    h->name = evbus__strdup(name);
    h->value = value ? dup_n(value, len) : NULL;
    h->value_len = value ? len : 0;
    if (!h->name || (value && !h->value)) {
        free(h->name);
        free(h->value);
        return -1;
    }
    ev->nheaders++;
    return 0;
}

evbus_event_t *evbus__event_new(const evbus__event_init_t *in, const evbus__schema_store_t *store,
                                evbus__registry_t *reg) {
    evbus_event_t *ev = event_alloc();
    if (!ev)
        return NULL;
    ev->store = store;
    ev->reg = reg;
    ev->partition = in->partition;
    ev->offset = in->offset;
    ev->timestamp = in->timestamp;
    if ((in->type && !(ev->type = evbus__strdup(in->type))) ||
        (in->id && !(ev->id = evbus__strdup(in->id))) ||
        (in->topic && !(ev->topic = evbus__strdup(in->topic))))
        goto oom;
    if (in->value) {
        if (!(ev->value = (unsigned char *)dup_n(in->value, in->value_len)))
            goto oom;
        ev->value_len = in->value_len;
    }
    if (in->key_raw) {
        if (!(ev->key_raw = (unsigned char *)dup_n(in->key_raw, in->key_raw_len)))
            goto oom;
        ev->key_raw_len = in->key_raw_len;
    }
    if (in->key) {
        if (!(ev->key = evbus__strdup(in->key)))
            goto oom;
        ev->key_done = 1;
    }
    if (in->key_given)
        ev->key_done = 1; /* a NULL key stays NULL */
    if (in->json) {
        if (!(ev->json = dup_n(in->json, in->json_len)))
            goto oom;
        ev->json_len = in->json_len;
        ev->json_done = 1;
    } else if (in->json_error) {
        if (!(ev->json_error = evbus__strdup(in->json_error)))
            goto oom;
        ev->json_err = EVBUS_ERR_DECODE;
        ev->json_done = 1;
    }
    return ev;
oom:
    evbus__event_destroy(ev);
    return NULL;
}

evbus_event_t *evbus__event_new_json(const char *type, const char *id, const char *json, size_t len) {
    char uuid[EVBUS__UUID_LEN];
    if (!id) {
        evbus__uuid1(uuid);
        id = uuid;
    }
    evbus__event_init_t in = {.type = type, .id = id, .partition = -1, .offset = -1,
                              .timestamp = -1, .json = json ? json : "null",
                              .json_len = json ? len : 4};
    return evbus__event_new(&in, NULL, NULL);
}

/* Bump allocator over the single block of a packed event. */
typedef struct pack_s {
    char *p;
} pack_t;

static char *pack_copy(pack_t *pk, const void *src, size_t n) {
    char *r = pk->p;
    if (n)
        memcpy(r, src, n);
    r[n] = 0;
    pk->p += n + 1;
    return r;
}

/* n + 1 added to *total; 0 on overflow. */
static int size_add(size_t *total, size_t n) {
    if (n > SIZE_MAX / 2 || *total > SIZE_MAX / 2)
        return 0;
    *total += n + 1;
    return 1;
}

/* Whether hv holds exactly one non-empty name (*at: its index); else errstr says what is wrong,
 * in evbus__headers_check()'s words, so dead-lettered messages keep their reason. */
static int hview_one(const char *name, size_t found, long at, const evbus__event_header_t *hv,
                     char *errstr, size_t errstr_size) {
    if (found == 0)
        evbus__seterr(errstr, errstr_size, "missing %s header", name);
    else if (found > 1)
        evbus__seterr(errstr, errstr_size, "duplicated %s header", name);
    else if (!hv[at].value || hv[at].value_len == 0)
        evbus__seterr(errstr, errstr_size, "empty %s header", name);
    else
        return 0;
    return -1;
}

/* evbus__headers_check() over headers already read, in one pass over them.  *t and *id point
 * into hv's values (NUL-terminated: librdkafka keeps a terminator after every value). */
static int hview_check(const evbus__event_header_t *hv, size_t nh, const char **t, size_t *tlen,
                       const char **id, size_t *idlen, char *errstr, size_t errstr_size) {
    size_t nt = 0, ni = 0;
    long at_t = -1, at_i = -1;
    for (size_t i = 0; i < nh; i++) {
        const char *n = hv[i].name;
        /* Most headers start with "ce_": the fourth byte decides before any strcmp call. */
        if (n[0] != 'c' || n[1] != 'e' || n[2] != '_')
            continue;
        if (n[3] == EVBUS__H_TYPE[3] && !strcmp(n + 3, EVBUS__H_TYPE + 3)) {
            nt++;
            at_t = (long)i;
        } else if (n[3] == EVBUS__H_ID[3] && !strcmp(n + 3, EVBUS__H_ID + 3)) {
            ni++;
            at_i = (long)i;
        }
    }
    if (hview_one(EVBUS__H_TYPE, nt, at_t, hv, errstr, errstr_size) != 0 ||
        hview_one(EVBUS__H_ID, ni, at_i, hv, errstr, errstr_size) != 0)
        return -1;
    *t = hv[at_t].value;
    *tlen = hv[at_t].value_len;
    *id = hv[at_i].value;
    *idlen = hv[at_i].value_len;
    return 0;
}

/* rkm's headers (NULL when it has none; parsed once, librdkafka keeps the parsed list in the
 * message) and their count in *nhp. */
static rd_kafka_headers_t *headers_of(rd_kafka_message_t *rkm, size_t *nhp) {
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || !hdrs) {
        *nhp = 0;
        return NULL;
    }
    *nhp = rd_kafka_header_cnt(hdrs);
    return hdrs;
}

/* The first nh headers of hdrs into hv as views into librdkafka's memory (valid while the
 * message lives); how many were read. */
static size_t headers_fill(const rd_kafka_headers_t *hdrs, evbus__event_header_t *hv, size_t nh) {
    size_t i = 0;
    for (; i < nh; i++) {
        const char *name;
        const void *val;
        size_t len;
        if (rd_kafka_header_get_all(hdrs, i, &name, &val, &len))
            break;
        hv[i].name = (char *)name; /* a packed event never writes through these */
        hv[i].value = (char *)val;
        hv[i].value_len = val ? len : 0;
    }
    return i;
}

static void event_fill_meta(evbus_event_t *ev, const rd_kafka_message_t *rkm,
                            const evbus__schema_store_t *store, evbus__registry_t *reg) {
    ev->refcnt = 1;
    ev->packed = 1;
    ev->store = store;
    ev->reg = reg;
    ev->partition = rkm->partition;
    ev->offset = rkm->offset;
    rd_kafka_timestamp_type_t tstype;
    ev->timestamp = rd_kafka_message_timestamp(rkm, &tstype);
    if (tstype == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE)
        ev->timestamp = -1;
}

/* The problem a message with headers hdrs (NULL: none) and payload has, or NULL; errstr holds
 * the text when it is about the headers. */
static const char *message_problem(const rd_kafka_headers_t *hdrs, const evbus__event_header_t *hv,
                                   size_t nh, const char **t, size_t *tlen, const char **id,
                                   size_t *idlen, char *errstr, size_t errstr_size) {
    *t = *id = NULL;
    *tlen = *idlen = 0;
    if (!hdrs)
        return "message has no headers (ce_type, ce_id)";
    if (hview_check(hv, nh, t, tlen, id, idlen, errstr, errstr_size) != 0) {
        *t = *id = NULL;
        *tlen = *idlen = 0;
        return errstr;
    }
    return NULL;
}

evbus_event_t *evbus__event_from_message(const rd_kafka_message_t *rkm,
                                         const evbus__schema_store_t *store,
                                         evbus__registry_t *reg) {
    char errstr[256];
    const char *topic = rkm->rkt ? rd_kafka_topic_name(rkm->rkt) : NULL;
    const char *t, *id;
    size_t tlen, idlen, nh;
    /* The headers are read once into hv: each librdkafka lookup by name walks them all. */
    evbus__event_header_t hstack[32], *hv = hstack;
    /* rd_kafka_message_headers() wants a non-const message but only parses lazily. */
    rd_kafka_headers_t *hdrs = headers_of((rd_kafka_message_t *)rkm, &nh);
    if (nh > sizeof(hstack) / sizeof(hstack[0]) &&
        (nh > SIZE_MAX / 4 / sizeof(*hv) || !(hv = malloc(nh * sizeof(*hv)))))
        return NULL;
    nh = hdrs ? headers_fill(hdrs, hv, nh) : 0;
    const char *problem =
        message_problem(hdrs, hv, nh, &t, &tlen, &id, &idlen, errstr, sizeof(errstr));

    /* One block: the event, its header array, then every string/byte copy NUL-terminated. */
    size_t total = sizeof(evbus_event_t), strings = 0;
    int ok = 1;
    size_t topic_len = topic ? strlen(topic) : 0;
    for (size_t i = 0; i < nh; i++)
        ok &= size_add(&strings, strlen(hv[i].name)) & size_add(&strings, hv[i].value_len);
    ok &= nh <= SIZE_MAX / 4 / sizeof(evbus__event_header_t);
    total += nh * sizeof(evbus__event_header_t);
    ok &= size_add(&strings, topic_len) & size_add(&strings, tlen) &
          size_add(&strings, idlen) & size_add(&strings, rkm->len) & size_add(&strings, rkm->key_len);
    evbus_event_t *ev = NULL;
    if (!ok || total > SIZE_MAX - strings || !(ev = malloc(total + strings))) {
        if (hv != hstack)
            free(hv);
        return NULL;
    }
    memset(ev, 0, sizeof(*ev));
    if (pthread_mutex_init(&ev->mu, NULL) != 0) {
        if (hv != hstack)
            free(hv);
        free(ev);
        return NULL;
    }
    event_fill_meta(ev, rkm, store, reg);

    ev->headers = (evbus__event_header_t *)(ev + 1);
    pack_t pk = {(char *)(ev->headers + nh)};
    for (size_t i = 0; i < nh; i++) {
        evbus__event_header_t *h = &ev->headers[ev->nheaders++];
        h->name = pk.p;
        pk.p = stpcpy(pk.p, hv[i].name) + 1;
        /* a null value still takes its (empty) slot: the size pass counted it */
        char *v = pack_copy(&pk, hv[i].value, hv[i].value_len);
        h->value = hv[i].value ? v : NULL;
        h->value_len = hv[i].value_len;
    }
    if (hv != hstack)
        free(hv);
    if (topic)
        ev->topic = pack_copy(&pk, topic, topic_len);
    else
        pk.p++;
    if (t) {
        ev->type = pack_copy(&pk, t, tlen);
        ev->id = pack_copy(&pk, id, idlen);
    } else {
        pk.p += tlen + idlen + 2;
    }
    if (rkm->payload) {
        ev->value = (unsigned char *)pack_copy(&pk, rkm->payload, rkm->len);
        ev->value_len = rkm->len;
    } else {
        pk.p += rkm->len + 1;
    }
    if (rkm->key) {
        ev->key_raw = (unsigned char *)pack_copy(&pk, rkm->key, rkm->key_len);
        ev->key_raw_len = rkm->key_len;
    }

    if (problem && set_problem(ev, EVBUS_ERR_DECODE, problem) != 0)
        goto oom;
    if (!rkm->payload && set_problem(ev, EVBUS_ERR_DECODE, "message has no value") != 0)
        goto oom;
    return ev;
oom:
    evbus__event_destroy(ev);
    return NULL;
}

evbus_event_t *evbus__event_take_message(rd_kafka_message_t *rkm,
                                         const evbus__schema_store_t *store,
                                         evbus__registry_t *reg) {
    char errstr[256];
    const char *t, *id;
    size_t tlen, idlen, nh;
    /* The views go straight into the event's own array: one allocation and no copy. */
    rd_kafka_headers_t *hdrs = headers_of(rkm, &nh);
    if (nh > (SIZE_MAX - sizeof(evbus_event_t)) / 4 / sizeof(evbus__event_header_t))
        return NULL;
    evbus_event_t *ev = malloc(sizeof(*ev) + nh * sizeof(evbus__event_header_t));
    if (!ev)
        return NULL;
    memset(ev, 0, sizeof(*ev));
    if (pthread_mutex_init(&ev->mu, NULL) != 0) {
        free(ev);
        return NULL;
    }
    event_fill_meta(ev, rkm, store, reg);
    ev->headers = (evbus__event_header_t *)(ev + 1);
    ev->nheaders = hdrs ? headers_fill(hdrs, ev->headers, nh) : 0;
    const char *problem =
        message_problem(hdrs, ev->headers, ev->nheaders, &t, &tlen, &id, &idlen, errstr, sizeof(errstr));
    ev->type = (char *)t;
    ev->id = (char *)id;
    ev->topic = rkm->rkt ? (char *)rd_kafka_topic_name(rkm->rkt) : NULL;
    if (rkm->payload) {
        ev->value = rkm->payload;
        ev->value_len = rkm->len;
    }
    if (rkm->key) {
        ev->key_raw = rkm->key;
        ev->key_raw_len = rkm->key_len;
    }
    if ((problem && set_problem(ev, EVBUS_ERR_DECODE, problem) != 0) ||
        (!rkm->payload && set_problem(ev, EVBUS_ERR_DECODE, "message has no value") != 0)) {
        /* out of memory: the caller keeps rkm */
        free(ev->problem);
        pthread_mutex_destroy(&ev->mu);
        free(ev);
        return NULL;
    }
    ev->rkm = rkm;
    return ev;
}

evbus_event_t *evbus__event_ref(evbus_event_t *ev) {
    if (ev)
        atomic_fetch_add_explicit(&ev->refcnt, 1, memory_order_relaxed);
    return ev;
}

void evbus__event_on_release(evbus_event_t *ev, void (*fn)(void *arg), void *arg) {
    ev->release = fn;
    ev->release_arg = arg;
}

void evbus__event_destroy(evbus_event_t *ev) {
    if (!ev || atomic_fetch_sub_explicit(&ev->refcnt, 1, memory_order_acq_rel) > 1)
        return;
    if (ev->release)
        ev->release(ev->release_arg);
    if (ev->rkm)
        rd_kafka_message_destroy(ev->rkm);
    if (!ev->packed) {
        for (size_t i = 0; i < ev->nheaders; i++) {
            free(ev->headers[i].name);
            free(ev->headers[i].value);
        }
        free(ev->headers);
        free(ev->type);
        free(ev->id);
        free(ev->topic);
        free(ev->value);
        free(ev->key_raw);
    }
    free(ev->problem);
    free(ev->json);
    free(ev->json_error);
    free(ev->key);
    pthread_mutex_destroy(&ev->mu);
    free(ev);
}

evbus_err_t evbus__event_problem(const evbus_event_t *ev, const char **msgp) {
    if (msgp)
        *msgp = ev ? ev->problem : NULL;
    return ev && ev->problem ? ev->problem_code : EVBUS_OK;
}

/* The schema a framed payload was written with: by fingerprint among the current schemas and
 * history/, or by registry id. */
static evbus_err_t writer_schema_entry(const evbus__schema_store_t *store, evbus__registry_t *reg,
                                       const evbus__frame_t *fr, const evbus__schema_doc_t **out,
                                       const evbus__schema_entry_t **entryp, char *errstr,
                                       size_t errstr_size) {
    if (entryp)
        *entryp = NULL;
    if (fr->framing == EVBUS__FRAMING_SINGLE_OBJECT) {
        const evbus__schema_entry_t *e =
            store ? evbus__schema_store_by_fingerprint(store, fr->fingerprint) : NULL;
        if (!e)
            return evbus__fail(EVBUS_ERR_SCHEMA, errstr, errstr_size,
                               "unknown schema fingerprint %016llx",
                               (unsigned long long)fr->fingerprint);
        *out = e->doc;
        if (entryp)
            *entryp = e;
        return EVBUS_OK;
    }
    /* A setting missing here, not a registry that may come back: this process can never
     * decode it (EVBUS_ERR_CONFIG is permanent; the message goes to the dead-letter topic). */
    if (!reg)
        return evbus__fail(EVBUS_ERR_CONFIG, errstr, errstr_size,
                           "Confluent-framed message (schema id %d) but no schema registry configured",
                           (int)fr->schema_id);
    return evbus__registry_schema_by_id(reg, fr->schema_id, out, errstr, errstr_size);
}

/* The reader schema: the current one of the event's type, when it differs from the writer's.
 * went: the writer's store entry when it came from the store (else NULL). */
static const evbus__schema_doc_t *reader_schema(const evbus_event_t *ev,
                                                const evbus__schema_doc_t *writer,
                                                const evbus__schema_entry_t *went) {
    if (!ev->store || !ev->type || ev->as_written)
        return NULL;
    /* The usual case, a writer that is its type's current schema, without the store's search
     * by type (a binary search by strcmp was 0.3k instructions per event): a type has one
     * current entry, so this is the entry the search would find. */
    if (went && !went->history && strcmp(went->event_type, ev->type) == 0)
        return NULL;
    const evbus__schema_entry_t *e = evbus__schema_store_get(ev->store, ev->type);
    return e && e->doc->fingerprint != writer->fingerprint ? e->doc : NULL;
}

/* The Python bus names a type's schema record "CloudEvent" in the namespace of the type, so a
 * writer schema belongs to ev's ce_type when its record's namespace is that type. */
static evbus_err_t check_schema_type(const evbus_event_t *ev, const evbus__schema_t *s,
                                     char *errstr, size_t errstr_size) {
    const char *full = s ? s->fullname : NULL;
    const char *dot = full ? strrchr(full, '.') : NULL;
    size_t tlen = ev->type ? strlen(ev->type) : 0;
    if (!ev->type || (dot && (size_t)(dot - full) == tlen && !strncmp(full, ev->type, tlen)))
        return EVBUS_OK;
    return evbus__fail(EVBUS_ERR_SCHEMA, errstr, errstr_size,
                       "schema mismatch: the value was written with schema %s, which is not a "
                       "schema of ce_type %s",
                       full ? full : "(not a record)", ev->type);
}

static evbus_err_t check_value(const evbus_event_t *ev, evbus__check_cache_t *cache,
                               evbus_event_t *keep, char *errstr, size_t errstr_size);

evbus_err_t evbus__event_check_value(const evbus_event_t *ev, char *errstr, size_t errstr_size) {
    return check_value(ev, NULL, NULL, errstr, errstr_size);
}

evbus_err_t evbus__event_check_value_cached(evbus_event_t *ev, evbus__check_cache_t *cache,
                                            char *errstr, size_t errstr_size) {
    return check_value(ev, cache, ev, errstr, errstr_size);
}

/* Whether cache holds a passed check of the same schema key and type as ev's (fr, tlen). */
static int check_cached(const evbus__check_cache_t *cache, const evbus_event_t *ev,
                        const evbus__frame_t *fr, size_t tlen) {
    return cache->valid && cache->store == ev->store && cache->reg == ev->reg &&
           cache->framing == fr->framing &&
           (fr->framing == EVBUS__FRAMING_SINGLE_OBJECT ? cache->fingerprint == fr->fingerprint
                                                        : cache->schema_id == fr->schema_id) &&
           cache->has_type == (ev->type != NULL) && cache->type_len == tlen &&
           (!ev->type || !memcmp(cache->type, ev->type, tlen));
}

/* keep: the event to remember the writer schema in (the same as ev), or NULL. */
static evbus_err_t check_value(const evbus_event_t *ev, evbus__check_cache_t *cache,
                               evbus_event_t *keep, char *errstr, size_t errstr_size) {
    evbus__frame_t fr = {0}; /* the key field of the other framing stays 0 */
    const evbus__schema_doc_t *s = NULL;
    const evbus__schema_entry_t *went = NULL;
    if (!ev->value)
        return evbus__fail(EVBUS_ERR_DECODE, errstr, errstr_size, "message has no value");
    evbus_err_t err = evbus__framing_parse(ev->value, ev->value_len, &fr, errstr, errstr_size);
    if (err)
        return err;
    size_t tlen = ev->type ? strlen(ev->type) : 0;
    if (cache && check_cached(cache, ev, &fr, tlen)) {
        s = cache->doc;
        went = cache->entry;
        goto passed;
    }
    if ((err = writer_schema_entry(ev->store, ev->reg, &fr, &s, &went, errstr, errstr_size)) !=
            EVBUS_OK ||
        (err = check_schema_type(ev, s ? s->root : NULL, errstr, errstr_size)) != EVBUS_OK)
        return err;
    if (cache) {
        cache->doc = s;
        cache->entry = went;
        /* A type too long for the cache is checked in full every time. */
        cache->valid = tlen < sizeof(cache->type);
        if (cache->valid) {
            cache->store = ev->store;
            cache->reg = ev->reg;
            cache->framing = fr.framing;
            cache->fingerprint = fr.fingerprint;
            cache->schema_id = fr.schema_id;
            cache->has_type = ev->type != NULL;
            cache->type_len = tlen;
            memcpy(cache->type, ev->type ? ev->type : "", tlen);
        }
    }
passed:
    if (keep) { /* not shared yet (see evbus__event_check_value_cached()): no lock */
        keep->checked_writer = s;
        keep->checked_entry = went;
        keep->checked_off = (size_t)(fr.payload - ev->value);
    }
    return EVBUS_OK;
}

void evbus__event_set_as_written(evbus_event_t *ev, int as_written) {
    pthread_mutex_lock(&ev->mu);
    ev->as_written = as_written;
    pthread_mutex_unlock(&ev->mu);
}

static void decode_value(evbus_event_t *ev) {
    char errstr[512];
    evbus__frame_t fr = {0};
    const evbus__schema_doc_t *s = NULL;
    const evbus__schema_entry_t *went = NULL;
    evbus__buf_t out = EVBUS__BUF_INIT;
    evbus_err_t err;
    if (ev->checked_writer) { /* the consumer's check found the writer schema already */
        err = EVBUS_OK;
        s = ev->checked_writer;
        went = ev->checked_entry;
        fr.payload = ev->value + ev->checked_off;
        fr.payload_len = ev->value_len - ev->checked_off;
    } else if (!ev->value) {
        err = evbus__fail(EVBUS_ERR_DECODE, errstr, sizeof(errstr), "message has no value");
    } else if (!(err = evbus__framing_parse(ev->value, ev->value_len, &fr, errstr, sizeof(errstr)))) {
        err = writer_schema_entry(ev->store, ev->reg, &fr, &s, &went, errstr, sizeof(errstr));
    }
    if (!err) {
        /* JSON text runs about 2-3x the Avro bytes: one allocation instead of a realloc chain
         * (a failed reserve is fine, the buffer grows as usual). */
        if (fr.payload_len < ((size_t)1 << 24))
            (void)evbus__buf_reserve(&out, fr.payload_len * 3 + 64);
        err = evbus__avro_decode_json(s->root, fr.payload, fr.payload_len, &out, errstr,
                                      sizeof(errstr));
        /* Another version of the type's schema: handlers get the current (reader's) shape. */
        const evbus__schema_doc_t *r = err ? NULL : reader_schema(ev, s, went);
        if (r) {
            evbus__buf_t res = EVBUS__BUF_INIT;
            err = evbus__resolve_json(s, r, (const char *)out.data, out.len, &res, errstr,
                                      sizeof(errstr));
            evbus__buf_free(&out);
            out = res;
        }
    }
    size_t json_len = out.len; /* JSON text escapes NUL: the same as strlen() */
    if (!err && !(ev->json = evbus__buf_steal(&out)))
        err = evbus__fail(EVBUS_ERR_NOMEM, errstr, sizeof(errstr), "out of memory");
    evbus__buf_free(&out);
    if (err) {
        ev->json_err = err;
        ev->json_error = evbus__strdup(errstr); /* NULL on OOM: json still NULL, error generic */
        return;
    }
    ev->json_len = json_len;
}

int evbus__event_json_failed(const evbus_event_t *ev) {
    evbus_event_t *e = (evbus_event_t *)ev;
    pthread_mutex_lock(&e->mu);
    int r = e->json_done && !e->json;
    pthread_mutex_unlock(&e->mu);
    return r;
}

/* ---- key decoding ---- */

static const char *const k_primitives[] = {"\"string\"", "\"int\"",    "\"long\"", "\"boolean\"",
                                           "\"float\"",  "\"double\"", "\"bytes\""};
#define NPRIM (sizeof(k_primitives) / sizeof(k_primitives[0]))
static evbus__schema_doc_t *g_prim[NPRIM];
static pthread_once_t g_prim_once = PTHREAD_ONCE_INIT;

static void prim_free(void) {
    for (size_t i = 0; i < NPRIM; i++)
        evbus__schema_doc_destroy(g_prim[i]);
}

static void prim_init(void) {
    for (size_t i = 0; i < NPRIM; i++)
        g_prim[i] = evbus__schema_parse(k_primitives[i], strlen(k_primitives[i]), NULL, 0);
    atexit(prim_free);
}


/* JSON text of a scalar -> key text: a JSON string is unquoted, anything else kept. */
static char *json_to_key(const char *txt) {
    json_error_t jerr;
    json_t *j = json_loads(txt, JSON_DECODE_ANY, &jerr);
    char *r = NULL;
    if (j && json_is_string(j))
        r = dup_n(json_string_value(j), json_string_length(j));
    else
        r = evbus__strdup(txt);
    json_decref(j);
    return r;
}

char *evbus__key_decode(const void *data, size_t len, evbus__registry_t *reg) {
    if (!data)
        return NULL;
    evbus__frame_t fr;
    const evbus__schema_t *s = NULL;
    if (evbus__framing_parse(data, len, &fr, NULL, 0) == EVBUS_OK) {
        if (fr.framing == EVBUS__FRAMING_SINGLE_OBJECT) {
            pthread_once(&g_prim_once, prim_init);
            for (size_t i = 0; i < NPRIM && !s; i++)
                if (g_prim[i] && g_prim[i]->fingerprint == fr.fingerprint)
                    s = g_prim[i]->root;
        } else if (reg) {
            const evbus__schema_doc_t *doc = NULL;
            if (evbus__registry_schema_by_id(reg, fr.schema_id, &doc, NULL, 0) == EVBUS_OK)
                s = doc->root;
        }
        const char *txt;
        size_t n;
        /* A string key (the usual case) is its own text: no JSON round trip. */
        if (s && s->kind == EVBUS__AVRO_STRING &&
            evbus__avro_decode_string(fr.payload, fr.payload_len, &txt, &n) == EVBUS_OK)
            return dup_n(txt, n);
        if (s) {
            evbus__buf_t out = EVBUS__BUF_INIT;
            char *r = NULL;
            if (evbus__avro_decode_json(s, fr.payload, fr.payload_len, &out, NULL, 0) == EVBUS_OK &&
                evbus__buf_putc(&out, 0) == 0)
                r = json_to_key((const char *)out.data);
            evbus__buf_free(&out);
            if (r)
                return r;
        }
    }
    /* not Avro after all: keep the bytes when they are text (no NUL: a C string) */
    return evbus__utf8_valid_prefix(data, len) == len && !memchr(data, 0, len) ? dup_n(data, len)
                                                                                : NULL;
}

/* ---- public accessors ---- */

const char *evbus_event_type(const evbus_event_t *ev) { return ev ? ev->type : NULL; }
const char *evbus_event_id(const evbus_event_t *ev) { return ev ? ev->id : NULL; }
const char *evbus_event_topic(const evbus_event_t *ev) { return ev ? ev->topic : NULL; }
int32_t evbus_event_partition(const evbus_event_t *ev) { return ev ? ev->partition : -1; }
int64_t evbus_event_offset(const evbus_event_t *ev) { return ev ? ev->offset : -1; }
int64_t evbus_event_timestamp(const evbus_event_t *ev) { return ev ? ev->timestamp : -1; }

const char *evbus_event_key(const evbus_event_t *cev) {
    if (!cev)
        return NULL;
    evbus_event_t *ev = (evbus_event_t *)cev; /* lazy cache behind a const handle */
    pthread_mutex_lock(&ev->mu);
    if (!ev->key_done) {
        ev->key = evbus__key_decode(ev->key_raw, ev->key_raw_len, ev->reg);
        ev->key_done = 1;
    }
    const char *k = ev->key;
    pthread_mutex_unlock(&ev->mu);
    return k;
}

const char *evbus_event_header(const evbus_event_t *ev, const char *name) {
    if (!ev || !name)
        return NULL;
    for (size_t i = 0; i < ev->nheaders; i++)
        if (!strcmp(ev->headers[i].name, name))
            return ev->headers[i].value;
    return NULL;
}

size_t evbus_event_header_count(const evbus_event_t *ev) { return ev ? ev->nheaders : 0; }

evbus_err_t evbus_event_header_at(const evbus_event_t *ev, size_t idx, const char **namep,
                                  const char **valuep, size_t *lenp) {
    if (!ev || idx >= ev->nheaders)
        return EVBUS_ERR_INVALID_ARG;
    const evbus__event_header_t *h = &ev->headers[idx];
    if (namep)
        *namep = h->name;
    if (valuep)
        *valuep = h->value;
    if (lenp)
        *lenp = h->value ? h->value_len : 0;
    return EVBUS_OK;
}

const void *evbus__event_key_raw(const evbus_event_t *ev, size_t *lenp) {
    if (lenp)
        *lenp = ev && ev->key_raw ? ev->key_raw_len : 0;
    return ev ? ev->key_raw : NULL;
}

const char *evbus_event_json(const evbus_event_t *cev, size_t *lenp) {
    if (!cev)
        return NULL;
    evbus_event_t *ev = (evbus_event_t *)cev;
    pthread_mutex_lock(&ev->mu);
    if (!ev->json_done) {
        decode_value(ev);
        ev->json_done = 1;
    }
    const char *j = ev->json;
    if (lenp)
        *lenp = j ? ev->json_len : 0;
    pthread_mutex_unlock(&ev->mu);
    return j;
}

const char *evbus_event_error(const evbus_event_t *cev) {
    if (!cev)
        return NULL;
    evbus_event_t *ev = (evbus_event_t *)cev;
    pthread_mutex_lock(&ev->mu);
    const char *e = NULL;
    if (ev->json_done && !ev->json)
        e = ev->json_error ? ev->json_error : evbus_strerror(ev->json_err);
    pthread_mutex_unlock(&ev->mu);
    return e;
}

const void *evbus_event_value(const evbus_event_t *ev, size_t *lenp) {
    if (lenp)
        *lenp = ev ? ev->value_len : 0;
    return ev ? ev->value : NULL;
}
