/* The producer spool's store (libproducer/spool_store.c, spool_record.c): records written and
 * read back, a torn last record, a damaged middle record, the lock, a full spool, a directory
 * that is not writable, another version and a directory that is not a spool. */
#include "testutil.h"

#include <dirent.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../libproducer/spool.h"

static const evbus__spool_opts_t OPTS = {EVBUS__SPOOL_SYNC_INTERVAL, 1 << 20, 0};

/* An event payload: type, id "id-<n>", two headers, two topics sharing the value. */
static void make_event(evbus__sbuf_t *b, int n, size_t vsize) {
    char id[32], val[4096];
    snprintf(id, sizeof(id), "id-%d", n);
    assert_true(vsize < sizeof(val));
    memset(val, 'a' + n % 26, vsize);
    assert_int_equal(evbus__spool_enc_begin(b, 1000 + n, "org.test.v1", id, 2), 0);
    assert_int_equal(evbus__spool_enc_hdr(b, "ce_id", id, strlen(id)), 0);
    assert_int_equal(evbus__spool_enc_hdr(b, "ce_time", "2026-01-01T00:00:00.000000+00:00", 32), 0);
    assert_int_equal(evbus__spool_enc_nmsgs(b, 2), 0);
    assert_int_equal(evbus__spool_enc_msg(b, "t1", "k", 1, val, vsize, 0), 0);
    assert_int_equal(evbus__spool_enc_msg(b, "t2", "k", 1, val, vsize, 1), 0);
}

static evbus__spool_t *open_ok(const char *dir, const evbus__spool_opts_t *o,
                               evbus__spool_found_t *f) {
    char err[512];
    evbus__spool_t *sp = evbus__spool_open(dir, o, f, err, sizeof(err));
    if (!sp)
        fail_msg("open %s: %s", dir, err);
    return sp;
}

static void append(evbus__spool_t *sp, int n, size_t vsize, evbus__spool_loc_t *loc) {
    evbus__sbuf_t b = {0};
    char err[512];
    make_event(&b, n, vsize);
    evbus_err_t e = evbus__spool_append(sp, b.data, b.len, 1000 + n, tu_now_us() + 1000000, loc,
                                        err, sizeof(err));
    if (e != EVBUS_OK)
        fail_msg("append %d: %s", n, err);
    evbus__sbuf_free(&b);
}

/* The single non-empty segment file of dir. */
static void only_segment(const char *dir, char *out, size_t size) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".seg")) {
            snprintf(out, size, "%s/%s", dir, e->d_name);
            struct stat st;
            assert_int_equal(stat(out, &st), 0);
            if (st.st_size > 0)
                found++;
        }
    }
    closedir(d);
    assert_int_equal(found, 1);
}

static void test_roundtrip(void **state) {
    (void)state;
    char *dir = tu_mkdtemp();
    evbus__spool_found_t f;
    evbus__spool_t *sp = open_ok(dir, &OPTS, &f);
    assert_int_equal(f.held, 0);
    evbus__spool_loc_t l[3];
    for (int i = 0; i < 3; i++)
        append(sp, i, 100, &l[i]);
    evbus__spool_release(sp, &l[1]); /* delivered */
    evbus__spool_tick(sp, 0);            /* releases take effect at the spool thread's tick */
    uint64_t ev, bytes;
    double oldest;
    evbus__spool_gauges(sp, &ev, &bytes, &oldest);
    assert_int_equal(ev, 2);
    assert_true(bytes > 0);
    evbus__spool_close(sp);

    sp = open_ok(dir, &OPTS, &f);
    assert_int_equal(f.held, 2);
    assert_int_equal(f.torn, 0);
    size_t n;
    const evbus__spool_loc_t *h = evbus__spool_held(sp, &n);
    assert_int_equal(n, 2);
    assert_int_equal(h[0].seq, l[0].seq);
    assert_int_equal(h[1].seq, l[2].seq);
    evbus__sbuf_t b = {0};
    assert_int_equal(evbus__spool_read(sp, &h[1], &b), 0);
    evbus__spool_event_t e;
    assert_int_equal(evbus__spool_dec(b.data, b.len, &e), 0);
    assert_string_equal(e.id, "id-2");
    assert_string_equal(e.event_type, "org.test.v1");
    assert_int_equal(e.created_us, 1002);
    assert_int_equal(e.nhdrs, 2);
    assert_string_equal(e.hname[1], "ce_time");
    assert_int_equal(e.nmsgs, 2);
    assert_string_equal(e.msgs[1].topic, "t2");
    assert_int_equal(e.msgs[1].vlen, 100);
    assert_ptr_equal(e.msgs[1].val, e.msgs[0].val); /* the shared value */
    evbus__spool_event_clear(&e);
    evbus__sbuf_free(&b);
    /* new writes continue the sequence */
    evbus__spool_loc_t l3;
    append(sp, 3, 10, &l3);
    assert_true(l3.seq > l[2].seq);
    evbus__spool_close(sp);
    tu_rm_rf(dir);
    free(dir);
}

