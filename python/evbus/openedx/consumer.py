"""EVENT_BUS_CONSUMER = "evbus.openedx.EventConsumer"."""
import datetime
import http.server
import logging
import threading
import uuid
from typing import Any, Dict, Optional

from openedx_events.data import EventsMetadata
from openedx_events.event_bus import EventBusConsumer
from openedx_events.event_bus.avro.deserializer import AvroSignalDeserializer
from openedx_events.event_bus.avro.serializer import AvroSignalSerializer
from openedx_events.tooling import OpenEdxPublicSignal, load_all_signals, prepare_for_new_work_cycle

from .. import ConfigError, Consumer, Event
from .._ffi import ffi, lib
from . import _settings

log = logging.getLogger("evbus.openedx")


class ReceiverError(Exception):
    """Some receivers of a signal raised: the event fails (retried, then dead-lettered)."""


def _receiver_name(r) -> str:
    try:
        return "%s.%s" % (r.__module__, r.__qualname__)
    except AttributeError:
        return str(r)


def _sourcelib(v: str) -> tuple:
    return tuple(map(int, v.split(".")))


# header (as bytes, for the C call), EventsMetadata field, conversion: edx-event-bus-kafka's table
_HEADERS = ((b"ce_type", "event_type", str), (b"ce_id", "id", uuid.UUID), (b"ce_source", "source", str),
            (b"ce_time", "time", datetime.datetime.fromisoformat),
            (b"ce_minorversion", "minorversion", int), (b"sourcehost", "sourcehost", str),
            (b"sourcelib", "sourcelib", _sourcelib))


def metadata_from_event(ev: Event) -> EventsMetadata:
    """EventsMetadata from the CloudEvents headers, as edx-event-bus-kafka reads them (a missing
    one takes EventsMetadata's default; the library has already refused messages without exactly
    one ce_id and ce_type)."""
    kw: Dict[str, Any] = {}
    p = ev._p()  # pylint: disable=protected-access
    for header, field, f in _HEADERS:
        v = lib.evbus_event_header(p, header)
        if v != ffi.NULL:
            kw[field] = f(ffi.string(v).decode("utf-8"))
    if "event_type" not in kw:  # an event without headers (evbus_dispatcher_process_json)
        kw["event_type"] = ev.type
    return EventsMetadata(**kw)


class EventConsumer(EventBusConsumer):
    """openedx-events' EventBusConsumer over libevbus: EventConsumer(topic, group_id, **extra).

    Per event: the signal of ce_type, the data through AvroSignalDeserializer(signal).from_dict(),
    EventsMetadata from the headers, prepare_for_new_work_cycle(), then
    signal.send_event_with_custom_metadata().  A receiver that raised fails the event: libevbus
    retries it (retry.max, backoff) and then writes it to <topic>.dlq, with the failing
    receivers named in its evbus_error header.  Events are handled by the library's workers, a
    partition each, in parallel.

    offset_time (ISO 8601, as the Python bus): every partition of the first assignment starts at
    the first message at or after that time, whatever the group had committed, and consumption
    goes on from there (the Python bus only resets the offsets and then idles).
    """

    def __init__(self, topic: str, group_id: str, offset_time: Optional[Any] = None, **extra):
        self.topic = topic
        self.group_id = group_id
        self.offset_time = None
        if offset_time:
            try:
                self.offset_time = datetime.datetime.fromisoformat(str(offset_time))
            except ValueError:
                raise ConfigError("offset_time: %r is not an ISO 8601 time" % (offset_time,)) from None
            if self.offset_time.tzinfo is None:
                self.offset_time = self.offset_time.replace(tzinfo=datetime.timezone.utc)
        if extra:
            log.warning("evbus: EventConsumer ignores the unknown arguments %s", sorted(extra))
        self._settings = _settings.consumer(group_id)
        if self._settings is None:
            raise ConfigError("missing setting EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS")
        self._consumer: Optional[Consumer] = None
        self._deserializers: Dict[str, AvroSignalDeserializer] = {}
        self._signals: Dict[str, OpenEdxPublicSignal] = {}
        load_all_signals()
        self._schemas = []
        for signal in OpenEdxPublicSignal.all_events():
            try:
                self._schemas.append(AvroSignalSerializer(signal).schema_string())
            except Exception as e:  # pylint: disable=broad-except
                # such signals cannot travel on any event bus (openedx-events cannot serialize them)
                log.debug("evbus: no Avro schema for %s: %s", signal.event_type, e)
            self._signals[signal.event_type] = signal
        # A bad setting is one clear error now, not at the first event.
        self._consumer = self._make()

    def _make(self) -> Consumer:
        start = self.offset_time
        c = Consumer(self._settings, [self.topic], schemas=self._schemas, start=start, logger=log)
        # Every Open edX type ("org.*"), and the other types this service's signals know.
        patterns = ["org.*"] + [t for t in self._signals if not t.startswith("org.")]
        c.subscribe_handler(patterns, self._handle, name="openedx-receivers")
        return c

    def _handle(self, ev: Event) -> None:
        et = ev.type
        signal = self._signals.get(et)
        if signal is None:
            try:
                signal = self._signals[et] = OpenEdxPublicSignal.get_signal_by_type(et)
            except KeyError:
                raise ReceiverError("no signal for event type %s in this service" % et) from None
        de = self._deserializers.get(et)
        if de is None:
            de = self._deserializers[et] = AvroSignalDeserializer(signal)
        data = de.from_dict(ev.data)
        metadata = metadata_from_event(ev)
        prepare_for_new_work_cycle()
        results = signal.send_event_with_custom_metadata(metadata, **data)
        failed = ["%s=%r" % (_receiver_name(r), resp) for r, resp in results
                  if isinstance(resp, BaseException)]
        if failed:
            raise ReceiverError("%d receiver(s) out of %d failed: %s"
                                % (len(failed), len(results), ", ".join(failed)))

    def consume_indefinitely(self) -> None:
        """Consume until SIGTERM/SIGINT (offsets committed, group left).  Raises the error that
        stopped it when EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT was reached."""
        if not _settings.consumers_enabled():
            log.error("Kafka consumers not enabled, exiting.")
            self.close()
            return
        server = None
        addr = _settings.metrics_address()
        if addr is not None:
            server = _serve_metrics(self._consumer, addr)
        try:
            log.info("evbus: consuming %s as group %s", self.topic, self.group_id)
            self._consumer.run()  # type: ignore[union-attr]
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
            self.close()

    def stop(self) -> None:
        """Ask consume_indefinitely() to return (thread safe)."""
        if self._consumer is not None:
            self._consumer.stop()

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()


def _serve_metrics(consumer: Consumer, addr) -> http.server.ThreadingHTTPServer:
    """EVBUS_METRICS_PORT: the library's Prometheus text at /metrics and health at /healthz."""

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path == "/metrics":
                code, body, ctype = 200, consumer.metrics(), "text/plain; version=0.0.4"
            elif self.path == "/healthz":
                ok, reason = consumer.health()
                code, body, ctype = (200 if ok else 503), reason + "\n", "text/plain"
            else:
                code, body, ctype = 404, "not found\n", "text/plain"
            b = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)

        def log_message(self, *args):  # quiet
            pass

    srv = http.server.ThreadingHTTPServer(addr, H)
    threading.Thread(target=srv.serve_forever, name="evbus-metrics", daemon=True).start()
    log.info("evbus: metrics on %s:%d (/metrics, /healthz)", addr[0], srv.server_address[1])
    return srv
