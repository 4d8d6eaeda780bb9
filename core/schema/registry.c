/*
 * Confluent schema-registry client: two documented REST calls, cached both ways.
 *
 * Locking: one mutex guards both caches and is never held across HTTP, so a slow
 * registry never blocks a thread whose answer is already cached.  Two threads that
 * miss at once both ask the registry; POST is idempotent and the second result is
 * simply dropped, which is cheaper than making every caller wait on a per-key latch.
 * Each call uses its own CURL easy handle: a handle must not be shared between
 * threads, and registry calls are rare (once per subject / id per process).
 */
#include "conf.h"
#include "registry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#define REG_CONTENT_TYPE "application/vnd.schemaregistry.v1+json"
/* A schema document is small; anything beyond this is not a registry answer. */
#define REG_MAX_RESPONSE (16u * 1024 * 1024)

typedef struct reg_id_entry_s {
    char *subject;
    uint64_t fingerprint;
    int32_t id;
} reg_id_entry_t;

typedef struct reg_doc_entry_s {
    int32_t id;
    evbus__schema_doc_t *doc;
} reg_doc_entry_t;

struct evbus__registry_s {
    char *url;          /* base URL without trailing '/' */
    char *shown_url;    /* url without any user:password@ part, for messages */
    char *api_key;      /* NULL: no basic auth */
    char *api_secret;
    char *ca_file;      /* CA certificates (PEM) to verify an https:// registry; NULL: curl's */
    long timeout_ms;

    pthread_mutex_t lock;
    reg_id_entry_t *ids;
    size_t nids, ids_cap;
    reg_doc_entry_t *docs;
    size_t ndocs, docs_cap;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void) {
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The base URL as it may appear in a message: credentials in it are cut out. */
static char *redact_url(const char *url) {
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    const char *end = host + strcspn(host, "/?#");
    const char *at = NULL;
    for (const char *p = host; p < end; p++)
        if (*p == '@')
            at = p;
    if (!at)
        return evbus__strdup(url);
    evbus__buf_t b = EVBUS__BUF_INIT;
    if (evbus__buf_append(&b, url, (size_t)(host - url)) != 0 || evbus__buf_puts(&b, "***@") != 0 ||
        evbus__buf_puts(&b, at + 1) != 0) {
        evbus__buf_free(&b);
        return NULL;
    }
    return evbus__buf_steal(&b);
}

evbus__registry_t *evbus__registry_new(const char *url, const char *api_key, const char *api_secret,
                                       int timeout_ms, char *errstr, size_t errstr_size) {
    if (!url || !*url) {
        evbus__seterr(errstr, errstr_size, "schema registry: empty URL");
        return NULL;
    }
    if (timeout_ms <= 0) {
        evbus__seterr(errstr, errstr_size, "schema registry: timeout must be > 0 ms");
        return NULL;
    }
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        evbus__seterr(errstr, errstr_size,
                      "schema registry: URL must start with http:// or https://");
        return NULL;
    }
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK) {
        evbus__seterr(errstr, errstr_size, "schema registry: libcurl init failed: %s",
                      curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    evbus__registry_t *reg = calloc(1, sizeof(*reg));
    if (!reg) {
        evbus__seterr(errstr, errstr_size, "schema registry: out of memory");
        return NULL;
    }
    reg->url = evbus__strdup(url);
    reg->timeout_ms = timeout_ms;
    if (api_key && *api_key) {
        reg->api_key = evbus__strdup(api_key);
        reg->api_secret = evbus__strdup(api_secret ? api_secret : "");
    }
    if (reg->url) {
        size_t n = strlen(reg->url);
        while (n > 0 && reg->url[n - 1] == '/')
            reg->url[--n] = '\0';
        reg->shown_url = redact_url(reg->url);
    }
    if (!reg->url || !reg->shown_url || (reg->api_key && !reg->api_secret) ||
        pthread_mutex_init(&reg->lock, NULL) != 0) {
        free(reg->url);
        free(reg->shown_url);
        free(reg->api_key);
        free(reg->api_secret);
        free(reg);
        evbus__seterr(errstr, errstr_size, "schema registry: out of memory");
        return NULL;
    }
    return reg;
}

evbus_err_t evbus__registry_set_ca(evbus__registry_t *reg, const char *ca_file, char *errstr,
                                   size_t errstr_size) {
    /* librdkafka's "probe" means "look in the usual places": curl's default does that. */
    if (!ca_file || !*ca_file || !strcmp(ca_file, "probe"))
        return EVBUS_OK;
    char *copy = evbus__strdup(ca_file);
    if (!copy)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "schema registry: out of memory");
    free(reg->ca_file);
    reg->ca_file = copy;
    return EVBUS_OK;
}

