/*
 * evbus-cli tail's shared state.  cmd_tail.c (options, the poll loop, filters) uses
 * tail_plan.c (which partitions, from where), tail_ring.c (last-N collection) and
 * tail_output.c (the output thread); none of those calls back up.
 */
#ifndef EVBUS_CLI_TAIL_INT_H
#define EVBUS_CLI_TAIL_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <librdkafka/rdkafka.h>

#include <evbus/kafka.h>

#include "cli.h"

/* The newest events of one partition, oldest first from head; grows up to its limit, then
 * overwrites the oldest, so -n 1000000000 costs nothing until events arrive. */
typedef struct tail_ring_s {
    evbus_event_t **v;
    size_t cap, len, head;
} tail_ring_t;

typedef struct tail_part_s {
    size_t topic; /* index into tail_t.topics */
    int32_t id;
    int64_t lo, hi; /* watermarks when tail started (hi: where "the end" is) */
    int64_t start;
    int done;       /* reached hi */
    tail_ring_t ring; /* last-N mode: the newest n matching events of this partition */
} tail_part_t;

#define TAIL_OUTQ_SIZE 1024
#define TAIL_WRITER_BATCH 64

typedef struct tail_s {
    evbus_cli_t *cli;
    long n, count;
    int follow, from_beginning, fmt;
    int as_reader; /* --as-reader: data resolved into the current schema, as consumers get it */
    const char *since, *type_glob, *key;
    int64_t since_ms;
    char **topics;
    size_t ntopics;
    tail_part_t *parts;
    size_t nparts;
    rd_kafka_t *rk;
    evbus_schema_store_t *store;
    evbus_decoder_t *dec;   /* store + schema registry */
    evbus_cli_buf_t out;
    int color;
    long printed;
    int lastn;              /* last-N mode: collect, sort, print */
    int initial;            /* still printing what was there when tail started */
    evbus_event_t **late;   /* -f in last-N mode: arrived during the initial phase */
    size_t nlate;
    /*
     * Output runs on a writer thread: decoding and formatting are most of tail's work, and
     * the poll thread (librdkafka, filters, building events) keeps fetching meanwhile.
     * Events go through a bounded FIFO, so the order is the poll order.
     */
    pthread_t writer;
    int writer_started;
    pthread_mutex_t qmu;
    pthread_cond_t qnonempty, qnonfull;
    evbus_event_t *queue[TAIL_OUTQ_SIZE];
    size_t qhead, qlen;
    int qclosing;
    int writer_idle;        /* the writer waits on qnonempty (under qmu) */
    int poller_waiting;     /* the poll thread waits on qnonfull (under qmu) */
    atomic_int write_failed;
    long queued;            /* events handed to the writer (poll thread only) */
} tail_t;

/* ---- tail_plan.c ---- */
/** The partition record of (topic, id); NULL if not tailed. */
tail_part_t *tail_find_part(tail_t *t, const char *topic, int32_t id);
/** Read metadata and watermarks, choose each partition's start, assign.  0 or EVBUS_CLI_FAIL. */
int tail_setup(tail_t *t);
/** -f: pick up partitions added since the start.  0 or EVBUS_CLI_FAIL. */
int tail_refresh(tail_t *t);
/** Every partition reached the end it had when tail started. */
int tail_all_done(const tail_t *t);

/* ---- tail_ring.c ---- */
/** Keep ev (a reference given up) among the newest t->n of its partition.  -1: out of memory. */
int tail_ring_push(tail_t *t, tail_part_t *p, evbus_event_t *ev);
/** Keep ev (a reference given up), arrived during the initial phase with -f.  -1: out of memory. */
int tail_late_push(tail_t *t, evbus_event_t *ev);
/** End of the initial phase: per topic, the newest n across partitions, in time order, then
 * the late ones, to the writer.  -1 on failure (said). */
int tail_ring_flush(tail_t *t);
/** Release what the rings and the late list still hold. */
void tail_ring_free(tail_t *t);

/* ---- tail_output.c ---- */
int tail_writer_start(tail_t *t);
/** Let the writer finish what is queued, then stop it.  -1 if writing failed. */
int tail_writer_stop(tail_t *t);
/** Hand ev (a reference the caller gives up) to the writer, waiting while the queue is full. */
int tail_enqueue(tail_t *t, evbus_event_t *ev);
/** Wake an idle writer for what is queued (the poll thread has nothing more at hand). */
void tail_kick(tail_t *t);
/** --count reached. */
int tail_count_reached(const tail_t *t);

#endif
