#!/usr/bin/env python3
"""The real Open edX event bus in the interop tests: openedx-events and edx-event-bus-kafka from
PyPI (pinned in requirements.txt), driven outside Django with a minimal settings.configure().

    openedx_bus.py produce --bootstrap B --registry URL --prefix P --service S FILE
        FILE holds JSON lines {"type", "topic", "key_field", "data"}, data in natural JSON (what
        evbus-cli publish takes). Each is turned into the signal's attrs objects by openedx-events'
        own AvroSignalDeserializer and sent with the bus's KafkaEventProducer. Prints one manifest
        line per event: {"type", "topic", "id", "key", "data"} with data as the bus serializes it.
    openedx_bus.py consume --bootstrap B --registry URL --prefix P --topic T --group G --count N [--keys]
        Runs the bus's own consumer loop (KafkaEventConsumer) until its receivers got N events;
        prints one line per event: {"type", "id", "source", "sourcelib", "minorversion", "time",
        "data"}, data serialized back with AvroSignalSerializer.to_dict.  The bus never decodes
        keys; with --keys each message's key is decoded too, by confluent-kafka's AvroDeserializer
        on the bus's registry client (how a Python reader of the bus reads them), as "key".
    openedx_bus.py keyschema --type TYPE --key-field F
        Prints the key schema text the bus registers for TYPE and F (its extract_key_schema).

Any error the bus logs (it logs and goes on, for producing as for consuming) makes the run exit 1
with "openedx_bus: FAIL: ..." on stderr.
"""
import argparse
import json
import logging
import sys
import threading


