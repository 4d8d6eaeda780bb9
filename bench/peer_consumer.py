#!/usr/bin/env python3
"""The Python side of consumer_vs_python: consume and decode as the Python event bus does.

    peer_consumer.py BOOTSTRAP TOPIC EVENTS SCHEMA_DIR [TIMEOUT_S]

Joins a fresh consumer group, reads from the beginning, and for each message: finds ce_type in
the headers, checks the single-object framing and fingerprint, and decodes the value with
fastavro schemaless_reader.  The clock runs from the first event to the EVENTS-th, as in the C
program.  Prints the same result line.
"""
import glob
import io
import json
import os
import resource
import struct
import sys
import time

from confluent_kafka import Consumer, KafkaError
from fastavro import parse_schema, schemaless_reader
from fastavro.schema import to_parsing_canonical_form

from peer_producer import cpu, crc64_avro


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    bootstrap, topic, n, schema_dir = sys.argv[1:5]
    n = int(n)
    deadline = time.monotonic() + (float(sys.argv[5]) if len(sys.argv) > 5 else 600)
    by_fp = {}  # fingerprint -> (event type, parsed schema), as the bus's schema lookup
    for path in glob.glob(os.path.join(schema_dir, "*.avsc")):
        with open(path) as f:
            parsed = parse_schema(json.load(f))
        fp = crc64_avro(to_parsing_canonical_form(parsed).encode())
        by_fp[fp] = (os.path.basename(path)[:-5], parsed)

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-python-{os.getpid()}-{time.time()}",
                  "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    seen = 0
    t0 = t1 = c0 = c1 = None
    try:
        while seen < n:
            if time.monotonic() > deadline:
                sys.exit(f"peer_consumer: deadline reached after {seen} of {n} events")
            for m in c.consume(num_messages=500, timeout=0.1):
                if m.error():
                    if m.error().code() != KafkaError._PARTITION_EOF:
                        print(f"peer_consumer: {m.error()}", file=sys.stderr)
                    continue
                ce_type = next((v for k, v in (m.headers() or []) if k == "ce_type"), None)
                value = m.value()
                if ce_type is None or value[:2] != b"\xc3\x01":
                    sys.exit("peer_consumer: unusable message")
                etype, schema = by_fp[struct.unpack_from("<Q", value, 2)[0]]
                if etype != ce_type.decode():
                    sys.exit("peer_consumer: ce_type does not match the schema")
                schemaless_reader(io.BytesIO(value[10:]), schema)
                seen += 1
                if seen == 1:
                    t0 = time.monotonic()
                    c0 = cpu()
                if seen == n:
                    t1 = time.monotonic()
                    c1 = cpu()
                    break
    finally:
        c.close()
    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"result events={n - 1} seconds={t1 - t0:.6f} rate={(n - 1) / (t1 - t0):.0f} "
          f"cpu_us={(c1 - c0) * 1e6 / (n - 1):.3f} hwm_kb={hwm}",
          flush=True)


if __name__ == "__main__":
    main()
