/*
 * Internal helpers shared by every part of evbus: error strings and a growable
 * byte buffer.  Internal names use the evbus__ prefix and carry no ABI promise.
 */
#ifndef EVBUS_CORE_COMMON_H
#define EVBUS_CORE_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "evbus/evbus.h"

#if defined(__GNUC__)
#define EVBUS__PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define EVBUS__PRINTF(fmt, args)
#endif

/** printf into errstr when it is not NULL and has room; always NUL-terminates. */
void evbus__seterr(char *errstr, size_t errstr_size, const char *fmt, ...) EVBUS__PRINTF(3, 4);
/** Like evbus__seterr() but returns err, for `return evbus__fail(...)`. */
evbus_err_t evbus__fail(evbus_err_t err, char *errstr, size_t errstr_size, const char *fmt, ...)
    EVBUS__PRINTF(4, 5);

/*
 * Growable byte buffer.  Reused across events on hot paths so that steady state
 * does no allocation: reset keeps the capacity.  data is always NUL-terminated
 * when len < cap (append keeps one spare byte) so JSON output can be used as text.
 */
typedef struct evbus__buf_s {
    unsigned char *data;
    size_t len;
    size_t cap;
    int fixed; /* data is the caller's memory (evbus_text_escape): never grown or freed */
} evbus__buf_t;

#define EVBUS__BUF_INIT {NULL, 0, 0, 0}

/** Make room for extra more bytes (+1 for a NUL). 0 on success, -1 when out of memory. */
int evbus__buf_reserve(evbus__buf_t *b, size_t extra);
int evbus__buf_append(evbus__buf_t *b, const void *data, size_t len);
int evbus__buf_putc(evbus__buf_t *b, unsigned char c);
int evbus__buf_puts(evbus__buf_t *b, const char *s);
int evbus__buf_printf(evbus__buf_t *b, const char *fmt, ...) EVBUS__PRINTF(2, 3);
static inline void evbus__buf_reset(evbus__buf_t *b) { b->len = 0; if (b->data) b->data[0] = 0; }
void evbus__buf_free(evbus__buf_t *b);
/** Hand the contents to the caller as a NUL-terminated malloc'd string (buffer left empty). */
char *evbus__buf_steal(evbus__buf_t *b);

/** strdup that returns NULL for NULL. */
char *evbus__strdup(const char *s);

/** Glob match with '*' (any run, including '.'), '?' and literal characters. */
int evbus__glob_match(const char *pattern, const char *s);

/**
 * Copy a grow-safe public struct out to a caller's copy of it: full (the library's own,
 * full_size bytes, whose first member is size_t size) goes to dst, of which the caller
 * declared dst->size bytes.  Fields past dst->size are not written (an older caller's struct
 * is shorter); bytes past full_size up to dst->size are zeroed (a newer caller's is longer).
 * EVBUS_ERR_INVALID_ARG when dst is NULL or dst->size < min_size (the first release's size).
 */
evbus_err_t evbus__struct_out(void *dst, const void *full, size_t full_size, size_t min_size);
/** dst->size of a grow-safe struct the caller gives in, checked against min_size as above:
 *  the number of its bytes the library may read, or 0 when it is too small. */
size_t evbus__struct_in_size(const void *src, size_t min_size);

/** Read a whole file into a NUL-terminated malloc'd buffer; NULL + errstr on failure. */
char *evbus__read_file(const char *path, size_t *lenp, char *errstr, size_t errstr_size);

/** Monotonic clock in microseconds. */
int64_t evbus__now_us(void);
/** Wall-clock time in milliseconds since the epoch (Kafka timestamps, --since). */
int64_t evbus__wall_ms(void);

#endif
