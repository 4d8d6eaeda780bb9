/*
 * Shared pieces of the benchmarks: the payload (demo order events with values that vary per
 * event), timing, peak RSS, and the one result line every benchmark program prints.
 *
 * Each program measures one figure per run, in a fresh process, and prints
 *   result events=N seconds=S rate=R cpu_us=C hwm_kb=K [extra=...]
 * which bench/run turns into ratios.  cpu_us is the CPU time (user+sys, all threads of the
 * process) spent per event over the same interval as seconds: on a shared machine it moves far
 * less than rate, so the targets are judged on it.  Every program stops itself at its deadline
 * (--timeout seconds) and then exits 1 with a message instead of a result.
 */
#ifndef EVBUS_BENCH_H
#define EVBUS_BENCH_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_EVENT_TYPE "org.evbus.demo.order.placed.v1"
#define BENCH_KEY_FIELD "order_id"
/* Distinct events cycled through; enough that no cache sees the same value twice in a row. */
#define BENCH_RING 4096

typedef struct bench_event_s {
    char *json;
    size_t len;
} bench_event_t;

/** The ring of BENCH_RING events (about 300 bytes of JSON each), built once; exits on OOM. */
const bench_event_t *bench_ring(void);
/** Replace the ring with the JSON lines of path (cycled to BENCH_RING events), before the
 *  first bench_ring(); for other event types (--ring, the Open edX peers).  Exits on error. */
void bench_ring_load(const char *path);
/** Mean JSON length of the ring. */
double bench_ring_mean_len(void);

/** Monotonic seconds. */
double bench_now(void);
/** CPU seconds (user+sys, all threads) this process has used so far (getrusage). */
double bench_cpu(void);
/** Peak resident set (VmHWM) of this process in kB, -1 when unreadable. */
long bench_vmhwm_kb(void);
/** Print the result line (stdout) and flush; cpu_seconds is the bench_cpu() difference over
 *  the measured interval. */
void bench_result(uint64_t events, double seconds, double cpu_seconds, const char *extra);

/** The librdkafka queue bounds that cap peak RSS, as " name=value" pairs into b: for a
 *  producer queue.buffering.max.messages/.kbytes, for a consumer queued.max.messages.kbytes and
 *  queued.min.messages.  librdkafka's defaults, which evbus leaves as they are. */
void bench_queue_bounds(int consumer, char *b, size_t size);

/** Print "bench: <msg>" to stderr and exit 1. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/** Deadline: a SIGALRM after seconds that ends the process with a message (exit 1). */
void bench_set_timeout(int seconds);

/** Producer config JSON text mapping type (key from key_field) to topic (static buffer). */
/* Precomputed header values for the raw baselines (outside the measured loop): a version-1
 * (time-based) UUID string as Python's uuid1() and evbus write for ce_id, and the current
 * UTC time in ce_time's form (2024-01-02T03:04:05.123456+00:00). */
#define BENCH_UUID_LEN 37
#define BENCH_TIME_LEN 33
void bench_uuid1(char out[BENCH_UUID_LEN]);
void bench_time_iso(char out[BENCH_TIME_LEN]);

const char *bench_producer_config(const char *type, const char *key_field, const char *topic);

/** Create topic with partitions unless it exists (CreateTopics).  Only for real Kafka: the
 *  mock cluster never answers CreateTopics (it auto-creates 4 partitions on first use). */
void bench_ensure_topic(const char *bootstrap, const char *topic, int partitions);

/*
 * Options common to the programs: -b BOOTSTRAP -t TOPIC -n EVENTS --threads T
 * --workers W --schemas DIR --timeout S --group G --out FILE --partitions P, and for another event
 * type than the demo one: --type T --key-field F --ring FILE --registry URL.  Unset strings are
 * NULL, ints 0.
 */
typedef struct bench_opts_s {
    const char *mode;
    const char *bootstrap;
    const char *topic;
    const char *schemas;
    const char *group;
    const char *out;
    const char *type;      /* --type: event type (default BENCH_EVENT_TYPE) */
    const char *key_field; /* --key-field: producer key path (default BENCH_KEY_FIELD) */
    const char *ring;      /* --ring FILE: JSON lines to send instead of the demo ring */
    const char *registry;  /* --registry URL: schema.registry.url (Confluent wire format) */
    uint64_t events;
    int threads;
    int workers;
    int timeout;
    int partitions; /* --partitions P: create the topic first (0: rely on auto-creation) */
    int given_ids;  /* --given-ids: producer passes pre-made ce_id values */
    int transactional; /* --transactional: producer.transactional=true */
    int queue_messages; /* --queue-messages N: queue.buffering.max.messages (0: librdkafka's) */
    const char *spool;      /* --spool DIR: producer.spool.dir (emptied first) */
    const char *spool_sync; /* --spool-sync interval|always|none (default: the producer's) */
} bench_opts_t;

/** Parse argv (mode first, then options); exits 2 with usage on anything unknown. */
void bench_parse(int argc, char **argv, const char *usage, bench_opts_t *o);

#endif
