/* Schema parsing, Parsing Canonical Form, CRC-64-AVRO fingerprints and the schema store. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "schema.h"

#define ALL_TYPES "org.evbus.test.all_types.v1"
#define SIMPLE "org.evbus.test.simple.v1"

static evbus__schema_doc_t *parse(const char *s, char *err, size_t errsz) {
    return evbus__schema_parse(s, strlen(s), err, errsz);
}

static evbus__schema_doc_t *parse_file(const char *rel) {
    char err[512];
    size_t len;
    char *text = evbus__read_file(tu_src_path(rel), &len, err, sizeof(err));
    assert_non_null(text);
    evbus__schema_doc_t *doc = evbus__schema_parse(text, len, err, sizeof(err));
    if (!doc)
        fail_msg("%s: %s", rel, err);
    free(text);
    return doc;
}

static void test_crc64_empty(void **state) {
    (void)state;
    /* the Rabin fingerprint of no bytes is the EMPTY constant itself (Avro spec) */
    assert_true(evbus__crc64_avro("", 0) == 0xc15d213aa4d7a795ULL);
}

/*
 * Expected canonical forms and fingerprints were computed with fastavro 1.13.1:
 *   c = fastavro.schema.to_parsing_canonical_form(fastavro.schema.parse_schema(json.loads(s)))
 *   h = fastavro.schema.fingerprint(c, "CRC-64-AVRO")     # 8 little-endian bytes, in hex
 *   "0x%016x" % int.from_bytes(bytes.fromhex(h), "little")
 * (tests/interop/fastavro_check.py fingerprint FILE prints the same for a file.)
 */
static const struct {
    const char *schema, *canonical;
    uint64_t fp;
} canon_cases[] = {
    {"\"int\"", "\"int\"", 0x7275d51a3f395c8fULL},
    {"{\"type\":\"string\",\"logicalType\":\"uuid\"}", "\"string\"", 0x8f014872634503c7ULL},
    {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[]}",
     "{\"name\":\"R\",\"type\":\"record\",\"fields\":[]}", 0xbb62c914b860f139ULL},
    {"{\"type\":\"record\",\"name\":\"a.b.Outer\",\"doc\":\"x\",\"aliases\":[\"Q\"],\"fields\":[{"
     "\"name\":\"in\",\"doc\":\"d\",\"default\":{\"v\":1},\"type\":{\"type\":\"record\",\"name\":"
     "\"In\",\"namespace\":\"c\",\"fields\":[{\"name\":\"v\",\"type\":{\"type\":\"int\"}}]}},{"
     "\"name\":\"twice\",\"type\":\"c.In\"},{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"size\":"
     "16,\"name\":\"F\",\"aliases\":[\"G\"]}},{\"name\":\"m\",\"type\":{\"values\":[\"null\",\"F\"],"
     "\"type\":\"map\"}},{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"namespace\":"
     "\"x.y\",\"symbols\":[\"A\",\"B\"],\"default\":\"A\"}}]}",
     "{\"name\":\"a.b.Outer\",\"type\":\"record\",\"fields\":[{\"name\":\"in\",\"type\":{\"name\":"
     "\"c.In\",\"type\":\"record\",\"fields\":[{\"name\":\"v\",\"type\":\"int\"}]}},{\"name\":"
     "\"twice\",\"type\":\"c.In\"},{\"name\":\"fx\",\"type\":{\"name\":\"a.b.F\",\"type\":\"fixed\","
     "\"size\":16}},{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":[\"null\",\"a.b.F\"]}},{"
     "\"name\":\"e\",\"type\":{\"name\":\"x.y.E\",\"type\":\"enum\",\"symbols\":[\"A\",\"B\"]}}]}",
     0x58df3248917477c1ULL},
};

static void test_canonical_and_fingerprint(void **state) {
    (void)state;
    char err[256];
    for (size_t i = 0; i < sizeof(canon_cases) / sizeof(canon_cases[0]); i++) {
        evbus__schema_doc_t *doc = parse(canon_cases[i].schema, err, sizeof(err));
        if (!doc)
            fail_msg("case %zu: %s", i, err);
        assert_string_equal(doc->canonical, canon_cases[i].canonical);
        assert_true(doc->fingerprint == canon_cases[i].fp);
        evbus__schema_doc_destroy(doc);
    }
}

