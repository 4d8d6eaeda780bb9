"""evbus.Consumer: a consumer group member (evbus_consumer_*) feeding handlers registered by
decorator (evbus_dispatcher_*).

Handlers run on the library's worker threads, several at once (one partition each); the
binding holds the GIL only while the Python handler runs (cffi takes it for the callback and
releases it around every C call, run() included).
"""
import datetime
import json
import logging
import threading
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from ._conf import ERRSTR, _live, log_callback, make_conf
from ._ffi import (EVBUS_HANDLER_ASYNC, EVBUS_START_EARLIEST, EVBUS_START_LATEST,
                   EVBUS_START_TIMESTAMP, ffi, lib)
from .errors import EvbusError, HandlerError, check, error_for

log = logging.getLogger("evbus")
_HANDLER_FAILED = HandlerError.code


def _s(p) -> Optional[str]:
    return ffi.string(p).decode("utf-8", "replace") if p != ffi.NULL else None


class Event:
    """The event a handler is called with.  Borrowed from the library: valid only during the
    handler's call (copy what you keep)."""

    __slots__ = ("_ev", "_data")

    def __init__(self, ev):
        self._ev = ev
        self._data = None

    def _p(self):
        if self._ev is None:
            raise RuntimeError("evbus.Event used after its handler returned")
        return self._ev

    @property
    def type(self) -> str:
        return _s(lib.evbus_event_type(self._p()))

    @property
    def id(self) -> str:
        return _s(lib.evbus_event_id(self._p()))

    @property
    def key(self) -> Optional[str]:
        return _s(lib.evbus_event_key(self._p()))

    @property
    def topic(self) -> str:
        return _s(lib.evbus_event_topic(self._p()))

    @property
    def partition(self) -> int:
        return lib.evbus_event_partition(self._p())

    @property
    def offset(self) -> int:
        return lib.evbus_event_offset(self._p())

    @property
    def timestamp_ms(self) -> int:
        return lib.evbus_event_timestamp(self._p())

    def header(self, name: str) -> Optional[str]:
        """The first value of header name, or None."""
        return _s(lib.evbus_event_header(self._p(), name.encode()))

    @property
    def headers(self) -> List[tuple]:
        """Every header in message order, (name, value bytes or None)."""
        ev = self._p()
        out = []
        namep = ffi.new("const char **")
        valp = ffi.new("const char **")
        lenp = ffi.new("size_t *")
        for i in range(lib.evbus_event_header_count(ev)):
            if lib.evbus_event_header_at(ev, i, namep, valp, lenp) == 0:
                v = ffi.unpack(valp[0], lenp[0]) if valp[0] != ffi.NULL else None
                out.append((_s(namep[0]), v))
        return out

    @property
    def json(self) -> str:
        """The event data as JSON text (decoded on first use)."""
        ev = self._p()
        lenp = ffi.new("size_t *")
        j = lib.evbus_event_json(ev, lenp)
        if j == ffi.NULL:
            raise error_for(-6, lib.evbus_event_error(ev) if lib.evbus_event_error(ev) != ffi.NULL
                            else None)
        return ffi.unpack(j, lenp[0]).decode("utf-8")

    @property
    def data(self) -> Dict[str, Any]:
        """The event data as a dict (natural JSON: nullable fields None, dates as strings)."""
        if self._data is None:
            self._data = json.loads(self.json)
        return self._data


Handler = Callable[[Event], Any]


