/*
 * Isolated plugins: the plugin's init/handle/fini run in a child process forked from the
 * consumer and fed over a socketpair, so a crash or a hang costs the event, never the consumer.
 *
 * The child is a plain fork (no exec: the plugin is already mapped, and a library cannot rely on
 * a helper binary being installed).  It touches nothing of the parent's state but the plugin
 * descriptor and its context (a v2 plugin's init reads its settings there, after every restart): events arrive fully decoded (JSON and key text), so the child never needs the
 * schema store, the registry or librdkafka.  Frames are length-prefixed:
 *   request:  u32 len | type id topic key json error (u32 len or 0xffffffff for NULL, bytes)
 *             | i32 partition | i64 offset | i64 timestamp | u32 nheaders | (name, value)*
 *             | value bytes
 *   reply:    u32 len | i32 err | message bytes
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dispatcher_int.h"

struct evbus__isolate_s {
    evbus__plugin_t *p;
    int timeout_ms;
    pthread_mutex_t mu; /* one request at a time */
    pid_t pid;          /* -1: no child */
    int fd;
};

#define NUL32 0xffffffffu

/* ---- encoding ---- */

static int put_u32(evbus__buf_t *b, uint32_t v) { return evbus__buf_append(b, &v, 4); }
static int put_i64(evbus__buf_t *b, int64_t v) { return evbus__buf_append(b, &v, 8); }
static int put_bytes(evbus__buf_t *b, const void *p, size_t n) {
    if (!p)
        return put_u32(b, NUL32);
    return put_u32(b, (uint32_t)n) || evbus__buf_append(b, p, n);
}
static int put_str(evbus__buf_t *b, const char *s) { return put_bytes(b, s, s ? strlen(s) : 0); }

typedef struct cur_s {
    const unsigned char *p;
    size_t left;
    int bad;
} cur_t;

static const void *take(cur_t *c, size_t n) {
    if (c->bad || c->left < n) {
        c->bad = 1;
        return NULL;
    }
    const void *r = c->p;
    c->p += n;
    c->left -= n;
    return r;
}
static uint32_t get_u32(cur_t *c) {
    uint32_t v = 0;
    const void *p = take(c, 4);
    if (p)
        memcpy(&v, p, 4);
    return v;
}
static int64_t get_i64(cur_t *c) {
    int64_t v = 0;
    const void *p = take(c, 8);
    if (p)
        memcpy(&v, p, 8);
    return v;
}
/* malloc'd NUL-terminated copy, or NULL (NULL field or error: check c->bad). */
static char *get_bytes(cur_t *c, size_t *lenp) {
    uint32_t n = get_u32(c);
    if (c->bad || n == NUL32)
        return NULL;
    const void *p = take(c, n);
    char *r = p ? malloc((size_t)n + 1) : NULL;
    if (!r) {
        c->bad = 1;
        return NULL;
    }
    memcpy(r, p, n);
    r[n] = 0;
    if (lenp)
        *lenp = n;
    return r;
}