static void test_fixture_fingerprints(void **state) {
    (void)state;
    /* computed with tests/interop/fastavro_check.py fingerprint <file> (fastavro 1.13.1) */
    evbus__schema_doc_t *a = parse_file("tests/unit/data/schemas/" ALL_TYPES ".avsc");
    evbus__schema_doc_t *s = parse_file("tests/unit/data/schemas/" SIMPLE ".avsc");
    assert_true(a->fingerprint == 0x2077bf6423455363ULL);
    assert_true(s->fingerprint == 0xb3001775e10653abULL);
    assert_string_equal(
        s->canonical,
        "{\"name\":\"org.evbus.test.simple.v1.CloudEvent\",\"type\":\"record\",\"fields\":[{\"name\":"
        "\"user\",\"type\":{\"name\":\"org.evbus.test.simple.v1.UserData\",\"type\":\"record\","
        "\"fields\":[{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"is_active\",\"type\":"
        "\"boolean\"},{\"name\":\"pii\",\"type\":[\"null\",{\"name\":\"org.evbus.test.simple.v1."
        "UserPersonalData\",\"type\":\"record\",\"fields\":[{\"name\":\"username\",\"type\":"
        "\"string\"},{\"name\":\"email\",\"type\":\"string\"},{\"name\":\"name\",\"type\":"
        "\"string\"}]}]}]}},{\"name\":\"course_key\",\"type\":\"string\"},{\"name\":\"tags\","
        "\"type\":{\"type\":\"array\",\"items\":\"string\"}},{\"name\":\"created\",\"type\":["
        "\"null\",\"string\"]}]}");
    /* the canonical form of a sub-node is available too */
    char *c = evbus__schema_canonical(s->root->fields[2].type);
    assert_string_equal(c, "{\"type\":\"array\",\"items\":\"string\"}");
    free(c);
    evbus__schema_doc_destroy(a);
    evbus__schema_doc_destroy(s);
}

static void assert_default(const evbus__field_t *f, const char *bytes, size_t n) {
    assert_true(f->has_default);
    assert_int_equal(f->default_avro_len, n);
    assert_memory_equal(f->default_avro, bytes, n);
}

static void test_parse_all_types(void **state) {
    (void)state;
    evbus__schema_doc_t *doc = parse_file("tests/unit/data/schemas/" ALL_TYPES ".avsc");
    const evbus__schema_t *r = doc->root;
    assert_int_equal(r->kind, EVBUS__AVRO_RECORD);
    assert_string_equal(r->fullname, ALL_TYPES ".CloudEvent");
    assert_int_equal(r->nfields, 23);
    static const evbus__avro_kind_t kinds[] = {
        EVBUS__AVRO_NULL,  EVBUS__AVRO_BOOLEAN, EVBUS__AVRO_INT,   EVBUS__AVRO_LONG,
        EVBUS__AVRO_FLOAT, EVBUS__AVRO_DOUBLE,  EVBUS__AVRO_STRING, EVBUS__AVRO_BYTES,
        EVBUS__AVRO_ENUM,  EVBUS__AVRO_FIXED,   EVBUS__AVRO_ARRAY, EVBUS__AVRO_MAP,
        EVBUS__AVRO_RECORD, EVBUS__AVRO_UNION,  EVBUS__AVRO_UNION, EVBUS__AVRO_UNION,
        EVBUS__AVRO_LONG};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        assert_int_equal(r->fields[i].type->kind, kinds[i]);
    assert_string_equal(r->fields[8].type->fullname, ALL_TYPES ".Color");
    assert_int_equal(r->fields[8].type->nsymbols, 3);
    assert_int_equal(r->fields[9].type->fixed_size, 4);
    assert_int_equal(r->fields[10].type->items->kind, EVBUS__AVRO_LONG);
    assert_string_equal(r->fields[12].type->fullname, "org.evbus.other.Inner");
    /* a named reference is the same node */
    assert_ptr_equal(r->fields[12].type->fields[1].type, r->fields[8].type);
    assert_ptr_equal(r->fields[15].type->branches[3], r->fields[12].type);
    assert_int_equal(r->fields[13].type->null_branch, 0);
    assert_int_equal(r->fields[14].type->null_branch, 1);
    assert_int_equal(r->fields[15].type->nbranches, 6);
    assert_string_equal(r->fields[16].type->logical_type, "timestamp-micros");
    assert_null(r->fields[15].type->logical_type);
    assert_false(r->fields[0].has_default);
    /* defaults, pre-encoded: string "hé\x01", union (first branch), record, array, bytes */
    assert_default(&r->fields[17], "\x08h\xc3\xa9\x01", 5);
    assert_string_equal(r->fields[17].default_json, "\"hé\\u0001\"");
    assert_default(&r->fields[18], "\x00", 1);
    assert_default(&r->fields[19], "\x00\x02x", 3);
    assert_default(&r->fields[20], "\x0e\x04", 2);
    assert_default(&r->fields[21], "\x00", 1);
    assert_default(&r->fields[22], "\x04\xff\x00", 3);
    assert_string_equal(evbus__avro_kind_name(EVBUS__AVRO_FIXED), "fixed");
    evbus__schema_doc_destroy(doc);
}