static void test_torn_last_record(void **state) {
    (void)state;
    char *dir = tu_mkdtemp();
    evbus__spool_t *sp = open_ok(dir, &OPTS, NULL);
    evbus__spool_loc_t l[2];
    append(sp, 0, 200, &l[0]);
    append(sp, 1, 200, &l[1]);
    evbus__spool_close(sp);
    char seg[4200];
    only_segment(dir, seg, sizeof(seg));
    struct stat st;
    assert_int_equal(stat(seg, &st), 0);
    assert_int_equal(truncate(seg, st.st_size - 17), 0); /* a crash mid-write */
    evbus__spool_found_t f;
    sp = open_ok(dir, &OPTS, &f);
    assert_int_equal(f.torn, 1);
    assert_int_equal(f.quarantined, 0);
    assert_int_equal(f.held, 1);
    size_t n;
    assert_int_equal(evbus__spool_held(sp, &n)[0].seq, l[0].seq);
    evbus__spool_close(sp);
    assert_int_equal(stat(seg, &st), 0);
    assert_int_equal(st.st_size, (off_t)(l[1].off)); /* cut off exactly there */
    sp = open_ok(dir, &OPTS, &f); /* nothing torn any more */
    assert_int_equal(f.torn, 0);
    assert_int_equal(f.held, 1);
    evbus__spool_close(sp);
    tu_rm_rf(dir);
    free(dir);
}

static void test_damaged_middle_record(void **state) {
    (void)state;
    char *dir = tu_mkdtemp();
    evbus__spool_t *sp = open_ok(dir, &OPTS, NULL);
    evbus__spool_loc_t l[3];
    for (int i = 0; i < 3; i++)
        append(sp, i, 300, &l[i]);
    evbus__spool_close(sp);
    char seg[4200];
    only_segment(dir, seg, sizeof(seg));
    int fd = open(seg, O_RDWR);
    assert_true(fd >= 0);
    unsigned char x;
    off_t at = (off_t)(l[1].off + EVBUS__SPOOL_HDR + 100);
    assert_int_equal(pread(fd, &x, 1, at), 1);
    x ^= 0x40; /* one flipped bit in the middle record's payload */
    assert_int_equal(pwrite(fd, &x, 1, at), 1);
    close(fd);
    evbus__spool_found_t f;
    sp = open_ok(dir, &OPTS, &f);
    assert_int_equal(f.quarantined, 1);
    assert_int_equal(f.torn, 0);
    assert_int_equal(f.held, 2); /* the rest is delivered */
    size_t n;
    const evbus__spool_loc_t *h = evbus__spool_held(sp, &n);
    assert_int_equal(h[0].seq, l[0].seq);
    assert_int_equal(h[1].seq, l[2].seq);
    evbus__spool_close(sp);
    char q[4200];
    snprintf(q, sizeof(q), "%s/quarantine", dir);
    DIR *d = opendir(q);
    assert_non_null(d);
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        files += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(files, 1);
    sp = open_ok(dir, &OPTS, &f); /* quarantined once, not again */
    assert_int_equal(f.quarantined, 0);
    assert_int_equal(f.held, 2);
    evbus__spool_close(sp);
    tu_rm_rf(dir);
    free(dir);
}

