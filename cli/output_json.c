/* `--format json`: one object per line, the event data embedded as decoded (escaping only what
 * a terminal would act on, cli/safe_text.c). */
#include <inttypes.h>
#include <string.h>

#include "text_scan.h"
#include "output.h"

int evbus_cli_format_parse(const char *s) {
    if (!strcmp(s, "json"))
        return EVBUS_CLI_FMT_JSON;
    if (!strcmp(s, "pretty"))
        return EVBUS_CLI_FMT_PRETTY;
    if (!strcmp(s, "raw"))
        return EVBUS_CLI_FMT_RAW;
    return -1;
}

/* A string literal, its length known at compile time. */
#define PUT_LIT(b, lit) evbus_cli_buf_append((b), (lit), sizeof(lit) - 1)

static int put_str_or_null(evbus_cli_buf_t *b, const char *s) {
    return s ? evbus_cli_json_string(b, s, strlen(s)) : PUT_LIT(b, "null");
}

const char *evbus_cli_event_problem(const evbus_event_t *ev) {
    const char *problem = NULL;
    evbus_event_problem(ev, &problem);
    if (!evbus_event_json(ev, NULL))
        return evbus_event_error(ev); /* the data is what the reader misses most */
    return problem;
}

const char *evbus_cli_event_type(const evbus_event_t *ev) {
    /* An unusable message (e.g. no ce_id) still shows the ce_type it has. */
    return evbus_event_type(ev) ? evbus_event_type(ev) : evbus_event_header(ev, "ce_type");
}

const char *evbus_cli_event_id(const evbus_event_t *ev) {
    return evbus_event_id(ev) ? evbus_event_id(ev) : evbus_event_header(ev, "ce_id");
}

/* A cheap fingerprint of a header name, so duplicates are found comparing integers. */
static uint32_t name_key(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Headers as an object; a name that occurs more than once gets an array of its values.
 * Names are fetched and fingerprinted once, so the duplicate search compares integers and
 * only a matching fingerprint costs a strcmp. */
static int put_headers(evbus_cli_buf_t *b, const evbus_event_t *ev) {
    enum { NH = 64 };
    uint32_t keys[NH];
    const char *names[NH];
    size_t n = evbus_event_header_count(ev);
    size_t nk = n < NH ? n : NH;
    int r = evbus_cli_buf_putc(b, '{');
    int firstout = 1;
    int maybe_dup = n > NH;
    for (size_t i = 0; i < nk; i++) {
        evbus_event_header_at(ev, i, &names[i], NULL, NULL);
        keys[i] = name_key(names[i]);
        for (size_t j = 0; j < i; j++)
            maybe_dup |= keys[j] == keys[i];
    }
    if (!maybe_dup) { /* no two fingerprints alike: every name is there once */
        for (size_t i = 0; i < n; i++) {
            const char *v;
            size_t vl;
            evbus_event_header_at(ev, i, NULL, &v, &vl);
            if (i)
                r |= evbus_cli_buf_putc(b, ',');
            r |= evbus_cli_json_string(b, names[i], strlen(names[i]));
            r |= evbus_cli_buf_putc(b, ':');
            r |= v ? evbus_cli_json_string(b, v, vl) : PUT_LIT(b, "null");
        }
        return r | evbus_cli_buf_putc(b, '}');
    }
    for (size_t i = 0; i < n; i++) {
        const char *name_i, *v;
        size_t vl;
        if (i < NH)
            name_i = names[i];
        else
            evbus_event_header_at(ev, i, &name_i, NULL, NULL);
        size_t dup = 0, seen = 0;
        for (size_t j = 0; j < n; j++) {
            const char *name_j;
            if (j == i) {
                dup++;
                continue;
            }
            if (i < NH && j < NH && keys[i] != keys[j])
                continue;
            if (j < NH)
                name_j = names[j];
            else
                evbus_event_header_at(ev, j, &name_j, NULL, NULL);
            if (!strcmp(name_i, name_j)) {
                dup++;
                seen += j < i;
            }
        }
        if (seen)
            continue;
        if (!firstout)
            r |= evbus_cli_buf_putc(b, ',');
        firstout = 0;
        r |= evbus_cli_json_string(b, name_i, strlen(name_i));
        r |= evbus_cli_buf_putc(b, ':');
        if (dup == 1) { /* the usual case: the name once */
            evbus_event_header_at(ev, i, NULL, &v, &vl);
            r |= v ? evbus_cli_json_string(b, v, vl) : PUT_LIT(b, "null");
            continue;
        }
        r |= evbus_cli_buf_putc(b, '[');
        for (size_t j = i, k = 0; j < n; j++) {
            const char *name_j;
            if (i < NH && j < NH && keys[i] != keys[j])
                continue;
            evbus_event_header_at(ev, j, &name_j, &v, &vl);
            if (strcmp(name_i, name_j))
                continue;
            if (k++)
                r |= evbus_cli_buf_putc(b, ',');
            r |= v ? evbus_cli_json_string(b, v, vl) : PUT_LIT(b, "null");
        }
        r |= evbus_cli_buf_putc(b, ']');
    }
    r |= evbus_cli_buf_putc(b, '}');
    return r;
}

/* Decimal text of v: printf's machinery cost more than the rest of the envelope. */
static int put_i64(evbus_cli_buf_t *b, int64_t v) {
    char tmp[24];
    char *p = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return evbus_cli_buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

int evbus_cli_out_json(evbus_cli_buf_t *b, const evbus_event_t *ev) {
    size_t dlen = 0;
    const char *data = evbus_event_json(ev, &dlen);
    const char *problem = evbus_cli_event_problem(ev);
    int r = PUT_LIT(b, "{\"topic\":");
    r |= put_str_or_null(b, evbus_event_topic(ev));
    r |= PUT_LIT(b, ",\"partition\":");
    r |= put_i64(b, evbus_event_partition(ev));
    r |= PUT_LIT(b, ",\"offset\":");
    r |= put_i64(b, evbus_event_offset(ev));
    r |= PUT_LIT(b, ",\"timestamp\":");
    int64_t ts = evbus_event_timestamp(ev);
    r |= ts >= 0 ? put_i64(b, ts) : PUT_LIT(b, "null");
    r |= PUT_LIT(b, ",\"key\":");
    r |= put_str_or_null(b, evbus_event_key(ev));
    r |= PUT_LIT(b, ",\"headers\":");
    r |= put_headers(b, ev);
    r |= PUT_LIT(b, ",\"type\":");
    r |= put_str_or_null(b, evbus_cli_event_type(ev));
    r |= PUT_LIT(b, ",\"id\":");
    r |= put_str_or_null(b, evbus_cli_event_id(ev));
    if (data) {
        r |= PUT_LIT(b, ",\"data\":");
        r |= evbus_cli_safe_json_text(b, data, dlen);
    }
    if (problem) {
        r |= PUT_LIT(b, ",\"error\":");
        r |= evbus_cli_json_string(b, problem, strlen(problem));
    }
    r |= PUT_LIT(b, "}\n");
    return r ? -1 : 0;
}