static void test_bad_schemas(void **state) {
    (void)state;
    static const struct {
        const char *schema, *err;
    } cases[] = {
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"Nope\"}]}",
         "field 'a': unknown type 'Nope'"},
        {"{\"type\":\"record\",\"fields\":[]}", "record without a string \"name\""},
        {"{\"type\":\"record\",\"name\":\"R\"}", "record 'R' without a \"fields\" array"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},"
         "{\"name\":\"a\",\"type\":\"long\"}]}",
         "record 'R': field 'a' defined twice"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":[\"null\","
         "\"string\"],\"default\":\"x\"}]}",
         "field 'a': default \"x\" does not match the union's first branch (null): expected "
         "null, got string"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\","
         "\"default\":4294967296}]}",
         "field 'a': default 4294967296 does not match the type: 4294967296 out of range for int"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"o\",\"type\":{\"type\":"
         "\"record\",\"name\":\"S\",\"fields\":[{\"name\":\"x\",\"type\":{\"type\":\"fixed\","
         "\"name\":\"F\"}}]}}]}",
         "field 'o.x': fixed 'F' needs a non-negative integer \"size\""},
        {"[\"int\",\"int\"]", "union has two branches of type 'int'"},
        {"[\"null\",[\"int\"]]", "union directly inside a union"},
        {"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"A\"]}",
         "enum 'E': symbol 'A' twice"},
        {"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"a-b\"]}",
         "$.symbols[0]: invalid enum symbol \"a-b\": must match [A-Za-z_][A-Za-z0-9_]*"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":"
         "\"record\",\"name\":\"R\",\"fields\":[]}}]}",
         "field 'a': type 'R' defined twice"},
        {"{\"type\":\"array\"}", "array without \"items\""},
        {"{\"type\":\"record\",\"name\":\"int\",\"fields\":[]}",
         "record name 'int' is a primitive type name"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\"}]}",
         "field 'a': missing \"type\""},
        {"42", "a type must be a string, object or array"},
        {"{\"type\":\"int\"", "invalid JSON at line 1 column 13: '}' expected near end of file"},
    };
    char err[512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        evbus__schema_doc_t *doc = parse(cases[i].schema, err, sizeof(err));
        if (doc)
            fail_msg("case %zu parsed: %s", i, cases[i].schema);
        assert_string_equal(err, cases[i].err);
    }
    /* errstr may be NULL */
    assert_null(parse("\"nope\"", NULL, 0));
}

/* Names per the spec: [A-Za-z_][A-Za-z0-9_]* for names, field names and enum symbols, and for
 * each dot-separated part of a full name or namespace; the error gives the JSON path. */
