/*
 * The public transcoder (evbus_schema_encode_json / _decode_json, evbus/schema.h) over the
 * codec.  The codec appends to a growable buffer; callers of the public API give a plain
 * one, so each thread keeps a scratch buffer (freed when the thread ends) and the result is
 * copied out: one memcpy, and no allocation once the scratch has grown to the largest event.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "evbus/schema.h"
#include "framing.h"
#include "schema.h"

static pthread_key_t g_scratch_key;
static pthread_once_t g_scratch_once = PTHREAD_ONCE_INIT;
static int g_scratch_ok;

static void scratch_free(void *p) {
    evbus__buf_t *b = p;
    evbus__buf_free(b);
    free(b);
}

static void scratch_init(void) { g_scratch_ok = pthread_key_create(&g_scratch_key, scratch_free) == 0; }

/* This thread's scratch buffer, emptied; NULL when out of memory. */
static evbus__buf_t *scratch(void) {
    pthread_once(&g_scratch_once, scratch_init);
    if (!g_scratch_ok)
        return NULL;
    evbus__buf_t *b = pthread_getspecific(g_scratch_key);
    if (!b) {
        if (!(b = calloc(1, sizeof(*b))))
            return NULL;
        if (pthread_setspecific(g_scratch_key, b) != 0) {
            free(b);
            return NULL;
        }
    }
    evbus__buf_reset(b);
    return b;
}

/* A public schema is a store entry (see schema_api.c). */
#define DOC(s) (((const evbus__schema_entry_t *)(const void *)(s))->doc)

evbus_err_t evbus_schema_encode_json(const evbus_schema_t *schema, const char *json, size_t len,
                                     int flags, void *out, size_t out_size, size_t *lenp,
                                     char *errstr, size_t errstr_size) {
    if (!schema || !json || (!out && out_size))
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size, "no schema, JSON or buffer");
    evbus__buf_t *b = scratch();
    if (!b)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    const evbus__schema_doc_t *doc = DOC(schema);
    if ((flags & EVBUS_ENCODE_SINGLE_OBJECT) && evbus__framing_write_single(b, doc->fingerprint) != 0)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    evbus_err_t err = evbus__avro_encode_json(doc->root, json, len, b, errstr, errstr_size);
    if (err != EVBUS_OK)
        return err;
    if (lenp)
        *lenp = b->len;
    if (b->len > out_size)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                           "output buffer of %zu bytes, the encoding needs %zu", out_size, b->len);
    if (b->len)
        memcpy(out, b->data, b->len);
    return EVBUS_OK;
}

evbus_err_t evbus_schema_decode_json(const evbus_schema_t *schema, const void *data, size_t len,
                                     char *out, size_t out_size, size_t *lenp, char *errstr,
                                     size_t errstr_size) {
    if (!schema || (!data && len) || !out || !out_size)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size, "no schema, data or buffer");
    evbus__buf_t *b = scratch();
    if (!b)
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    evbus_err_t err = evbus__avro_decode_json(DOC(schema)->root, data, len, b, errstr, errstr_size);
    if (err != EVBUS_OK)
        return err;
    if (lenp)
        *lenp = b->len;
    if (b->len >= out_size)
        return evbus__fail(EVBUS_ERR_INVALID_ARG, errstr, errstr_size,
                           "output buffer of %zu bytes, the JSON needs %zu", out_size, b->len + 1);
    memcpy(out, b->data, b->len);
    out[b->len] = 0;
    return EVBUS_OK;
}
