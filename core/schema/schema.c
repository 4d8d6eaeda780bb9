/*
 * Avro schema parsing (jansson: schemas are parsed once, never on the hot path), names
 * checked by the spec's rules, Parsing Canonical Form and the CRC-64-AVRO fingerprint.
 * Defaults are kept as JSON text: checking and encoding them is the codec's job
 * (codec_default.c), and this file never calls the codec.
 */
#include "schema.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"

/* Everything a doc owns, so destroy frees nodes shared through named references once. */
typedef struct priv_s {
    evbus__schema_t **nodes;
    size_t nnodes, capnodes;
    evbus__schema_t **named; /* named types in definition order */
    size_t nnamed, capnamed;
} priv_t;

typedef struct ctx_s {
    priv_t *pv;
    char *errstr;
    size_t errstr_size;
    int failed;
    char path[512]; /* field path for messages, "a.b" */
    size_t pathlen;
    char jpath[512]; /* JSON path of the node being parsed, "$.fields[2].type" */
    size_t jpathlen;
} ctx_t;

static const char *kind_names[] = {"null",   "boolean", "int",  "long",  "float",
                                   "double", "string",  "bytes", "record", "enum",
                                   "array",  "map",     "fixed", "union"};

const char *evbus__avro_kind_name(evbus__avro_kind_t kind) {
    if ((unsigned)kind < sizeof(kind_names) / sizeof(kind_names[0]))
        return kind_names[kind];
    return "unknown";
}

static void *fail(ctx_t *c, const char *fmt, ...) EVBUS__PRINTF(2, 3);
static void *fail(ctx_t *c, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    if (c->failed)
        return NULL;
    c->failed = 1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->pathlen)
        evbus__seterr(c->errstr, c->errstr_size, "field '%s': %s", c->path, msg);
    else
        evbus__seterr(c->errstr, c->errstr_size, "%s", msg);
    return NULL;
}

static void node_free(evbus__schema_t *n) {
    if (!n)
        return;
    free(n->fullname);
    for (size_t i = 0; i < n->nfields; i++) {
        free(n->fields[i].name);
        free(n->fields[i].default_avro);
        free(n->fields[i].default_json);
        free(n->fields[i].json_key);
        for (size_t k = 0; k < n->fields[i].naliases; k++)
            free(n->fields[i].aliases[k]);
        free(n->fields[i].aliases);
    }
    free(n->fields);
    for (size_t i = 0; i < n->nsymbols; i++)
        free(n->symbols[i]);
    free(n->symbols);
    free(n->branches);
    free(n->logical_type);
    free(n);
}

static int grow(void *arrp, size_t *cap, size_t n, size_t elsize) {
    void **arr = arrp;
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, nc * elsize);
    if (!p)
        return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

static evbus__schema_t *node_new(ctx_t *c, evbus__avro_kind_t kind) {
    priv_t *pv = c->pv;
    if (grow(&pv->nodes, &pv->capnodes, pv->nnodes, sizeof(*pv->nodes)) != 0)
        return fail(c, "out of memory");
    evbus__schema_t *n = calloc(1, sizeof(*n));
    if (!n)
        return fail(c, "out of memory");
    n->kind = kind;
    n->null_branch = -1;
    n->enum_default = -1;
    pv->nodes[pv->nnodes++] = n;
    return n;
}

static int primitive_kind(const char *s, evbus__avro_kind_t *k) {
    for (int i = EVBUS__AVRO_NULL; i <= EVBUS__AVRO_BYTES; i++) {
        if (strcmp(s, kind_names[i]) == 0) {
            *k = (evbus__avro_kind_t)i;
            return 1;
        }
    }
    return 0;
}

