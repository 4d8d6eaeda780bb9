/*
 * The measurement that chose the spool's storage (README "Crash safety"): the append-only
 * segment log of libproducer/spool_store.c against SQLite in WAL mode, at the same
 * guarantees, one writer, 600-byte events, each event written then released (acked).
 *   interval: every event reaches the OS before the call returns (a killed process loses
 *             nothing); fsync at most every 100 ms.  Log: write() per event, the spool's
 *             tick fsyncs.  SQLite: one transaction per event, synchronous=NORMAL (WAL synced
 *             at checkpoints, not per commit).
 *   always:   fsync before the call returns.  Log: fdatasync per event.  SQLite:
 *             synchronous=FULL.
 * Build by hand (sqlite3 is not a dependency of evbus):
 *   cc -O2 -I include -I core -I libproducer bench/spool_store_bench.c build/libevbus.a \
 *      -lsqlite3 -lrdkafka -ljansson -lcurl -lpthread -o /tmp/spool_store_bench
 *   /tmp/spool_store_bench DIR
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void report(const char *what, int n, double t0, double c0) {
    double wall = now_s() - t0, cpu = cpu_s() - c0;
    printf("%-22s %8d events  %10.0f events/s  %7.2f us cpu/event\n", what, n, n / wall,
           cpu * 1e6 / n);
}

static void run_log(const char *dir, int sync, int n, unsigned char *payload, size_t len) {
    char d[4096];
    snprintf(d, sizeof(d), "%s/log-%d", dir, sync);
    evbus__spool_opts_t o = {sync, (int64_t)1 << 30, 0};
    char err[512];
    evbus__spool_t *sp = evbus__spool_open(d, &o, NULL, err, sizeof(err));
    if (!sp) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    double t0 = now_s(), c0 = cpu_s();
    for (int i = 0; i < n; i++) {
        evbus__spool_loc_t loc;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if (evbus__spool_append(sp, payload, len, 0, (int64_t)ts.tv_sec * 1000000 + 10000000, &loc,
                                err, sizeof(err)) != EVBUS_OK) {
            fprintf(stderr, "%s\n", err);
            exit(1);
        }
        evbus__spool_release(sp, &loc);
        if ((i & 63) == 63)
            evbus__spool_tick(sp, 100000); /* the spool thread's tick, every 10 ms in the producer */
    }
    evbus__spool_close(sp);
    report(sync == EVBUS__SPOOL_SYNC_ALWAYS ? "log always" : "log interval", n, t0, c0);
}

static void run_sqlite(const char *dir, int full, int n, unsigned char *payload, size_t len) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/sq-%d.db", dir, full);
    unlink(path);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        exit(1);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    sqlite3_exec(db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", NULL, NULL,
                 NULL);
    sqlite3_exec(db, "CREATE TABLE spool(seq INTEGER PRIMARY KEY, created INTEGER, rec BLOB)",
                 NULL, NULL, NULL);
    sqlite3_stmt *ins, *del;
    sqlite3_prepare_v2(db, "INSERT INTO spool(created, rec) VALUES(?, ?)", -1, &ins, NULL);
    sqlite3_prepare_v2(db, "DELETE FROM spool WHERE seq = ?", -1, &del, NULL);
    double t0 = now_s(), c0 = cpu_s();
    for (int i = 0; i < n; i++) {
        sqlite3_bind_int64(ins, 1, i);
        sqlite3_bind_blob(ins, 2, payload, (int)len, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
            exit(1);
        sqlite3_reset(ins);
        sqlite3_bind_int64(del, 1, sqlite3_last_insert_rowid(db));
        if (sqlite3_step(del) != SQLITE_DONE)
            exit(1);
        sqlite3_reset(del);
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(del);
    sqlite3_close(db);
    report(full ? "sqlite-wal always" : "sqlite-wal interval", n, t0, c0);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [EVENTS]\n", argv[0]);
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 100000;
    unsigned char payload[600];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (unsigned char)(i * 7);
    run_log(argv[1], EVBUS__SPOOL_SYNC_INTERVAL, n, payload, sizeof(payload));
    run_sqlite(argv[1], 0, n, payload, sizeof(payload));
    int na = n / 50 < 200 ? 200 : n / 50;
    run_log(argv[1], EVBUS__SPOOL_SYNC_ALWAYS, na, payload, sizeof(payload));
    run_sqlite(argv[1], 1, na, payload, sizeof(payload));
    return 0;
}
