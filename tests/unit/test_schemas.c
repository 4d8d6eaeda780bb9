/*
 * The shipped schemas (every .avsc file in schemas/): each loads, its name is its namespace, the
 * top-level record is "CloudEvent", and the key paths we configure resolve to scalars.
 */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keypath.h"
#include "resolve.h"
#include "schema.h"

static evbus__schema_store_t *load_store(void) {
    char err[512] = "";
    evbus__schema_store_t *st = evbus__schema_store_new(tu_src_path("schemas"), err, sizeof(err));
    if (!st)
        print_error("schema store: %s\n", err);
    assert_non_null(st);
    return st;
}

static void test_every_file_loads_and_is_named_by_namespace(void **state) {
    (void)state;
    evbus__schema_store_t *st = load_store();

    /* Count the .avsc files ourselves: the store must hold each one. */
    size_t files = 0;
    DIR *d = opendir(tu_src_path("schemas"));
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n > 5 && strcmp(e->d_name + n - 5, ".avsc") == 0) {
            char type[256];
            assert_true(n - 5 < sizeof(type));
            memcpy(type, e->d_name, n - 5);
            type[n - 5] = '\0';
            const evbus__schema_entry_t *ent = evbus__schema_store_get(st, type);
            if (!ent)
                print_error("no store entry for %s\n", e->d_name);
            assert_non_null(ent);
            assert_string_equal(ent->event_type, type);
            /* The Python bus names the record CloudEvent in the event type's namespace. */
            char want[300];
            snprintf(want, sizeof(want), "%s.CloudEvent", type);
            assert_int_equal(ent->doc->root->kind, EVBUS__AVRO_RECORD);
            assert_string_equal(ent->doc->root->fullname, want);
            assert_true(ent->doc->root->nfields > 0);
            files++;
        }
    }
    closedir(d);
    assert_true(files >= 5);
    assert_int_equal(evbus__schema_store_count(st), files);
    evbus__schema_store_destroy(st);
}

/* openedx-events ships a namespace with '-' (fastavro does not check names, and the Python bus
 * writes it): a namespace part may hold it after its first character, a type's name may not. */
static void test_dash_in_namespace_only(void **state) {
    (void)state;
    char err[512];
    const char *ok = "{\"type\":\"record\",\"name\":\"CloudEvent\",\"namespace\":\"org.x.redemption-reversed.v1\","
                     "\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}";
    evbus__schema_doc_t *d = evbus__schema_parse(ok, strlen(ok), err, sizeof(err));
    if (!d)
        print_error("%s\n", err);
    assert_non_null(d);
    assert_string_equal(d->root->fullname, "org.x.redemption-reversed.v1.CloudEvent");
    evbus__schema_doc_destroy(d);
    static const char *bad[] = {
        "{\"type\":\"record\",\"name\":\"Cloud-Event\",\"fields\":[]}",
        "{\"type\":\"record\",\"name\":\"org.x-y.Cloud-Event\",\"fields\":[]}",
        "{\"type\":\"record\",\"name\":\"E\",\"namespace\":\"org.-x\",\"fields\":[]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        d = evbus__schema_parse(bad[i], strlen(bad[i]), err, sizeof(err));
        if (d)
            print_error("accepted %s\n", bad[i]);
        assert_null(d);
    }
}

/* schemas/history/: each earlier version belongs to a type with a current schema, differs from
 * it, and is found by its fingerprint; every shipped pair resolves (BACKWARD) into the current. */
static void test_history(void **state) {
    (void)state;
    evbus__schema_store_t *st = load_store();
    size_t n = evbus__schema_store_history_count(st);
    assert_true(n >= 5);
    for (size_t i = 0; i < n; i++) {
        const evbus__schema_entry_t *h = evbus__schema_store_history_at(st, i);
        const evbus__schema_entry_t *cur = evbus__schema_store_get(st, h->event_type);
        if (!cur)
            print_error("%s: no current schema for %s\n", h->path, h->event_type);
        assert_non_null(cur);
        assert_true(h->history);
        assert_true(h->doc->fingerprint != cur->doc->fingerprint);
        assert_ptr_equal(evbus__schema_store_by_fingerprint(st, h->doc->fingerprint), h);
        char err[512];
        if (evbus__resolve_check(h->doc, cur->doc, err, sizeof(err)) != EVBUS_OK)
            print_error("%s -> current: %s\n", h->path, err);
        assert_int_equal(evbus__resolve_check(h->doc, cur->doc, err, sizeof(err)), EVBUS_OK);
    }
    evbus__schema_store_destroy(st);
}

