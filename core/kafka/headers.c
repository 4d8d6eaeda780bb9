#include "headers.h"

#include <ctype.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>

#include "conf.h"


/*
 * Version-1 (time-based) UUIDs, like Python's uuid.uuid1() that the Open edX bus uses for
 * ce_id.  Written here rather than taken from libuuid because uuid_generate_time*() asks the
 * uuidd daemon on every call and, without one, takes a file lock: that was 40% of the send
 * path.  RFC 4122: 60-bit count of 100 ns intervals since 1582-10-15, a 14-bit clock
 * sequence and a 48-bit node.  The node is random with the multicast bit set (RFC 4122
 * section 4.5: never a real MAC address), drawn at start and again after fork() along with
 * the clock sequence, so two processes never share a stream.  Uniqueness within the process
 * comes from the timestamp, which is made strictly increasing with one atomic.
 */
static _Atomic uint64_t uuid_last_ts;
static uint16_t uuid_clock_seq;
static uint8_t uuid_node[6];
static pthread_once_t uuid_once = PTHREAD_ONCE_INIT;

static void uuid_reseed(void) {
    uint8_t r[8];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        /* no entropy source: fall back on time and pid, still unique per process */
        uint64_t x = (uint64_t)evbus__now_us() * 6364136223846793005ULL ^ (uint64_t)getpid();
        memcpy(r, &x, sizeof(r));
    }
    memcpy(uuid_node, r, 6);
    uuid_node[0] |= 0x01;
    uuid_clock_seq = (uint16_t)((r[6] << 8 | r[7]) & 0x3fff);
}

static void uuid_init(void) {
    uuid_reseed();
    pthread_atfork(NULL, NULL, uuid_reseed);
}

void evbus__uuid1(char out[EVBUS__UUID_LEN]) {
    static const char hex[] = "0123456789abcdef";
    struct timespec ts;
    pthread_once(&uuid_once, uuid_init);
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 10000000u + (uint64_t)ts.tv_nsec / 100u +
                   0x01B21DD213814000ULL; /* 1582-10-15 to 1970-01-01 in 100 ns */
    uint64_t last = atomic_load_explicit(&uuid_last_ts, memory_order_relaxed), t;
    do {
        t = now > last ? now : last + 1;
    } while (!atomic_compare_exchange_weak(&uuid_last_ts, &last, t));
    uint8_t b[16];
    uint32_t time_low = (uint32_t)t;
    uint16_t time_mid = (uint16_t)(t >> 32), time_hi = (uint16_t)(((t >> 48) & 0x0fff) | 0x1000);
    b[0] = (uint8_t)(time_low >> 24); b[1] = (uint8_t)(time_low >> 16);
    b[2] = (uint8_t)(time_low >> 8); b[3] = (uint8_t)time_low;
    b[4] = (uint8_t)(time_mid >> 8); b[5] = (uint8_t)time_mid;
    b[6] = (uint8_t)(time_hi >> 8); b[7] = (uint8_t)time_hi;
    b[8] = (uint8_t)(((uuid_clock_seq >> 8) & 0x3f) | 0x80); /* RFC 4122 variant */
    b[9] = (uint8_t)uuid_clock_seq;
    memcpy(b + 10, uuid_node, 6);
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = 0;
}

static void put2(char *p, int v) {
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

void evbus__time_now_iso(char out[EVBUS__TIME_LEN]) {
    /* "YYYY-MM-DDThh:mm:ss." changes once a second: format it then, per thread. */
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[21];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        int y = (tm.tm_year + 1900) % 10000;
        put2(cached, y / 100);
        put2(cached + 2, y % 100);
        cached[4] = '-';
        put2(cached + 5, tm.tm_mon + 1);
        cached[7] = '-';
        put2(cached + 8, tm.tm_mday);
        cached[10] = 'T';
        put2(cached + 11, tm.tm_hour);
        cached[13] = ':';
        put2(cached + 14, tm.tm_min);
        cached[16] = ':';
        put2(cached + 17, tm.tm_sec);
        cached[19] = '.';
        cached_sec = ts.tv_sec;
    }
    memcpy(out, cached, 20);
    long us = ts.tv_nsec / 1000;
    for (int i = 25; i >= 20; i--, us /= 10)
        out[i] = (char)('0' + us % 10);
    memcpy(out + 26, "+00:00", 7);
}

