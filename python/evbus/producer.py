"""evbus.Producer: libevbus's producer (evbus_producer_*)."""
import json
import logging
import threading
from typing import Any, Callable, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Union

from ._conf import ERRSTR, _live, log_callback, make_conf
from ._ffi import ffi, lib
from .errors import error_for

_local = threading.local()


def _errbuf():
    # One errstr buffer per thread: send is called from many threads at once.
    b = getattr(_local, "errbuf", None)
    if b is None:
        b = _local.errbuf = ffi.new("char[]", ERRSTR)
    return b


_CONST_MAX = 256  # distinct low-cardinality values kept encoded, per thread


def _const(v):
    """A C string for a value that repeats from event to event (source, sourcehost, sourcelib,
    minorversion, a topic): encoded once per thread and kept, up to _CONST_MAX of them."""
    cache = getattr(_local, "consts", None)
    if cache is None:
        cache = _local.consts = {}
    c = cache.get(v)
    if c is None:
        c = ffi.new("char[]", v.encode() if isinstance(v, str) else str(v).encode())
        if len(cache) < _CONST_MAX:
            cache[v] = c
        else:
            _local.keep = c  # not cached: alive until this thread's next uncached value
    return c


def _opts(id, time, source, minorversion, traceparent, tracestate,  # pylint: disable=redefined-builtin
          sourcehost, sourcelib, topics):
    """This thread's evbus_send_opts_t filled in, and the buffer holding its per-event strings
    (keep it until the send returns).  Values that repeat from event to event are encoded once
    (_const); id, time and the trace context, which change, share one allocation.  A struct and a
    string per field cost several times as much, on a path that runs once per event."""
    o = getattr(_local, "opts", None)
    if o is None:
        o = _local.opts = ffi.new("evbus_send_opts_t *")
        o.size = ffi.sizeof("evbus_send_opts_t")
    n = ffi.NULL
    parts = []
    pos = 0
    offs = [-1, -1, -1, -1]
    for k, v in enumerate((id, time, traceparent, tracestate)):
        if v is not None:
            b = v.encode()
            offs[k] = pos
            parts.append(b)
            pos += len(b) + 1
    buf = ffi.new("char[]", b"\0".join(parts) + b"\0") if parts else None
    o.id = buf + offs[0] if offs[0] >= 0 else n
    o.time = buf + offs[1] if offs[1] >= 0 else n
    o.traceparent = buf + offs[2] if offs[2] >= 0 else n
    o.tracestate = buf + offs[3] if offs[3] >= 0 else n
    o.source = _const(source) if source is not None else n
    o.minorversion = _const(minorversion) if minorversion is not None else n
    o.sourcehost = _const(sourcehost) if sourcehost is not None else n
    o.sourcelib = _const(sourcelib) if sourcelib is not None else n
    if topics is None:
        o.topics, o.ntopics = n, 0
    else:
        arr = getattr(_local, "topics", None)
        if arr is None or len(arr) < len(topics):
            arr = _local.topics = ffi.new("const char *[]", max(8, len(topics)))
        for i, t in enumerate(topics):
            arr[i] = _const(t)
        o.topics, o.ntopics = arr, len(topics)
    return o, buf


class Delivery(NamedTuple):
    """One message's outcome: one event on one of its topics (evbus_delivery_t)."""
    event_type: str
    event_id: str
    topic: str
    partition: int
    offset: int
    error: Optional[Exception]  # None when delivered
    opaque: Any                 # what send(..., opaque=) was given
    ntopics: int


def _s(p) -> Optional[str]:
    return ffi.string(p).decode("utf-8", "replace") if p != ffi.NULL else None


