#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka_mock.h>

const char *tu_src_path(const char *rel) {
    static char bufs[8][4096];
    static int slot;
    char *b = bufs[slot++ % 8];
    snprintf(b, sizeof(bufs[0]), "%s/%s", EVBUS_TEST_SRCDIR, rel);
    return b;
}

char *tu_mkdtemp(void) {
    char tmpl[] = "/tmp/evbus-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    char *r = strdup(d);
    assert_non_null(r);
    return r;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

void tu_rm_rf(const char *path) {
    if (path)
        nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_write_file(const char *dir, const char *name, const char *text) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    return p;
}

struct tu_mock_s {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
};

tu_mock_t *tu_mock_new(int nbrokers) {
    char errstr[256];
    tu_mock_t *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    assert_non_null(m->rk);
    m->mc = rd_kafka_mock_cluster_new(m->rk, nbrokers);
    assert_non_null(m->mc);
    return m;
}

const char *tu_mock_bootstrap(const tu_mock_t *m) { return rd_kafka_mock_cluster_bootstraps(m->mc); }
rd_kafka_t *tu_mock_rk(const tu_mock_t *m) { return m->rk; }

void tu_mock_destroy(tu_mock_t *m) {
    if (!m)
        return;
    rd_kafka_mock_cluster_destroy(m->mc);
    rd_kafka_destroy(m->rk);
    free(m);
}

char *tu_unique_name(const char *prefix) {
    static unsigned counter;
    char b[256];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(b, sizeof(b), "%s-%ld-%ld-%u", prefix, (long)getpid(), (long)(ts.tv_nsec % 1000000), counter++);
    char *r = strdup(b);
    assert_non_null(r);
    return r;
}

const char *tu_env(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int64_t tu_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
