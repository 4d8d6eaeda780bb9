/*
 * Differential fuzzing against avro-c (the Apache Avro C library, also the unit tests'
 * reference decoder).  Each input is split in two: the first byte says how many of the
 * following bytes drive a schema generator (records, enums, fixed of size 0..4, arrays,
 * maps, unions, named references), and the rest is Avro binary data for that schema.
 *
 *   - Both libraries must accept the generated schema.
 *   - evbus and avro-c must agree on whether the data is one valid datum (avro-c: the read
 *     succeeds and uses every byte), and when both accept, evbus's JSON must hold the very
 *     value avro-c read (compared field by field, bit for bit for floating point).
 *   - When evbus accepts, its own encoding of that JSON must read in avro-c to the same value.
 *
 * Disagreements where the specification sides with evbus, or where evbus is stricter on
 * purpose, are counted by kind rather than aborted on (printed at exit; the README lists
 * them with the spec clause).  Anything else aborts, and libFuzzer keeps the input.
 *
 * avro-c allocates a declared string length before it checks the input holds it, and fills
 * arrays of zero-size items to whatever count is written: it runs under an allocation cap
 * (below), so that such data is a refusal, not an out-of-memory abort.
 */
#include <avro.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "fuzz_util.h"

/* --- the schema generator */

typedef struct gen_s {
    const uint8_t *p;
    size_t n, i;
    int nnamed;         /* named types defined so far: T0, T1, ... */
    char named_kind[64]; /* their kinds, to refer to one: 'r', 'e', 'f' */
    evbus__buf_t *b;
    int ok;
} gen_t;

static unsigned g_byte(gen_t *g) { return g->i < g->n ? g->p[g->i++] : 0; }

static void g_puts(gen_t *g, const char *s) {
    if (evbus__buf_puts(g->b, s) != 0)
        g->ok = 0;
}

static void g_printf(gen_t *g, const char *fmt, ...) EVBUS__PRINTF(2, 3);
static void g_printf(gen_t *g, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    g_puts(g, tmp);
}

enum { K_NULL, K_BOOL, K_INT, K_LONG, K_FLOAT, K_DOUBLE, K_STRING, K_BYTES, K_ENUM, K_FIXED,
       K_REF, K_ARRAY, K_MAP, K_RECORD, K_UNION, K_COUNT };
static const char *const prim[] = {"null", "boolean", "int", "long", "float", "double", "string",
                                   "bytes"};

/* Writes one type; returns its kind (K_REF resolves to the referenced type's kind). */
static int gen_type(gen_t *g, int depth, int in_union) {
    unsigned k = g_byte(g) % (depth >= 3 ? K_ARRAY : in_union ? K_UNION : K_COUNT);
    if (k == K_REF && g->nnamed == 0)
        k = K_INT;
    if (k <= K_BYTES) {
        g_printf(g, "\"%s\"", prim[k]);
        return (int)k;
    }
    if (k == K_REF) {
        int t = (int)(g_byte(g) % (unsigned)g->nnamed);
        if (!g->named_kind[t]) { /* a record still being written: no datum could be finite */
            g_puts(g, "\"long\"");
            return K_LONG;
        }
        g_printf(g, "\"T%d\"", t);
        return g->named_kind[t] == 'r' ? K_RECORD : g->named_kind[t] == 'e' ? K_ENUM : K_FIXED;
    }
    if (k == K_ENUM || k == K_FIXED || k == K_RECORD) {
        if (g->nnamed >= (int)sizeof(g->named_kind))
            return gen_type(g, 3, in_union); /* out of names: a primitive or a reference */
        int id = g->nnamed++;
        if (k == K_ENUM) {
            g->named_kind[id] = 'e';
            unsigned ns = 1 + g_byte(g) % 3;
            g_printf(g, "{\"type\":\"enum\",\"name\":\"T%d\",\"symbols\":[", id);
            for (unsigned i = 0; i < ns; i++)
                g_printf(g, "%s\"S%u\"", i ? "," : "", i);
            g_puts(g, "]}");
        } else if (k == K_FIXED) {
            g->named_kind[id] = 'f';
            g_printf(g, "{\"type\":\"fixed\",\"name\":\"T%d\",\"size\":%u}", id, g_byte(g) % 5);
        } else {
            /* marked as a record only once complete: a reference to a record from inside it
             * could make a type with no finite datum, which avro-c would recurse into */
            g->named_kind[id] = 0;
            unsigned nf = g_byte(g) % 4;
            g_printf(g, "{\"type\":\"record\",\"name\":\"T%d\",\"fields\":[", id);
            for (unsigned i = 0; i < nf; i++) {
                g_printf(g, "%s{\"name\":\"f%u\",\"type\":", i ? "," : "", i);
                gen_type(g, depth + 1, 0);
                g_puts(g, "}");
            }
            g_puts(g, "]}");
            g->named_kind[id] = 'r';
        }
        return (int)k;
    }
    if (k == K_ARRAY || k == K_MAP) {
        g_puts(g, k == K_ARRAY ? "{\"type\":\"array\",\"items\":" : "{\"type\":\"map\",\"values\":");
        gen_type(g, depth + 1, 0);
        g_puts(g, "}");
        return (int)k;
    }
    /* a union of 1..3 branches of distinct kinds (a second named type of a kind is allowed
     * by the spec, but a repeat of the same reference is not: kinds keep it simple) */
    unsigned nb = 1 + g_byte(g) % 3, seen = 0;
    g_puts(g, "[");
    for (unsigned i = 0; i < nb; i++) {
        size_t mark = g->b->len;
        int save_named = g->nnamed;
        char save_kinds[sizeof(g->named_kind)];
        memcpy(save_kinds, g->named_kind, sizeof(save_kinds));
        if (i)
            g_puts(g, ",");
        int bk = gen_type(g, depth + 1, 1);
        if (seen & (1u << bk)) { /* drop the repeat, and any names it defined */
            g->b->len = mark;
            g->b->data[mark] = 0;
            g->nnamed = save_named;
            memcpy(g->named_kind, save_kinds, sizeof(save_kinds));
            continue;
        }
        seen |= 1u << bk;
    }
    g_puts(g, "]");
    return K_UNION;
}

