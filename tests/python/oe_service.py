#!/usr/bin/env python3
"""An Open edX service in the tests whose event bus is evbus: Django configured in-process with
EVENT_BUS_PRODUCER = "evbus.openedx.create_producer" and EVENT_BUS_CONSUMER =
"evbus.openedx.EventConsumer", openedx-events installed as a Django app (so its own
general_signal_handler sends the signals of EVENT_BUS_PRODUCER_CONFIG to the producer).

    oe_service.py produce --events FILE [...]   FILE: JSON lines {"type","topic","key_field","data"};
        each is sent as the service would: signal.send_event(**from_dict(data)).  Prints one line
        per event: {"type","topic","id","key","data","source","sourcehost","sourcelib",
        "minorversion","time"} (the metadata openedx-events made).
    oe_service.py consume --topic T --group G --count N [--fail-key K] [--offset-time T]
        Runs make_single_consumer(...).consume_indefinitely() until N events reached the
        receivers (or --timeout); prints one line per receiver call, the bus's consume format
        plus "receiver".  --fail-key: a second receiver raises for events with that key value
        (any string field of its data) and the event is expected to be retried and dead-lettered.
"""
import argparse
import json
import logging
import sys
import threading


def configure(args, **extra):
    from django.conf import settings
    s = dict(
        USE_TZ=True,
        INSTALLED_APPS=["openedx_events"],
        EVENT_BUS_PRODUCER="evbus.openedx.create_producer",
        EVENT_BUS_CONSUMER="evbus.openedx.EventConsumer",
        EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=args.bootstrap,
        EVENT_BUS_TOPIC_PREFIX=args.prefix,
        EVENTS_SERVICE_NAME=args.service,
        EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT=0.2,
    )
    if args.registry:
        s["EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL"] = args.registry
    for kv in args.setting or []:
        k, v = kv.split("=", 1)
        s[k] = json.loads(v)
    s.update(extra)
    settings.configure(**s)
    import django
    django.setup()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def produce(args):
    events = [json.loads(l) for l in open(args.events) if l.strip()]
    cfg = {}
    for e in events:
        cfg.setdefault(e["type"], {})[e["topic"]] = {"event_key_field": e["key_field"], "enabled": True}
    configure(args, EVENT_BUS_PRODUCER_CONFIG=cfg)
    from openedx_events.event_bus import get_producer
    from openedx_events.event_bus.avro.deserializer import AvroSignalDeserializer
    from openedx_events.event_bus.avro.serializer import AvroSignalSerializer
    from openedx_events.tooling import OpenEdxPublicSignal
    from evbus.openedx import EventProducer

    producer = get_producer()
    if not isinstance(producer, EventProducer):
        sys.exit("oe_service: FAIL: EVENT_BUS_PRODUCER did not load evbus: %r" % (producer,))
    seen = []

    def recorder(sender, signal, **kwargs):  # pylint: disable=unused-argument
        seen.append(kwargs["metadata"])

    out = []
    for e in events:
        signal = OpenEdxPublicSignal.get_signal_by_type(e["type"])
        signal.connect(recorder, weak=False, dispatch_uid="recorder")
        data = AvroSignalDeserializer(signal).from_dict(e["data"])
        n = len(seen)
        signal.send_event(**data)
        m = seen[n]
        key = e["data"]
        for part in e["key_field"].split("."):
            key = key[part]
        out.append({"type": e["type"], "topic": e["topic"], "id": str(m.id), "key": key,
                    "data": AvroSignalSerializer(signal).to_dict(data), "source": m.source,
                    "sourcehost": m.sourcehost, "sourcelib": ".".join(map(str, m.sourcelib)),
                    "minorversion": m.minorversion, "time": m.time.isoformat()})
    producer.prepare_for_shutdown()
    if producer.failed:
        sys.exit("oe_service: FAIL: %d events failed" % producer.failed)
    for o in out:
        print(json.dumps(o))
    print("oe_service: produced %d events" % len(out), file=sys.stderr)


