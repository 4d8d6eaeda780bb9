"""EVENT_BUS_PRODUCER = "evbus.openedx.create_producer"."""
import collections
import json
import logging
import threading
from typing import Any, Dict, Optional

from openedx_events.data import EventsMetadata
from openedx_events.event_bus import EventBusProducer
from openedx_events.event_bus.avro.serializer import AvroSignalSerializer
from openedx_events.tooling import OpenEdxPublicSignal, load_all_signals

from .. import ConfigError, Producer
from . import _settings

log = logging.getLogger("evbus.openedx")
KEEP = 100000  # events whose data the failure log can still show


class EventProducer(EventBusProducer):
    """openedx-events' EventBusProducer over libevbus.

    send() is called once per (event, topic) by openedx-events' general_signal_handler with that
    topic's event_key_field from EVENT_BUS_PRODUCER_CONFIG.  The libevbus producer's own config is
    made of the (event type, topic, key field) routes seen: those of EVENT_BUS_PRODUCER_CONFIG at
    creation, and any other that a send names (the producer is then re-made with the route added;
    the earlier one is flushed and closed at prepare_for_shutdown()).  Each event goes to its one
    topic (send option topics).

    Like edx-event-bus-kafka it never raises into the caller; unlike it nothing is dropped without
    a trace: every event that fails (at send, or in its delivery report) is logged at ERROR with
    its type, topic, key field, data and metadata as JSON, for replay (for a delivery failure:
    while the event is one of the last KEEP sent), and counted (.failed).
    """

    def __init__(self, settings: Dict[str, Any]):
        self._settings = settings
        self._lock = threading.Lock()
        self._routes: Dict[str, Dict[str, str]] = {}
        self._schemas: Dict[str, str] = {}
        self._serializers: Dict[str, AvroSignalSerializer] = {}
        self._producer: Optional[Producer] = None
        self._retired = []
        self.failed = 0
        # What was sent, by event id, for the failure log (replay data): the library keeps the
        # failures (no per-message callback into Python: the GIL hand-offs cost more than the
        # send), and a thread drains them every second.  The newest KEEP events are kept.
        self._sent: "collections.OrderedDict[str, tuple]" = collections.OrderedDict()
        self._stop = threading.Event()
        self._drainer = threading.Thread(target=self._drain_loop, name="evbus-failures",
                                         daemon=True)
        self._drainer.start()
        # (type, topic, key field) -> why libevbus refused the route: its events fail at once
        self._refused: Dict[tuple, str] = {}
        from django.conf import settings as dj
        load_all_signals()
        wanted = []
        for event_type, topics in (getattr(dj, "EVENT_BUS_PRODUCER_CONFIG", None) or {}).items():
            try:
                signal = OpenEdxPublicSignal.get_signal_by_type(event_type)
            except KeyError:
                log.warning("evbus: EVENT_BUS_PRODUCER_CONFIG names %s, which this service's "
                            "openedx-events does not know", event_type)
                continue
            for topic, tc in topics.items():
                if tc.get("enabled", True) is True:
                    wanted.append((signal, topic, tc["event_key_field"]))
                    self._route(signal, topic, tc["event_key_field"])
        if self._routes:
            try:
                self._remake()
            except ConfigError:
                # One bad route (a key path not in the schema, say) must not take the others
                # down: each is tried alone, and the refused ones are reported now, by name.
                self._routes = {}
                for signal, topic, key in wanted:
                    try:
                        self._add_route(signal, topic, key)
                    except ConfigError as e:
                        self._refused[(signal.event_type, topic, key)] = str(e)
                        log.error("evbus: EVENT_BUS_PRODUCER_CONFIG: %s to topic %s with key %s "
                                  "refused, its events will fail: %s", signal.event_type, topic,
                                  key, e)

    # ---- routes and the libevbus producer ----
    def _route(self, signal: OpenEdxPublicSignal, topic: str, key_field: str) -> None:
        et = signal.event_type
        if et not in self._schemas:
            ser = AvroSignalSerializer(signal)
            self._serializers[et] = ser
            self._schemas[et] = ser.schema_string()
        self._routes.setdefault(et, {})[topic] = key_field

    def _add_route(self, signal: OpenEdxPublicSignal, topic: str, key_field: str) -> None:
        """Route and re-make the producer; a route libevbus refuses (a key path that is not in
        the schema, a bad topic name) is taken back, so it fails only its own events."""
        et = signal.event_type
        before = self._routes.get(et, {}).get(topic)
        self._route(signal, topic, key_field)
        try:
            self._remake()
        except Exception:
            if before is None:
                del self._routes[et][topic]
                if not self._routes[et]:
                    del self._routes[et]
            else:
                self._routes[et][topic] = before
            raise

    def _remake(self) -> None:
        cfg = {et: {t: {"event_key_field": k} for t, k in ts.items()}
               for et, ts in self._routes.items()}
        s = dict(self._settings)
        s["producer.config"] = cfg
        p = Producer(s, schemas=[self._schemas[et] for et in self._routes], logger=log)
        if self._producer is not None:
            self._retired.append(self._producer)
        self._producer = p

    def _drain(self) -> None:
        for p in self._retired + ([self._producer] if self._producer else []):
            for d in p.drain_failures():
                self.failed += 1
                ctx = self._sent.get(d.event_id)
                replay = json.dumps({"type": ctx[0], "topic": ctx[1], "event_key_field": ctx[2],
                                     "data": ctx[3], "metadata": ctx[4].to_json()}) \
                    if ctx else "(data no longer kept: one of more than %d recent events)" % KEEP
                log.error("evbus: event %s of %s not delivered to %s: %s; for replay: %s",
                          d.event_id, d.event_type, d.topic, d.error, replay)

    def _drain_loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self._drain()
            except Exception:  # pylint: disable=broad-except
                log.exception("evbus: draining delivery failures")

    # ---- EventBusProducer ----
    def send(self, *, signal: OpenEdxPublicSignal, topic: str, event_key_field: str,
             event_data: dict, event_metadata: EventsMetadata) -> None:
        et = signal.event_type
        body = None
        try:
            ser = self._serializers.get(et)
            if ser is None:
                ser = self._serializers.setdefault(et, AvroSignalSerializer(signal))
            body = json.dumps(ser.to_dict(event_data))
            if self._routes.get(et, {}).get(topic) != event_key_field:
                why = self._refused.get((et, topic, event_key_field))
                if why is not None:
                    raise ConfigError(why)
                with self._lock:
                    if self._routes.get(et, {}).get(topic) != event_key_field:
                        try:
                            self._add_route(signal, topic, event_key_field)
                        except ConfigError as e:  # not tried again for every event
                            self._refused[(et, topic, event_key_field)] = str(e)
                            raise
            m = event_metadata
            eid = str(m.id)
            self._producer.send(  # type: ignore[union-attr]
                et, body, id=eid, time=m.time.isoformat(), source=m.source,
                minorversion=m.minorversion, sourcehost=m.sourcehost,
                sourcelib=".".join(map(str, m.sourcelib)), topics=[topic])
            sent = self._sent
            sent[eid] = (et, topic, event_key_field, body, m)
            if len(sent) > KEEP:
                sent.popitem(last=False)
        except Exception as e:  # pylint: disable=broad-except
            self.failed += 1
            try:
                meta = event_metadata.to_json()
            except Exception:  # pylint: disable=broad-except
                meta = repr(event_metadata)
            log.error("evbus: event of %s for topic %s (key %s) not sent: %s: %s; for replay: %s",
                      et, topic, event_key_field, type(e).__name__, e,
                      json.dumps({"type": et, "topic": topic, "event_key_field": event_key_field,
                                  "data": body if body is not None else repr(event_data),
                                  "metadata": meta}))

    def prepare_for_shutdown(self) -> None:
        """Flush: wait until every event sent so far is delivered (or reported failed)."""
        for p in self._retired + ([self._producer] if self._producer else []):
            left = p.flush(60)
            if left:
                log.error("evbus: %d events still undelivered after 60 s", left)
        self._drain()
        for p in self._retired:
            p.close()
        self._retired = []

    def metrics(self) -> str:
        return self._producer.metrics() if self._producer else ""


def create_producer() -> Optional[EventProducer]:
    """The EVENT_BUS_PRODUCER loader.  None (as edx-event-bus-kafka) when
    EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS is missing; raises evbus.ConfigError on a bad setting."""
    s = _settings.producer()
    if s is None:
        log.warning("Cannot configure evbus: missing setting EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS")
        return None
    return EventProducer(s)
