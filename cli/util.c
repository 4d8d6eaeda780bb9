/* evbus-cli's own helpers (util.h). */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void evbus_cli_seterr(char *errstr, size_t errstr_size, const char *fmt, ...) {
    va_list ap;
    if (!errstr || errstr_size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

int evbus_cli_buf_reserve(evbus_cli_buf_t *b, size_t extra) {
    size_t need = b->len + extra + 1;
    if (need < b->len) /* overflow */
        return -1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    unsigned char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int evbus_cli_buf_append(evbus_cli_buf_t *b, const void *data, size_t len) {
    if (evbus_cli_buf_reserve(b, len) != 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
    return 0;
}

int evbus_cli_buf_putc(evbus_cli_buf_t *b, unsigned char c) {
    if (b->len + 1 >= b->cap && evbus_cli_buf_reserve(b, 1) != 0)
        return -1;
    b->data[b->len++] = c;
    b->data[b->len] = 0;
    return 0;
}

int evbus_cli_buf_puts(evbus_cli_buf_t *b, const char *s) {
    return evbus_cli_buf_append(b, s, strlen(s));
}

int evbus_cli_buf_printf(evbus_cli_buf_t *b, const char *fmt, ...) {
    va_list ap;
    char tmp[256];
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof(tmp))
        return evbus_cli_buf_append(b, tmp, (size_t)n);
    if (evbus_cli_buf_reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void evbus_cli_buf_free(evbus_cli_buf_t *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *evbus_cli_buf_steal(evbus_cli_buf_t *b) {
    if (!b->data && evbus_cli_buf_reserve(b, 0) != 0)
        return NULL;
    b->data[b->len] = 0;
    char *s = (char *)b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

int evbus_cli_glob_match(const char *p, const char *s) {
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p == '?' || *p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

char *evbus_cli_read_file(const char *path, size_t *lenp, char *errstr, size_t errstr_size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        evbus_cli_seterr(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return NULL;
    }
    evbus_cli_buf_t b = EVBUS_CLI_BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (evbus_cli_buf_append(&b, chunk, n) != 0) {
            fclose(f);
            evbus_cli_buf_free(&b);
            evbus_cli_seterr(errstr, errstr_size, "%s: out of memory", path);
            return NULL;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        evbus_cli_buf_free(&b);
        evbus_cli_seterr(errstr, errstr_size, "%s: read error", path);
        return NULL;
    }
    if (lenp)
        *lenp = b.len;
    char *s = evbus_cli_buf_steal(&b);
    if (!s)
        evbus_cli_seterr(errstr, errstr_size, "%s: out of memory", path);
    return s;
}

int64_t evbus_cli_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t evbus_cli_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