/* --- comparing evbus's JSON with avro-c's value */

static char why[512];

static int differ(const char *fmt, ...) EVBUS__PRINTF(1, 2);
static int differ(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return -1;
}

/* bytes/fixed in natural JSON: a string whose code points 0..255 are the bytes */
static int json_bytes(json_t *j, unsigned char *out, size_t cap, size_t *n) {
    const unsigned char *s = (const unsigned char *)json_string_value(j);
    size_t len = json_string_length(j), k = 0;
    for (size_t i = 0; i < len; k++) {
        if (k >= cap)
            return -1;
        if (s[i] < 0x80) {
            out[k] = s[i++];
        } else if ((s[i] & 0xe0) == 0xc0 && i + 1 < len && s[i] <= 0xc3) {
            out[k] = (unsigned char)(((s[i] & 0x1f) << 6) | (s[i + 1] & 0x3f));
            i += 2;
        } else {
            return -1;
        }
    }
    *n = k;
    return 0;
}

static int same_real(double a, double b) { return a == b && signbit(a) == signbit(b); }

static int cmp(const evbus__schema_t *n, json_t *j, avro_value_t *v, int depth) {
    if (depth > 100)
        return differ("too deep to compare");
    switch (n->kind) {
    case EVBUS__AVRO_NULL:
        return json_is_null(j) ? 0 : differ("null: evbus wrote something else");
    case EVBUS__AVRO_BOOLEAN: {
        int b = 0;
        if (avro_value_get_boolean(v, &b) != 0 || !json_is_boolean(j) || !b != !json_is_true(j))
            return differ("boolean differs (avro-c %d)", b);
        return 0;
    }
    case EVBUS__AVRO_INT: {
        int32_t x = 0;
        if (avro_value_get_int(v, &x) != 0 || !json_is_integer(j) || json_integer_value(j) != x)
            return differ("int differs (avro-c %d)", x);
        return 0;
    }
    case EVBUS__AVRO_LONG: {
        int64_t x = 0;
        if (avro_value_get_long(v, &x) != 0 || !json_is_integer(j) || json_integer_value(j) != x)
            return differ("long differs (avro-c %lld)", (long long)x);
        return 0;
    }
    case EVBUS__AVRO_FLOAT: {
        float x = 0;
        if (avro_value_get_float(v, &x) != 0 || !json_is_number(j) ||
            !same_real((float)json_number_value(j), x))
            return differ("float differs (avro-c %.9g)", (double)x);
        return 0;
    }
    case EVBUS__AVRO_DOUBLE: {
        double x = 0;
        if (avro_value_get_double(v, &x) != 0 || !json_is_number(j) ||
            !same_real(json_number_value(j), x))
            return differ("double differs (avro-c %.17g)", x);
        return 0;
    }
    case EVBUS__AVRO_STRING: {
        const char *s = NULL;
        size_t sz = 0; /* avro-c counts the NUL it adds */
        if (avro_value_get_string(v, &s, &sz) != 0 || !json_is_string(j) || sz == 0 ||
            json_string_length(j) != sz - 1 || memcmp(json_string_value(j), s, sz - 1) != 0)
            return differ("string differs");
        return 0;
    }
    case EVBUS__AVRO_BYTES:
    case EVBUS__AVRO_FIXED: {
        const void *p = NULL;
        size_t sz = 0, k = 0;
        unsigned char buf[4096];
        int r = n->kind == EVBUS__AVRO_BYTES ? avro_value_get_bytes(v, &p, &sz)
                                             : avro_value_get_fixed(v, &p, &sz);
        if (r != 0 || !json_is_string(j) || json_bytes(j, buf, sizeof(buf), &k) != 0 || k != sz ||
            (sz && memcmp(buf, p, sz) != 0))
            return differ("%s differs", evbus__avro_kind_name(n->kind));
        return 0;
    }
    case EVBUS__AVRO_ENUM: {
        int x = -1;
        if (avro_value_get_enum(v, &x) != 0 || x < 0 || (size_t)x >= n->nsymbols ||
            !json_is_string(j) || strcmp(json_string_value(j), n->symbols[x]) != 0)
            return differ("enum differs (avro-c index %d)", x);
        return 0;
    }
    case EVBUS__AVRO_ARRAY:
    case EVBUS__AVRO_MAP: {
        size_t sz = 0;
        int arr = n->kind == EVBUS__AVRO_ARRAY;
        if (avro_value_get_size(v, &sz) != 0 || (arr ? !json_is_array(j) : !json_is_object(j)))
            return differ("%s: not one", arr ? "array" : "map");
        size_t jn = arr ? json_array_size(j) : json_object_size(j);
        if (jn != sz)
            return differ("%s: %zu items in evbus, %zu in avro-c", arr ? "array" : "map", jn, sz);
        void *it = arr ? NULL : json_object_iter(j);
        for (size_t i = 0; i < sz; i++) {
            avro_value_t child;
            const char *key = NULL;
            if (avro_value_get_by_index(v, i, &child, &key) != 0)
                return differ("avro-c item %zu missing", i);
            json_t *ji = arr ? json_array_get(j, i) : json_object_iter_value(it);
            /* both keep the first position of a repeated key and its last value */
            if (!arr && strcmp(json_object_iter_key(it), key) != 0)
                return differ("map key %zu: '%s' in evbus, '%s' in avro-c", i,
                              json_object_iter_key(it), key);
            if (cmp(n->items, ji, &child, depth + 1) != 0)
                return -1;
            if (!arr)
                it = json_object_iter_next(j, it);
        }
        return 0;
    }
    case EVBUS__AVRO_RECORD:
        if (!json_is_object(j) || json_object_size(j) != n->nfields)
            return differ("record %s: fields differ", n->fullname);
        for (size_t i = 0; i < n->nfields; i++) {
            avro_value_t child;
            json_t *jf = json_object_get(j, n->fields[i].name);
            if (!jf || avro_value_get_by_index(v, i, &child, NULL) != 0)
                return differ("record %s: field %s missing", n->fullname, n->fields[i].name);
            if (cmp(n->fields[i].type, jf, &child, depth + 1) != 0)
                return -1;
        }
        return 0;
    case EVBUS__AVRO_UNION: {
        int d = -1;
        avro_value_t br;
        if (avro_value_get_discriminant(v, &d) != 0 || d < 0 || (size_t)d >= n->nbranches ||
            avro_value_get_current_branch(v, &br) != 0)
            return differ("union: avro-c branch %d", d);
        const evbus__schema_t *b = n->branches[d];
        size_t nonnull = n->nbranches - (n->null_branch >= 0 ? 1 : 0);
        if (b->kind == EVBUS__AVRO_NULL)
            return json_is_null(j) ? 0 : differ("union: avro-c took null, evbus did not");
        if (nonnull == 1)
            return cmp(b, j, &br, depth + 1);
        const char *name = b->fullname ? b->fullname : evbus__avro_kind_name(b->kind);
        json_t *jb = json_is_object(j) && json_object_size(j) == 1 ? json_object_get(j, name) : NULL;
        if (!jb)
            return differ("union: evbus did not pick branch %s", name);
        return cmp(b, jb, &br, depth + 1);
    }
    }
    return differ("bad schema node");
}

