/*
 * Pieces the encoder (codec.c) and decoder (codec_decode.c) share: the field path kept
 * for error messages, and a "C" locale so numbers are read and written with '.'
 * whatever the application's locale is.
 */
#ifndef EVBUS_CORE_CODEC_INTERNAL_H
#define EVBUS_CORE_CODEC_INTERNAL_H

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "json_scan.h"

#define EVBUS__CODEC_MAX_DEPTH EVBUS__JSON_MAX_DEPTH

/* SEG_KEY: a map key as JSON text, escapes included (the encoder's input); SEG_DATA_KEY: a
 * map key's bytes (decoded data), escaped when the path is formatted. */
typedef enum { SEG_FIELD, SEG_INDEX, SEG_KEY, SEG_DATA_KEY } evbus__seg_kind_t;

typedef struct evbus__seg_s {
    evbus__seg_kind_t kind;
    const char *s; /* field name (NUL-terminated) or map key (n bytes) */
    size_t n;      /* key length or array index (EVBUS__PATH_ANY_INDEX: "[]", any item) */
} evbus__seg_t;

#define EVBUS__PATH_ANY_INDEX ((size_t)-1)

/* The path is only formatted when an error happens, so pushing is two stores. */
typedef struct evbus__path_s {
    int depth;
    evbus__seg_t segs[EVBUS__CODEC_MAX_DEPTH + 2];
} evbus__path_t;

static inline void evbus__path_push(evbus__path_t *p, evbus__seg_kind_t k, const char *s,
                                    size_t n) {
    if (p->depth < EVBUS__CODEC_MAX_DEPTH + 2) {
        p->segs[p->depth].kind = k;
        p->segs[p->depth].s = s;
        p->segs[p->depth].n = n;
    }
    p->depth++;
}

static inline void evbus__path_pop(evbus__path_t *p) { p->depth--; }

/** Write "a.b[2].c[\"k\"]" into buf (always NUL-terminated); returns the length. */
size_t evbus__path_format(const evbus__path_t *p, char *buf, size_t size);

/** The "C" locale, or (locale_t)0 when it could not be created. */
locale_t evbus__c_locale(void);

#endif
