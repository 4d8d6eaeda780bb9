#!/usr/bin/env python3
"""The real Open edX event bus as the peer of producer_vs_openedx and consumer_vs_openedx:
openedx-events + edx-event-bus-kafka (the venv of scripts/setup), driven outside Django by
tests/interop/openedx_bus.py's configure(), with the registry double.

    peer_openedx.py gen OUT
        Write BENCH_RING (4096) distinct course enrollment events, one natural-JSON data object a
        line: the ring both sides send (bench_producer evbus --ring OUT).
    peer_openedx.py produce BOOTSTRAP REGISTRY TOPIC EVENTS RING [TIMEOUT_S]
        KafkaEventProducer.send() of the ring's events (turned into the signal's attrs objects
        before the clock starts, as an app holds them), a fresh EventsMetadata each, then flush.
    peer_openedx.py consume BOOTSTRAP REGISTRY TOPIC EVENTS [TIMEOUT_S]
        The bus's consumer loop (KafkaEventConsumer.consume_indefinitely) in a fresh group from
        the beginning, with a no-op receiver; the clock runs from the first event to the
        EVENTS-th, as in bench_consumer.

Prints the result line of the C programs (rate, CPU µs per event of this process, peak RSS).
Anything the bus logs at ERROR makes it exit 1 instead.
"""
import argparse
import json
import os
import resource
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "interop"))
from openedx_bus import configure, earliest_consumer  # noqa: E402  pylint: disable=wrong-import-position
from peer_producer import cpu  # noqa: E402  pylint: disable=wrong-import-position

EVENT_TYPE = "org.openedx.learning.course.enrollment.created.v1"
KEY_FIELD = "enrollment.course.course_key"
RING = 4096
MODES = ["audit", "verified", "honor", "professional"]


def gen(out):
    """Distinct events whose values vary per event, as bench/payload.c does for the demo type."""
    with open(out, "w") as f:
        for i in range(RING):
            uid = 1000 + i * 7919
            name = f"learner{i:04d}"
            data = {"enrollment": {
                "user": {"id": uid, "is_active": i % 5 != 0,
                         "pii": {"username": name, "email": f"{name}@example.com", "name": f"Learner {i}"}},
                "course": {"course_key": f"course-v1:edX+Demo{i % 97}+2024", "display_name": f"Demo course {i % 97}",
                           "start": "2024-01-15T09:30:00+00:00", "end": None if i % 3 else "2030-12-31T23:59:59+00:00"},
                "mode": MODES[i % len(MODES)], "is_active": True,
                "creation_date": f"2024-05-{1 + i % 28:02d}T12:{i % 60:02d}:56.123456+00:00",
                "created_by": None if i % 2 else {"id": 7, "is_active": True,
                                                  "pii": {"username": "staff", "email": "staff@example.com",
                                                          "name": "Staff"}}}}
            f.write(json.dumps(data) + "\n")
    print(f"events={RING}")


def settings_args(a):
    return argparse.Namespace(bootstrap=a.bootstrap, registry=a.registry, prefix="", service="lms", verbose=False)


def result(n, seconds, cpu_seconds):
    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"result events={n} seconds={seconds:.6f} rate={n / seconds:.0f} cpu_us={cpu_seconds * 1e6 / n:.3f} "
          f"hwm_kb={hwm}", flush=True)


def produce(a):
    handler = configure(settings_args(a))
    from edx_event_bus_kafka import create_producer
    from openedx_events.data import EventsMetadata
    from openedx_events.event_bus.avro.deserializer import AvroSignalDeserializer
    from openedx_events.tooling import OpenEdxPublicSignal

    signal = OpenEdxPublicSignal.get_signal_by_type(EVENT_TYPE)
    deser = AvroSignalDeserializer(signal)
    with open(a.ring) as f:
        ring = [deser.from_dict(json.loads(line)) for line in f if line.strip()]
    producer = create_producer()
    if producer is None:
        sys.exit("peer_openedx: create_producer() gave None: settings incomplete")
    deadline = time.monotonic() + a.timeout
    t0, c0 = time.monotonic(), cpu()
    for i in range(a.events):
        producer.send(signal=signal, topic=a.topic, event_key_field=KEY_FIELD, event_data=ring[i % len(ring)],
                      event_metadata=EventsMetadata(event_type=EVENT_TYPE))
        if time.monotonic() > deadline:
            sys.exit("peer_openedx: deadline reached, giving up")
    left = producer.producer.flush(max(1.0, deadline - time.monotonic()))
    t1, c1 = time.monotonic(), cpu()
    if left or handler.errors:
        sys.exit(f"peer_openedx: {left} undelivered; errors: {handler.errors[:3]}")
    result(a.events, t1 - t0, c1 - c0)
    producer.prepare_for_shutdown()


def consume(a):
    handler = configure(settings_args(a), EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT=0.2)
    from openedx_events.tooling import OpenEdxPublicSignal

    consumer = earliest_consumer(a.topic, f"bench-openedx-{os.getpid()}-{time.time()}")
    seen = [0]
    marks = {}

    def receiver(sender, signal, **kwargs):  # pylint: disable=unused-argument
        seen[0] += 1
        if seen[0] == 1:
            marks["t0"], marks["c0"] = time.monotonic(), cpu()
        if seen[0] == a.events:
            marks["t1"], marks["c1"] = time.monotonic(), cpu()
            consumer._shut_down()  # pylint: disable=protected-access

    OpenEdxPublicSignal.get_signal_by_type(EVENT_TYPE).connect(receiver, weak=False)
    timer = threading.Timer(a.timeout, consumer._shut_down)  # pylint: disable=protected-access
    timer.start()
    try:
        consumer.consume_indefinitely()
    finally:
        timer.cancel()
    if handler.errors:
        sys.exit(f"peer_openedx: the bus logged errors: {handler.errors[:3]}")
    if "t1" not in marks:
        sys.exit(f"peer_openedx: {seen[0]} of {a.events} events in {a.timeout} s")
    # n events span n-1 gaps between the first and the last
    result(a.events - 1, marks["t1"] - marks["t0"], marks["c1"] - marks["c0"])


def main_args():
    """The command line, shared with bench/peer_dropin.py."""
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("out")
    for name in ("produce", "consume"):
        p = sub.add_parser(name)
        p.add_argument("bootstrap")
        p.add_argument("registry")
        p.add_argument("topic")
        p.add_argument("events", type=int)
        if name == "produce":
            p.add_argument("ring")
        p.add_argument("timeout", type=float, nargs="?", default=600)
    return ap.parse_args()


def main():
    a = main_args()
    if a.cmd == "gen":
        gen(a.out)
    elif a.cmd == "produce":
        produce(a)
    else:
        consume(a)


if __name__ == "__main__":
    main()