/* --- running both */

/* Kinds of disagreement that are not bugs of evbus (see the README's Conformance section). */
enum { KNOWN_UTF8, KNOWN_NONFINITE, KNOWN_BOOL, KNOWN_INT_RANGE, KNOWN_ENUM, KNOWN_KEY_NUL,
       KNOWN_FIXED0, KNOWN_VARINT, KNOWN_BUDGET, KNOWN_BLOCK_SIZE, KNOWN_DUP_KEY, KNOWN_RUNAWAY, KNOWN_N };
static const char *const known_names[] = {"invalid-utf8-string", "nan-or-infinity",
                                          "boolean-byte-not-0-or-1", "int-out-of-32-bits",
                                          "enum-index-out-of-range", "map-key-with-nul",
                                          "avro-c-zero-size-values", "varint-over-64-bits",
                                          "over-evbus-zero-size-item-budget",
                                          "block-byte-size-past-the-end",
                                          "map-repeats-a-key",
                                          "avro-c-over-its-allocation-cap"};
static unsigned long known[KNOWN_N], compared, agreed_reject, runs;
static int verbose; /* FUZZ_DIFF_VERBOSE=1: print each schema and evbus's result */

static void report(void) {
    fprintf(stderr, "fuzz_diff: %lu inputs, %lu value comparisons equal (each datum and its re-encoding), %lu rejected by both",
            runs, compared, agreed_reject);
    for (int i = 0; i < KNOWN_N; i++)
        fprintf(stderr, ", %s %lu", known_names[i], known[i]);
    fprintf(stderr, "\n");
}

