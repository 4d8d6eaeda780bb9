#include "headers.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <uuid/uuid.h>

void evbus__uuid1(char out[EVBUS__UUID_LEN]) {
    uuid_t u;
    /* Time-based like Python's uuid.uuid1(), which the Open edX bus uses for ce_id.
     * The _safe variant's "not synchronised" return only means another process may have
     * used the same clock tick; the clock-seq still makes the value unique here. */
    (void)uuid_generate_time_safe(u);
    uuid_unparse_lower(u, out);
}

void evbus__time_now_iso(char out[EVBUS__TIME_LEN]) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char b[64]; /* roomier than needed so the compiler can see nothing is cut */
    snprintf(b, sizeof(b), "%04d-%02d-%02dT%02d:%02d:%02d.%06ld+00:00", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000));
    memcpy(out, b, EVBUS__TIME_LEN - 1);
    out[EVBUS__TIME_LEN - 1] = 0;
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
        {EVBUS__H_SOURCE, v->source ? v->source : "openedx/evbus/web"},
        {EVBUS__H_SPECVERSION, "1.0"},
        {EVBUS__H_TIME, ce_time},
        {EVBUS__H_MINORVERSION, v->minorversion ? v->minorversion : "0"},
        {EVBUS__H_SOURCEHOST, hostname ? hostname : default_hostname()},
        {EVBUS__H_SOURCELIB, EVBUS_VERSION_STR},
        {EVBUS__H_CONTENT_TYPE, EVBUS__AVRO_CONTENT_TYPE},
        {EVBUS__H_DATACONTENTTYPE, EVBUS__AVRO_CONTENT_TYPE},
    };
    size_t n = sizeof(h) / sizeof(h[0]);
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(n);
    if (!hdrs)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (rd_kafka_header_add(hdrs, h[i].name, -1, h[i].value, -1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_headers_destroy(hdrs);
            return NULL;
        }
    }
    return hdrs;
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