def bad_receiver(sender, signal, **kwargs):  # pylint: disable=unused-argument
    raise ValueError("receiver refuses " + str(kwargs["metadata"].id))


def consume(args):
    configure(args)
    from openedx_events.event_bus import make_single_consumer
    from openedx_events.event_bus.avro.serializer import AvroSignalSerializer
    from openedx_events.tooling import OpenEdxPublicSignal
    from evbus.openedx import EventConsumer

    extra = {}
    if args.offset_time:
        extra["offset_time"] = args.offset_time
    consumer = make_single_consumer(topic=args.topic, group_id=args.group, **extra)
    if not isinstance(consumer, EventConsumer):
        sys.exit("oe_service: FAIL: EVENT_BUS_CONSUMER did not load evbus: %r" % (consumer,))
    got = []
    lock = threading.Lock()

    def strings(d):
        for v in d.values():
            if isinstance(v, str):
                yield v
            elif isinstance(v, dict):
                yield from strings(v)

    def receiver(sender, signal, **kwargs):  # pylint: disable=unused-argument
        meta = kwargs.pop("metadata")
        kwargs.pop("from_event_bus", None)
        data = AvroSignalSerializer(signal).to_dict(kwargs)
        with lock:
            got.append({"type": meta.event_type, "id": str(meta.id), "source": meta.source,
                        "sourcehost": meta.sourcehost,
                        "sourcelib": ".".join(map(str, meta.sourcelib)),
                        "minorversion": meta.minorversion, "time": meta.time.isoformat(),
                        "data": data})
            if sum(1 for g in got) >= args.count and not args.fail_key:
                consumer.stop()

    def failing(sender, signal, **kwargs):
        meta = kwargs["metadata"]
        kwargs = {k: v for k, v in kwargs.items() if k not in ("metadata", "from_event_bus")}
        if args.fail_key in strings(AvroSignalSerializer(signal).to_dict(kwargs)):
            bad_receiver(sender, signal, metadata=meta)

    types = args.types.split(",") if args.types else [s.event_type for s in OpenEdxPublicSignal.all_events()]
    for t in types:
        s = OpenEdxPublicSignal.get_signal_by_type(t)
        s.connect(receiver, weak=False, dispatch_uid="receiver")
        if args.fail_key:
            s.connect(failing, weak=False, dispatch_uid="failing")
    timer = threading.Timer(args.timeout, consumer.stop)
    timer.start()
    if args.stop_when_dead_lettered:
        def watch():
            import time
            while timer.is_alive():
                if consumer._consumer.stats().get("dead_lettered", 0) >= 1 and \
                        len(got) >= args.count:  # pylint: disable=protected-access
                    consumer.stop()
                    return
                time.sleep(0.05)
        threading.Thread(target=watch, daemon=True).start()
    try:
        consumer.consume_indefinitely()
    finally:
        timer.cancel()
    for g in got:
        print(json.dumps(g))
    print("oe_service: received %d events" % len(got), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("produce", "consume"):
        p = sub.add_parser(name)
        p.add_argument("--bootstrap", required=True)
        p.add_argument("--registry")
        p.add_argument("--prefix", default="")
        p.add_argument("--service", default="cms")
        p.add_argument("--setting", action="append", help="NAME=JSON, another Django setting")
        p.add_argument("-v", "--verbose", action="store_true")
        if name == "produce":
            p.add_argument("--events", required=True)
        else:
            p.add_argument("--topic", required=True)
            p.add_argument("--group", required=True)
            p.add_argument("--types", default="")
            p.add_argument("--count", type=int, required=True)
            p.add_argument("--fail-key")
            p.add_argument("--stop-when-dead-lettered", action="store_true")
            p.add_argument("--offset-time")
            p.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    (produce if args.cmd == "produce" else consume)(args)


if __name__ == "__main__":
    main()