static void test_names(void **state) {
    static const struct {
        const char *schema, *err;
    } bad[] = {
        {"{\"type\":\"fixed\",\"name\":\"a-b\",\"size\":1}",
         "$.name: invalid name \"a-b\": must match [A-Za-z_][A-Za-z0-9_]* (dot-separated parts "
         "for a full name)"},
        {"{\"type\":\"fixed\",\"name\":\"a..b\",\"size\":1}", "$.name: invalid name \"a..b\""},
        {"{\"type\":\"fixed\",\"name\":\".a\",\"size\":1}", "$.name: invalid name \".a\""},
        {"{\"type\":\"fixed\",\"name\":\"a.\",\"size\":1}", "$.name: invalid name \"a.\""},
        {"{\"type\":\"fixed\",\"name\":\"1a\",\"size\":1}", "$.name: invalid name \"1a\""},
        {"{\"type\":\"fixed\",\"name\":\"\u00e9\",\"size\":1}", "$.name: invalid name \"\u00e9\""},
        {"{\"type\":\"fixed\",\"name\":\"a\\u0000\",\"size\":1}",
         "$.name: invalid name \"a\\u0000\""},
        {"{\"type\":\"fixed\",\"name\":\"a\",\"namespace\":\"x.9\",\"size\":1}",
         "$.namespace: invalid namespace \"x.9\": each dot-separated part must match"},
        /* a dotted name ignores "namespace", which is still checked */
        {"{\"type\":\"fixed\",\"name\":\"p.a\",\"namespace\":\"x y\",\"size\":1}",
         "$.namespace: invalid namespace \"x y\""},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"ok\",\"type\":\"int\"},"
         "{\"name\":\"no way\",\"type\":\"int\"}]}",
         "$.fields[1].name: invalid field name \"no way\": must match [A-Za-z_][A-Za-z0-9_]*"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":[\"null\","
         "{\"type\":\"map\",\"values\":{\"type\":\"array\",\"items\":{\"type\":\"enum\","
         "\"name\":\"E\",\"symbols\":[\"A\",\"B\\n\"]}}}]}]}",
         "$.fields[0].type[1].values.items.symbols[1]: invalid enum symbol \"B\\n\""},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\\u0000x\"}]}",
         "$.fields[0].type: invalid type name \"int\\u0000x\""},
        {"{\"type\":\"int\\u0000\"}", "$.type: invalid type name \"int\\u0000\""},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"e\",\"type\":{\"type\":"
         "\"enum\",\"name\":\"E\",\"symbols\":[\"A\"],\"default\":\"B\"}}]}",
         "field 'e': $.fields[0].type.default: enum 'E' default \"B\" is not one of its symbols"},
        {"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"],\"default\":0}",
         "$.default: enum 'E' default 0 is not one of its symbols"},
        {"{\"type\":\"fixed\",\"name\":\"F\",\"aliases\":[\"a.b\",\"c-d\"],\"size\":1}",
         "$.aliases[1]: invalid alias \"c-d\": must match [A-Za-z_][A-Za-z0-9_]*"},
        {"{\"type\":\"fixed\",\"name\":\"F\",\"aliases\":\"G\",\"size\":1}",
         "$.aliases: \"aliases\" must be an array of names"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"aliases\":[\"x.y\"],"
         "\"type\":\"int\"}]}",
         "$.fields[0].aliases[0]: invalid alias \"x.y\""},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"aliases\":[1],"
         "\"type\":\"int\"}]}",
         "$.fields[0].aliases[0]: an alias must be a string"},
    };
    char err[512];
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        evbus__schema_doc_t *doc = parse(bad[i].schema, err, sizeof(err));
        if (doc)
            fail_msg("case %zu parsed: %s", i, bad[i].schema);
        if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
            fail_msg("case %zu: got '%s', want '%s...'", i, err, bad[i].err);
    }
    /* valid: "" is the null namespace, underscores and digits after the first character */
    static const char *const good[] = {
        "{\"type\":\"fixed\",\"name\":\"_a9\",\"namespace\":\"\",\"size\":1}",
        "{\"type\":\"fixed\",\"name\":\"a._b.C_1\",\"size\":1}",
        "{\"type\":\"enum\",\"name\":\"E\",\"namespace\":\"x.y_2\",\"symbols\":[\"_\",\"a1\"]}",
        "{\"type\":\"fixed\",\"name\":\"a\",\"namespace\":null,\"size\":1}",
        "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"],\"default\":\"B\"}",
        "{\"type\":\"record\",\"name\":\"R\",\"aliases\":[\"p.Q\",\"S\"],\"fields\":[{\"name\":"
        "\"a\",\"aliases\":[\"b\",\"_c\"],\"type\":\"int\"}]}",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        evbus__schema_doc_t *doc = parse(good[i], err, sizeof(err));
        if (!doc)
            fail_msg("good case %zu: %s", i, err);
        if (doc->root->kind == EVBUS__AVRO_ENUM) /* the default is kept for resolution */
            assert_int_equal(doc->root->enum_default, strstr(good[i], "default") ? 1 : -1);
        evbus__schema_doc_destroy(doc);
    }
}

