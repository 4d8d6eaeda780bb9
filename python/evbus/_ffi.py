"""Loading libevbus and its declarations, for cffi's ABI mode (no compiler at install time).

Only the public C API (include/evbus/*.h) is declared, copied from the headers; the struct
layouts must match them exactly (tests/python checks a send with every option set).
"""
import os
from typing import Any

from cffi import FFI

CDEF = r"""
typedef int evbus_err_t;
typedef int evbus_conf_res_t;
typedef struct evbus_conf_s evbus_conf_t;
typedef struct evbus_event_s evbus_event_t;
typedef struct evbus_producer_s evbus_producer_t;
typedef struct evbus_consumer_s evbus_consumer_t;
typedef struct evbus_dispatcher_s evbus_dispatcher_t;

int evbus_version(void);
const char *evbus_version_str(void);
const char *evbus_strerror(evbus_err_t err);
const char *evbus_err_name(evbus_err_t err);

evbus_conf_t *evbus_conf_new(void);
evbus_conf_t *evbus_conf_dup(const evbus_conf_t *conf);
evbus_conf_res_t evbus_conf_set(evbus_conf_t *conf, const char *name, const char *value,
                                char *errstr, size_t errstr_size);
const char *evbus_conf_get(const evbus_conf_t *conf, const char *name);
evbus_err_t evbus_conf_from_env(evbus_conf_t *conf, char *errstr, size_t errstr_size);
evbus_err_t evbus_conf_add_schema(evbus_conf_t *conf, const char *schema_json, size_t len,
                                  char *errstr, size_t errstr_size);
void evbus_conf_destroy(evbus_conf_t *conf);

typedef struct evbus_log_fields_s {
    size_t size;
    const char *topic;
    int32_t partition;
    int64_t offset;
    const char *ce_type;
    const char *ce_id;
    const char *handler;
    int attempt;
    const char *error;
} evbus_log_fields_t;
typedef void(evbus_log_cb)(int level, const char *subsystem, const char *message,
                           const evbus_log_fields_t *fields, void *opaque);
void evbus_conf_set_log_cb(evbus_conf_t *conf, evbus_log_cb *cb, void *opaque);

const char *evbus_event_type(const evbus_event_t *ev);
const char *evbus_event_id(const evbus_event_t *ev);
const char *evbus_event_key(const evbus_event_t *ev);
const char *evbus_event_topic(const evbus_event_t *ev);
int32_t evbus_event_partition(const evbus_event_t *ev);
int64_t evbus_event_offset(const evbus_event_t *ev);
int64_t evbus_event_timestamp(const evbus_event_t *ev);
const char *evbus_event_header(const evbus_event_t *ev, const char *name);
size_t evbus_event_header_count(const evbus_event_t *ev);
evbus_err_t evbus_event_header_at(const evbus_event_t *ev, size_t idx, const char **namep,
                                  const char **valuep, size_t *lenp);
const char *evbus_event_json(const evbus_event_t *ev, size_t *lenp);
const char *evbus_event_error(const evbus_event_t *ev);

typedef struct evbus_delivery_s {
    const char *event_type;
    const char *event_id;
    const char *topic;
    int32_t partition;
    int64_t offset;
    evbus_err_t err;
    const char *errstr;
    void *opaque;
    size_t ntopics;
    int transaction_aborted;
} evbus_delivery_t;
typedef void(evbus_delivery_cb)(const evbus_delivery_t *d, void *opaque);
void evbus_conf_set_delivery_cb(evbus_conf_t *conf, evbus_delivery_cb *cb, void *opaque);

evbus_producer_t *evbus_producer_new(evbus_conf_t *conf, char *errstr, size_t errstr_size);
typedef struct evbus_send_opts_s {
    size_t size;
    const char *id;
    const char *time;
    const char *source;
    const char *minorversion;
    void *opaque;
    const char *const *topics;
    size_t ntopics;
    const char *traceparent;
    const char *tracestate;
    const char *sourcehost;
    const char *sourcelib;
} evbus_send_opts_t;
evbus_err_t evbus_producer_send(evbus_producer_t *p, const char *event_type,
                                const char *json, size_t len, char *errstr, size_t errstr_size);
evbus_err_t evbus_producer_send_opts(evbus_producer_t *p, const char *event_type,
                                     const char *json, size_t len, const evbus_send_opts_t *opts,
                                     char *errstr, size_t errstr_size);
int evbus_producer_flush(evbus_producer_t *p, int timeout_ms);
size_t evbus_producer_drain_failures(evbus_producer_t *p, evbus_delivery_cb *cb, void *opaque);
typedef struct evbus_producer_stats_s {
    size_t size;
    uint64_t sent;
    uint64_t delivered;
    uint64_t failed;
    uint64_t in_flight;
    uint64_t transactions_committed;
    uint64_t transactions_aborted;
} evbus_producer_stats_t;
evbus_err_t evbus_producer_stats(evbus_producer_t *p, evbus_producer_stats_t *stats);
size_t evbus_producer_metrics(evbus_producer_t *p, char *buf, size_t size);
int evbus_producer_topic_count(const evbus_producer_t *p, const char *event_type);
void evbus_producer_destroy(evbus_producer_t *p);

typedef evbus_err_t (*evbus_handler_fn)(const evbus_event_t *ev, void *opaque, char *errstr,
                                        size_t errstr_size);
evbus_dispatcher_t *evbus_dispatcher_new(void);
void evbus_dispatcher_destroy(evbus_dispatcher_t *d);
evbus_err_t evbus_dispatcher_subscribe(evbus_dispatcher_t *d, const char *pattern,
                                       evbus_handler_fn fn, void *opaque,
                                       void (*opaque_free)(void *), int flags, const char *name);
evbus_err_t evbus_dispatcher_subscribe_list(evbus_dispatcher_t *d, const char *const *patterns,
                                            size_t n, evbus_handler_fn fn, void *opaque,
                                            void (*opaque_free)(void *), int flags,
                                            const char *name);

evbus_consumer_t *evbus_consumer_new(evbus_conf_t *conf, evbus_dispatcher_t *d, char *errstr,
                                     size_t errstr_size);
evbus_err_t evbus_consumer_subscribe(evbus_consumer_t *c, const char *const *topics, size_t n,
                                     char *errstr, size_t errstr_size);
evbus_err_t evbus_consumer_set_start(evbus_consumer_t *c, int start, int64_t timestamp_ms);
evbus_err_t evbus_consumer_run(evbus_consumer_t *c);
void evbus_consumer_stop(evbus_consumer_t *c);
void evbus_consumer_handle_signals(evbus_consumer_t *c);
evbus_err_t evbus_consumer_close(evbus_consumer_t *c);
void evbus_consumer_destroy(evbus_consumer_t *c);
typedef struct evbus_consumer_stats_s {
    size_t size;
    uint64_t received;
    uint64_t handled;
    uint64_t retries;
    uint64_t dead_lettered;
    uint64_t dlq_failed;
    uint64_t queued;
    uint64_t assigned;
    uint64_t transient_errors;
    uint64_t rejected;
} evbus_consumer_stats_t;
evbus_err_t evbus_consumer_stats(evbus_consumer_t *c, evbus_consumer_stats_t *st);
size_t evbus_consumer_metrics(evbus_consumer_t *c, char *buf, size_t size);
evbus_err_t evbus_consumer_health(evbus_consumer_t *c, char *errstr, size_t errstr_size);
"""