/*
 * Where evbus stops for a reason avro-c ignores (a bad UTF-8 string, say), avro-c reads on
 * into bytes evbus never checked: it reallocs to a forged string length before it checks the
 * input holds it, and fills an array of zero-size items to a forged count.  So avro-c
 * allocates through a cap on what one read may take in all: past it the allocation fails,
 * avro-c reports the error, and the read counts as stopped, not as a disagreement.  (Inputs
 * are a few KB; no honest read of them comes near the cap.)
 *
 * avro-c leaks on some of those error paths (a raw array overwrites its pointer with the NULL
 * of a failed realloc; a string cut short is not freed), so every block it allocates between
 * avroc_begin() and avroc_end() is kept on a list, and avroc_end(), once the value is freed,
 * frees what is still on it.  A cap and a list rather than a child process per read: under
 * ASan a fork copies the page tables of gigabytes of shadow memory, and took a third of this
 * target's time.
 */
#define AVROC_CAP ((size_t)4 << 20)
typedef struct blk_s {
    struct blk_s *prev, *next;
    int tracked;
    _Alignas(16) unsigned char data[];
} blk_t;
static blk_t avroc_live = {&avroc_live, &avroc_live, 0}; /* blocks from a tracked read */
static int avroc_tracking, avroc_capped;
static size_t avroc_taken; /* bytes avro-c asked for since avroc_begin(), frees ignored */

static void blk_unlink(blk_t *b) {
    if (b->tracked) {
        b->prev->next = b->next;
        b->next->prev = b->prev;
    }
}

static void blk_link(blk_t *b, int tracked) {
    b->tracked = tracked;
    if (b->tracked) {
        b->next = avroc_live.next;
        b->prev = &avroc_live;
        avroc_live.next->prev = b;
        avroc_live.next = b;
    }
}

static void *avroc_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    (void)ud;
    blk_t *b = ptr ? (blk_t *)((unsigned char *)ptr - offsetof(blk_t, data)) : NULL;
    if (nsize == 0) {
        if (b) {
            blk_unlink(b);
            free(b);
        }
        return NULL;
    }
    /* only reads are capped: the schema and class code does not check for NULL */
    if (avroc_tracking && nsize > osize && nsize - osize > AVROC_CAP - avroc_taken) {
        avroc_capped = 1;
        return NULL;
    }
    /* a block made outside a read (the schema's, the class's) stays off the list */
    int tracked = b ? b->tracked : avroc_tracking;
    if (b)
        blk_unlink(b);
    blk_t *nb = realloc(b, sizeof(*b) + nsize);
    if (!nb) {
        if (b)
            blk_link(b, tracked); /* still avro-c's, as it was */
        return NULL;
    }
    if (nsize > osize)
        avroc_taken += nsize - osize;
    blk_link(nb, tracked);
    return nb->data;
}

