/*
 * The transcoder alone, no Kafka, one figure per run:
 *   encode  evbus__avro_encode_json() of the JSON ring
 *   decode  evbus__avro_decode_json() of the same events pre-encoded (Avro, no framing)
 *   jansson json_loads() + json_decref() of the same JSON text: what merely building a DOM
 *           costs, the wall a DOM-based encoder cannot pass
 * Each loops over the ring for -n events; the result also carries a checksum of the output
 * lengths so the compiler cannot drop the work.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench.h"
#include "codec.h"
#include "schema.h"

static const char usage[] = "usage: bench_codec encode|decode|jansson [-n EVENTS] [--schemas DIR] [--timeout S]\n";

static const evbus__schema_t *load_schema(const char *dir, evbus__schema_store_t **storep) {
    char errstr[512];
    evbus__schema_store_t *store = evbus__schema_store_new(dir, errstr, sizeof(errstr));
    if (!store)
        bench_die("schemas: %s", errstr);
    const evbus__schema_entry_t *se = evbus__schema_store_get(store, BENCH_EVENT_TYPE);
    if (!se)
        bench_die("no schema for %s", BENCH_EVENT_TYPE);
    *storep = store;
    return se->doc->root;
}

int main(int argc, char **argv) {
    bench_opts_t o;
    bench_parse(argc, argv, usage, &o);
    const bench_event_t *ring = bench_ring();
    char errstr[512];
    uint64_t check = 0;
    double t0, t1, c0, c1;
    evbus__schema_store_t *store = NULL;

    if (strcmp(o.mode, "jansson") == 0) {
        t0 = bench_now();
        c0 = bench_cpu();
        for (uint64_t i = 0; i < o.events; i++) {
            const bench_event_t *e = &ring[i % BENCH_RING];
            json_error_t jerr;
            json_t *j = json_loadb(e->json, e->len, 0, &jerr);
            if (!j)
                bench_die("json_loadb: %s", jerr.text);
            check += json_object_size(j);
            json_decref(j);
        }
        t1 = bench_now();
        c1 = bench_cpu();
    } else if (strcmp(o.mode, "encode") == 0) {
        const evbus__schema_t *s = load_schema(o.schemas, &store);
        evbus__buf_t out = EVBUS__BUF_INIT;
        t0 = bench_now();
        c0 = bench_cpu();
        for (uint64_t i = 0; i < o.events; i++) {
            const bench_event_t *e = &ring[i % BENCH_RING];
            evbus__buf_reset(&out);
            if (evbus__avro_encode_json(s, e->json, e->len, &out, errstr, sizeof(errstr)) != EVBUS_OK)
                bench_die("encode: %s", errstr);
            check += out.len;
        }
        t1 = bench_now();
        c1 = bench_cpu();
        evbus__buf_free(&out);
    } else if (strcmp(o.mode, "decode") == 0) {
        const evbus__schema_t *s = load_schema(o.schemas, &store);
        evbus__buf_t *avro = calloc(BENCH_RING, sizeof(*avro));
        evbus__buf_t out = EVBUS__BUF_INIT;
        if (!avro)
            bench_die("out of memory");
        for (size_t i = 0; i < BENCH_RING; i++)
            if (evbus__avro_encode_json(s, ring[i].json, ring[i].len, &avro[i], errstr,
                                        sizeof(errstr)) != EVBUS_OK)
                bench_die("encode: %s", errstr);
        t0 = bench_now();
        c0 = bench_cpu();
        for (uint64_t i = 0; i < o.events; i++) {
            const evbus__buf_t *a = &avro[i % BENCH_RING];
            evbus__buf_reset(&out);
            if (evbus__avro_decode_json(s, a->data, a->len, &out, errstr, sizeof(errstr)) != EVBUS_OK)
                bench_die("decode: %s", errstr);
            check += out.len;
        }
        t1 = bench_now();
        c1 = bench_cpu();
        for (size_t i = 0; i < BENCH_RING; i++)
            evbus__buf_free(&avro[i]);
        free(avro);
        evbus__buf_free(&out);
    } else {
        fputs(usage, stderr);
        return 2;
    }
    char extra[64];
    snprintf(extra, sizeof(extra), "check=%llu", (unsigned long long)check);
    bench_result(o.events, t1 - t0, c1 - c0, extra);
    evbus__schema_store_destroy(store);
    return 0;
}