class FailOnError(logging.Handler):
    """The bus reports failures only through logging: collect them."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.errors = []

    def emit(self, record):
        self.errors.append(self.format(record))


def configure(args, **extra):
    from django.conf import settings
    settings.configure(
        USE_TZ=True,
        INSTALLED_APPS=[],
        EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=args.bootstrap,
        EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL=args.registry,
        EVENT_BUS_TOPIC_PREFIX=args.prefix,
        EVENTS_SERVICE_NAME=args.service,
        **extra)
    import django
    django.setup()
    handler = FailOnError()
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO if args.verbose else logging.WARNING)
    from openedx_events.tooling import load_all_signals
    load_all_signals()
    return handler


def die(msg):
    print("openedx_bus: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def produce(args):
    handler = configure(args)
    from edx_event_bus_kafka import create_producer
    from edx_event_bus_kafka.internal.producer import extract_event_key
    from openedx_events.data import EventsMetadata
    from openedx_events.event_bus.avro.deserializer import AvroSignalDeserializer
    from openedx_events.event_bus.avro.serializer import AvroSignalSerializer
    from openedx_events.tooling import OpenEdxPublicSignal

    producer = create_producer()
    if producer is None:
        die("create_producer() gave None: settings incomplete")
    n = 0
    with open(args.file) as f:
        for line in f:
            if not line.strip():
                continue
            ev = json.loads(line)
            signal = OpenEdxPublicSignal.get_signal_by_type(ev["type"])
            event_data = AvroSignalDeserializer(signal).from_dict(ev["data"])
            meta = EventsMetadata(event_type=signal.event_type)
            producer.send(signal=signal, topic=ev["topic"], event_key_field=ev["key_field"],
                          event_data=event_data, event_metadata=meta)
            print(json.dumps({"type": ev["type"], "topic": ev["topic"], "id": str(meta.id),
                              "source": meta.source, "sourcehost": meta.sourcehost,
                              "sourcelib": ".".join(map(str, meta.sourcelib)),
                              "minorversion": meta.minorversion, "time": meta.time.isoformat(),
                              "key": str(extract_event_key(event_data, ev["key_field"])),
                              "data": AvroSignalSerializer(signal).to_dict(event_data)}))
            n += 1
    producer.prepare_for_shutdown()
    if handler.errors:
        die("the bus's producer logged errors:\n" + "\n".join(handler.errors))
    print("openedx_bus: produced %d events" % n, file=sys.stderr)


def earliest_consumer(topic, group):
    """The bus's KafkaEventConsumer for topic and group (after configure()), except that a new
    group starts at earliest.  The bus starts a new group at librdkafka's default, latest; the
    tests and bench/ publish before the group exists.  Nothing else is changed."""
    return earliest_consumer_class()(topic, group)


def earliest_consumer_class():
    from edx_event_bus_kafka import KafkaEventConsumer

    class Consumer(KafkaEventConsumer):
        def _create_consumer(self):
            from confluent_kafka import Consumer as KConsumer
            from edx_event_bus_kafka.internal.config import load_common_settings
            conf = load_common_settings()
            conf.update({"group.id": self.group_id, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest"})
            return KConsumer(conf)

    return Consumer


def key_decoding_consumer(topic, group):
    """earliest_consumer whose current_key is the key of the message being emitted, decoded
    with confluent-kafka's AvroDeserializer (the writer schema found by the framing's id)."""
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext
    from edx_event_bus_kafka.internal.config import get_schema_registry_client

    decode = AvroDeserializer(get_schema_registry_client())

    class Consumer(earliest_consumer_class()):
        current_key = None

        def emit_signals_from_message(self, msg, signal):
            ctx = SerializationContext(msg.topic(), MessageField.KEY, msg.headers())
            self.current_key = decode(msg.key(), ctx)
            return super().emit_signals_from_message(msg, signal)

    return Consumer(topic, group)


def keyschema(args):
    from django.conf import settings
    settings.configure(INSTALLED_APPS=[])
    import django
    django.setup()
    from edx_event_bus_kafka.internal.producer import extract_key_schema, get_signal_serializer
    from openedx_events.tooling import OpenEdxPublicSignal, load_all_signals
    load_all_signals()
    signal = OpenEdxPublicSignal.get_signal_by_type(args.type)
    print(extract_key_schema(get_signal_serializer(signal), args.key_field))


def consume(args):
    handler = configure(args, EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT=0.2)
    from openedx_events.event_bus.avro.serializer import AvroSignalSerializer
    from openedx_events.tooling import OpenEdxPublicSignal

    got = []
    consumer = (key_decoding_consumer if args.keys else earliest_consumer)(args.topic, args.group)
    lock = threading.Lock()

    def receiver(sender, signal, **kwargs):  # pylint: disable=unused-argument
        meta = kwargs.pop("metadata")
        kwargs.pop("from_event_bus", None)
        with lock:
            got.append({"type": meta.event_type, "id": str(meta.id), "source": meta.source,
                        "sourcehost": meta.sourcehost,
                        "sourcelib": ".".join(map(str, meta.sourcelib)),
                        "minorversion": meta.minorversion, "time": meta.time.isoformat(),
                        "data": AvroSignalSerializer(signal).to_dict(kwargs)})
            if args.keys:
                got[-1]["key"] = consumer.current_key
            if len(got) >= args.count:
                consumer._shut_down()  # pylint: disable=protected-access

    for t in args.types.split(","):
        OpenEdxPublicSignal.get_signal_by_type(t).connect(receiver, weak=False)
    timer = threading.Timer(args.timeout, consumer._shut_down)  # pylint: disable=protected-access
    timer.start()
    try:
        consumer.consume_indefinitely()
    finally:
        timer.cancel()
    for g in got:
        print(json.dumps(g))
    if handler.errors:
        die("the bus's consumer logged errors:\n" + "\n".join(handler.errors))
    if len(got) < args.count:
        die("the bus's receivers got %d events in %d s, expected %d" % (len(got), args.timeout, args.count))
    print("openedx_bus: consumed %d events" % len(got), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("keyschema")
    k.add_argument("--type", required=True)
    k.add_argument("--key-field", required=True)
    for name in ("produce", "consume"):
        p = sub.add_parser(name)
        p.add_argument("--bootstrap", required=True)
        p.add_argument("--registry", required=True)
        p.add_argument("--prefix", default="")
        p.add_argument("--service", default="lms")
        p.add_argument("-v", "--verbose", action="store_true")
        if name == "produce":
            p.add_argument("file")
        else:
            p.add_argument("--topic", required=True)
            p.add_argument("--group", required=True)
            p.add_argument("--types", required=True, help="comma-separated event types to receive")
            p.add_argument("--count", type=int, required=True)
            p.add_argument("--timeout", type=int, default=120)
            p.add_argument("--keys", action="store_true", help="decode each key as well")
    args = ap.parse_args()
    {"produce": produce, "consume": consume, "keyschema": keyschema}[args.cmd](args)


if __name__ == "__main__":
    main()
