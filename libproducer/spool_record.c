/*
 * The spool's records: the CRC-32C that guards them and the event payload's layout.
 *
 * Event payload (little-endian): i64 created_us, str event_type, str ce_id, u16 nhdrs,
 * nhdrs x (str name, bytes value), u32 nmsgs, nmsgs x (str topic, bytes key, bytes value).
 * str/bytes = u32 length, the bytes, a NUL (so names decode as C strings in place).  A value
 * length of 0xFFFFFFFF means "the previous message's value" (one encoding serves every topic
 * without a registry).
 */
#include <stdlib.h>
#include <string.h>

#include "spool.h"

/* ---- CRC-32C (Castagnoli): SSE4.2's instruction when the CPU has it, a table otherwise ---- */

static uint32_t crc_table[8][256];
static int crc_ready;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xFF];
    __atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

static uint32_t crc_sw(uint32_t crc, const unsigned char *p, size_t len) {
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        v ^= crc;
        crc = crc_table[7][v & 0xFF] ^ crc_table[6][(v >> 8) & 0xFF] ^
              crc_table[5][(v >> 16) & 0xFF] ^ crc_table[4][(v >> 24) & 0xFF] ^
              crc_table[3][(v >> 32) & 0xFF] ^ crc_table[2][(v >> 40) & 0xFF] ^
              crc_table[1][(v >> 48) & 0xFF] ^ crc_table[0][v >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xFF];
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p,
                                                         size_t len) {
    uint64_t c = crc;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t evbus__crc32c(uint32_t crc, const void *data, size_t len) {
    crc = ~crc;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2"))
        return ~crc_hw(crc, data, len);
#endif
    if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
        crc_init(); /* idempotent: concurrent first callers compute the same table */
    return ~crc_sw(crc, data, len);
}

/* ---- encoding ---- */

int evbus__sbuf_put(evbus__sbuf_t *b, const void *d, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *nd = realloc(b->data, cap);
        if (!nd)
            return -1;
        b->data = nd;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, d, n);
    b->len += n;
    return 0;
}

static int put_u32(evbus__sbuf_t *b, uint32_t v) {
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    return evbus__sbuf_put(b, x, 4);
}

int evbus__sbuf_str(evbus__sbuf_t *b, const void *d, size_t n) {
    if (n >= 0xFFFFFFFFu)
        return -1;
    return put_u32(b, (uint32_t)n) || evbus__sbuf_put(b, d, n) || evbus__sbuf_put(b, "", 1) ? -1 : 0;
}

void evbus__sbuf_free(evbus__sbuf_t *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int evbus__spool_enc_begin(evbus__sbuf_t *b, int64_t created_us, const char *event_type,
                           const char *id, size_t nhdrs) {
    b->len = 0;
    uint64_t c = (uint64_t)created_us;
    unsigned char x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (unsigned char)(c >> (8 * i));
    unsigned char n[2] = {(unsigned char)nhdrs, (unsigned char)(nhdrs >> 8)};
    if (nhdrs > EVBUS__SPOOL_MAX_HDRS)
        return -1;
    return evbus__sbuf_put(b, x, 8) || evbus__sbuf_str(b, event_type, strlen(event_type)) ||
                   evbus__sbuf_str(b, id, strlen(id)) || evbus__sbuf_put(b, n, 2)
               ? -1
               : 0;
}

int evbus__spool_enc_hdr(evbus__sbuf_t *b, const char *name, const void *val, size_t len) {
    return evbus__sbuf_str(b, name, strlen(name)) || evbus__sbuf_str(b, val ? val : "", len) ? -1 : 0;
}

int evbus__spool_enc_nmsgs(evbus__sbuf_t *b, size_t n) {
    return n >= 0xFFFFFFFFu ? -1 : put_u32(b, (uint32_t)n);
}

int evbus__spool_enc_msg(evbus__sbuf_t *b, const char *topic, const void *key, size_t klen,
                         const void *val, size_t vlen, int same_value_as_previous) {
    if (evbus__sbuf_str(b, topic, strlen(topic)) || evbus__sbuf_str(b, key, klen))
        return -1;
    if (same_value_as_previous)
        return put_u32(b, 0xFFFFFFFFu);
    return evbus__sbuf_str(b, val, vlen);
}

/* ---- decoding ---- */

typedef struct rd_s {
    const unsigned char *p, *end;
} rd_t;

static int get_u32(rd_t *r, uint32_t *v) {
    if (r->end - r->p < 4)
        return -1;
    *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
         (uint32_t)r->p[3] << 24;
    r->p += 4;
    return 0;
}

/* A str: its bytes (NUL-terminated in place) and length; 1 for the "same value" mark. */
static int get_str(rd_t *r, const void **d, size_t *n, int allow_same) {
    uint32_t l;
    if (get_u32(r, &l) != 0)
        return -1;
    if (l == 0xFFFFFFFFu)
        return allow_same ? 1 : -1;
    if ((size_t)(r->end - r->p) < (size_t)l + 1 || r->p[l] != 0)
        return -1;
    *d = r->p;
    *n = l;
    r->p += (size_t)l + 1;
    return 0;
}

int evbus__spool_dec(const unsigned char *payload, size_t len, evbus__spool_event_t *ev) {
    memset(ev, 0, sizeof(*ev));
    rd_t r = {payload, payload + len};
    if (len < 8)
        return -1;
    uint64_t c = 0;
    for (int i = 0; i < 8; i++)
        c |= (uint64_t)payload[i] << (8 * i);
    ev->created_us = (int64_t)c;
    r.p += 8;
    const void *d;
    size_t n;
    if (get_str(&r, &d, &n, 0) != 0)
        return -1;
    ev->event_type = d;
    if (get_str(&r, &d, &n, 0) != 0)
        return -1;
    ev->id = d;
    if (r.end - r.p < 2)
        return -1;
    ev->nhdrs = (size_t)r.p[0] | (size_t)r.p[1] << 8;
    r.p += 2;
    if (ev->nhdrs > EVBUS__SPOOL_MAX_HDRS)
        return -1;
    for (size_t i = 0; i < ev->nhdrs; i++) {
        if (get_str(&r, &d, &n, 0) != 0)
            return -1;
        ev->hname[i] = d;
        if (get_str(&r, &ev->hval[i], &ev->hlen[i], 0) != 0)
            return -1;
    }
    uint32_t nm;
    if (get_u32(&r, &nm) != 0 || nm == 0 || nm > (size_t)(r.end - r.p))
        return -1;
    ev->msgs = calloc(nm, sizeof(*ev->msgs));
    if (!ev->msgs)
        return -1;
    ev->nmsgs = nm;
    for (size_t i = 0; i < nm; i++) {
        evbus__spool_msg_t *m = &ev->msgs[i];
        if (get_str(&r, &d, &n, 0) != 0)
            goto bad;
        m->topic = d;
        if (get_str(&r, &m->key, &m->klen, 0) != 0)
            goto bad;
        int s = get_str(&r, &m->val, &m->vlen, i > 0);
        if (s < 0)
            goto bad;
        if (s == 1) {
            m->val = ev->msgs[i - 1].val;
            m->vlen = ev->msgs[i - 1].vlen;
        }
    }
    if (r.p != r.end)
        goto bad;
    return 0;
bad:
    evbus__spool_event_clear(ev);
    return -1;
}

void evbus__spool_event_clear(evbus__spool_event_t *ev) {
    free(ev->msgs);
    ev->msgs = NULL;
    ev->nmsgs = 0;
}
