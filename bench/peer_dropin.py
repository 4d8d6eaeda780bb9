#!/usr/bin/env python3
"""evbus.openedx (python/) as the drop-in Open edX event bus, for dropin_producer_vs_openedx and
dropin_consumer_vs_openedx: the same command line, events, signal, registry and result line as
bench/peer_openedx.py (the real bus), with EVENT_BUS_PRODUCER / EVENT_BUS_CONSUMER set to evbus.
Both sides do the same Python work per event (AvroSignalSerializer.to_dict or
AvroSignalDeserializer.from_dict, EventsMetadata, the signal's send); what differs is the bus.
The evbus package is imported from PYTHONPATH with libevbus from EVBUS_LIBRARY (bench/run sets
both to the build).

    peer_dropin.py produce BOOTSTRAP REGISTRY TOPIC EVENTS RING [TIMEOUT_S]
    peer_dropin.py consume BOOTSTRAP REGISTRY TOPIC EVENTS [TIMEOUT_S]
"""
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_openedx import EVENT_TYPE, KEY_FIELD, main_args, result, settings_args  # noqa: E402
from peer_openedx import configure  # noqa: E402
from peer_producer import cpu  # noqa: E402


def produce(a):
    # the route (type, topic, key field) known at creation, as from a service's
    # EVENT_BUS_PRODUCER_CONFIG
    configure(settings_args(a), EVENT_BUS_PRODUCER_CONFIG={
        EVENT_TYPE: {a.topic: {"event_key_field": KEY_FIELD, "enabled": True}}})
    from evbus.openedx import create_producer
    from openedx_events.data import EventsMetadata
    from openedx_events.event_bus.avro.deserializer import AvroSignalDeserializer
    from openedx_events.tooling import OpenEdxPublicSignal

    signal = OpenEdxPublicSignal.get_signal_by_type(EVENT_TYPE)
    deser = AvroSignalDeserializer(signal)
    with open(a.ring) as f:
        ring = [deser.from_dict(json.loads(line)) for line in f if line.strip()]
    producer = create_producer()
    if producer is None:
        sys.exit("peer_dropin: create_producer() gave None: settings incomplete")
    deadline = time.monotonic() + a.timeout
    t0, c0 = time.monotonic(), cpu()
    for i in range(a.events):
        producer.send(signal=signal, topic=a.topic, event_key_field=KEY_FIELD, event_data=ring[i % len(ring)],
                      event_metadata=EventsMetadata(event_type=EVENT_TYPE))
        if time.monotonic() > deadline:
            sys.exit("peer_dropin: deadline reached, giving up")
    left = producer._producer.flush(max(1.0, deadline - time.monotonic()))  # pylint: disable=protected-access
    t1, c1 = time.monotonic(), cpu()
    if left or producer.failed:
        sys.exit(f"peer_dropin: {left} undelivered, {producer.failed} failed")
    result(a.events, t1 - t0, c1 - c0)
    producer.prepare_for_shutdown()


def consume(a):
    configure(settings_args(a), EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT=0.2)
    from evbus.openedx import EventConsumer
    from openedx_events.tooling import OpenEdxPublicSignal

    # a fresh group from the beginning (offset_time at the epoch), as peer_openedx's earliest group
    consumer = EventConsumer(a.topic, f"bench-dropin-{os.getpid()}-{time.time()}",
                             offset_time="1970-01-01T00:00:00+00:00")
    seen = [0]
    marks = {}
    lock = threading.Lock()

    def receiver(sender, signal, **kwargs):  # pylint: disable=unused-argument
        with lock:  # receivers run on the library's workers, several at once
            seen[0] += 1
            if seen[0] == 1:
                marks["t0"], marks["c0"] = time.monotonic(), cpu()
            if seen[0] == a.events:
                marks["t1"], marks["c1"] = time.monotonic(), cpu()
                consumer.stop()

    OpenEdxPublicSignal.get_signal_by_type(EVENT_TYPE).connect(receiver, weak=False)
    timer = threading.Timer(a.timeout, consumer.stop)
    timer.start()
    try:
        consumer.consume_indefinitely()
    finally:
        timer.cancel()
    if "t1" not in marks:
        sys.exit(f"peer_dropin: {seen[0]} of {a.events} events in {a.timeout} s")
    result(a.events - 1, marks["t1"] - marks["t0"], marks["c1"] - marks["c0"])


if __name__ == "__main__":
    args = main_args()
    (produce if args.cmd == "produce" else consume)(args)
