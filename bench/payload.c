/*
 * The benchmark payload: org.evbus.demo.order.placed.v1 events, nested (customer.pii, a list
 * of items, a map of tags, nullable fields), about 300 bytes of JSON / 140 of Avro, every
 * value derived from the event's index so that no two events in the ring are alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static bench_event_t ring[BENCH_RING];
static int ring_built;

static uint64_t mix(uint64_t x) { /* splitmix64: cheap, well spread, deterministic */
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static const char *const names[] = {"Ada Lovelace", "Grace Hopper", "Alan Turing",
                                    "Barbara Liskov", "Edsger Dijkstra", "Frances Allen"};
static const char *const currencies[] = {"USD", "EUR", "GBP"};
static const char *const channels[] = {"web", "ios", "android", "partner"};
static const char *const campaigns[] = {"spring-sale", "newsletter", "none", "retargeting"};

static int build_one(size_t i, char *b, size_t size) {
    uint64_t r = mix(i + 1);
    unsigned cust = (unsigned)(r % 900000) + 100000;
    int nitems = (r >> 20) % 4 == 0 ? 2 : 1;
    int n = snprintf(b, size,
                     "{\"order_id\":\"ord-%08zx\",\"placed_at\":\"2024-%02u-%02uT%02u:%02u:%02uZ\","
                     "\"customer\":{\"id\":%u,\"email\":\"u%u@example.com\",\"pii\":{\"username\":\"user%u\","
                     "\"name\":",
                     i, (unsigned)(r >> 8) % 12 + 1, (unsigned)(r >> 12) % 28 + 1,
                     (unsigned)(r >> 16) % 24, (unsigned)(r >> 24) % 60, (unsigned)(r >> 28) % 60, cust, cust, cust);
    if ((r >> 40) % 5 == 0)
        n += snprintf(b + n, size - (size_t)n, "null");
    else
        n += snprintf(b + n, size - (size_t)n, "\"%s\"", names[(r >> 41) % 6]);
    n += snprintf(b + n, size - (size_t)n, "}},\"items\":[");
    double total = 0;
    for (int k = 0; k < nitems; k++) {
        uint64_t q = mix(r + (uint64_t)k);
        int qty = 1 + (int)(q % 4);
        double price = (double)(q % 10000 + 99) / 100.0;
        total += qty * price;
        n += snprintf(b + n, size - (size_t)n, "%s{\"sku\":\"SKU-%05u\",\"qty\":%d,\"price\":%.2f}",
                      k ? "," : "", (unsigned)(q >> 16) % 100000, qty, price);
    }
    n += snprintf(b + n, size - (size_t)n,
                  "],\"total\":%.2f,\"currency\":\"%s\",\"tags\":{\"channel\":\"%s\"",
                  total, currencies[(r >> 44) % 3], channels[(r >> 46) % 4]);
    if ((r >> 50) % 4 == 0)
        n += snprintf(b + n, size - (size_t)n, ",\"campaign\":\"%s\"", campaigns[(r >> 51) % 4]);
    n += snprintf(b + n, size - (size_t)n, "},\"note\":%s}",
                  (r >> 54) % 4 == 0 ? "\"leave at the door\"" : "null");
    return n;
}

const bench_event_t *bench_ring(void) {
    if (ring_built)
        return ring;
    char b[1024];
    for (size_t i = 0; i < BENCH_RING; i++) {
        int n = build_one(i, b, sizeof(b));
        if (n <= 0 || (size_t)n >= sizeof(b))
            bench_die("payload %zu does not fit", i);
        ring[i].json = malloc((size_t)n + 1);
        if (!ring[i].json)
            bench_die("out of memory");
        memcpy(ring[i].json, b, (size_t)n + 1);
        ring[i].len = (size_t)n;
    }
    ring_built = 1;
    return ring;
}

void bench_ring_load(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f)
        bench_die("cannot read %s", path);
    char *line = NULL;
    size_t cap = 0, n = 0;
    ssize_t len;
    while (n < BENCH_RING && (len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len == 0)
            continue;
        ring[n].json = strdup(line);
        if (!ring[n].json)
            bench_die("out of memory");
        ring[n].len = (size_t)len;
        n++;
    }
    free(line);
    fclose(f);
    if (n == 0)
        bench_die("%s holds no events", path);
    /* cycle the file's events: the ring is always BENCH_RING long (its index is i % BENCH_RING) */
    for (size_t i = n; i < BENCH_RING; i++)
        ring[i] = ring[i % n];
    ring_built = 1;
}

double bench_ring_mean_len(void) {
    const bench_event_t *r = bench_ring();
    double sum = 0;
    for (size_t i = 0; i < BENCH_RING; i++)
        sum += (double)r[i].len;
    return sum / BENCH_RING;
}