/* From before the value is made to after it is freed. */
static void avroc_begin(void) {
    avroc_taken = 0;
    avroc_capped = 0;
    avroc_tracking = 1;
}

static void avroc_end(void) {
    while (avroc_live.next != &avroc_live) {
        blk_t *b = avroc_live.next;
        blk_unlink(b);
        free(b);
    }
    avroc_tracking = 0;
}

/* Free a value read since avroc_begin().  A read stopped at the cap may leave it half made
 * (an array whose count went up while its storage was refused), which avro-c's own free
 * would walk into: then only the class reference it took is given back, and avroc_end()
 * frees every block of the value from the list. */
static void avroc_drop(avro_value_t *v) {
    if (avroc_capped)
        avro_value_iface_decref(v->iface);
    else
        avro_value_decref(v);
    avroc_end();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    avro_set_allocator(avroc_alloc, NULL);
    atexit(report);
    verbose = getenv("FUZZ_DIFF_VERBOSE") != NULL;
    return 0;
}

/* avro-c reads data[0..len) as one datum: 1 = it did, using every byte; 0 = it refused. */
static int avroc_read(avro_value_iface_t *iface, const void *data, size_t len, avro_value_t *v) {
    avro_reader_t r = avro_reader_memory(len ? data : "", (int64_t)len);
    if (!r)
        fuzz_die("avro-c", "no reader");
    char extra;
    /* avro_reader_is_eof() only knows files: a one-byte read that fails means the end */
    int ok = avro_value_read(r, v) == 0 && avro_read(r, &extra, 1) != 0;
    avro_reader_free(r);
    return ok;
}

/* The evbus error says why; is it a reason for which avro-c is known to accept? */
static int known_reason(const char *err) {
    if (strstr(err, "invalid UTF-8"))
        return KNOWN_UTF8;
    if (strstr(err, "not finite"))
        return KNOWN_NONFINITE;
    if (strstr(err, "bad boolean byte"))
        return KNOWN_BOOL;
    if (strstr(err, "out of range") && strstr(err, "int "))
        return KNOWN_INT_RANGE;
    if (strstr(err, "enum index"))
        return KNOWN_ENUM;
    if (strstr(err, "varint too long"))
        return KNOWN_VARINT;
    /* evbus's own bound on items of no size (EVBUS__AVRO_MAX_ZERO_ITEMS), on purpose */
    if (strstr(err, "items of no size"))
        return KNOWN_BUDGET;
    /* a negative block count's byte size is there for skipping; avro-c never reads it */
    if (strstr(err, "block size"))
        return KNOWN_BLOCK_SIZE;
    return -1;
}

/* 1 accepted, 0 refused, -1 stopped at the allocation cap */
static int avroc_accepts(avro_value_iface_t *iface, const void *data, size_t len) {
    avro_value_t v;
    avroc_begin();
    if (avro_generic_value_new(iface, &v) != 0)
        fuzz_die("avro-c", avro_strerror());
    int ok = avroc_read(iface, data, len, &v);
    avroc_drop(&v);
    return ok ? 1 : avroc_capped ? -1 : 0;
}