static void test_configured_key_paths_resolve(void **state) {
    (void)state;
    static const struct {
        const char *type, *path;
        evbus__avro_kind_t kind;
    } keys[] = {
        {"org.openedx.content_authoring.xblock.published.v1", "xblock_info.usage_key", EVBUS__AVRO_STRING},
        {"org.openedx.content_authoring.xblock.deleted.v1", "xblock_info.usage_key", EVBUS__AVRO_STRING},
        {"org.openedx.content_authoring.xblock.duplicated.v1", "xblock_info.usage_key", EVBUS__AVRO_STRING},
        {"org.openedx.content_authoring.course.catalog_info.changed.v1", "catalog_info.course_key",
         EVBUS__AVRO_STRING},
        {"org.openedx.learning.certificate.created.v1", "certificate.course.course_key", EVBUS__AVRO_STRING},
        {"org.openedx.learning.certificate.created.v1", "certificate.user.pii.username", EVBUS__AVRO_STRING},
        {"org.openedx.learning.course.enrollment.created.v1", "enrollment.course.course_key",
         EVBUS__AVRO_STRING},
        {"org.openedx.learning.user.course_access_role.added.v1", "course_access_role_data.course_key",
         EVBUS__AVRO_STRING},
        {"org.evbus.demo.order.placed.v1", "order_id", EVBUS__AVRO_STRING},
        {"org.evbus.demo.order.placed.v1", "customer.pii.username", EVBUS__AVRO_STRING},
        {"org.evbus.demo.order.placed.v1", "customer.id", EVBUS__AVRO_LONG},
        /* a nullable field resolves to its non-null branch */
        {"org.evbus.demo.order.placed.v1", "customer.pii.name", EVBUS__AVRO_STRING},
        {"org.evbus.demo.order.placed.v1", "currency", EVBUS__AVRO_ENUM},
    };
    evbus__schema_store_t *st = load_store();
    char err[256];
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const evbus__schema_entry_t *ent = evbus__schema_store_get(st, keys[i].type);
        if (!ent)
            print_error("missing schema %s\n", keys[i].type);
        assert_non_null(ent);
        err[0] = '\0';
        const evbus__schema_t *n = evbus__keypath_resolve_schema(ent->doc->root, keys[i].path, err,
                                                                 sizeof(err));
        if (!n)
            print_error("%s %s: %s\n", keys[i].type, keys[i].path, err);
        assert_non_null(n);
        assert_int_equal(n->kind, keys[i].kind);
    }

    /* And paths that must not resolve do not. */
    const evbus__schema_entry_t *demo = evbus__schema_store_get(st, "org.evbus.demo.order.placed.v1");
    assert_non_null(demo);
    assert_null(evbus__keypath_resolve_schema(demo->doc->root, "customer.pii", err, sizeof(err)));
    assert_null(evbus__keypath_resolve_schema(demo->doc->root, "customer.nope", err, sizeof(err)));
    assert_null(evbus__keypath_resolve_schema(demo->doc->root, "items", err, sizeof(err)));
    evbus__schema_store_destroy(st);
}

/* The enrollment schema refers back to "UserData" by name inside a union: it must resolve. */
static void test_named_reference(void **state) {
    (void)state;
    evbus__schema_store_t *st = load_store();
    const evbus__schema_entry_t *ent =
        evbus__schema_store_get(st, "org.openedx.learning.course.enrollment.created.v1");
    assert_non_null(ent);
    char err[256];
    const evbus__schema_t *n =
        evbus__keypath_resolve_schema(ent->doc->root, "enrollment.created_by.pii.username", err,
                                      sizeof(err));
    if (!n)
        print_error("%s\n", err);
    assert_non_null(n);
    assert_int_equal(n->kind, EVBUS__AVRO_STRING);
    evbus__schema_store_destroy(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_file_loads_and_is_named_by_namespace),
        cmocka_unit_test(test_dash_in_namespace_only),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_configured_key_paths_resolve),
        cmocka_unit_test(test_named_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
