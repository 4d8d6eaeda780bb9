#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <librdkafka/rdkafka_mock.h>

int tu__nskipped;
static int tu__nfailed;

int tu__run_status(int nfailed) {
    tu__nfailed += nfailed != 0;
    return tu__nfailed > 0 ? 1 : tu__nskipped > 0 ? TU_EXIT_SKIPPED : 0;
}

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
rd_kafka_mock_cluster_t *tu_mock_cluster(const tu_mock_t *m) { return m->mc; }

void tu_mock_fail_produce(tu_mock_t *m, int n, rd_kafka_resp_err_t err) {
    rd_kafka_resp_err_t *errs = calloc((size_t)n, sizeof(*errs));
    assert_non_null(errs);
    for (int i = 0; i < n; i++)
        errs[i] = err;
    /* 0 is the Produce API key (RD_KAFKAP_Produce is not in the public headers) */
    rd_kafka_mock_push_request_errors_array(m->mc, 0, (size_t)n, errs);
    free(errs);
}

void tu_mock_destroy(tu_mock_t *m) {
    if (!m)
        return;
    rd_kafka_mock_cluster_destroy(m->mc);
    rd_kafka_destroy(m->rk);
    free(m);
}

rd_kafka_t *tu_reader_new(const char *bootstrap, const char *topic) {
    char err[256];
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(kc, "bootstrap.servers", bootstrap, err, sizeof(err)), 0);
    /* assign() needs a group id even though nothing joins or commits */
    assert_int_equal(rd_kafka_conf_set(kc, "group.id", "evbus-test-reader", err, sizeof(err)), 0);
    assert_int_equal(rd_kafka_conf_set(kc, "enable.auto.commit", "false", err, sizeof(err)), 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof(err));
    assert_non_null(rk);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    assert_int_equal(rd_kafka_metadata(rk, 0, rkt, &md, 10000), 0);
    assert_int_equal(md->topic_cnt, 1);
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(tl, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    assert_int_equal(rd_kafka_assign(rk, tl), 0);
    rd_kafka_topic_partition_list_destroy(tl);
    return rk;
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

/* ---- the schema-registry test double (tests/registry_double.py) ---- */


/* Start the double with extra arguments (NULL-terminated) and read its port. */
tu_registry_t *tu_registry_start(const char *arg, ...) {
    const char *argv[16];
    int n = 0;
    argv[n++] = "python3";
    argv[n++] = tu_src_path("tests/registry_double.py");
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a && n < 15; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    tu_registry_t *d = calloc(1, sizeof(*d));
    assert_non_null(d);
    d->pid = pid;
    d->out_fd = fds[0];

    /* First line: "listening on http://127.0.0.1:PORT", within 10 s.  On any failure the
     * child is stopped before the test fails, so no double outlives its test. */
    char line[128];
    size_t len = 0;
    int ok = 1;
    int64_t deadline = tu_now_us() + 10 * 1000000;
    while (ok && len < sizeof(line) - 1 && !memchr(line, '\n', len)) {
        int left = (int)((deadline - tu_now_us()) / 1000);
        struct pollfd pfd = {d->out_fd, POLLIN, 0};
        int pr = left > 0 ? poll(&pfd, 1, left) : 0;
        if (pr < 0 && errno == EINTR)
            continue;
        ssize_t r = pr > 0 ? read(d->out_fd, line + len, sizeof(line) - 1 - len) : -1;
        if (r > 0)
            len += (size_t)r;
        else
            ok = 0;
    }
    line[len] = '\0';
    *strchrnul(line, '\n') = '\0';
    if (!ok || strncmp(line, "listening on ", 13) != 0) {
        print_error("registry double did not start: '%s'\n", line);
        tu_registry_stop(d);
        fail();
    }
    snprintf(d->url, sizeof(d->url), "%s", line + 13);
    return d;
}

/* Stop the double and reap it (SIGKILL if SIGTERM is not enough within 5 s). */
void tu_registry_stop(tu_registry_t *d) {
    if (!d)
        return;
    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        int64_t deadline = tu_now_us() + 5 * 1000000;
        int st;
        for (;;) {
            pid_t w = waitpid(d->pid, &st, WNOHANG);
            if (w == d->pid || (w < 0 && errno != EINTR))
                break;
            if (tu_now_us() > deadline) {
                kill(d->pid, SIGKILL);
                waitpid(d->pid, &st, 0);
                break;
            }
            struct pollfd none = {-1, 0, 0};
            poll(&none, 0, 10); /* wait for the child, not a fixed sleep: re-checked */
        }
        d->pid = 0;
    }
    if (d->out_fd >= 0)
        close(d->out_fd);
    free(d);
}

