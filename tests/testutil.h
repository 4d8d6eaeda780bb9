/* Small helpers shared by the C tests (not part of any library). */
#ifndef EVBUS_TESTUTIL_H
#define EVBUS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <cmocka.h>

#include <librdkafka/rdkafka.h>

/* Path of a file in the source tree (static buffer per call slot; valid until 8 more calls). */
const char *tu_src_path(const char *rel);
/* Create a unique temp dir (removed by tu_rm_rf); returns malloc'd path. */
char *tu_mkdtemp(void);
void tu_rm_rf(const char *path);
/* Write text to dir/name; returns malloc'd full path. */
char *tu_write_file(const char *dir, const char *name, const char *text);

/* Embedded broker: a librdkafka mock cluster with nbrokers; bootstrap servers string
 * is owned by the returned handle. */
typedef struct tu_mock_s tu_mock_t;
tu_mock_t *tu_mock_new(int nbrokers);
const char *tu_mock_bootstrap(const tu_mock_t *m);
rd_kafka_t *tu_mock_rk(const tu_mock_t *m);
/* The mock cluster itself, for error injection (rd_kafka_mock_push_request_errors). */
struct rd_kafka_mock_cluster_s;
struct rd_kafka_mock_cluster_s *tu_mock_cluster(const tu_mock_t *m);
void tu_mock_destroy(tu_mock_t *m);

/* An independent raw librdkafka reader of topic: every partition assigned from the start,
 * no group rebalance to wait for.  Messages keep it alive: destroy them first, then the handle. */
rd_kafka_t *tu_reader_new(const char *bootstrap, const char *topic);

/* Unique topic name with a prefix, malloc'd. */
char *tu_unique_name(const char *prefix);
/* Environment variable or NULL when unset or empty. */
const char *tu_env(const char *name);
/* Microseconds, monotonic. */
int64_t tu_now_us(void);

/* The schema-registry test double (tests/registry_double.py), started with extra arguments
 * (NULL-terminated, e.g. "--user", "u", "--password", "p", NULL); fails the test if it does not
 * come up within 10 s.  tu_registry_stop() stops and reaps it (NULL is a no-op). */
typedef struct tu_registry_s {
    pid_t pid;
    int out_fd;
    char url[128];
} tu_registry_t;
tu_registry_t *tu_registry_start(const char *arg, ...);
void tu_registry_stop(tu_registry_t *d);

#endif
