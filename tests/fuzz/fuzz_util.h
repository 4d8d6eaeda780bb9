/*
 * Helpers shared by the libFuzzer targets: locating the source tree (for schema
 * fixtures), loading a schema once per process, and aborting with a message when a
 * property the target checks does not hold (libFuzzer then saves the input).
 */
#ifndef EVBUS_FUZZ_UTIL_H
#define EVBUS_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "schema.h"

#ifndef EVBUS_FUZZ_SRCDIR
#define EVBUS_FUZZ_SRCDIR "."
#endif

#define FUZZ_SCHEMA_DIR "tests/unit/data/schemas"

/* The source tree: $EVBUS_SRC when set (a moved checkout), else where the fuzzer was built from. */
static inline const char *fuzz_srcdir(void) {
    const char *s = getenv("EVBUS_SRC");
    return s && *s ? s : EVBUS_FUZZ_SRCDIR;
}

__attribute__((noreturn)) static inline void fuzz_die(const char *what, const char *detail) {
    fprintf(stderr, "fuzz: %s: %s\n", what, detail ? detail : "");
    abort();
}

/* A schema fixture under tests/unit/data/schemas (without ".avsc"); aborts if unusable,
 * since a fuzzer running without its schema would test nothing. */
static inline evbus__schema_doc_t *fuzz_schema_file(const char *event_type) {
    char path[4096], err[512];
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/" FUZZ_SCHEMA_DIR "/%s.avsc", fuzz_srcdir(), event_type);
    char *text = evbus__read_file(path, &len, err, sizeof(err));
    if (!text)
        fuzz_die(path, err);
    evbus__schema_doc_t *d = evbus__schema_parse(text, len, err, sizeof(err));
    free(text);
    if (!d)
        fuzz_die(path, err);
    return d;
}

static inline evbus__schema_doc_t *fuzz_schema_text(const char *text) {
    char err[512];
    evbus__schema_doc_t *d = evbus__schema_parse(text, strlen(text), err, sizeof(err));
    if (!d)
        fuzz_die(text, err);
    return d;
}

/* Recursive and union-heavy schemas the fixtures lack: depth caps and named references. */
#define FUZZ_SCHEMA_LIST                                                                      \
    "{\"type\":\"record\",\"name\":\"Node\",\"namespace\":\"org.evbus.fuzz\",\"fields\":["     \
    "{\"name\":\"v\",\"type\":[\"null\",\"int\",\"double\",\"bytes\"],\"default\":null},"      \
    "{\"name\":\"kids\",\"type\":{\"type\":\"map\",\"values\":\"Node\"},\"default\":{}},"      \
    "{\"name\":\"next\",\"type\":[\"null\",\"Node\"],\"default\":null}]}"

/* Zero-size items (null, empty record, fixed 0: block counts beyond the bytes left) and a
 * record wider than the encoder's 48 on-stack field slots. */
static inline evbus__schema_doc_t *fuzz_schema_wide_zero(void) {
    evbus__buf_t b = EVBUS__BUF_INIT;
    int ok = evbus__buf_puts(&b,
        "{\"type\":\"record\",\"name\":\"Z\",\"fields\":["
        "{\"name\":\"nulls\",\"type\":{\"type\":\"array\",\"items\":\"null\"},\"default\":[]},"
        "{\"name\":\"empties\",\"type\":{\"type\":\"array\",\"items\":"
        "{\"type\":\"record\",\"name\":\"E\",\"fields\":[]}},\"default\":[]},"
        "{\"name\":\"fx0\",\"type\":{\"type\":\"fixed\",\"name\":\"F0\",\"size\":0},"
        "\"default\":\"\"},"
        "{\"name\":\"mn\",\"type\":{\"type\":\"map\",\"values\":\"null\"},\"default\":{}}") == 0;
    for (int i = 0; ok && i < 52; i++)
        ok = evbus__buf_printf(&b, ",{\"name\":\"f%02d\",\"type\":[\"null\",\"%s\"],\"default\":null}",
                               i, i % 3 == 0 ? "int" : i % 3 == 1 ? "string" : "E") == 0;
    ok = ok && evbus__buf_puts(&b, "]}") == 0;
    if (!ok)
        fuzz_die("wide schema", "out of memory");
    evbus__schema_doc_t *d = fuzz_schema_text((const char *)b.data);
    evbus__buf_free(&b);
    return d;
}

/* Copy of the input with a NUL after it, in an exact-size allocation so ASan sees overreads. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s)
        return NULL;
    if (size)
        memcpy(s, data, size);
    s[size] = 0;
    return s;
}

#endif
