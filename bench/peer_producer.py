#!/usr/bin/env python3
"""The Python side of producer_vs_python: what the Open edX Python event bus does per event.

    peer_producer.py BOOTSTRAP TOPIC EVENTS RING.jsonl SCHEMA.avsc [TIMEOUT_S]

For each event (cycling through the JSON lines of RING): json.loads, key from order_id,
fastavro schemaless_writer of key and value with Avro single-object framing
(C3 01 + CRC-64-AVRO fingerprint, little-endian), the ten event-bus headers (fresh uuid1 and
time each event), produce; then flush.  Same librdkafka settings as the C side
(acks=all, enable.idempotence=true, linger.ms=5).  Prints the same result line as the C programs.
"""
import datetime
import io
import json
import resource
import socket
import struct
import sys
import time
import uuid

from confluent_kafka import Producer
from fastavro import parse_schema, schemaless_writer
from fastavro.schema import to_parsing_canonical_form

EVENT_TYPE = "org.evbus.demo.order.placed.v1"
KEY_FIELD = "order_id"


def cpu():
    """CPU seconds (user+sys) of this process, librdkafka's threads included, as the C side."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def crc64_avro(data):
    """CRC-64-AVRO (the Rabin fingerprint of the Avro spec)."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for b in data:
        fp = (fp >> 8) ^ table[(fp ^ b) & 0xFF]
    return fp


def single_object_header(parsed):
    canon = to_parsing_canonical_form(parsed).encode()
    return b"\xc3\x01" + struct.pack("<Q", crc64_avro(canon))


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    bootstrap, topic, n, ring_path, schema_path = sys.argv[1:6]
    n = int(n)
    deadline = time.monotonic() + (float(sys.argv[6]) if len(sys.argv) > 6 else 600)
    with open(ring_path) as f:
        ring = [line.rstrip("\n") for line in f if line.strip()]
    with open(schema_path) as f:
        value_schema = parse_schema(json.load(f))
    key_schema = parse_schema("string")
    value_hdr = single_object_header(value_schema)
    key_hdr = single_object_header(key_schema)
    host = socket.gethostname()

    delivered = [0]
    failed = [0]

    def on_delivery(err, msg):
        if err is None:
            delivered[0] += 1
        else:
            failed[0] += 1

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                  "linger.ms": 5, "client.id": "bench-python"})
    t0 = time.monotonic()
    c0 = cpu()
    for i in range(n):
        data = json.loads(ring[i % len(ring)])
        vbuf = io.BytesIO()
        vbuf.write(value_hdr)
        schemaless_writer(vbuf, value_schema, data)
        kbuf = io.BytesIO()
        kbuf.write(key_hdr)
        schemaless_writer(kbuf, key_schema, data[KEY_FIELD])
        headers = [
            ("ce_type", EVENT_TYPE),
            ("ce_id", str(uuid.uuid1())),
            ("ce_source", "openedx/evbus/web"),
            ("ce_specversion", "1.0"),
            ("ce_time", datetime.datetime.now(datetime.timezone.utc).isoformat()),
            ("ce_minorversion", "0"),
            ("sourcehost", host),
            ("sourcelib", "0.1.0"),
            ("content-type", "application/avro"),
            ("ce_datacontenttype", "application/avro"),
        ]
        while True:
            try:
                p.produce(topic, key=kbuf.getvalue(), value=vbuf.getvalue(), headers=headers,
                          on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.001)
        p.poll(0)
        if time.monotonic() > deadline:
            sys.exit("peer_producer: deadline reached, giving up")
    left = p.flush(max(1.0, deadline - time.monotonic()))
    t1 = time.monotonic()
    c1 = cpu()
    if left or failed[0] or delivered[0] != n:
        sys.exit(f"peer_producer: {left} undelivered, {failed[0]} failed, {delivered[0]} of {n} delivered")
    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"result events={n} seconds={t1 - t0:.6f} rate={n / (t1 - t0):.0f} "
          f"cpu_us={(c1 - c0) * 1e6 / n:.3f} hwm_kb={hwm}", flush=True)


if __name__ == "__main__":
    main()