static int is_uuid(const char *s) {
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
    }
    return s[36] == 0;
}

/* n digits at s, within [lo, hi]. */
static int digits(const char *s, int n, int lo, int hi) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    return v >= lo && v <= hi;
}

static int is_utc_iso8601(const char *s) {
    if (strlen(s) < 25 || !digits(s, 4, 1, 9999) || s[4] != '-' || !digits(s + 5, 2, 1, 12) ||
        s[7] != '-' || !digits(s + 8, 2, 1, 31) || s[10] != 'T' || !digits(s + 11, 2, 0, 23) ||
        s[13] != ':' || !digits(s + 14, 2, 0, 59) || s[16] != ':' || !digits(s + 17, 2, 0, 59))
        return 0;
    const char *p = s + 19;
    if (*p == '.') {
        int n = 0;
        while (isdigit((unsigned char)p[1 + n]))
            n++;
        if (n < 1 || n > 6)
            return 0;
        p += 1 + n;
    }
    return strcmp(p, "+00:00") == 0;
}

evbus_err_t evbus__header_values_check(const evbus__header_values_t *v, char *errstr,
                                       size_t errstr_size) {
    if (v->id && !is_uuid(v->id))
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                           "id (ce_id) \"%.64s\" is not a UUID, expected "
                           "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx in hex digits", v->id);
    if (v->time && !is_utc_iso8601(v->time))
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                           "time (ce_time) \"%.64s\" is not UTC ISO 8601, expected "
                           "YYYY-MM-DDThh:mm:ss[.ffffff]+00:00", v->time);
    if (v->minorversion) {
        const char *m = v->minorversion;
        size_t n = strspn(m, "0123456789");
        if (n == 0 || n > 9 || m[n])
            return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                               "minorversion (ce_minorversion) \"%.64s\" is not a "
                               "non-negative integer", m);
    }
    if (v->source && !*v->source)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                           "source (ce_source) is empty");
    return EVBUS_OK;
}

static const char *default_hostname(void) {
    static char host[256];
    static int done;
    /* Benign race: every thread writes the same value. */
    if (!done) {
        if (gethostname(host, sizeof(host) - 1) != 0)
            strcpy(host, "unknown");
        host[sizeof(host) - 1] = 0;
        done = 1;
    }
    return host;
}