class Consumer:
    """A consumer group member: Consumer(settings, topics, group).

    settings: evbus names ("kafka.bootstrap.servers", "retry.max", "workers",
    "schema.registry.url", ...).  topics are given without the prefix (topic.prefix is added).
    start: "latest" (the default for a new group, as the Open edX bus), "earliest", or a
    datetime (each partition starts at the first message at or after it).

    Register handlers with the decorator before or while running:

        @consumer.handler("org.openedx.learning.*")               # glob
        @consumer.handler(["type.a.v1", "type.b.v1"], name="x")   # list
        def on_event(event): ...

    A handler that raises fails the event: the failing handlers are retried (retry.max,
    backoff), then the event is dead-lettered to <topic>.dlq with their names and errors.
    """

    def __init__(self, settings: Optional[Mapping[str, Any]] = None,
                 topics: Sequence[str] = (), group: Optional[str] = None, *,
                 schemas: Iterable[str] = (), from_env: bool = False,
                 start: Union[str, datetime.datetime, None] = None,
                 logger: Optional[logging.Logger] = None):
        self._c = ffi.NULL
        self._d = ffi.NULL
        self._keep = []  # callbacks and handles the library points to
        s = dict(settings or {})
        if group is not None:
            s["consumer.group"] = group
        self._log_cb = log_callback(logger) if logger is not None else None
        conf = make_conf(s, schemas, from_env, self._log_cb)
        d = lib.evbus_dispatcher_new()
        if d == ffi.NULL:
            lib.evbus_conf_destroy(conf)
            raise MemoryError("evbus_dispatcher_new")
        err = ffi.new("char[]", ERRSTR)
        c = lib.evbus_consumer_new(conf, d, err, ERRSTR)
        if c == ffi.NULL:
            lib.evbus_conf_destroy(conf)
            lib.evbus_dispatcher_destroy(d)
            raise error_for(-1, err)
        self._c, self._d = c, d
        _live.add(self)
        self._cb = ffi.callback("evbus_handler_fn", self._call, onerror=self._onerror)
        try:
            if start is not None:
                if isinstance(start, datetime.datetime):
                    ms = int(start.timestamp() * 1000)
                    check(lib.evbus_consumer_set_start(c, EVBUS_START_TIMESTAMP, ms))
                elif start in ("earliest", "latest"):
                    check(lib.evbus_consumer_set_start(
                        c, EVBUS_START_EARLIEST if start == "earliest" else EVBUS_START_LATEST, 0))
                else:
                    raise ValueError("start: %r, expected 'latest', 'earliest' or a datetime"
                                     % (start,))
            if topics:
                self.subscribe(topics)
        except BaseException:
            self.close()
            raise

    # ---- handlers ----
    def _call(self, ev, opaque, errstr, errstr_size):
        fn = ffi.from_handle(opaque)
        event = Event(ev)
        try:
            fn(event)
            return 0
        except Exception as e:  # pylint: disable=broad-except
            msg = ("%s: %s" % (type(e).__name__, e)).encode("utf-8", "replace")
            n = min(len(msg), errstr_size - 1)
            if n >= 0:
                ffi.memmove(errstr, msg, n)
                errstr[n] = b"\0"
            # an evbus error keeps its code (e.g. DecodeError); anything else is ERR_HANDLER
            return e.code if isinstance(e, EvbusError) else _HANDLER_FAILED
        finally:
            event._ev = None  # pylint: disable=protected-access

    @staticmethod
    def _onerror(exc_type, exc_value, tb):  # what cffi returns when _call itself fails
        log.error("evbus: handler glue failed: %s: %s", exc_type.__name__, exc_value)
        return _HANDLER_FAILED

    def subscribe_handler(self, patterns: Union[str, Sequence[str]], fn: Handler, *,
                          name: Optional[str] = None, async_: bool = False) -> None:
        """Register fn for an exact type, a glob ('*', '?') or a list of them."""
        if self._d == ffi.NULL:
            raise error_for(-16)
        h = ffi.new_handle(fn)
        self._keep.append(h)
        nm = (name or getattr(fn, "__qualname__", None) or repr(fn)).encode()
        flags = EVBUS_HANDLER_ASYNC if async_ else 0
        if isinstance(patterns, str):
            check(lib.evbus_dispatcher_subscribe(self._d, patterns.encode(), self._cb, h,
                                                 ffi.NULL, flags, nm))
        else:
            ps = [ffi.new("char[]", p.encode()) for p in patterns]
            arr = ffi.new("const char *[]", ps)
            check(lib.evbus_dispatcher_subscribe_list(self._d, arr, len(ps), self._cb, h,
                                                      ffi.NULL, flags, nm))

    def handler(self, patterns: Union[str, Sequence[str]], *, name: Optional[str] = None,
                async_: bool = False) -> Callable[[Handler], Handler]:
        """Decorator form of subscribe_handler()."""
        def deco(fn: Handler) -> Handler:
            self.subscribe_handler(patterns, fn, name=name, async_=async_)
            return fn
        return deco

    # ---- running ----
    def subscribe(self, topics: Sequence[str]) -> None:
        ts = [ffi.new("char[]", t.encode()) for t in topics]
        arr = ffi.new("const char *[]", ts)
        err = ffi.new("char[]", ERRSTR)
        check(lib.evbus_consumer_subscribe(self._c, arr, len(ts), err, ERRSTR), err)

    def run(self, *, handle_signals: bool = True) -> None:
        """Consume until stop() (or SIGINT/SIGTERM with handle_signals), then close: finish the
        events being handled, commit, leave the group.  Raises the error that stopped it
        (consumer.max.consecutive.errors reached)."""
        if self._c == ffi.NULL:
            raise error_for(-16)
        if handle_signals and threading.current_thread() is threading.main_thread():
            lib.evbus_consumer_handle_signals(self._c)
        check(lib.evbus_consumer_run(self._c))

    def stop(self) -> None:
        """Ask run() to return; thread safe."""
        if self._c != ffi.NULL:
            lib.evbus_consumer_stop(self._c)

    def stats(self) -> dict:
        st = ffi.new("evbus_consumer_stats_t *")
        st.size = ffi.sizeof("evbus_consumer_stats_t")
        if self._c == ffi.NULL or lib.evbus_consumer_stats(self._c, st) != 0:
            return {}
        return {f: getattr(st, f) for f in ("received", "handled", "retries", "dead_lettered",
                                             "dlq_failed", "queued", "assigned",
                                             "transient_errors", "rejected")}

    def metrics(self) -> str:
        """Prometheus text (evbus_consumer_metrics)."""
        if self._c == ffi.NULL:
            return ""
        n = lib.evbus_consumer_metrics(self._c, ffi.NULL, 0)
        buf = ffi.new("char[]", n + 1)
        lib.evbus_consumer_metrics(self._c, buf, n + 1)
        return ffi.string(buf).decode()

    def health(self) -> tuple:
        """(ok, reason) as evbus_consumer_health."""
        if self._c == ffi.NULL:
            return False, "closed"
        err = ffi.new("char[]", 256)
        rc = lib.evbus_consumer_health(self._c, err, 256)
        return rc == 0, ffi.string(err).decode("utf-8", "replace")

    def close(self) -> None:
        c, self._c = self._c, ffi.NULL
        d, self._d = self._d, ffi.NULL
        if c != ffi.NULL:
            lib.evbus_consumer_destroy(c)
        if d != ffi.NULL:
            lib.evbus_dispatcher_destroy(d)

    def __enter__(self) -> "Consumer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # pylint: disable=broad-except
            pass