const char *tu_real_registry(char **argv, const char *harness_opt) {
    const char *url = tu_env("EVBUS_TEST_REGISTRY_URL");
    int want_auth = harness_opt && strcmp(harness_opt, "--auth") == 0;
    if (url && (!want_auth || tu_env("EVBUS_TEST_REGISTRY_USER")))
        return url;
    if (want_auth && tu_env("EVBUS_TEST_REGISTRY_AUTH_REEXEC"))
        fail_msg("with-registry --auth gave no EVBUS_TEST_REGISTRY_USER");
    if (!want_auth && tu_env("EVBUS_TEST_REGISTRY_REEXEC"))
        fail_msg("with-registry gave no EVBUS_TEST_REGISTRY_URL");
    /* Guards against a loop should the harness not export what it promises. */
    setenv(want_auth ? "EVBUS_TEST_REGISTRY_AUTH_REEXEC" : "EVBUS_TEST_REGISTRY_REEXEC", "1", 1);
    const char *args[64];
    size_t n = 0;
    args[n++] = tu_src_path("tests/registry/with-registry");
    if (harness_opt)
        args[n++] = harness_opt;
    args[n++] = "--";
    for (char **a = argv; *a && n < 63; a++)
        args[n++] = *a;
    args[n] = NULL;
    fprintf(stderr, "%s: no real registry here: re-running inside %s%s%s\n", argv[0], args[0],
            harness_opt ? " " : "", harness_opt ? harness_opt : "");
    fflush(NULL);
    execv(args[0], (char *const *)args);
    fail_msg("cannot run %s: %s", args[0], strerror(errno));
    return NULL;
}

int tu_long(void) {
    const char *v = tu_env("EVBUS_TEST_LONG");
    return v && strcmp(v, "0") != 0;
}

static size_t http_collect(char *p, size_t s, size_t n, void *o) {
    return evbus__buf_append(o, p, s * n) == 0 ? s * n : 0;
}

char *tu_http_get(const char *url, long *status) {
    return tu_http("GET", url, NULL, NULL, NULL, status);
}

char *tu_http(const char *method, const char *url, const char *body, const char *user,
              const char *password, long *status) {
    evbus__buf_t b = EVBUS__BUF_INIT;
    struct curl_slist *hdrs = NULL;
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        hdrs = curl_slist_append(NULL, "Content-Type: application/vnd.schemaregistry.v1+json");
        assert_non_null(hdrs);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    if (user) {
        curl_easy_setopt(c, CURLOPT_USERNAME, user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, password ? password : "");
    }
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    /* A bound, not an expectation: a JVM registry's first answers on a loaded machine are slow. */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(c);
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, url, curl_easy_strerror(rc));
    if (status)
        *status = st;
    char *out = evbus__buf_steal(&b); /* NUL-terminated, also when empty */
    evbus__buf_free(&b);
    assert_non_null(out);
    return out;
}

evbus__schema_doc_t *tu_schema_parse(const char *text) {
    char err[512] = "";
    evbus__schema_doc_t *doc = evbus__schema_parse(text, strlen(text), err, sizeof(err));
    if (!doc)
        fail_msg("schema does not parse: %s", err);
    return doc;
}

char *tu_hex(const void *p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    const unsigned char *b = p;
    char *s = malloc(n * 2 + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[b[i] >> 4];
        s[2 * i + 1] = digits[b[i] & 15];
    }
    s[n * 2] = 0;
    return s;
}

size_t tu_unhex(const char *hex, unsigned char *out, size_t cap) {
    size_t n = 0;
    assert_int_equal(strlen(hex) % 2, 0);
    for (; hex[0]; hex += 2) {
        unsigned v = 0;
        assert_int_equal(sscanf(hex, "%2x", &v), 1);
        assert_true(n < cap);
        out[n++] = (unsigned char)v;
    }
    return n;
}