evbus_err_t evbus__registry_from_conf(const evbus_conf_t *conf, evbus__registry_t **regp,
                                      char *errstr, size_t errstr_size) {
    *regp = NULL;
    const char *url = evbus__conf_str(conf, "schema.registry.url");
    if (!url || !*url)
        return EVBUS_OK;
    evbus__registry_t *reg = evbus__registry_new(
        url, evbus__conf_str(conf, "schema.registry.api.key"),
        evbus__conf_str(conf, "schema.registry.api.secret"),
        (int)evbus__conf_int(conf, "schema.registry.timeout.ms"), errstr, errstr_size);
    if (!reg)
        return EVBUS_ERR_CONFIG;
    /* One trust anchor for the whole bus: the CA that verifies the brokers verifies the
     * registry too (the Python bus's deployments give both the same CA bundle). */
    evbus_err_t err = evbus__registry_set_ca(reg, evbus_conf_get(conf, "kafka.ssl.ca.location"),
                                             errstr, errstr_size);
    if (err != EVBUS_OK) {
        evbus__registry_destroy(reg);
        return err;
    }
    *regp = reg;
    return EVBUS_OK;
}

void evbus__registry_destroy(evbus__registry_t *reg) {
    if (!reg)
        return;
    free(reg->ca_file);
    for (size_t i = 0; i < reg->nids; i++)
        free(reg->ids[i].subject);
    free(reg->ids);
    for (size_t i = 0; i < reg->ndocs; i++)
        evbus__schema_doc_destroy(reg->docs[i].doc);
    free(reg->docs);
    pthread_mutex_destroy(&reg->lock);
    free(reg->url);
    free(reg->shown_url);
    free(reg->api_key);
    if (reg->api_secret) {
        /* Do not leave the secret lying around in freed heap memory. */
        volatile char *p = reg->api_secret;
        while (*p)
            *p++ = 0;
    }
    free(reg->api_secret);
    free(reg);
}