rd_kafka_headers_t *evbus__headers_build(const evbus__header_values_t *v, const char *hostname) {
    char id[EVBUS__UUID_LEN], tm[EVBUS__TIME_LEN];
    if (!v || !v->type)
        return NULL;
    const char *ce_id = v->id;
    if (!ce_id) {
        evbus__uuid1(id);
        ce_id = id;
    }
    char *own_source = v->source ? NULL : evbus__conf_source(NULL); /* the default */
    if (!v->source && !own_source)
        return NULL;
    const char *ce_time = v->time;
    if (!ce_time) {
        evbus__time_now_iso(tm);
        ce_time = tm;
    }
    struct {
        const char *name, *value;
    } h[] = {
        {EVBUS__H_TYPE, v->type},
        {EVBUS__H_ID, ce_id},
        {EVBUS__H_SOURCE, v->source ? v->source : own_source},
        {EVBUS__H_SPECVERSION, "1.0"},
        {EVBUS__H_TIME, ce_time},
        {EVBUS__H_MINORVERSION, v->minorversion ? v->minorversion : "0"},
        {EVBUS__H_SOURCEHOST, hostname ? hostname : default_hostname()},
        {EVBUS__H_SOURCELIB, v->sourcelib ? v->sourcelib : EVBUS_VERSION_STR},
        {EVBUS__H_CONTENT_TYPE, EVBUS__AVRO_CONTENT_TYPE},
        {EVBUS__H_DATACONTENTTYPE, EVBUS__AVRO_CONTENT_TYPE},
    };
    size_t n = sizeof(h) / sizeof(h[0]);
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(n + 2); /* + the trace context */
    for (size_t i = 0; hdrs && i < n; i++) {
        if (rd_kafka_header_add(hdrs, h[i].name, -1, h[i].value, -1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_headers_destroy(hdrs);
            hdrs = NULL;
        }
    }
    if (hdrs && ((v->traceparent &&
                  rd_kafka_header_add(hdrs, EVBUS__H_TRACEPARENT, -1, v->traceparent, -1)) ||
                 (v->tracestate &&
                  rd_kafka_header_add(hdrs, EVBUS__H_TRACESTATE, -1, v->tracestate, -1)))) {
        rd_kafka_headers_destroy(hdrs);
        hdrs = NULL;
    }
    free(own_source);
    return hdrs;
}

static int hex_run(const char *s, size_t n) {
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return -1;
        nonzero |= s[i] != '0';
    }
    return nonzero;
}

int evbus__trace_check(const char *traceparent, const char *tracestate, char *errstr,
                       size_t errstr_size) {
    if (traceparent) {
        /* version-traceid-parentid-flags; a later version may append "-..." fields. */
        size_t len = strlen(traceparent);
        const char *t = traceparent;
        if (len < 55 || t[2] != '-' || t[35] != '-' || t[52] != '-' || hex_run(t, 2) < 0 ||
            !strncmp(t, "ff", 2) || hex_run(t + 3, 32) != 1 || hex_run(t + 36, 16) != 1 ||
            hex_run(t + 53, 2) < 0 || (len > 55 && (!strncmp(t, "00", 2) || t[55] != '-'))) {
            evbus__seterr(errstr, errstr_size,
                          "traceparent: expected W3C \"00-<32 hex>-<16 hex>-<2 hex>\"");
            return -1;
        }
    }
    if (tracestate) {
        size_t len = strlen(tracestate);
        int ok = len <= 512;
        for (size_t i = 0; ok && i < len; i++)
            ok = tracestate[i] >= 0x20 && tracestate[i] < 0x7f;
        if (!ok) {
            evbus__seterr(errstr, errstr_size,
                          "tracestate: expected printable ASCII, at most 512 characters");
            return -1;
        }
    }
    return 0;
}

/* Exactly one non-empty occurrence of name. */
static int one_header(const rd_kafka_headers_t *hdrs, const char *name, const char **val,
                      size_t *len, char *errstr, size_t errstr_size) {
    const void *v1 = NULL, *v2 = NULL;
    size_t l1 = 0, l2 = 0;
    if (!hdrs || rd_kafka_header_get(hdrs, 0, name, &v1, &l1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        evbus__seterr(errstr, errstr_size, "missing %s header", name);
        return -1;
    }
    if (rd_kafka_header_get(hdrs, 1, name, &v2, &l2) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        evbus__seterr(errstr, errstr_size, "duplicated %s header", name);
        return -1;
    }
    if (!v1 || l1 == 0) {
        evbus__seterr(errstr, errstr_size, "empty %s header", name);
        return -1;
    }
    *val = v1;
    *len = l1;
    return 0;
}

int evbus__headers_check(const rd_kafka_headers_t *hdrs, const char **type, size_t *type_len,
                         const char **id, size_t *id_len, char *errstr, size_t errstr_size) {
    if (one_header(hdrs, EVBUS__H_TYPE, type, type_len, errstr, errstr_size) != 0)
        return -1;
    return one_header(hdrs, EVBUS__H_ID, id, id_len, errstr, errstr_size);
}