static void test_recursive_and_namespaces(void **state) {
    (void)state;
    char err[256];
    /* a record may refer to itself; short names resolve in the enclosing namespace */
    evbus__schema_doc_t *doc = parse(
        "{\"type\":\"record\",\"name\":\"Node\",\"namespace\":\"ns\",\"fields\":["
        "{\"name\":\"v\",\"type\":\"int\"},{\"name\":\"next\",\"type\":[\"null\",\"Node\"],"
        "\"default\":null},{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"other.E\","
        "\"symbols\":[\"X\"]}},{\"name\":\"e2\",\"type\":\"other.E\"}]}",
        err, sizeof(err));
    if (!doc)
        fail_msg("%s", err);
    assert_ptr_equal(doc->root->fields[1].type->branches[1], doc->root);
    assert_string_equal(doc->root->fields[2].type->fullname, "other.E");
    assert_string_equal(doc->canonical,
                        "{\"name\":\"ns.Node\",\"type\":\"record\",\"fields\":[{\"name\":\"v\","
                        "\"type\":\"int\"},{\"name\":\"next\",\"type\":[\"null\",\"ns.Node\"]},{"
                        "\"name\":\"e\",\"type\":{\"name\":\"other.E\",\"type\":\"enum\","
                        "\"symbols\":[\"X\"]}},{\"name\":\"e2\",\"type\":\"other.E\"}]}");
    evbus__schema_doc_destroy(doc);
}

/* --- the store */

static void test_store_fixtures(void **state) {
    (void)state;
    char err[512];
    evbus__schema_store_t *st =
        evbus__schema_store_new(tu_src_path("tests/unit/data/schemas"), err, sizeof(err));
    if (!st)
        fail_msg("%s", err);
    assert_int_equal(evbus__schema_store_count(st), 2);
    assert_string_equal(evbus__schema_store_at(st, 0)->event_type, ALL_TYPES);
    assert_string_equal(evbus__schema_store_at(st, 1)->event_type, SIMPLE);
    assert_null(evbus__schema_store_at(st, 2));
    const evbus__schema_entry_t *e = evbus__schema_store_get(st, SIMPLE);
    assert_non_null(e);
    assert_string_equal(e->event_type, SIMPLE);
    assert_non_null(strstr(e->path, "tests/unit/data/schemas/" SIMPLE ".avsc"));
    assert_true(e->doc->fingerprint == 0xb3001775e10653abULL);
    assert_ptr_equal(evbus__schema_store_by_fingerprint(st, 0xb3001775e10653abULL), e);
    assert_ptr_equal(evbus__schema_store_by_fingerprint(st, 0x2077bf6423455363ULL),
                     evbus__schema_store_get(st, ALL_TYPES));
    assert_null(evbus__schema_store_by_fingerprint(st, 1));
    assert_null(evbus__schema_store_get(st, "org.evbus.test.nope.v1"));
    assert_null(evbus__schema_store_get(st, "a"));
    assert_null(evbus__schema_store_get(st, "zzz"));
    assert_string_equal(evbus__schema_store_dir(st), tu_src_path("tests/unit/data/schemas"));
    evbus__schema_store_destroy(st);
    evbus__schema_store_destroy(NULL);
}

/*
 * evbus__schema_store_get() remembers each thread's last answer: after a schema is registered
 * (evbus__schema_store_add(), which moves the entries), a type asked for just before must be
 * found again where it now is, and the store that replaced a destroyed one at the same address
 * must not be answered from the old one.
 */
static void test_store_get_after_change(void **state) {
    (void)state;
    char err[512];
    static const char *early = /* sorts before both fixtures: the entries move */
        "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"aaa.first.v1\","
        "\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}";
    for (int round = 0; round < 2; round++) {
        evbus__schema_store_t *st =
            evbus__schema_store_new(tu_src_path("tests/unit/data/schemas"), err, sizeof(err));
        if (!st)
            fail_msg("%s", err);
        const evbus__schema_entry_t *e = evbus__schema_store_get(st, SIMPLE);
        assert_non_null(e);
        assert_string_equal(e->event_type, SIMPLE);
        if (round == 0) {
            assert_int_equal(evbus__schema_store_add(st, early, strlen(early), err, sizeof(err)), 0);
            assert_int_equal(evbus__schema_store_count(st), 3);
            e = evbus__schema_store_get(st, SIMPLE);
            assert_ptr_equal(e, evbus__schema_store_at(st, 2));
            assert_string_equal(e->event_type, SIMPLE);
            assert_true(e->doc->fingerprint == 0xb3001775e10653abULL);
            assert_string_equal(evbus__schema_store_get(st, "aaa.first.v1")->event_type,
                                "aaa.first.v1");
        } else {
            assert_null(evbus__schema_store_get(st, "aaa.first.v1"));
        }
        evbus__schema_store_destroy(st);
    }
}

