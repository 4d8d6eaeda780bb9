#!/usr/bin/env python3
"""openedx_units.py BOOTSTRAP: evbus.openedx without the real bus, on the embedded broker.
  - the Django settings each become the evbus setting of the same meaning, EVBUS_PRODUCER_SPOOL_DIR
    included (producer.spool.dir: passed through; the spool itself is the spool issue's);
  - a send that fails never raises into the caller: it is logged at ERROR with its data and
    metadata for replay, and counted;
  - a send to a (topic, key field) route that EVENT_BUS_PRODUCER_CONFIG does not have still goes
    out, to that topic with that key;
  - the library's errors are exception classes carrying the C code.
Prints "openedx_units: ok" or fails with an assertion."""
import json
import logging
import sys


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record.getMessage())


def main():
    b = sys.argv[1]
    from django.conf import settings
    settings.configure(
        USE_TZ=True, INSTALLED_APPS=[], EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=b,
        EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL="http://127.0.0.1:1", EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY="rk",
        EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET="rs", EVENT_BUS_KAFKA_API_KEY="k",
        EVENT_BUS_KAFKA_API_SECRET="s", EVENT_BUS_TOPIC_PREFIX="pre", EVENTS_SERVICE_NAME="cms",
        EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT=5, EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT=0.5,
        EVENT_BUS_KAFKA_CONSUMER_POLL_FAILURE_SLEEP=2, EVBUS_PRODUCER_SPOOL_DIR="/var/spool/evbus",
        EVBUS_METRICS_PORT="127.0.0.1:9400")
    import django
    django.setup()
    from evbus.openedx import _settings

    p = _settings.producer()
    assert p["kafka.bootstrap.servers"] == b, p
    assert p["schema.registry.url"] == "http://127.0.0.1:1", p
    assert (p["schema.registry.api.key"], p["schema.registry.api.secret"]) == ("rk", "rs"), p
    assert (p["sasl.username"], p["sasl.password"]) == ("k", "s"), p
    assert p["topic.prefix"] == "pre" and p["service"] == "cms", p
    assert p["producer.spool.dir"] == "/var/spool/evbus", p
    c = _settings.consumer("grp")
    assert c["consumer.group"] == "grp", c
    assert c["consumer.max.consecutive.errors"] == 5, c
    assert c["consumer.poll.timeout.ms"] == 500 and c["consumer.poll.failure.sleep.ms"] == 2000, c
    assert "producer.spool.dir" not in c, c
    assert _settings.metrics_address() == ("127.0.0.1", 9400)
    print("openedx_units: settings mapped")

    import evbus
    from evbus.openedx.producer import EventProducer
    from openedx_events.data import EventsMetadata
    from openedx_events.event_bus.avro.deserializer import AvroSignalDeserializer
    from openedx_events.tooling import OpenEdxPublicSignal, load_all_signals
    load_all_signals()
    coll = Collect()
    logging.getLogger("evbus.openedx").addHandler(coll)
    # No registry here, no SASL: single-object framing on the embedded broker.  The producer
    # config has one good and one bad route: the bad one is refused by name, the good one works.
    settings.EVENT_BUS_PRODUCER_CONFIG = {
        "org.openedx.content_authoring.xblock.published.v1": {
            "xbgood": {"event_key_field": "xblock_info.usage_key", "enabled": True},
            "xbbad": {"event_key_field": "xblock_info.missing", "enabled": True}}}
    prod = EventProducer({"kafka.bootstrap.servers": b, "topic.prefix": "pre", "service": "cms"})
    assert len(coll.records) == 1 and "xbbad" in coll.records[0] and "refused" in coll.records[0], \
        coll.records
    assert "xbgood" in prod._routes["org.openedx.content_authoring.xblock.published.v1"]  # pylint: disable=protected-access
    coll.records.clear()
    sig = OpenEdxPublicSignal.get_signal_by_type("org.openedx.content_authoring.xblock.published.v1")
    data = AvroSignalDeserializer(sig).from_dict(
        {"xblock_info": {"usage_key": "block-v1:edX+DemoX+2024+type@html+block@intro",
                         "block_type": "html", "version": None}})
    meta = EventsMetadata(event_type=sig.event_type)
    # a key path that is not in the schema: the library refuses the route, send does not raise
    prod.send(signal=sig, topic="xb", event_key_field="xblock_info.nope", event_data=data,
              event_metadata=meta)
    assert prod.failed == 1, prod.failed
    assert len(coll.records) == 1, coll.records
    line = coll.records[0]
    assert "not sent" in line and "ConfigError" in line and "does not resolve" in line, line
    replay = json.loads(line.split("for replay: ", 1)[1])
    assert replay["topic"] == "xb" and replay["event_key_field"] == "xblock_info.nope", replay
    assert json.loads(replay["data"])["xblock_info"]["block_type"] == "html", replay
    assert json.loads(replay["metadata"])["id"] == str(meta.id), replay
    # refused once, not re-tried per event: the same failure, logged again, no new producer
    before = prod._producer  # pylint: disable=protected-access
    prod.send(signal=sig, topic="xb", event_key_field="xblock_info.nope", event_data=data,
              event_metadata=EventsMetadata(event_type=sig.event_type))
    assert prod.failed == 2 and "does not resolve" in coll.records[1], coll.records
    assert prod._producer is before  # pylint: disable=protected-access
    # a key field that is null in this event: refused at send (EVBUS_ERR_KEY), logged, counted
    prod.send(signal=sig, topic="xbv", event_key_field="xblock_info.version", event_data=data,
              event_metadata=EventsMetadata(event_type=sig.event_type))
    assert prod.failed == 3 and len(coll.records) == 3, coll.records
    assert "KeyPathError" in coll.records[2], coll.records[2]
    assert json.loads(json.loads(coll.records[2].split("for replay: ", 1)[1])["data"])["xblock_info"]["version"] is None
    # a route nobody configured goes out to its topic, keyed by its field
    prod.send(signal=sig, topic="xb", event_key_field="xblock_info.usage_key", event_data=data,
              event_metadata=EventsMetadata(event_type=sig.event_type))
    prod.prepare_for_shutdown()
    assert prod.failed == 3 and len(coll.records) == 3, coll.records
    st = prod._producer.stats()  # pylint: disable=protected-access
    assert st["sent"] == 1 and st["delivered"] == 1, st
    prod.send(signal=sig, topic="xbgood", event_key_field="xblock_info.usage_key", event_data=data,
              event_metadata=EventsMetadata(event_type=sig.event_type))
    prod.prepare_for_shutdown()
    st = prod._producer.stats()  # pylint: disable=protected-access
    assert st["sent"] == 2 and st["delivered"] == 2 and prod.failed == 3, (st, prod.failed)
    print("openedx_units: a failed send logged for replay and counted; an unconfigured route sent")

    # errors as exception classes with the C code
    try:
        evbus.Producer({"producer.config": {}, "queue.full.timeout.ms": "x"})
        raise AssertionError("a bad setting was accepted")
    except evbus.ConfigError as e:
        assert e.code == -1 and e.name == "ERR_CONFIG" and "queue.full.timeout.ms" in str(e), e
    assert issubclass(evbus.KeyPathError, evbus.EvbusError) and evbus.KeyPathError.code == -3
    print("openedx_units: ok")


if __name__ == "__main__":
    main()