/* The Avro spec's name rule, [A-Za-z_][A-Za-z0-9_]*, on s[0..n). */
static int valid_name(const char *s, size_t n) {
    if (n == 0 || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' ||
              (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

/* A namespace part may also hold '-' after its first character: openedx-events (through
 * fastavro, which does not check names) ships org.openedx.enterprise.subsidy.redemption-reversed.v1,
 * and the Python bus writes it on the wire. A type's own name stays strict. */
static int valid_ns_part(const char *s, size_t n) {
    if (n == 0 || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' ||
              s[i] == '-' || (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

/* Dot-separated names (a fullname, or a namespace when not empty); n bytes, NULs included.
 * is_ns: every part is a namespace part; else the last part is the type's name. */
static int valid_dotted(const char *s, size_t n, int is_ns) {
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!(is_ns || i < n ? valid_ns_part(s + start, i - start) : valid_name(s + start, i - start)))
                return 0;
            start = i + 1;
        }
    }
    return 1;
}

/* The JSON path is pushed as nodes are entered, so a bad name can be found in a big schema. */
static size_t jpath_push(ctx_t *c, const char *fmt, ...) EVBUS__PRINTF(2, 3);
static size_t jpath_push(ctx_t *c, const char *fmt, ...) {
    size_t saved = c->jpathlen;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(c->jpath + c->jpathlen, sizeof(c->jpath) - c->jpathlen, fmt, ap);
    va_end(ap);
    if (k > 0)
        c->jpathlen += (size_t)k;
    if (c->jpathlen >= sizeof(c->jpath))
        c->jpathlen = sizeof(c->jpath) - 1;
    return saved;
}

static void jpath_pop(ctx_t *c, size_t saved) {
    c->jpathlen = saved;
    c->jpath[saved] = 0;
}

/*
 * A name, namespace, field name or enum symbol that breaks the spec's rule: the message
 * gives the JSON path of the offending string and the string JSON-escaped (it may hold a
 * NUL or control characters, which jansson's C string would hide).
 */
static void *fail_name(ctx_t *c, const char *what, json_t *js, const char *key) {
    evbus__buf_t q = EVBUS__BUF_INIT;
    size_t saved = jpath_push(c, "%s", key);
    if (evbus__json_write_string(&q, json_string_value(js), json_string_length(js)) != 0) {
        evbus__buf_free(&q);
        jpath_pop(c, saved);
        return fail(c, "out of memory");
    }
    size_t fsaved = c->pathlen;
    c->pathlen = 0; /* the JSON path says where, without the field path before it */
    fail(c, "%s: invalid %s %.200s: %s", c->jpath, what, (const char *)q.data,
         strcmp(what, "namespace") == 0
             ? "each dot-separated part must match [A-Za-z_][A-Za-z0-9_]*"
         : strcmp(what, "name") == 0
             ? "must match [A-Za-z_][A-Za-z0-9_]* (dot-separated parts for a full name)"
             : "must match [A-Za-z_][A-Za-z0-9_]*");
    c->pathlen = fsaved;
    evbus__buf_free(&q);
    jpath_pop(c, saved);
    return NULL;
}

/* "aliases": names too (dotted for named types, plain for fields), checked by the same rule
 * although evbus resolves nothing by them. -1 (errstr set) when one is bad. */
static int check_aliases(ctx_t *c, json_t *obj, int dotted) {
    json_t *ja = json_object_get(obj, "aliases");
    if (!ja)
        return 0;
    if (!json_is_array(ja)) {
        size_t saved = jpath_push(c, ".aliases");
        fail(c, "%s: \"aliases\" must be an array of names", c->jpath);
        jpath_pop(c, saved);
        return -1;
    }
    for (size_t i = 0; i < json_array_size(ja); i++) {
        json_t *a = json_array_get(ja, i);
        char key[48];
        snprintf(key, sizeof(key), ".aliases[%zu]", i);
        if (!json_is_string(a) ||
            !(dotted ? valid_dotted(json_string_value(a), json_string_length(a), 0)
                     : valid_name(json_string_value(a), json_string_length(a)))) {
            if (json_is_string(a))
                fail_name(c, "alias", a, key);
            else {
                size_t saved = jpath_push(c, "%s", key);
                fail(c, "%s: an alias must be a string", c->jpath);
                jpath_pop(c, saved);
            }
            return -1;
        }
    }
    return 0;
}

static evbus__schema_t *lookup_named(priv_t *pv, const char *fullname) {
    for (size_t i = 0; i < pv->nnamed; i++)
        if (strcmp(pv->named[i]->fullname, fullname) == 0)
            return pv->named[i];
    return NULL;
}

/* Fullname of a name given in namespace ns (NULL/"" for none); malloc'd. */
static char *make_fullname(const char *name, const char *ns) {
    if (strchr(name, '.') || !ns || !*ns)
        return strdup(name);
    size_t a = strlen(ns), b = strlen(name);
    char *s = malloc(a + b + 2);
    if (s) {
        memcpy(s, ns, a);
        s[a] = '.';
        memcpy(s + a + 1, name, b + 1);
    }
    return s;
}

static evbus__schema_t *parse_type(ctx_t *c, json_t *j, const char *ns, int depth);

static evbus__schema_t *resolve_name(ctx_t *c, const char *name, const char *ns) {
    evbus__avro_kind_t k;
    if (primitive_kind(name, &k))
        return node_new(c, k);
    char *full = make_fullname(name, ns);
    if (!full)
        return fail(c, "out of memory");
    evbus__schema_t *n = lookup_named(c->pv, full);
    if (!n && strchr(name, '.') == NULL)
        n = lookup_named(c->pv, name); /* the null namespace */
    free(full);
    if (!n)
        return fail(c, "unknown type '%s'", name);
    return n;
}

/* Create and register a named node from the object's "name"/"namespace". *nsp gets the
 * namespace that nested definitions inherit (points into the node's fullname copy). */
static evbus__schema_t *named_new(ctx_t *c, json_t *j, evbus__avro_kind_t kind, const char *ns,
                                  char **nsp) {
    json_t *jn = json_object_get(j, "name"), *jns = json_object_get(j, "namespace");
    if (!json_is_string(jn))
        return fail(c, "%s without a string \"name\"", kind_names[kind]);
    if (jns && !json_is_string(jns) && !json_is_null(jns))
        return fail(c, "%s '%s': \"namespace\" must be a string", kind_names[kind],
                    json_string_value(jn));
    const char *name = json_string_value(jn);
    if (!valid_dotted(name, json_string_length(jn), 0))
        return fail_name(c, "name", jn, ".name");
    if (check_aliases(c, j, 1) != 0)
        return NULL;
    /* a dotted name carries its own namespace, so "namespace" is ignored (but still checked) */
    if (json_is_string(jns)) {
        if (json_string_length(jns) && !valid_dotted(json_string_value(jns), json_string_length(jns), 1))
            return fail_name(c, "namespace", jns, ".namespace");
        ns = json_string_value(jns);
    }
    char *full = make_fullname(name, ns);
    if (!full)
        return fail(c, "out of memory");
    evbus__avro_kind_t pk;
    const char *last = strrchr(full, '.');
    if (primitive_kind(last ? last + 1 : full, &pk)) {
        fail(c, "%s name '%s' is a primitive type name", kind_names[kind], full);
        free(full);
        return NULL;
    }
    if (lookup_named(c->pv, full)) {
        fail(c, "type '%s' defined twice", full);
        free(full);
        return NULL;
    }
    priv_t *pv = c->pv;
    evbus__schema_t *n = NULL;
    if (grow(&pv->named, &pv->capnamed, pv->nnamed, sizeof(*pv->named)) != 0 ||
        !(n = node_new(c, kind))) {
        free(full);
        return fail(c, "out of memory");
    }
    n->fullname = full;
    pv->named[pv->nnamed++] = n;
    /* namespace of nested definitions: everything before the last dot */
    *nsp = NULL;
    if (last) {
        *nsp = strndup(full, (size_t)(last - full));
        if (!*nsp)
            return fail(c, "out of memory");
    }
    return n;
}

static void path_push(ctx_t *c, const char *name, size_t *saved) {
    *saved = c->pathlen;
    int k = snprintf(c->path + c->pathlen, sizeof(c->path) - c->pathlen, "%s%s",
                     c->pathlen ? "." : "", name);
    if (k > 0)
        c->pathlen += (size_t)k;
    if (c->pathlen >= sizeof(c->path))
        c->pathlen = sizeof(c->path) - 1;
}

static void path_pop(ctx_t *c, size_t saved) {
    c->pathlen = saved;
    c->path[saved] = 0;
}

/* Keep the default as compact JSON text; the codec checks it by Avro's rules once every
 * type is known (a default may be of this record's own type). */
static int keep_default(ctx_t *c, evbus__field_t *f, json_t *def) {
    f->default_json = json_dumps(def, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!f->default_json) {
        fail(c, "out of memory");
        return -1;
    }
    f->has_default = 1;
    return 0;
}

static evbus__schema_t *parse_record(ctx_t *c, json_t *j, const char *ns, int depth) {
    char *inner_ns = NULL;
    evbus__schema_t *n = named_new(c, j, EVBUS__AVRO_RECORD, ns, &inner_ns);
    if (!n) {
        free(inner_ns);
        return NULL;
    }
    json_t *fields = json_object_get(j, "fields");
    if (!json_is_array(fields)) {
        free(inner_ns);
        return fail(c, "record '%s' without a \"fields\" array", n->fullname);
    }
    size_t nf = json_array_size(fields);
    if (nf && !(n->fields = calloc(nf, sizeof(*n->fields)))) {
        free(inner_ns);
        return fail(c, "out of memory");
    }
    for (size_t i = 0; i < nf; i++) {
        json_t *jf = json_array_get(fields, i);
        json_t *jn = json_object_get(jf, "name");
        if (!json_is_object(jf) || !json_is_string(jn)) {
            free(inner_ns);
            return fail(c, "record '%s': field %zu needs a string \"name\"", n->fullname, i);
        }
        const char *fname = json_string_value(jn);
        size_t jsaved = jpath_push(c, ".fields[%zu]", i);
        if (!valid_name(fname, json_string_length(jn))) {
            free(inner_ns);
            return fail_name(c, "field name", jn, ".name");
        }
        if (check_aliases(c, jf, 0) != 0) {
            free(inner_ns);
            return NULL;
        }
        for (size_t k = 0; k < n->nfields; k++)
            if (strcmp(n->fields[k].name, fname) == 0) {
                free(inner_ns);
                return fail(c, "record '%s': field '%s' defined twice", n->fullname, fname);
            }
        evbus__field_t *f = &n->fields[n->nfields];
        if (!(f->name = strdup(fname))) {
            free(inner_ns);
            return fail(c, "out of memory");
        }
        f->name_len = strlen(fname);
        n->nfields++; /* from here the node's destructor frees what the field holds */
        f->json_key_len = f->name_len + 3;
        if (!(f->json_key = calloc((f->json_key_len + 7) / 8, 8))) {
            free(inner_ns);
            return fail(c, "out of memory");
        }
        f->json_key[0] = '"';
        memcpy(f->json_key + 1, fname, f->name_len);
        f->json_key[f->name_len + 1] = '"';
        f->json_key[f->name_len + 2] = ':';
        /* check_aliases() above vouched for the array: names only. */
        json_t *ja = json_object_get(jf, "aliases");
        if (json_array_size(ja) > 0) {
            if (!(f->aliases = calloc(json_array_size(ja), sizeof(*f->aliases)))) {
                free(inner_ns);
                return fail(c, "out of memory");
            }
            for (size_t k = 0; k < json_array_size(ja); k++) {
                if (!(f->aliases[k] = strdup(json_string_value(json_array_get(ja, k))))) {
                    free(inner_ns);
                    return fail(c, "out of memory");
                }
                f->naliases++;
            }
        }
        size_t saved;
        path_push(c, fname, &saved);
        json_t *jt = json_object_get(jf, "type");
        if (!jt) {
            free(inner_ns);
            return fail(c, "missing \"type\"");
        }
        size_t tsaved = jpath_push(c, ".type");
        f->type = parse_type(c, jt, inner_ns ? inner_ns : "", depth + 1);
        if (!f->type) {
            free(inner_ns);
            return NULL;
        }
        jpath_pop(c, tsaved);
        jpath_pop(c, jsaved);
        path_pop(c, saved);
    }
    free(inner_ns);
    for (size_t i = 0; i < n->nfields; i++) {
        json_t *def = json_object_get(json_array_get(fields, i), "default");
        if (def && keep_default(c, &n->fields[i], def) != 0)
            return NULL;
    }
    return n;
}

static evbus__schema_t *parse_enum(ctx_t *c, json_t *j, const char *ns) {
    char *inner_ns = NULL;
    evbus__schema_t *n = named_new(c, j, EVBUS__AVRO_ENUM, ns, &inner_ns);
    free(inner_ns);
    if (!n)
        return NULL;
    json_t *syms = json_object_get(j, "symbols");
    if (!json_is_array(syms))
        return fail(c, "enum '%s' without a \"symbols\" array", n->fullname);
    size_t ns_ = json_array_size(syms);
    if (ns_ && !(n->symbols = calloc(ns_, sizeof(char *))))
        return fail(c, "out of memory");
    for (size_t i = 0; i < ns_; i++) {
        json_t *s = json_array_get(syms, i);
        if (!json_is_string(s))
            return fail(c, "enum '%s': symbol %zu is not a string", n->fullname, i);
        if (!valid_name(json_string_value(s), json_string_length(s))) {
            char key[48];
            snprintf(key, sizeof(key), ".symbols[%zu]", i);
            return fail_name(c, "enum symbol", s, key);
        }
        for (size_t k = 0; k < n->nsymbols; k++)
            if (strcmp(n->symbols[k], json_string_value(s)) == 0)
                return fail(c, "enum '%s': symbol '%s' twice", n->fullname, n->symbols[k]);
        if (!(n->symbols[n->nsymbols] = strdup(json_string_value(s))))
            return fail(c, "out of memory");
        n->nsymbols++;
    }
    /* the symbol a reader takes for a writer's symbol it lacks (spec: enum "default") */
    json_t *jd = json_object_get(j, "default");
    if (jd) {
        for (size_t k = 0; json_is_string(jd) && k < n->nsymbols; k++)
            if (strlen(n->symbols[k]) == json_string_length(jd) &&
                strcmp(n->symbols[k], json_string_value(jd)) == 0)
                n->enum_default = (int)k;
        if (n->enum_default < 0) {
            char *txt = json_dumps(jd, JSON_ENCODE_ANY | JSON_COMPACT);
            size_t saved = jpath_push(c, ".default");
            fail(c, "%s: enum '%s' default %.100s is not one of its symbols", c->jpath,
                 n->fullname, txt ? txt : "?");
            jpath_pop(c, saved);
            free(txt);
            return NULL;
        }
    }
    return n;
}

static evbus__schema_t *parse_fixed(ctx_t *c, json_t *j, const char *ns) {
    char *inner_ns = NULL;
    evbus__schema_t *n = named_new(c, j, EVBUS__AVRO_FIXED, ns, &inner_ns);
    free(inner_ns);
    if (!n)
        return NULL;
    json_t *sz = json_object_get(j, "size");
    if (!json_is_integer(sz) || json_integer_value(sz) < 0 ||
        json_integer_value(sz) > INT32_MAX)
        return fail(c, "fixed '%s' needs a non-negative integer \"size\"", n->fullname);
    n->fixed_size = (size_t)json_integer_value(sz);
    return n;
}

static evbus__schema_t *parse_union(ctx_t *c, json_t *j, const char *ns, int depth) {
    evbus__schema_t *n = node_new(c, EVBUS__AVRO_UNION);
    if (!n)
        return NULL;
    size_t nb = json_array_size(j);
    /* [] is a valid schema (the spec's own Parsing Canonical Form cases have it); no datum
     * has that type, so the codec refuses every value of it */
    if (nb && !(n->branches = calloc(nb, sizeof(*n->branches))))
        return fail(c, "out of memory");
    for (size_t i = 0; i < nb; i++) {
        size_t saved = jpath_push(c, "[%zu]", i);
        evbus__schema_t *b = parse_type(c, json_array_get(j, i), ns, depth + 1);
        if (!b)
            return NULL;
        jpath_pop(c, saved);
        if (b->kind == EVBUS__AVRO_UNION)
            return fail(c, "union directly inside a union");
        for (size_t k = 0; k < n->nbranches; k++) {
            evbus__schema_t *o = n->branches[k];
            if (o->kind == b->kind && (!b->fullname || strcmp(o->fullname, b->fullname) == 0))
                return fail(c, "union has two branches of type '%s'",
                            b->fullname ? b->fullname : kind_names[b->kind]);
        }
        if (b->kind == EVBUS__AVRO_NULL)
            n->null_branch = (int)i;
        n->branches[n->nbranches++] = b;
    }
    return n;
}

static evbus__schema_t *parse_type(ctx_t *c, json_t *j, const char *ns, int depth) {
    if (depth > EVBUS__SCHEMA_MAX_DEPTH)
        return fail(c, "schema nested too deeply");
    if (json_is_string(j)) {
        if (strlen(json_string_value(j)) != json_string_length(j))
            return fail_name(c, "type name", j, "");
        return resolve_name(c, json_string_value(j), ns);
    }
    if (json_is_array(j))
        return parse_union(c, j, ns, depth);
    if (!json_is_object(j))
        return fail(c, "a type must be a string, object or array");
    json_t *jt = json_object_get(j, "type");
    if (!json_is_string(jt))
        return fail(c, "type object without a string \"type\"");
    const char *t = json_string_value(jt);
    if (strlen(t) != json_string_length(jt))
        return fail_name(c, "type name", jt, ".type");
    evbus__schema_t *n;
    evbus__avro_kind_t k;
    if (strcmp(t, "record") == 0 || strcmp(t, "error") == 0) {
        n = parse_record(c, j, ns, depth);
    } else if (strcmp(t, "enum") == 0) {
        n = parse_enum(c, j, ns);
    } else if (strcmp(t, "fixed") == 0) {
        n = parse_fixed(c, j, ns);
    } else if (strcmp(t, "array") == 0 || strcmp(t, "map") == 0) {
        int arr = t[0] == 'a';
        json_t *it = json_object_get(j, arr ? "items" : "values");
        if (!it)
            return fail(c, "%s without \"%s\"", t, arr ? "items" : "values");
        n = node_new(c, arr ? EVBUS__AVRO_ARRAY : EVBUS__AVRO_MAP);
        size_t saved = jpath_push(c, arr ? ".items" : ".values");
        if (n && !(n->items = parse_type(c, it, ns, depth + 1)))
            return NULL;
        jpath_pop(c, saved);
    } else if (primitive_kind(t, &k)) {
        n = node_new(c, k);
    } else {
        /* {"type": "SomeNamedType"} refers to a named type; logicalType cannot stick to it */
        return resolve_name(c, t, ns);
    }
    if (!n)
        return NULL;
    json_t *lt = json_object_get(j, "logicalType");
    if (json_is_string(lt) && !n->logical_type &&
        !(n->logical_type = strdup(json_string_value(lt))))
        return fail(c, "out of memory");
    return n;
}

/* The bytes a datum of n takes at least, given the current bounds of its children. */
static size_t min_size_of(const evbus__schema_t *n) {
    enum { CAP = 1 << 30 }; /* far beyond any input; keeps the sums from overflowing */
    size_t m = 0;
    switch (n->kind) {
    case EVBUS__AVRO_NULL: return 0;
    case EVBUS__AVRO_FLOAT: return 4;
    case EVBUS__AVRO_DOUBLE: return 8;
    case EVBUS__AVRO_FIXED: return n->fixed_size < CAP ? n->fixed_size : CAP;
    case EVBUS__AVRO_RECORD:
        for (size_t i = 0; i < n->nfields && m < CAP; i++)
            m += n->fields[i].type->min_size;
        return m < CAP ? m : CAP;
    case EVBUS__AVRO_UNION: /* the branch index, then the smallest branch */
        m = n->nbranches ? n->branches[0]->min_size : 0;
        for (size_t i = 1; i < n->nbranches; i++)
            if (n->branches[i]->min_size < m)
                m = n->branches[i]->min_size;
        return 1 + m;
    default: return 1; /* boolean, int, long, enum, string, bytes, array, map: a byte at least */
    }
}

/*
 * Named references make the type graph cyclic, so the bounds are found by iteration from 0:
 * each round can only raise them and never past the true minimum, so stopping after a fixed
 * number of rounds still leaves a lower bound (a record that must contain itself grows each
 * round; no datum of it exists anyway).
 */
static void compute_min_sizes(priv_t *pv) {
    for (int round = 0; round < 64; round++) {
        int changed = 0;
        for (size_t i = 0; i < pv->nnodes; i++) {
            size_t m = min_size_of(pv->nodes[i]);
            if (m != pv->nodes[i]->min_size) {
                pv->nodes[i]->min_size = m;
                changed = 1;
            }
        }
        if (!changed)
            break;
    }
}

static void priv_free(priv_t *pv) {
    if (!pv)
        return;
    for (size_t i = 0; i < pv->nnodes; i++)
        node_free(pv->nodes[i]);
    free(pv->nodes);
    free(pv->named);
    free(pv);
}

void evbus__schema_doc_destroy(evbus__schema_doc_t *doc) {
    if (!doc)
        return;
    priv_free(doc->priv);
    free(doc->canonical);
    free(doc->json);
    free(doc);
}

evbus__schema_doc_t *evbus__schema_parse_types(const char *json, size_t len, char *errstr,
                                               size_t errstr_size) {
    json_error_t jerr;
    json_t *j = json_loadb(json, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!j) {
        evbus__seterr(errstr, errstr_size, "invalid JSON at line %d column %d: %s", jerr.line,
                      jerr.column, jerr.text);
        return NULL;
    }
    evbus__schema_doc_t *doc = calloc(1, sizeof(*doc));
    priv_t *pv = calloc(1, sizeof(*pv));
    ctx_t c;
    memset(&c, 0, sizeof(c));
    c.pv = pv;
    c.jpath[0] = '$';
    c.jpathlen = 1;
    c.errstr = errstr;
    c.errstr_size = errstr_size;
    if (!doc || !pv) {
        free(doc);
        free(pv);
        json_decref(j);
        evbus__seterr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    doc->priv = pv;
    doc->root = parse_type(&c, j, "", 0);
    json_decref(j);
    if (!doc->root) {
        evbus__schema_doc_destroy(doc);
        return NULL;
    }
    compute_min_sizes(pv);
    doc->canonical = evbus__schema_canonical(doc->root);
    doc->json = strndup(json, len);
    if (!doc->canonical || !doc->json) {
        evbus__schema_doc_destroy(doc);
        evbus__seterr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    doc->fingerprint = evbus__crc64_avro(doc->canonical, strlen(doc->canonical));
    return doc;
}

/* --- Parsing Canonical Form */

typedef struct canon_s {
    evbus__buf_t b;
    const evbus__schema_t **seen;
    size_t nseen, capseen;
    int oom;
} canon_t;

static void cput(canon_t *k, const char *s) {
    if (evbus__buf_puts(&k->b, s) != 0)
        k->oom = 1;
}

static void cstr(canon_t *k, const char *s) {
    if (evbus__json_write_string(&k->b, s, strlen(s)) != 0)
        k->oom = 1;
}

static void canon(canon_t *k, const evbus__schema_t *n, int depth) {
    if (k->oom || depth > EVBUS__SCHEMA_MAX_DEPTH * 2) {
        k->oom = 1;
        return;
    }
    switch (n->kind) {
    case EVBUS__AVRO_RECORD:
    case EVBUS__AVRO_ENUM:
    case EVBUS__AVRO_FIXED:
        for (size_t i = 0; i < k->nseen; i++)
            if (k->seen[i] == n) {
                cstr(k, n->fullname);
                return;
            }
        if (grow(&k->seen, &k->capseen, k->nseen, sizeof(*k->seen)) != 0) {
            k->oom = 1;
            return;
        }
        k->seen[k->nseen++] = n;
        cput(k, "{\"name\":");
        cstr(k, n->fullname);
        cput(k, ",\"type\":");
        cstr(k, kind_names[n->kind]);
        if (n->kind == EVBUS__AVRO_RECORD) {
            cput(k, ",\"fields\":[");
            for (size_t i = 0; i < n->nfields; i++) {
                cput(k, i ? ",{\"name\":" : "{\"name\":");
                cstr(k, n->fields[i].name);
                cput(k, ",\"type\":");
                canon(k, n->fields[i].type, depth + 1);
                cput(k, "}");
            }
            cput(k, "]}");
        } else if (n->kind == EVBUS__AVRO_ENUM) {
            cput(k, ",\"symbols\":[");
            for (size_t i = 0; i < n->nsymbols; i++) {
                if (i)
                    cput(k, ",");
                cstr(k, n->symbols[i]);
            }
            cput(k, "]}");
        } else {
            if (evbus__buf_printf(&k->b, ",\"size\":%zu}", n->fixed_size) != 0)
                k->oom = 1;
        }
        return;
    case EVBUS__AVRO_ARRAY:
    case EVBUS__AVRO_MAP:
        cput(k, n->kind == EVBUS__AVRO_ARRAY ? "{\"type\":\"array\",\"items\":"
                                              : "{\"type\":\"map\",\"values\":");
        canon(k, n->items, depth + 1);
        cput(k, "}");
        return;
    case EVBUS__AVRO_UNION:
        cput(k, "[");
        for (size_t i = 0; i < n->nbranches; i++) {
            if (i)
                cput(k, ",");
            canon(k, n->branches[i], depth + 1);
        }
        cput(k, "]");
        return;
    default:
        cstr(k, kind_names[n->kind]);
    }
}

char *evbus__schema_canonical(const evbus__schema_t *node) {
    canon_t k;
    memset(&k, 0, sizeof(k));
    canon(&k, node, 0);
    free(k.seen);
    if (k.oom) {
        evbus__buf_free(&k.b);
        return NULL;
    }
    return evbus__buf_steal(&k.b);
}

/* --- CRC-64-AVRO (the Rabin fingerprint of the Avro spec) */

#define CRC64_AVRO_EMPTY 0xc15d213aa4d7a795ULL
static uint64_t crc64_table[256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init(void) {
    for (int i = 0; i < 256; i++) {
        uint64_t fp = (uint64_t)i;
        for (int j = 0; j < 8; j++)
            fp = (fp >> 1) ^ (CRC64_AVRO_EMPTY & (0 - (fp & 1)));
        crc64_table[i] = fp;
    }
}

uint64_t evbus__crc64_avro(const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t fp = CRC64_AVRO_EMPTY;
    pthread_once(&crc64_once, crc64_init);
    for (size_t i = 0; i < len; i++)
        fp = (fp >> 8) ^ crc64_table[(fp ^ p[i]) & 0xff];
    return fp;
}