# The newest call this binding needs: a library without it is too old.
NEWEST_SYMBOL = "evbus_conf_add_schema"
SONAME = "libevbus.so.0"

EVBUS_START_EARLIEST = 0
EVBUS_START_LATEST = 1
EVBUS_START_TIMESTAMP = 2
EVBUS_CONF_OK = 0
EVBUS_CONF_UNKNOWN = -2
EVBUS_HANDLER_ASYNC = 0x1
LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG = 3, 4, 5, 6, 7


class LibraryNotFound(ImportError):
    """libevbus could not be loaded, or is too old for this binding."""


ffi = FFI()
ffi.cdef(CDEF)


def _load() -> Any:
    path = os.environ.get("EVBUS_LIBRARY")
    what = ("EVBUS_LIBRARY=%s" % path) if path else \
        ("%s through the system loader (EVBUS_LIBRARY is not set)" % SONAME)
    try:
        lib = ffi.dlopen(path if path else SONAME)
    except OSError as e:
        raise LibraryNotFound(
            "evbus: cannot load libevbus: looked for %s: %s. Install libevbus (libevbus0) or set "
            "EVBUS_LIBRARY to the path of libevbus.so." % (what, e)) from None
    try:
        getattr(lib, NEWEST_SYMBOL)
        ver = ffi.string(lib.evbus_version_str()).decode()
    except AttributeError:
        raise LibraryNotFound(
            "evbus: the libevbus found as %s is too old: it lacks %s(); this binding needs a "
            "libevbus that has it." % (what, NEWEST_SYMBOL)) from None
    return lib, ver


lib, LIBRARY_VERSION = _load()