static void test_locked_names_pid(void **state) {
    (void)state;
    char *dir = tu_mkdtemp();
    evbus__spool_t *sp = open_ok(dir, &OPTS, NULL);
    char err[512], want[64];
    evbus__spool_t *sp2 = evbus__spool_open(dir, &OPTS, NULL, err, sizeof(err));
    assert_null(sp2);
    snprintf(want, sizeof(want), "(pid %ld)", (long)getpid());
    if (!strstr(err, want) || !strstr(err, "in use by another producer"))
        fail_msg("error \"%s\" does not name the holder %s", err, want);
    evbus__spool_close(sp);
    sp2 = open_ok(dir, &OPTS, NULL); /* the lock went with the holder */
    evbus__spool_close(sp2);
    tu_rm_rf(dir);
    free(dir);
}

static void test_full_spool(void **state) {
    (void)state;
    char *dir = tu_mkdtemp();
    /* a small bound so that a few events fill it (the default is 1 GiB) */
    evbus__spool_opts_t o = {EVBUS__SPOOL_SYNC_NONE, 16384, 0};
    evbus__spool_t *sp = open_ok(dir, &o, NULL);
    evbus__spool_loc_t l[64];
    evbus__sbuf_t b = {0};
    char err[512];
    int n = 0;
    for (;; n++) {
        assert_true(n < 64);
        make_event(&b, n, 1000);
        evbus_err_t e = evbus__spool_append(sp, b.data, b.len, 0, tu_now_us() + 50000, &l[n], err,
                                            sizeof(err));
        if (e != EVBUS_OK) {
            assert_int_equal(e, EVBUS_ERR_QUEUE_FULL);
            assert_non_null(strstr(err, "full"));
            break;
        }
    }
    assert_true(n >= 10);
    uint64_t ev, bytes, ev2, bytes2;
    double old;
    evbus__spool_gauges(sp, &ev, &bytes, &old);
    assert_int_equal(ev, (uint64_t)n);
    assert_true(bytes <= 16384);
    /* refused: nothing written */
    evbus__spool_append(sp, b.data, b.len, 0, tu_now_us(), &l[n], err, sizeof(err));
    evbus__spool_gauges(sp, &ev2, &bytes2, &old);
    assert_int_equal(ev2, ev);
    assert_int_equal(bytes2, bytes);
    /* an event larger than the whole spool is refused at once, saying so */
    evbus__sbuf_t big = {0};
    assert_int_equal(evbus__sbuf_put(&big, NULL, 0), 0);
    unsigned char *blob = calloc(20000, 1);
    assert_non_null(blob);
    assert_int_equal(evbus__spool_append(sp, blob, 20000, 0, tu_now_us() + 10000000, &l[n], err,
                                         sizeof(err)),
                     EVBUS_ERR_QUEUE_FULL);
    assert_non_null(strstr(err, "producer.spool.max.bytes"));
    free(blob);
    evbus__sbuf_free(&big);
    /* delivered: room again */
    for (int i = 0; i < n; i++)
        evbus__spool_release(sp, &l[i]);
    evbus__spool_tick(sp, 0);
    assert_int_equal(evbus__spool_append(sp, b.data, b.len, 0, tu_now_us() + 1000000, &l[0], err,
                                         sizeof(err)),
                     EVBUS_OK);
    evbus__sbuf_free(&b);
    evbus__spool_close(sp);
    tu_rm_rf(dir);
    free(dir);
}

static void test_not_writable(void **state) {
    (void)state;
    char *dir = tu_mkdtemp();
    char sdir[4200];
    snprintf(sdir, sizeof(sdir), "%s/ro", dir);
    assert_int_equal(mkdir(sdir, 0555), 0);
    assert_int_equal(chmod(dir, 0755), 0);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* root writes anywhere: open the spool as an unprivileged user instead */
        free(dir); /* the child's copy: valgrind checks the child's exit too */
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(3);
        char err[512] = "";
        evbus__spool_t *sp = evbus__spool_open(sdir, &OPTS, NULL, err, sizeof(err));
        if (write(fds[1], err, strlen(err)) < 0)
            _exit(4);
        _exit(sp ? 1 : 0);
    }
    close(fds[1]);
    char err[512] = "";
    ssize_t r = read(fds[0], err, sizeof(err) - 1);
    err[r > 0 ? r : 0] = 0;
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    if (!strstr(err, sdir) || !strstr(err, "Permission denied"))
        fail_msg("error \"%s\" does not say that %s is not writable", err, sdir);
    tu_rm_rf(dir);
    free(dir);
}

