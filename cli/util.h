/*
 * evbus-cli's own small helpers: error strings, a growable byte buffer, clocks, files, globs.
 * The CLI is a user of the public API only (as kcat is of librdkafka's), so it keeps these
 * rather than reach into the library's internals.
 */
#ifndef EVBUS_CLI_UTIL_H
#define EVBUS_CLI_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define EVBUS_CLI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define EVBUS_CLI_PRINTF(fmt, args)
#endif

/** printf into errstr when it is not NULL and has room; always NUL-terminates. */
void evbus_cli_seterr(char *errstr, size_t errstr_size, const char *fmt, ...) EVBUS_CLI_PRINTF(3, 4);

/*
 * Growable byte buffer, reused across events (reset keeps the capacity).  data is
 * NUL-terminated after every call that succeeds, so text output can be used as a string.
 */
typedef struct evbus_cli_buf_s {
    unsigned char *data;
    size_t len;
    size_t cap;
} evbus_cli_buf_t;

#define EVBUS_CLI_BUF_INIT {NULL, 0, 0}

/** Make room for extra more bytes (+1 for a NUL). 0 on success, -1 when out of memory. */
int evbus_cli_buf_reserve(evbus_cli_buf_t *b, size_t extra);
int evbus_cli_buf_append(evbus_cli_buf_t *b, const void *data, size_t len);
int evbus_cli_buf_putc(evbus_cli_buf_t *b, unsigned char c);
int evbus_cli_buf_puts(evbus_cli_buf_t *b, const char *s);
int evbus_cli_buf_printf(evbus_cli_buf_t *b, const char *fmt, ...) EVBUS_CLI_PRINTF(2, 3);
static inline void evbus_cli_buf_reset(evbus_cli_buf_t *b) {
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}
void evbus_cli_buf_free(evbus_cli_buf_t *b);
/** The contents as a NUL-terminated malloc'd string (buffer left empty); NULL when out of memory. */
char *evbus_cli_buf_steal(evbus_cli_buf_t *b);

/** Glob match with '*' (any run, including '.'), '?' and literal characters (the dispatcher's
 *  subscription globs). */
int evbus_cli_glob_match(const char *pattern, const char *s);

/** Whole file, NUL-terminated, malloc'd; *lenp (may be NULL) its length.  NULL + errstr. */
char *evbus_cli_read_file(const char *path, size_t *lenp, char *errstr, size_t errstr_size);

/** Monotonic clock in microseconds (for bounds and durations). */
int64_t evbus_cli_now_us(void);
/** Wall clock in milliseconds since the epoch. */
int64_t evbus_cli_wall_ms(void);

#endif