/* ---- HTTP ---------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *opaque) {
    evbus__buf_t *b = opaque;
    size_t n = size * nmemb;
    if (b->len + n > REG_MAX_RESPONSE || evbus__buf_append(b, data, n) != 0)
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    return n;
}

/* Percent-encode everything but RFC 3986 unreserved characters (a subject may hold '/'). */
static int put_escaped(evbus__buf_t *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~';
        if (plain) {
            if (evbus__buf_putc(b, c) != 0)
                return -1;
        } else if (evbus__buf_putc(b, '%') != 0 || evbus__buf_putc(b, (unsigned char)hex[c >> 4]) != 0 ||
                   evbus__buf_putc(b, (unsigned char)hex[c & 15]) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Copy src into dst, replacing every occurrence of secret with "***". */
static void scrub_copy(char *dst, size_t dst_size, const char *src, const char *secret) {
    size_t slen = secret ? strlen(secret) : 0;
    size_t o = 0;
    if (dst_size == 0)
        return;
    while (*src && o + 1 < dst_size) {
        if (slen && strncmp(src, secret, slen) == 0) {
            for (const char *r = "***"; *r && o + 1 < dst_size; r++)
                dst[o++] = *r;
            src += slen;
        } else {
            dst[o++] = *src++;
        }
    }
    dst[o] = '\0';
}

/* The registry's own words for a failed request: "message" of its JSON error body. */
static void error_message(const evbus__buf_t *body, char *out, size_t out_size) {
    json_t *j = body->len ? json_loadb((const char *)body->data, body->len, 0, NULL) : NULL;
    const char *msg = NULL;
    if (j && json_is_object(j))
        msg = json_string_value(json_object_get(j, "message"));
    if (msg) {
        snprintf(out, out_size, "%s", msg);
    } else if (body->len) {
        /* Not the documented shape (a proxy page?): show its start, on one line. */
        size_t n = 0;
        for (size_t i = 0; i < body->len && n + 1 < out_size && n < 200; i++) {
            unsigned char c = body->data[i];
            out[n++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
        }
        out[n] = '\0';
    } else {
        snprintf(out, out_size, "(empty response)");
    }
    json_decref(j);
}

/*
 * One request.  path is already escaped.  On EVBUS_OK, *resp holds the 2xx body.
 * Any other outcome fills errstr: "schema registry: <what> <method> <path>: <why>".
 */
static evbus_err_t http_call(evbus__registry_t *reg, const char *method, const char *path,
                             const char *body, evbus__buf_t *resp, long *statusp, char *errstr,
                             size_t errstr_size) {
    evbus__buf_t url = EVBUS__BUF_INIT;
    char curlerr[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL, *h;
    evbus_err_t err = EVBUS_OK;
    CURL *c = curl_easy_init();

    if (!c || evbus__buf_puts(&url, reg->url) != 0 || evbus__buf_puts(&url, path) != 0) {
        err = evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "schema registry: out of memory");
        goto out;
    }
    h = curl_slist_append(hdrs, "Accept: " REG_CONTENT_TYPE ", application/json");
    if (h)
        hdrs = h;
    if (h && body) {
        h = curl_slist_append(hdrs, "Content-Type: " REG_CONTENT_TYPE);
        if (h)
            hdrs = h;
    }
    if (!h) {
        err = evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "schema registry: out of memory");
        goto out;
    }

    CURLcode rc = CURLE_OK;
#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(c, opt, val);                                                    \
    } while (0)
    SETOPT(CURLOPT_URL, (const char *)url.data);
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_TIMEOUT_MS, reg->timeout_ms);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, reg->timeout_ms);
    SETOPT(CURLOPT_HTTPHEADER, hdrs);
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_WRITEDATA, resp);
    SETOPT(CURLOPT_ERRORBUFFER, curlerr);
    SETOPT(CURLOPT_USERAGENT, "evbus/" EVBUS_VERSION_STR);
    if (reg->ca_file)
        SETOPT(CURLOPT_CAINFO, reg->ca_file);
    if (reg->api_key) {
        SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SETOPT(CURLOPT_USERNAME, reg->api_key);
        SETOPT(CURLOPT_PASSWORD, reg->api_secret);
    }
    if (body) {
        SETOPT(CURLOPT_POST, 1L);
        SETOPT(CURLOPT_POSTFIELDS, body);
        SETOPT(CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
#undef SETOPT
    if (rc != CURLE_OK) {
        err = evbus__fail(EVBUS_ERR_REGISTRY, errstr, errstr_size,
                          "schema registry: cannot set up %s %s: %s", method, path,
                          curl_easy_strerror(rc));
        goto out;
    }

    rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        /* curl's own buffer may name the URL; report from our redacted copy instead. */
        char why[CURL_ERROR_SIZE + 64];
        scrub_copy(why, sizeof(why), curlerr[0] ? curlerr : curl_easy_strerror(rc),
                   reg->api_secret);
        err = evbus__fail(rc == CURLE_OPERATION_TIMEDOUT ? EVBUS_ERR_TIMEOUT : EVBUS_ERR_REGISTRY,
                          errstr, errstr_size, "schema registry: %s %s%s: %s", method,
                          reg->shown_url, path, why);
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (statusp)
        *statusp = status;
    if (status < 200 || status > 299) {
        char msg[512], clean[512];
        error_message(resp, msg, sizeof(msg));
        scrub_copy(clean, sizeof(clean), msg, reg->api_secret);
        err = evbus__fail(EVBUS_ERR_REGISTRY, errstr, errstr_size,
                          "schema registry: HTTP %ld from %s %s: %s", status, method, path, clean);
    }
out:
    curl_slist_free_all(hdrs);
    if (c)
        curl_easy_cleanup(c);
    evbus__buf_free(&url);
    return err;
}

/* Parse a 2xx body as a JSON object; errstr names the request when it is not one. */
static json_t *parse_object(const evbus__buf_t *resp, const char *method, const char *path,
                            char *errstr, size_t errstr_size) {
    json_error_t jerr;
    json_t *j = json_loadb(resp->len ? (const char *)resp->data : "", resp->len, 0, &jerr);
    if (!j || !json_is_object(j)) {
        evbus__seterr(errstr, errstr_size,
                      "schema registry: %s %s: response is not a JSON object%s%s", method, path,
                      j ? "" : ": ", j ? "" : jerr.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- ids for schemas --------------------------------------------------------- */

/* Cached id of (subject, fingerprint), or -1.  Caller holds the lock. */
static int32_t id_cached(const evbus__registry_t *reg, const char *subject, uint64_t fp) {
    for (size_t i = 0; i < reg->nids; i++)
        if (reg->ids[i].fingerprint == fp && strcmp(reg->ids[i].subject, subject) == 0)
            return reg->ids[i].id;
    return -1;
}

/* The text to register: the schema as written (defaults and docs survive), in the very text
 * the Python Open edX bus registers: openedx-events' json.dumps(schema, sort_keys=True), i.e.
 * keys sorted, ", " and ": " separators, non-ASCII escaped.  A Confluent registry compares
 * schemas parsed, so any text would get the bus's id there; Apicurio (by default) keys on the
 * text itself and would make every other spelling a new version with a new id. */
static char *dumps_like_python(const json_t *j) {
    /* Python's json.dumps defaults: ", " and ": " separators, non-ASCII escaped; jansson
     * writes those escapes' hex digits in upper case where Python writes lower case. */
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
    for (char *c = s; c && *c; c++) {
        if (*c != '\\' || !c[1])
            continue;
        if (*++c != 'u')
            continue; /* an escape of one letter, now skipped ("\\\\" among them) */
        for (int k = 0; k < 4 && c[1]; k++, c++)
            if (c[1] >= 'A' && c[1] <= 'F')
                c[1] = (char)(c[1] - 'A' + 'a');
    }
    return s;
}

static char *schema_text_for_post(const evbus__schema_doc_t *doc) {
    if (doc->json) {
        json_t *j = json_loads(doc->json, 0, NULL);
        char *s = j ? dumps_like_python(j) : NULL;
        json_decref(j);
        if (s)
            return s;
    }
    return doc->canonical ? evbus__strdup(doc->canonical) : NULL;
}

evbus_err_t evbus__registry_id_for(evbus__registry_t *reg, const char *subject,
                                   const evbus__schema_doc_t *doc, int32_t *idp, char *errstr,
                                   size_t errstr_size) {
    if (!reg || !subject || !*subject || !doc || !idp)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                           "schema registry: missing subject or schema");
    pthread_mutex_lock(&reg->lock);
    int32_t id = id_cached(reg, subject, doc->fingerprint);
    pthread_mutex_unlock(&reg->lock);
    if (id >= 0) {
        *idp = id;
        return EVBUS_OK;
    }

    evbus_err_t err = EVBUS_OK;
    evbus__buf_t path = EVBUS__BUF_INIT, resp = EVBUS__BUF_INIT;
    char *schema_text = schema_text_for_post(doc);
    char *body = NULL;
    json_t *req = NULL, *ans = NULL;
    if (!schema_text || evbus__buf_puts(&path, "/subjects/") != 0 ||
        put_escaped(&path, subject) != 0 || evbus__buf_puts(&path, "/versions") != 0 ||
        !(req = json_pack("{s:s}", "schema", schema_text)) ||
        !(body = json_dumps(req, JSON_COMPACT))) {
        err = evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "schema registry: out of memory");
        goto out;
    }
    err = http_call(reg, "POST", (const char *)path.data, body, &resp, NULL, errstr, errstr_size);
    if (err)
        goto out;
    ans = parse_object(&resp, "POST", (const char *)path.data, errstr, errstr_size);
    if (!ans) {
        err = EVBUS_ERR_REGISTRY;
        goto out;
    }
    json_t *jid = json_object_get(ans, "id");
    if (!json_is_integer(jid) || json_integer_value(jid) < 0 ||
        json_integer_value(jid) > INT32_MAX) {
        err = evbus__fail(EVBUS_ERR_REGISTRY, errstr, errstr_size,
                          "schema registry: POST %s: response has no valid \"id\"",
                          (const char *)path.data);
        goto out;
    }
    id = (int32_t)json_integer_value(jid);

    pthread_mutex_lock(&reg->lock);
    if (id_cached(reg, subject, doc->fingerprint) < 0) {
        if (reg->nids == reg->ids_cap) {
            size_t cap = reg->ids_cap ? reg->ids_cap * 2 : 8;
            reg_id_entry_t *n = realloc(reg->ids, cap * sizeof(*n));
            if (n) {
                reg->ids = n;
                reg->ids_cap = cap;
            }
        }
        /* A full cache only costs another request next time; the id is still good. */
        char *s = reg->nids < reg->ids_cap ? evbus__strdup(subject) : NULL;
        if (s)
            reg->ids[reg->nids++] = (reg_id_entry_t){s, doc->fingerprint, id};
    }
    pthread_mutex_unlock(&reg->lock);
    *idp = id;
out:
    json_decref(ans);
    json_decref(req);
    free(body);
    free(schema_text);
    evbus__buf_free(&path);
    evbus__buf_free(&resp);
    return err;
}

int evbus__registry_err_transient(evbus_err_t err) {
    return err == EVBUS_ERR_REGISTRY || err == EVBUS_ERR_TIMEOUT || err == EVBUS_ERR_TRANSPORT ||
           err == EVBUS_ERR_NOMEM;
}

/* ---- schemas for ids --------------------------------------------------------- */

static const evbus__schema_doc_t *doc_cached(const evbus__registry_t *reg, int32_t id) {
    for (size_t i = 0; i < reg->ndocs; i++)
        if (reg->docs[i].id == id)
            return reg->docs[i].doc;
    return NULL;
}

evbus_err_t evbus__registry_schema_by_id(evbus__registry_t *reg, int32_t id,
                                         const evbus__schema_doc_t **docp, char *errstr,
                                         size_t errstr_size) {
    if (!reg || !docp || id < 0)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                           "schema registry: invalid schema id %ld", (long)id);
    pthread_mutex_lock(&reg->lock);
    const evbus__schema_doc_t *hit = doc_cached(reg, id);
    pthread_mutex_unlock(&reg->lock);
    if (hit) {
        *docp = hit;
        return EVBUS_OK;
    }

    char path[64];
    snprintf(path, sizeof(path), "/schemas/ids/%ld", (long)id);
    evbus__buf_t resp = EVBUS__BUF_INIT;
    evbus__schema_doc_t *doc = NULL;
    json_t *ans = NULL;
    long status = 0;
    evbus_err_t err = http_call(reg, "GET", path, NULL, &resp, &status, errstr, errstr_size);
    /* 404 is the registry's answer that no schema has this id (error_code 40403): the message
     * can never be decoded.  Any other failure may pass (5xx, 429, auth being rotated). */
    if (err == EVBUS_ERR_REGISTRY && status == 404)
        err = EVBUS_ERR_SCHEMA;
    if (err)
        goto out;
    ans = parse_object(&resp, "GET", path, errstr, errstr_size);
    if (!ans) {
        err = EVBUS_ERR_REGISTRY;
        goto out;
    }
    json_t *js = json_object_get(ans, "schema");
    if (!json_is_string(js)) {
        err = evbus__fail(EVBUS_ERR_REGISTRY, errstr, errstr_size,
                          "schema registry: GET %s: response has no \"schema\" string", path);
        goto out;
    }
    const char *schema_type = json_string_value(json_object_get(ans, "schemaType"));
    if (schema_type && strcmp(schema_type, "AVRO") != 0) {
        err = evbus__fail(EVBUS_ERR_SCHEMA, errstr, errstr_size,
                          "schema registry: schema %ld is %s, not Avro", (long)id, schema_type);
        goto out;
    }
    char perr[256];
    doc = evbus__schema_parse(json_string_value(js), json_string_length(js), perr, sizeof(perr));
    if (!doc) {
        err = evbus__fail(EVBUS_ERR_SCHEMA, errstr, errstr_size,
                          "schema registry: schema %ld is not a usable Avro schema: %s", (long)id,
                          perr);
        goto out;
    }

    pthread_mutex_lock(&reg->lock);
    hit = doc_cached(reg, id);
    if (!hit && reg->ndocs == reg->docs_cap) {
        size_t cap = reg->docs_cap ? reg->docs_cap * 2 : 8;
        reg_doc_entry_t *n = realloc(reg->docs, cap * sizeof(*n));
        if (n) {
            reg->docs = n;
            reg->docs_cap = cap;
        }
    }
    if (!hit && reg->ndocs < reg->docs_cap) {
        reg->docs[reg->ndocs++] = (reg_doc_entry_t){id, doc};
        hit = doc;
        doc = NULL;
    }
    pthread_mutex_unlock(&reg->lock);
    /* The doc must outlive this call, so unlike an id it cannot be handed out uncached. */
    if (!hit)
        err = evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "schema registry: out of memory");
    else
        *docp = hit;
out:
    evbus__schema_doc_destroy(doc); /* another thread's copy won, or an error */
    json_decref(ans);
    evbus__buf_free(&resp);
    return err;
}