class Producer:
    """Publish events by type to their configured topics.

    settings: evbus configuration names (README "Configuration") such as "producer.config"
    (a path, JSON text or a dict), "kafka.bootstrap.servers", "schema.registry.url", or any
    "kafka.<name>".  schemas: Avro schema texts that beat schema.dir's files of their type.
    from_env: also take the EVENT_BUS_* environment variables (explicit settings win).
    on_delivery(Delivery): called for every message from the library's delivery thread;
    without it, failures are counted (stats()) and kept by the library.
    logger: send the library's log lines there instead of stderr.

    Thread safe: send from any number of threads.  A context manager: leaving it flushes and
    closes.
    """

    def __init__(self, settings: Optional[Mapping[str, Any]] = None, *,
                 schemas: Iterable[str] = (), from_env: bool = False,
                 on_delivery: Optional[Callable[[Delivery], None]] = None,
                 logger: Optional["logging.Logger"] = None):
        self._p = ffi.NULL
        self._opaques = {}
        self._opaque_lock = threading.Lock()
        self._next_opaque = 1
        self._log_cb = log_callback(logger) if logger is not None else None
        conf = make_conf(settings, schemas, from_env, self._log_cb)
        self._on_delivery = on_delivery
        self._dr = None
        if on_delivery is not None:
            self._dr = ffi.callback("void(*)(const evbus_delivery_t *, void *)", self._delivered)
            lib.evbus_conf_set_delivery_cb(conf, self._dr, ffi.NULL)
        err = ffi.new("char[]", ERRSTR)
        p = lib.evbus_producer_new(conf, err, ERRSTR)
        if p == ffi.NULL:
            lib.evbus_conf_destroy(conf)
            raise error_for(-1, err)  # EVBUS_ERR_CONFIG: every problem, one per line
        self._p = p
        _live.add(self)

    def _delivered(self, d, _opaque) -> None:
        try:
            key = int(ffi.cast("uintptr_t", d.opaque))
            if key:
                with self._opaque_lock:
                    entry = self._opaques.get(key)
                    if entry is not None:
                        entry[1] -= 1
                        if entry[1] <= 0:
                            del self._opaques[key]
                value = entry[0] if entry is not None else None
            else:
                value = None
            e = None if d.err == 0 else error_for(d.err, d.errstr)
            self._on_delivery(Delivery(_s(d.event_type), _s(d.event_id), _s(d.topic),
                                       d.partition, d.offset, e, value, d.ntopics))
        except BaseException:  # never into C; the application's callback failed
            import logging
            logging.getLogger("evbus").exception("evbus: the on_delivery callback raised")

    def send(self, event_type: str, data: Union[Mapping[str, Any], str, bytes], *,
             id: Optional[str] = None, time: Optional[str] = None,  # pylint: disable=redefined-builtin
             source: Optional[str] = None, minorversion: Optional[Union[int, str]] = None,
             topics: Optional[Sequence[str]] = None, traceparent: Optional[str] = None,
             tracestate: Optional[str] = None, sourcehost: Optional[str] = None,
             sourcelib: Optional[str] = None, opaque: Any = None) -> None:
        """Publish one event (data: a dict, or JSON text) to every enabled topic of its type, or
        to those of `topics`.  Raises an EvbusError subclass (SchemaError naming the field,
        KeyPathError, UnknownTypeError, QueueFullError, ...); delivery is reported later."""
        if self._p == ffi.NULL:
            raise error_for(-16)  # EVBUS_ERR_STATE: closed
        if isinstance(data, str):
            body = data.encode()
        elif isinstance(data, bytes):
            body = data
        else:
            body = json.dumps(data, separators=(",", ":")).encode()
        err = _errbuf()
        et = event_type.encode()
        if (id is None and time is None and source is None and minorversion is None and
                topics is None and traceparent is None and tracestate is None and
                sourcehost is None and sourcelib is None and opaque is None):
            rc = lib.evbus_producer_send(self._p, et, body, len(body), err, ERRSTR)
        else:
            o, buf = _opts(id, time, source, minorversion, traceparent, tracestate, sourcehost,
                           sourcelib, topics)
            key = 0
            if opaque is not None and self._on_delivery is not None:
                with self._opaque_lock:
                    key = self._next_opaque
                    self._next_opaque += 1
                    # one report per topic: the entry goes with the last
                    self._opaques[key] = [opaque, len(set(topics)) if topics is not None else
                                          max(1, lib.evbus_producer_topic_count(self._p, et))]
            o.opaque = ffi.cast("void *", key)
            rc = lib.evbus_producer_send_opts(self._p, et, body, len(body), o, err, ERRSTR)
            del buf  # the strings o pointed to
            if rc != 0 and key:
                with self._opaque_lock:
                    self._opaques.pop(key, None)
        if rc != 0:
            raise error_for(rc, err)

    def flush(self, timeout: float = 10.0) -> int:
        """Wait up to timeout seconds for what was sent to be delivered; returns how many events
        are still undelivered (0: none outstanding)."""
        if self._p == ffi.NULL:
            return 0
        return lib.evbus_producer_flush(self._p, int(timeout * 1000))

    def stats(self) -> dict:
        st = ffi.new("evbus_producer_stats_t *")
        st.size = ffi.sizeof("evbus_producer_stats_t")
        if self._p == ffi.NULL or lib.evbus_producer_stats(self._p, st) != 0:
            return {}
        return {f: getattr(st, f) for f in ("sent", "delivered", "failed", "in_flight",
                                             "transactions_committed", "transactions_aborted")}

    def drain_failures(self) -> List[Delivery]:
        """The failures the library kept (without on_delivery; at most the last 10000), oldest
        first, now forgotten by it.  Their opaque is None."""
        if self._p == ffi.NULL:
            return []
        out: List[Delivery] = []

        def cb(d, _opaque):
            out.append(Delivery(_s(d.event_type), _s(d.event_id), _s(d.topic), d.partition,
                                d.offset, error_for(d.err, d.errstr), None, d.ntopics))

        c = ffi.callback("void(*)(const evbus_delivery_t *, void *)", cb)
        lib.evbus_producer_drain_failures(self._p, c, ffi.NULL)
        return out

    def metrics(self) -> str:
        """The producer's Prometheus text (evbus_producer_metrics)."""
        if self._p == ffi.NULL:
            return ""
        n = lib.evbus_producer_metrics(self._p, ffi.NULL, 0)
        buf = ffi.new("char[]", n + 1)
        lib.evbus_producer_metrics(self._p, buf, n + 1)
        return ffi.string(buf).decode()

    def close(self) -> None:
        """Flush (up to 10 s) and destroy; what is still undelivered is reported failed."""
        p, self._p = self._p, ffi.NULL
        if p != ffi.NULL:
            lib.evbus_producer_destroy(p)

    def __enter__(self) -> "Producer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # pylint: disable=broad-except
            pass
