/*
 * The transcoder alone, no Kafka, one figure per run:
 *   encode  evbus_schema_encode_json() of the JSON ring
 *   decode  evbus_schema_decode_json() of the same events pre-encoded (Avro, no framing)
 *   jansson json_loads() + json_decref() of the same JSON text: what merely building a DOM
 *           costs, the wall a DOM-based encoder cannot pass
 * Each loops over the ring for -n events; the result also carries a checksum of the output
 * lengths so the compiler cannot drop the work.  Public API only (evbus/schema.h): what a
 * user of the library calls, result copied out to the caller's buffer included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <evbus/schema.h>

#include "bench.h"

static const char usage[] = "usage: bench_codec encode|decode|jansson [-n EVENTS] [--schemas DIR] [--timeout S]\n";

/* Room for one event's Avro or JSON (the ring's events are a few hundred bytes). */
#define OUT_MAX 65536

static const evbus_schema_t *load_schema(const char *dir, evbus_schema_store_t **storep) {
    char errstr[512];
    evbus_schema_store_t *store = evbus_schema_store_new(dir, errstr, sizeof(errstr));
    if (!store)
        bench_die("schemas: %s", errstr);
    const evbus_schema_t *s = evbus_schema_store_get(store, BENCH_EVENT_TYPE);
    if (!s)
        bench_die("no schema for %s", BENCH_EVENT_TYPE);
    *storep = store;
    return s;
}

int main(int argc, char **argv) {
    bench_opts_t o;
    bench_parse(argc, argv, usage, &o);
    const bench_event_t *ring = bench_ring();
    char errstr[512];
    uint64_t check = 0;
    double t0, t1, c0, c1;
    evbus_schema_store_t *store = NULL;
    static unsigned char out[OUT_MAX];
    size_t n;

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
        const evbus_schema_t *s = load_schema(o.schemas, &store);
        t0 = bench_now();
        c0 = bench_cpu();
        for (uint64_t i = 0; i < o.events; i++) {
            const bench_event_t *e = &ring[i % BENCH_RING];
            if (evbus_schema_encode_json(s, e->json, e->len, 0, out, sizeof(out), &n, errstr,
                                         sizeof(errstr)) != EVBUS_OK)
                bench_die("encode: %s", errstr);
            check += n;
        }
        t1 = bench_now();
        c1 = bench_cpu();
    } else if (strcmp(o.mode, "decode") == 0) {
        const evbus_schema_t *s = load_schema(o.schemas, &store);
        unsigned char **avro = calloc(BENCH_RING, sizeof(*avro));
        size_t *alen = calloc(BENCH_RING, sizeof(*alen));
        if (!avro || !alen)
            bench_die("out of memory");
        for (size_t i = 0; i < BENCH_RING; i++) {
            if (evbus_schema_encode_json(s, ring[i].json, ring[i].len, 0, out, sizeof(out),
                                         &alen[i], errstr, sizeof(errstr)) != EVBUS_OK)
                bench_die("encode: %s", errstr);
            if (!(avro[i] = malloc(alen[i] ? alen[i] : 1)))
                bench_die("out of memory");
            memcpy(avro[i], out, alen[i]);
        }
        t0 = bench_now();
        c0 = bench_cpu();
        for (uint64_t i = 0; i < o.events; i++) {
            size_t k = i % BENCH_RING;
            if (evbus_schema_decode_json(s, avro[k], alen[k], (char *)out, sizeof(out), &n, errstr,
                                         sizeof(errstr)) != EVBUS_OK)
                bench_die("decode: %s", errstr);
            check += n;
        }
        t1 = bench_now();
        c1 = bench_cpu();
        for (size_t i = 0; i < BENCH_RING; i++)
            free(avro[i]);
        free(avro);
        free(alen);
    } else {
        fputs(usage, stderr);
        return 2;
    }
    char extra[64];
    snprintf(extra, sizeof(extra), "check=%llu", (unsigned long long)check);
    bench_result(o.events, t1 - t0, c1 - c0, extra);
    evbus_schema_store_destroy(store);
    return 0;
}