static void test_other_version_and_not_a_spool(void **state) {
    (void)state;
    char *dir = tu_mkdtemp();
    char err[512];
    free(tu_write_file(dir, "notes.txt", "mine\n"));
    assert_null(evbus__spool_open(dir, &OPTS, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "not an evbus spool"));
    char *v = tu_mkdtemp();
    free(tu_write_file(v, EVBUS__SPOOL_MARKER, "evbus-spool 99\n"));
    assert_null(evbus__spool_open(v, &OPTS, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "version 99"));
    evbus__spool_found_t f;
    assert_int_equal(evbus__spool_scan(v, NULL, NULL, &f, err, sizeof(err)), EVBUS_ERR_CONFIG);
    assert_non_null(strstr(err, "version 99"));
    /* a segment file that is not ours at all: damaged, never a crash */
    char *g = tu_mkdtemp();
    evbus__spool_t *sp = open_ok(g, &OPTS, NULL);
    evbus__spool_close(sp);
    free(tu_write_file(g, "0000000000000001.seg", "this is not a spool record at all\n"));
    sp = open_ok(g, &OPTS, &f);
    assert_int_equal(f.held, 0);
    assert_int_equal(f.torn + f.quarantined, 1);
    evbus__spool_close(sp);
    tu_rm_rf(dir);
    tu_rm_rf(v);
    tu_rm_rf(g);
    free(dir);
    free(v);
    free(g);
}

/* sync=always from 4 threads at once: each append returns after an fsync that covers it
 * (shared between the threads); every event is there after a reopen. */
typedef struct always_arg_s {
    evbus__spool_t *sp;
    int base;
    int failed;
} always_arg_t;

static void *always_main(void *v) {
    always_arg_t *a = v;
    evbus__sbuf_t b = {0};
    char err[512];
    for (int i = 0; i < 25; i++) {
        evbus__spool_loc_t loc;
        make_event(&b, a->base + i, 50);
        if (evbus__spool_append(a->sp, b.data, b.len, 0, tu_now_us() + 10000000, &loc, err,
                                sizeof(err)) != EVBUS_OK)
            a->failed++;
    }
    evbus__sbuf_free(&b);
    return NULL;
}

static void test_sync_always_concurrent(void **state) {
    (void)state;
    char *dir = tu_mkdtemp();
    evbus__spool_opts_t o = {EVBUS__SPOOL_SYNC_ALWAYS, 1 << 20, 0};
    evbus__spool_t *sp = open_ok(dir, &o, NULL);
    pthread_t th[4];
    always_arg_t a[4];
    for (int t = 0; t < 4; t++) {
        a[t] = (always_arg_t){sp, t * 100, 0};
        assert_int_equal(pthread_create(&th[t], NULL, always_main, &a[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(a[t].failed, 0);
    }
    evbus__spool_close(sp);
    evbus__spool_found_t f;
    sp = open_ok(dir, &o, &f);
    assert_int_equal(f.held, 100);
    assert_int_equal(f.torn + f.quarantined, 0);
    evbus__spool_close(sp);
    tu_rm_rf(dir);
    free(dir);
}

static void test_crc32c(void **state) {
    (void)state;
    /* the standard check value of CRC-32C */
    assert_int_equal(evbus__crc32c(0, "123456789", 9), 0xE3069283u);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_torn_last_record),
        cmocka_unit_test(test_damaged_middle_record),
        cmocka_unit_test(test_locked_names_pid),
        cmocka_unit_test(test_full_spool),
        cmocka_unit_test(test_sync_always_concurrent),
        cmocka_unit_test(test_not_writable),
        cmocka_unit_test(test_other_version_and_not_a_spool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