/* ---- the bus's key schema text ------------------------------------------------ */

/* The field named seg (seglen bytes) of a record object, or NULL. */
static json_t *field_named(json_t *record, const char *seg, size_t seglen) {
    json_t *fields = json_object_get(record, "fields"), *f;
    size_t i;
    json_array_foreach(fields, i, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        if (name && strlen(name) == seglen && memcmp(name, seg, seglen) == 0)
            return json_is_object(f) ? f : NULL;
    }
    return NULL;
}

char *evbus__registry_bus_key_text(const char *value_json, const char *key_field) {
    if (!value_json || !key_field || !*key_field)
        return NULL;
    json_t *root = json_loads(value_json, 0, NULL);
    json_t *sub = root;
    for (const char *seg = key_field; sub;) {
        const char *dot = strchr(seg, '.');
        size_t seglen = dot ? (size_t)(dot - seg) : strlen(seg);
        /* As descend_avro_schema: a field's record is its "type"; a union or a named-type
         * reference there stops the bus as well (it then sends nothing). */
        if (json_is_object(sub) && !json_object_get(sub, "fields"))
            sub = json_object_get(sub, "type");
        sub = json_is_object(sub) ? field_named(sub, seg, seglen) : NULL;
        if (!dot)
            break;
        seg = dot + 1;
    }
    char *text = sub ? dumps_like_python(sub) : NULL;
    json_decref(root);
    return text;
}

/* ---- subject names ----------------------------------------------------------- */

static char *join_subject(const char *full_topic, const char *name, const char *suffix) {
    evbus__buf_t b = EVBUS__BUF_INIT;
    if (evbus__buf_puts(&b, full_topic) != 0 || evbus__buf_putc(&b, '-') != 0 ||
        evbus__buf_puts(&b, name) != 0 || (suffix && evbus__buf_puts(&b, suffix) != 0)) {
        evbus__buf_free(&b);
        return NULL;
    }
    return evbus__buf_steal(&b);
}

char *evbus__registry_value_subject(const char *full_topic, const char *event_type) {
    if (!full_topic || !event_type)
        return NULL;
    return join_subject(full_topic, event_type, ".CloudEvent");
}

char *evbus__registry_key_subject(const char *full_topic, const evbus__schema_t *key_schema) {
    if (!full_topic || !key_schema)
        return NULL;
    /* Named types go by their fullname; primitives by their type name ("string"). */
    const char *name = key_schema->fullname ? key_schema->fullname
                                            : evbus__avro_kind_name(key_schema->kind);
    return name ? join_subject(full_topic, name, NULL) : NULL;
}