static int write_all(int fd, const void *data, size_t n) {
    const unsigned char *p = data;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read exactly n bytes, waiting at most until deadline_us (<0: forever).
 * 0, -1 on EOF/error, -2 on timeout. */
static int read_all(int fd, void *data, size_t n, int64_t deadline_us) {
    unsigned char *p = data;
    while (n > 0) {
        if (deadline_us >= 0) {
            int64_t left = deadline_us - evbus__now_us();
            if (left <= 0)
                return -2;
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int r = poll(&pfd, 1, (int)((left + 999) / 1000));
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return -1;
            if (r == 0)
                return -2;
        }
        ssize_t got = read(fd, p, n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static int send_frame(int fd, evbus__buf_t *b) {
    uint32_t len = (uint32_t)b->len;
    return write_all(fd, &len, 4) || write_all(fd, b->data, b->len);
}

/* ---- the child ---- */

static void child_reply(int fd, evbus_err_t err, const char *msg) {
    evbus__buf_t b = EVBUS__BUF_INIT;
    int32_t e = err;
    if (evbus__buf_append(&b, &e, 4) || evbus__buf_puts(&b, msg ? msg : "") || send_frame(fd, &b)) {
        evbus__buf_free(&b);
        _exit(3);
    }
    evbus__buf_free(&b);
}

static evbus_event_t *child_event(const unsigned char *data, size_t len) {
    cur_t c = {data, len, 0};
    evbus__event_init_t in = {.key_given = 1};
    char *type = get_bytes(&c, NULL), *id = get_bytes(&c, NULL), *topic = get_bytes(&c, NULL);
    char *key = get_bytes(&c, NULL), *json = get_bytes(&c, &in.json_len), *error = get_bytes(&c, NULL);
    in.type = type;
    in.id = id;
    in.topic = topic;
    in.key = key;
    in.json = json;
    /* json NULL: the parent could not decode it, and error says why */
    in.json_error = json ? NULL : error ? error : evbus_strerror(EVBUS_ERR_DECODE);
    in.partition = (int32_t)get_u32(&c);
    in.offset = get_i64(&c);
    in.timestamp = get_i64(&c);
    uint32_t nh = get_u32(&c);
    char **hdr = c.bad ? NULL : calloc((size_t)nh * 2 + 1, sizeof(*hdr));
    size_t *hlen = hdr ? calloc((size_t)nh + 1, sizeof(*hlen)) : NULL;
    if (!hlen)
        c.bad = 1;
    for (uint32_t i = 0; i < nh && !c.bad; i++) {
        hdr[2 * i] = get_bytes(&c, NULL);
        hdr[2 * i + 1] = get_bytes(&c, &hlen[i]);
        if (!hdr[2 * i])
            c.bad = 1;
    }
    char *val = get_bytes(&c, &in.value_len);
    in.value = val;
    evbus_event_t *ev = c.bad ? NULL : evbus__event_new(&in, NULL, NULL);
    for (uint32_t i = 0; ev && i < nh; i++)
        if (evbus__event_add_header(ev, hdr[2 * i], hdr[2 * i + 1], hlen[i]) != 0) {
            evbus__event_destroy(ev);
            ev = NULL;
        }
    for (uint32_t i = 0; hdr && i < 2 * nh; i++)
        free(hdr[i]);
    free(hdr);
    free(hlen);
    free(type);
    free(id);
    free(topic);
    free(key);
    free(json);
    free(error);
    free(val);
    return ev;
}

static void child_main(evbus__plugin_t *p, int fd, pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the consumer */
    if (getppid() != parent)
        _exit(1);
    signal(SIGINT, SIG_IGN); /* a terminal's ^C goes to the parent, which stops us */
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    /* Drop the parent's descriptors (broker sockets, other children's sockets). */
    if (fd > 3)
        close_range(3, (unsigned)fd - 1, 0);
    close_range((unsigned)fd + 1, ~0u, 0);

    char msg[1024] = "";
    void *state = NULL;
    evbus_err_t err = evbus__plugin_init(p, &state, msg, sizeof(msg));
    child_reply(fd, err, msg);
    if (err)
        _exit(1);
    for (;;) {
        uint32_t len;
        if (read_all(fd, &len, 4, -1) != 0)
            break; /* parent closed: orderly end */
        unsigned char *buf = malloc(len ? len : 1);
        if (!buf || read_all(fd, buf, len, -1) != 0)
            _exit(2);
        evbus_event_t *ev = child_event(buf, len);
        free(buf);
        msg[0] = 0;
        if (!ev)
            err = evbus__fail(EVBUS_ERR_NOMEM, msg, sizeof(msg), "isolated worker: bad request");
        else
            err = evbus__plugin_call(p, state, ev, msg, sizeof(msg));
        evbus__event_destroy(ev);
        child_reply(fd, err, msg);
    }
    evbus__plugin_fini(p, state);
    _exit(0);
}

/* ---- the parent ---- */

evbus__isolate_t *evbus__isolate_new(evbus__plugin_t *p, int timeout_ms) {
    evbus__isolate_t *iso = calloc(1, sizeof(*iso));
    if (!iso)
        return NULL;
    iso->p = p;
    iso->timeout_ms = timeout_ms;
    iso->pid = -1;
    iso->fd = -1;
    pthread_mutex_init(&iso->mu, NULL);
    return iso;
}

static void describe_exit(int status, char *out, size_t n) {
    if (WIFSIGNALED(status))
        snprintf(out, n, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else if (WIFEXITED(status))
        snprintf(out, n, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(out, n, "ended");
}

/* Kill (if asked) and reap the child; describes how it ended. Caller holds mu. */
static void child_reap(evbus__isolate_t *iso, int kill_it, char *how, size_t n) {
    if (iso->fd >= 0)
        close(iso->fd);
    iso->fd = -1;
    if (iso->pid > 0) {
        int status = 0;
        if (kill_it)
            kill(iso->pid, SIGKILL);
        while (waitpid(iso->pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (how)
            describe_exit(status, how, n);
    }
    iso->pid = -1;
}

/* Read one reply frame into err/msg.  0, -1 (child gone), -2 (timeout). */
static int read_reply(evbus__isolate_t *iso, evbus_err_t *err, char *msg, size_t msg_size) {
    int64_t deadline = evbus__now_us() + (int64_t)iso->timeout_ms * 1000;
    uint32_t len;
    int32_t e;
    int r = read_all(iso->fd, &len, 4, deadline);
    if (r)
        return r;
    if (len < 4 || len > (1u << 20))
        return -1;
    char *buf = malloc(len + 1);
    if (!buf)
        return -1;
    if ((r = read_all(iso->fd, buf, len, deadline)) != 0) {
        free(buf);
        return r;
    }
    buf[len] = 0;
    memcpy(&e, buf, 4);
    *err = (evbus_err_t)e;
    snprintf(msg, msg_size, "%s", buf + 4);
    free(buf);
    return 0;
}

/* Caller holds mu. */
static evbus_err_t spawn(evbus__isolate_t *iso, char *errstr, size_t errstr_size) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return evbus__fail(EVBUS_ERR_PLUGIN, errstr, errstr_size, "plugin %s: socketpair: %s",
                           evbus__plugin_name(iso->p), strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return evbus__fail(EVBUS_ERR_PLUGIN, errstr, errstr_size, "plugin %s: fork: %s",
                           evbus__plugin_name(iso->p), strerror(errno));
    }
    if (pid == 0) {
        close(sv[0]);
        child_main(iso->p, sv[1], parent);
    }
    close(sv[1]);
    iso->pid = pid;
    iso->fd = sv[0];
    char msg[512] = "";
    evbus_err_t err = EVBUS_OK;
    int r = read_reply(iso, &err, msg, sizeof(msg));
    if (r == 0 && err == EVBUS_OK)
        return EVBUS_OK;
    char how[128] = "";
    child_reap(iso, 1, how, sizeof(how));
    if (r == 0)
        return evbus__fail(EVBUS_ERR_PLUGIN, errstr, errstr_size, "%s", msg[0] ? msg : evbus_strerror(err));
    return evbus__fail(EVBUS_ERR_PLUGIN, errstr, errstr_size, "plugin %s: init %s", evbus__plugin_name(iso->p),
                       r == -2 ? "timed out" : how);
}

evbus_err_t evbus__isolate_start(evbus__isolate_t *iso, char *errstr, size_t errstr_size) {
    pthread_mutex_lock(&iso->mu);
    evbus_err_t err = iso->pid > 0 ? EVBUS_OK : spawn(iso, errstr, errstr_size);
    pthread_mutex_unlock(&iso->mu);
    return err;
}

static int encode_event(const evbus_event_t *ev, evbus__buf_t *b) {
    /* Decode here so the child needs none of our state; a failure travels as its reason. */
    size_t jlen = 0, vlen = 0, n = evbus_event_header_count(ev);
    const char *json = evbus_event_json(ev, &jlen);
    const char *key = evbus_event_key(ev);
    const void *value = evbus_event_value(ev, &vlen);
    int bad = put_u32(b, 0) || put_str(b, evbus_event_type(ev)) || put_str(b, evbus_event_id(ev)) ||
              put_str(b, evbus_event_topic(ev)) || put_str(b, key) || put_bytes(b, json, jlen) ||
              put_str(b, json ? NULL : evbus_event_error(ev)) ||
              put_u32(b, (uint32_t)evbus_event_partition(ev)) || put_i64(b, evbus_event_offset(ev)) ||
              put_i64(b, evbus_event_timestamp(ev)) || put_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n && !bad; i++) {
        const char *name, *v;
        size_t len;
        evbus_event_header_at(ev, i, &name, &v, &len);
        bad = put_str(b, name) || put_bytes(b, v, len);
    }
    bad = bad || put_bytes(b, value, vlen);
    if (bad)
        return -1;
    uint32_t len = (uint32_t)(b->len - 4);
    memcpy(b->data, &len, 4);
    return 0;
}

evbus_err_t evbus__isolate_handle(evbus__isolate_t *iso, const evbus_event_t *ev, char *errstr,
                                  size_t errstr_size) {
    evbus__buf_t b = EVBUS__BUF_INIT;
    if (encode_event(ev, &b) != 0) {
        evbus__buf_free(&b);
        return evbus__fail(EVBUS_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    pthread_mutex_lock(&iso->mu);
    evbus_err_t err;
    char how[128] = "";
    if (iso->pid > 0 && waitpid(iso->pid, NULL, WNOHANG) == iso->pid) {
        iso->pid = -1; /* died between events: restart without blaming this one */
        child_reap(iso, 0, NULL, 0);
    }
    if (iso->pid <= 0 && (err = spawn(iso, errstr, errstr_size)) != EVBUS_OK)
        goto out;
    if (write_all(iso->fd, b.data, b.len) != 0) {
        child_reap(iso, 1, how, sizeof(how));
        err = evbus__fail(EVBUS_ERR_HANDLER, errstr, errstr_size,
                          "plugin %s: isolated worker %s; restarted", evbus__plugin_name(iso->p), how);
        goto out;
    }
    char msg[512] = "";
    int r = read_reply(iso, &err, msg, sizeof(msg));
    if (r == -2) {
        child_reap(iso, 1, NULL, 0);
        err = evbus__fail(EVBUS_ERR_TIMEOUT, errstr, errstr_size,
                          "plugin %s: handler ran past %d ms; isolated worker killed and restarted",
                          evbus__plugin_name(iso->p), iso->timeout_ms);
    } else if (r != 0) {
        child_reap(iso, 1, how, sizeof(how));
        err = evbus__fail(EVBUS_ERR_HANDLER, errstr, errstr_size,
                          "plugin %s: isolated worker %s; restarted", evbus__plugin_name(iso->p), how);
    } else if (err) {
        evbus__seterr(errstr, errstr_size, "%s", msg[0] ? msg : evbus_strerror(err));
    }
out:
    pthread_mutex_unlock(&iso->mu);
    evbus__buf_free(&b);
    return err;
}

void evbus__isolate_destroy(evbus__isolate_t *iso) {
    if (!iso)
        return;
    if (iso->pid > 0) {
        /* Closing the socket asks the child to run fini and exit; give it the handler timeout. */
        close(iso->fd);
        iso->fd = -1;
        int64_t deadline = evbus__now_us() + (int64_t)iso->timeout_ms * 1000;
        int done = 0;
        while (!done && evbus__now_us() < deadline) {
            pid_t r = waitpid(iso->pid, NULL, WNOHANG);
            if (r == iso->pid || (r < 0 && errno != EINTR)) {
                done = 1;
                iso->pid = -1;
            } else {
                struct timespec ts = {0, 5 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
        child_reap(iso, 1, NULL, 0);
    }
    pthread_mutex_destroy(&iso->mu);
    free(iso);
}