static void compare_value(const evbus__schema_t *root, avro_value_iface_t *iface,
                          const char *json, size_t jlen, const void *avro, size_t alen,
                          const char *what) {
    avro_value_t v;
    json_error_t jerr;
    avroc_begin();
    if (avro_generic_value_new(iface, &v) != 0)
        fuzz_die("avro-c", avro_strerror());
    if (!avroc_read(iface, avro, alen, &v)) {
        /* avro-c allocates values of no size, a fixed of size 0 or an empty record in an
         * array, with malloc/realloc(0), takes the NULL it may return for failure and
         * refuses the data (the spec allows both: fixed "size: an integer, specifying the
         * number of bytes per value", and records of no fields) */
        if (strstr(avro_strerror(), "Cannot allocate new fixed value") ||
            strstr(avro_strerror(), "Couldn't expand array")) {
            known[KNOWN_FIXED0]++;
            avroc_drop(&v);
            return;
        }
        fprintf(stderr, "  json: %.*s\n", (int)(jlen > 2000 ? 2000 : jlen), json);
        fuzz_die(what, avro_strerror());
    }
    json_t *j = json_loadb(json, jlen, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES,
                           &jerr);
    if (!j && strstr(jerr.text, "duplicate")) {
        /* A map may repeat a key on the wire and the spec does not say which value counts:
         * evbus writes every pair, so a JSON reader keeps the last; avro-c reads each into
         * the entry the key already has.  Not comparable value by value. */
        known[KNOWN_DUP_KEY]++;
        avroc_drop(&v);
        return;
    }
    if (!j) {
        /* jansson refuses "\u0000" in an object key, which Avro map keys may hold */
        if (strstr(jerr.text, "NUL")) {
            known[KNOWN_KEY_NUL]++;
            avroc_drop(&v);
            return;
        }
        fuzz_die("evbus JSON does not parse", jerr.text);
    }
    if (cmp(root, j, &v, 0) != 0) {
        fprintf(stderr, "  json: %.*s\n", (int)(jlen > 2000 ? 2000 : jlen), json);
        fuzz_die(what, why);
    }
    compared++;
    json_decref(j);
    avroc_drop(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    size_t ns = data[0] % 48;
    if (ns > size - 1)
        ns = size - 1;
    evbus__buf_t schema = EVBUS__BUF_INIT;
    gen_t g = {data + 1, ns, 0, 0, {0}, &schema, 1};
    gen_type(&g, 0, 0);
    if (!g.ok) {
        evbus__buf_free(&schema);
        return 0;
    }
    runs++;
    const unsigned char *avro = data + 1 + ns;
    size_t alen = size - 1 - ns;
    char err[512] = "";
    evbus__schema_doc_t *doc = evbus__schema_parse((const char *)schema.data, schema.len, err,
                                                   sizeof(err));
    avro_schema_t as = NULL;
    int arc = avro_schema_from_json_length((const char *)schema.data, schema.len, &as);
    if (!doc || arc != 0) {
        fprintf(stderr, "  schema: %s\n", (const char *)schema.data);
        fuzz_die(!doc ? "evbus refuses a generated schema" : "avro-c refuses a generated schema",
                 !doc ? err : avro_strerror());
    }
    avro_value_iface_t *iface = avro_generic_class_from_schema(as);
    if (!iface)
        fuzz_die("avro-c", avro_strerror());

    unsigned char *copy = malloc(alen ? alen : 1); /* exact size: overreads are caught */
    if (!copy)
        fuzz_die("fuzz_diff", "out of memory");
    if (alen)
        memcpy(copy, avro, alen);
    evbus__buf_t json = EVBUS__BUF_INIT, again = EVBUS__BUF_INIT;
    evbus_err_t e = evbus__avro_decode_json(doc->root, copy, alen, &json, err, sizeof(err));
    if (verbose)
        fprintf(stderr, "schema: %s\nevbus: %s\n", (const char *)schema.data,
                e == EVBUS_OK ? (const char *)json.data : err);
    if (e == EVBUS_OK) {
        /* the same value in both, and evbus's own encoding of it reads back in avro-c */
        compare_value(doc->root, iface, (const char *)json.data, json.len, copy, alen,
                      "evbus accepts data avro-c refuses, or reads another value");
        if (evbus__avro_encode_json(doc->root, (const char *)json.data, json.len, &again, err,
                                    sizeof(err)) != EVBUS_OK)
            fuzz_die("decoder output does not encode", err);
        compare_value(doc->root, iface, (const char *)json.data, json.len, again.data, again.len,
                      "evbus's encoding reads in avro-c as another value");
    } else {
        int k = known_reason(err);
        int acc = avroc_accepts(iface, copy, alen);
        if (acc == 1) {
            if (k < 0) {
                fprintf(stderr, "  schema: %s\n", (const char *)schema.data);
                fuzz_die("avro-c accepts data evbus refuses", err);
            }
            known[k]++;
        } else if (acc == 0) {
            agreed_reject++;
        } else {
            known[KNOWN_RUNAWAY]++;
        }
    }
    free(copy);
    evbus__buf_free(&json);
    evbus__buf_free(&again);
    avro_value_iface_decref(iface);
    avro_schema_decref(as);
    evbus__schema_doc_destroy(doc);
    evbus__buf_free(&schema);
    return 0;
}