static void test_store_env_dir(void **state) {
    (void)state;
    char err[512];
    const char *old = getenv("EVENT_BUS_SCHEMA_DIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("EVENT_BUS_SCHEMA_DIR", tu_src_path("tests/unit/data/schemas"), 1);
    evbus__schema_store_t *st = evbus__schema_store_new(NULL, err, sizeof(err));
    if (!st)
        fail_msg("%s", err);
    assert_int_equal(evbus__schema_store_count(st), 2);
    evbus__schema_store_destroy(st);
    if (saved) {
        setenv("EVENT_BUS_SCHEMA_DIR", saved, 1);
        free(saved);
    } else {
        unsetenv("EVENT_BUS_SCHEMA_DIR");
    }
}

static void expect_store_error(const char *name, const char *text, const char *problem) {
    char err[512], want[1024];
    char *dir = tu_mkdtemp();
    char *ok = tu_write_file(dir, "a.b.v1.avsc",
                             "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"a.b.v1\","
                             "\"fields\":[]}");
    free(tu_write_file(dir, "ignored.txt", "not a schema"));
    char *path = tu_write_file(dir, name, text);
    assert_null(evbus__schema_store_new(dir, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s: %s", path, problem);
    assert_string_equal(err, want);
    free(path);
    /* without the bad file the directory loads, and non-.avsc files are ignored */
    char *bad = tu_write_file(dir, name, "");
    remove(bad);
    free(bad);
    evbus__schema_store_t *st = evbus__schema_store_new(dir, err, sizeof(err));
    assert_non_null(st);
    assert_int_equal(evbus__schema_store_count(st), 1);
    evbus__schema_store_destroy(st);
    free(ok);
    tu_rm_rf(dir);
    free(dir);
}

static void test_store_errors(void **state) {
    (void)state;
    char err[512];
    expect_store_error("x.y.v1.avsc",
                       "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"x.z.v1\","
                       "\"fields\":[]}",
                       "record namespace 'x.z.v1' differs from the file name's event type 'x.y.v1'");
    expect_store_error("x.y.v1.avsc", "{\"type\":\"record\",\"name\":\"CloudEvent\",\"fields\":[]}",
                       "record namespace '' differs from the file name's event type 'x.y.v1'");
    expect_store_error("x.y.v1.avsc", "\"string\"", "top-level type is string, not a record");
    expect_store_error("x.y.v1.avsc", "{", "invalid JSON at line 1 column 1: "
                                           "string or '}' expected near end of file");
    /* a dotted record name carries its namespace */
    char *dir = tu_mkdtemp();
    free(tu_write_file(dir, "p.q.v1.avsc",
                       "{\"type\":\"record\",\"name\":\"p.q.v1.CloudEvent\",\"fields\":[]}"));
    evbus__schema_store_t *st = evbus__schema_store_new(dir, err, sizeof(err));
    assert_non_null(st);
    assert_non_null(evbus__schema_store_get(st, "p.q.v1"));
    evbus__schema_store_destroy(st);
    tu_rm_rf(dir);
    free(dir);
    assert_null(evbus__schema_store_new("/nonexistent/evbus", err, sizeof(err)));
    assert_string_equal(err, "/nonexistent/evbus: No such file or directory");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc64_empty),
        cmocka_unit_test(test_canonical_and_fingerprint),
        cmocka_unit_test(test_fixture_fingerprints),
        cmocka_unit_test(test_parse_all_types),
        cmocka_unit_test(test_bad_schemas),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_recursive_and_namespaces),
        cmocka_unit_test(test_store_fixtures),
        cmocka_unit_test(test_store_get_after_change),
        cmocka_unit_test(test_store_env_dir),
        cmocka_unit_test(test_store_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
