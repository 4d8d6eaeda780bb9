#!/usr/bin/env python3
"""The Python side of the evbus interop tests: a peer that builds and reads Kafka messages the
way the Open edX Python event bus does (event-bus-kafka on top of confluent-kafka's
AvroSerializer/AvroDeserializer and fastavro), written independently for these tests.

    peer.py produce  --bootstrap B --topic T --schema F --key-field P [--registry URL] FILE
        Publishes each JSON line of FILE (evbus "natural JSON" event data) with the Open edX
        headers; prints one manifest line per event: {"id","key","headers","data"}.
    peer.py expect-evbus --bootstrap B --topic T --schema F --key-field P --sent FILE
                         --framing single|confluent [--registry URL] [--evbus-fingerprint HEX]
        Reads every message of topic T (exactly as many as FILE has lines) and checks what evbus
        wrote: framing bytes, fingerprint or registry subjects and ids, key, headers (as the
        Open edX consumer parses them), data, and that fastavro re-encodes the data to the same
        Avro bytes.
    peer.py check-tail --manifest FILE --schema F --got TAIL_JSON [--topic T] [--sent FILE]
        Compares `evbus-cli tail --format json` output with what `produce` sent (and, with
        --sent, with what evbus published to the same topic).
    peer.py check-consumer --manifest FILE --schema F --key-field P --got OUT
        Compares the example consumer's lines ("topic [p] @offset type json") with the manifest.
    peer.py coverage --schema F --sent FILE
        Asserts the schema uses every Avro type of the codec and FILE hits the edge values.

Natural JSON (README "Wire format"): a nullable union is null or the plain value, another union is
{"<branch type name>": value} (full name for named types), bytes and fixed are strings whose code
points 0..255 are the bytes.  float fields are compared after rounding to float32.
Every failed check exits 1 with "peer: FAIL: ..." on stderr.
"""
import argparse
import datetime
import io
import json
import math
import re
import socket
import struct
import sys
import time
import urllib.request
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient, topic_record_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from fastavro import schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

# What the peer says about itself in the headers, shaped like openedx-events' values.
PEER_SOURCE = "openedx/lms/web"
PEER_SOURCELIB = "9.14.0"
HEADER_NAMES = ["ce_type", "ce_id", "ce_source", "ce_specversion", "ce_time", "ce_minorversion",
                "sourcehost", "sourcelib", "content-type", "ce_datacontenttype"]
CE_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"


class Checks:
    """Counts passed checks; the first failed one ends the run."""

    def __init__(self):
        self.n = 0

    def __call__(self, cond, what):
        if not cond:
            sys.stderr.write("peer: FAIL: %s\n" % what)
            sys.exit(1)
        self.n += 1


check = Checks()


# ---- schemas -----------------------------------------------------------------------------

class Schema:
    """An event schema as the peer uses it: the JSON, fastavro's parsed and expanded forms."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.json = json.load(f)
        self.parsed = parse_schema(self.json)
        self.expanded = parse_schema(self.json, expand=True)
        self.canonical = to_parsing_canonical_form(self.parsed)
        self.event_type = self.json["namespace"]
        # openedx-events' AvroSignalSerializer.schema_string(): json.dumps(..., sort_keys=True)
        self.schema_string = json.dumps(self.json, sort_keys=True)

    def key_field(self, path):
        """The key field's entry (name + type) as event-bus-kafka's extract_key_schema takes it."""
        node = self.json
        field = None
        for name in path.split("."):
            if "fields" not in node:
                node = node["type"]
            field = next(f for f in node["fields"] if f["name"] == name)
            node = field
        return field


def crc64_avro(data):
    """CRC-64-AVRO of data (the Avro specification's fingerprint algorithm), as an integer."""
    empty = 0xC15D213AA4D7A795
    fp = empty
    for b in data:
        x = (fp ^ b) & 0xFF
        for _ in range(8):
            x = (x >> 1) ^ (empty & -(x & 1))
        fp = (fp >> 8) ^ x
    return fp


def single_object_header(canonical):
    """C3 01 + the 8 fingerprint bytes, from fastavro, cross-checked with crc64_avro()."""
    fa = bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))
    mine = crc64_avro(canonical.encode("utf-8")).to_bytes(8, "little")
    check(fa == mine, "fastavro fingerprint bytes %s != CRC-64-AVRO little-endian %s"
          % (fa.hex(), mine.hex()))
    return SINGLE_OBJECT_MAGIC + fa


# ---- natural JSON <-> fastavro values ----------------------------------------------------

def _name(s):
    if isinstance(s, str):
        return s
    if isinstance(s, dict):
        return s.get("name") or _name(s["type"])
    return None


def _nonnull(u):
    return [b for b in u if b != "null"]


def _kind(s):
    """The Avro type of a (expanded) schema node: "record", "long", ..."""
    if isinstance(s, str):
        return s
    if isinstance(s, list):
        return "union"
    t = s["type"]
    return t if isinstance(t, str) else _kind(t)


def to_avro(s, v):
    """natural JSON value -> the Python value fastavro writes for schema s (expanded)."""
    k = _kind(s)
    if k == "union":
        if v is None:
            return None
        nn = _nonnull(s)
        if len(nn) == 1:
            return to_avro(nn[0], v)
        (name, inner), = v.items()
        b = next(b for b in s if _name(b) == name)
        if _kind(b) == "record":
            return (name, to_avro(b, inner))  # fastavro's tuple notation picks the branch
        return to_avro(b, inner)  # primitives: fastavro takes the first branch that fits
    if k in ("bytes", "fixed"):
        return v.encode("latin-1")
    if k in ("float", "double"):
        return float(v)
    if k == "record":
        return {f["name"]: to_avro(f["type"], v[f["name"]]) for f in s["fields"] if f["name"] in v}
    if k == "array":
        return [to_avro(s["items"], x) for x in v]
    if k == "map":
        return {key: to_avro(s["values"], x) for key, x in v.items()}
    return v


def _branch_of(s, v):
    """The branch of general union s that fastavro (return_record_name) decoded v from."""
    if isinstance(v, tuple):
        return next(b for b in s if _name(b) == v[0]), v[1]
    want = {bool: ("boolean",), int: ("int", "long"), float: ("float", "double"),
            str: ("string", "enum"), bytes: ("bytes", "fixed"), type(None): ("null",)}[type(v)]
    matches = [b for b in s if _kind(b) in want]
    if len(matches) != 1:
        raise ValueError("cannot tell the union branch of %r in %r" % (v, s))
    return matches[0], v


def to_natural(s, v):
    """fastavro's decoded value -> natural JSON for schema s (expanded)."""
    k = _kind(s)
    if k == "union":
        if v is None:
            return None
        nn = _nonnull(s)
        if len(nn) == 1:
            return to_natural(nn[0], v[1] if isinstance(v, tuple) else v)
        b, inner = _branch_of(s, v)
        return {_name(b): to_natural(b, inner)}
    if k in ("bytes", "fixed"):
        return v.decode("latin-1")
    if k == "record":
        return {f["name"]: to_natural(f["type"], v[f["name"]]) for f in s["fields"]}
    if k == "array":
        return [to_natural(s["items"], x) for x in v]
    if k == "map":
        return {key: to_natural(s["values"], x) for key, x in v.items()}
    return v


def expected(s, v, strict=False):
    """natural JSON as sent -> as it must come back: defaults filled, numbers of float and
    double fields as floats, float fields rounded to float32.  strict=True (for what evbus
    printed): only round floats of float fields, change no type and fill nothing, so that a
    type evbus got wrong still shows in diff()."""
    k = _kind(s)
    if k == "union":
        if v is None:
            return None
        nn = _nonnull(s)
        if len(nn) == 1:
            return expected(nn[0], v, strict)
        if not isinstance(v, dict) or len(v) != 1:
            return v
        (name, inner), = v.items()
        b = next((b for b in s if _name(b) == name), None)
        return {name: inner if b is None else expected(b, inner, strict)}
    if k == "float" and (not strict or isinstance(v, float)):
        return struct.unpack("<f", struct.pack("<f", v))[0]
    if k == "double" and not strict:
        return float(v)
    if k == "record" and isinstance(v, dict):
        out = {}
        for f in s["fields"]:
            if f["name"] in v:
                out[f["name"]] = expected(f["type"], v[f["name"]], strict)
            elif "default" in f and not strict:
                out[f["name"]] = expected(f["type"], f["default"])
        if strict:  # keep what the schema does not know, for diff() to report
            out.update({key: x for key, x in v.items() if key not in out})
        return out
    if k == "array" and isinstance(v, list):
        return [expected(s["items"], x, strict) for x in v]
    if k == "map" and isinstance(v, dict):
        return {key: expected(s["values"], x, strict) for key, x in v.items()}
    return v


def diff(a, b, path="$"):
    """First difference between two JSON values, type-strict (1 != 1.0 != true, -0.0 != 0.0)."""
    if type(a) is not type(b):
        return "%s: %r (%s) != %r (%s)" % (path, a, type(a).__name__, b, type(b).__name__)
    if isinstance(a, dict):
        if set(a) != set(b):
            return "%s: keys %s != %s" % (path, sorted(a), sorted(b))
        for key in a:
            d = diff(a[key], b[key], "%s.%s" % (path, key))
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: %d items != %d" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    if isinstance(a, float):
        if a != b or math.copysign(1, a) != math.copysign(1, b):
            return "%s: %r != %r" % (path, a, b)
        return None
    return None if a == b else "%s: %r != %r" % (path, a, b)


def value_at(data, path):
    for name in path.split("."):
        data = data[name]
    return data


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---- headers -----------------------------------------------------------------------------

def open_edx_headers(event_type):
    """The headers event-bus-kafka sends, in its order (constants first, then the metadata)."""
    return {
        "ce_specversion": b"1.0",
        "content-type": b"application/avro",
        "ce_datacontenttype": b"application/avro",
        "ce_type": event_type.encode(),
        "ce_id": str(uuid.uuid1()).encode(),
        "ce_source": PEER_SOURCE.encode(),
        "ce_time": datetime.datetime.now(datetime.timezone.utc)
                   .isoformat(timespec="microseconds").encode(),
        "ce_minorversion": b"0",
        "sourcehost": socket.gethostname().encode(),
        "sourcelib": PEER_SOURCELIB.encode(),
    }


def check_evbus_headers(headers, event_type, seen_ids, where, trace=None):
    """headers: [(name, bytes)] of one message written by evbus; checked the way the Open edX
    consumer reads them (each once, UTF-8, UUID, fromisoformat, int, version tuple).
    trace: {"traceparent": ..., "tracestate": ...} the W3C trace headers evbus must have added
    (the Open edX consumer reads its headers by name and ignores these)."""
    trace = trace or {}
    names = [h[0] for h in headers]
    for n in HEADER_NAMES:
        check(names.count(n) == 1, "%s: header %r appears %d times, want once (all: %s)"
              % (where, n, names.count(n), names))
    for n, v in trace.items():
        got = [hv for hn, hv in headers if hn == n]
        check(got == [v.encode()], "%s: header %s is %r, want [%r]" % (where, n, got, v))
    extra = sorted(set(names) - set(HEADER_NAMES) - set(trace))
    check(not extra, "%s: unexpected headers %s" % (where, extra))
    h = {}
    for n, v in headers:
        try:
            h[n] = v.decode("utf-8")
        except (UnicodeDecodeError, AttributeError):
            check(False, "%s: header %s is not UTF-8: %r" % (where, n, v))
    check(h["ce_type"] == event_type, "%s: ce_type %r" % (where, h["ce_type"]))
    try:
        u = uuid.UUID(h["ce_id"])
    except ValueError:
        u = None
    check(u is not None and str(u) == h["ce_id"], "%s: ce_id %r is not a canonical UUID"
          % (where, h["ce_id"]))
    check(u.version == 1, "%s: ce_id %s is UUID version %s, want 1 (uuid1)" % (where, u, u.version))
    check(h["ce_id"] not in seen_ids, "%s: ce_id %s used twice" % (where, h["ce_id"]))
    seen_ids.add(h["ce_id"])
    check(re.match(r"^openedx/[^/]+/web$", h["ce_source"]), "%s: ce_source %r"
          % (where, h["ce_source"]))
    check(h["ce_specversion"] == "1.0", "%s: ce_specversion %r" % (where, h["ce_specversion"]))
    check(CE_TIME_RE.match(h["ce_time"]), "%s: ce_time %r is not YYYY-MM-DDTHH:MM:SS.ffffff+00:00"
          % (where, h["ce_time"]))
    t = datetime.datetime.fromisoformat(h["ce_time"])
    now = datetime.datetime.now(datetime.timezone.utc)
    check(t.utcoffset() == datetime.timedelta(0) and abs((now - t).total_seconds()) < 600,
          "%s: ce_time %s is not UTC or not within 10 minutes of %s" % (where, t, now))
    # uuid1's 60-bit timestamp counts 100 ns since 1582-10-15: the id was made when the event was.
    ut = datetime.datetime(1582, 10, 15, tzinfo=datetime.timezone.utc) + \
        datetime.timedelta(microseconds=u.time // 10)
    check(abs((ut - t).total_seconds()) < 60, "%s: ce_id time %s far from ce_time %s"
          % (where, ut, t))
    check(h["ce_minorversion"] == "0" and int(h["ce_minorversion"]) == 0,
          "%s: ce_minorversion %r" % (where, h["ce_minorversion"]))
    check(h["sourcehost"] == socket.gethostname(), "%s: sourcehost %r, this host is %r"
          % (where, h["sourcehost"], socket.gethostname()))
    check(re.match(r"^\d+\.\d+\.\d+$", h["sourcelib"]) and
          len(tuple(map(int, h["sourcelib"].split(".")))) == 3,
          "%s: sourcelib %r is not X.Y.Z" % (where, h["sourcelib"]))
    for n in ("content-type", "ce_datacontenttype"):
        check(h[n] == "application/avro", "%s: %s %r" % (where, n, h[n]))
    return h


# ---- Kafka -------------------------------------------------------------------------------

def read_topic(bootstrap, topic, want, timeout):
    """Every message of topic from the beginning of all partitions; exactly want of them."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "interop-peer-%s" % uuid.uuid4(),
                  "enable.auto.commit": False, "enable.partition.eof": False})
    try:
        deadline = time.monotonic() + timeout
        while True:
            md = c.list_topics(topic, timeout=10)
            tmd = md.topics.get(topic)
            if tmd is not None and tmd.error is None and tmd.partitions:
                break
            check(time.monotonic() < deadline, "topic %s not found" % topic)
            time.sleep(0.2)
        parts = sorted(tmd.partitions)
        total = sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts)
        check(total == want, "topic %s holds %d messages, want %d" % (topic, total, want))
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        msgs = []
        while len(msgs) < want:
            check(time.monotonic() < deadline, "read %d of %d messages of %s before the deadline"
                  % (len(msgs), want, topic))
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                raise KafkaException(m.error())
            msgs.append(m)
        return msgs
    finally:
        c.close()


def cmd_produce(a):
    schema = Schema(a.schema)
    key_field = schema.key_field(a.key_field)
    events = read_jsonl(a.file)
    if a.registry:
        client = SchemaRegistryClient({"url": a.registry})
        conf = {"subject.name.strategy": topic_record_subject_name_strategy}
        key_ser = AvroSerializer(client, json.dumps(key_field, sort_keys=True), conf=conf)
        value_ser = AvroSerializer(client, schema.schema_string, conf=conf)
    else:
        key_schema = parse_schema(key_field["type"])
        key_hdr = single_object_header(to_parsing_canonical_form(key_schema))
        value_hdr = single_object_header(schema.canonical)

        def single(hdr, parsed):
            def ser(obj, ctx):
                buf = io.BytesIO()
                buf.write(hdr)
                schemaless_writer(buf, parsed, obj)
                return buf.getvalue()
            return ser
        key_ser = single(key_hdr, key_schema)
        value_ser = single(value_hdr, schema.parsed)

    errors = []
    p = Producer({"bootstrap.servers": a.bootstrap, "acks": "all"})
    manifest = []
    for data in events:
        headers = open_edx_headers(schema.event_type)
        key = value_at(data, a.key_field)
        ctx_k = SerializationContext(a.topic, MessageField.KEY, headers)
        ctx_v = SerializationContext(a.topic, MessageField.VALUE, headers)
        p.produce(a.topic, key=key_ser(key, ctx_k), value=value_ser(to_avro(schema.expanded, data), ctx_v),
                  headers=headers, on_delivery=lambda err, msg: err and errors.append(err))
        p.poll(0)
        manifest.append({"id": headers["ce_id"].decode(), "key": key,
                         "headers": {k: v.decode() for k, v in headers.items()}, "data": data})
    left = p.flush(60)
    check(left == 0 and not errors, "peer produce: %d not delivered, errors %s" % (left, errors))
    for m in manifest:
        print(json.dumps(m, ensure_ascii=False))
    sys.stderr.write("peer: produced %d events to %s (%s framing)\n"
                     % (len(manifest), a.topic, "confluent" if a.registry else "single-object"))


def registry_get(url, path):
    with urllib.request.urlopen(url.rstrip("/") + path, timeout=10) as r:
        return json.load(r)


def cmd_expect_evbus(a):
    schema = Schema(a.schema)
    key_schema_json = schema.key_field(a.key_field)["type"]
    key_parsed = parse_schema(key_schema_json)
    key_canonical = to_parsing_canonical_form(key_parsed)
    sent = read_jsonl(a.sent)
    msgs = read_topic(a.bootstrap, a.topic, len(sent), a.timeout)
    by_key = {value_at(d, a.key_field): d for d in sent}
    check(len(by_key) == len(sent), "the sent events' keys are not unique")

    if a.framing == "single":
        value_hdr = single_object_header(schema.canonical)
        key_hdr = single_object_header(key_canonical)
        if a.evbus_fingerprint:
            check(int(a.evbus_fingerprint, 16) == int.from_bytes(value_hdr[2:], "little"),
                  "evbus-cli schemas fingerprint %s != fastavro's %s read little-endian"
                  % (a.evbus_fingerprint, value_hdr[2:].hex()))
    else:
        client = SchemaRegistryClient({"url": a.registry})
        # As event-bus-kafka's consumer: the signal's schema as reader schema.
        value_de = AvroDeserializer(client, schema.schema_string, return_record_name=True)
        key_de = AvroDeserializer(client, json.dumps(key_schema_json))
        subjects = registry_get(a.registry, "/subjects")
        value_subject = "%s-%s.CloudEvent" % (a.topic, schema.event_type)
        key_subject = "%s-%s" % (a.topic, key_parsed if isinstance(key_parsed, str) else key_parsed["type"])
        for s in (value_subject, key_subject):
            check(s in subjects, "subject %r not registered; the registry has %s" % (s, subjects))
        ids = {s: registry_get(a.registry, "/subjects/%s/versions/latest" % s)["id"]
               for s in (value_subject, key_subject)}
        for s, canon in ((value_subject, schema.canonical), (key_subject, key_canonical)):
            text = registry_get(a.registry, "/schemas/ids/%d" % ids[s])["schema"]
            got = to_parsing_canonical_form(parse_schema(json.loads(text)))
            check(got == canon, "schema registered under %s differs from ours:\n%s\n%s" % (s, got, canon))

    seen_ids = set()
    for m in msgs:
        where = "%s[%d]@%d" % (m.topic(), m.partition(), m.offset())
        key_raw, value_raw = m.key(), m.value()
        check(key_raw is not None and value_raw is not None, "%s: no key or no value" % where)
        trace = {k: v for k, v in (("traceparent", a.traceparent), ("tracestate", a.tracestate)) if v}
        h = check_evbus_headers(m.headers() or [], schema.event_type, seen_ids, where, trace)
        if a.framing == "single":
            check(value_raw[:10] == value_hdr, "%s: value framing %s, want %s"
                  % (where, value_raw[:10].hex(), value_hdr.hex()))
            check(key_raw[:10] == key_hdr, "%s: key framing %s, want %s"
                  % (where, key_raw[:10].hex(), key_hdr.hex()))
            body, kbody = value_raw[10:], key_raw[10:]
            vbuf = io.BytesIO(body)
            value = schemaless_reader(vbuf, schema.parsed, return_record_name=True)
            check(vbuf.tell() == len(body), "%s: %d bytes after the value datum"
                  % (where, len(body) - vbuf.tell()))
            kbuf = io.BytesIO(kbody)
            key = schemaless_reader(kbuf, key_parsed)
            check(kbuf.tell() == len(kbody), "%s: bytes after the key datum" % where)
        else:
            check(value_raw[:1] == CONFLUENT_MAGIC and key_raw[:1] == CONFLUENT_MAGIC,
                  "%s: not Confluent framing: key %s value %s" % (where, key_raw[:5].hex(), value_raw[:5].hex()))
            vid = struct.unpack(">I", value_raw[1:5])[0]
            kid = struct.unpack(">I", key_raw[1:5])[0]
            check(vid == ids[value_subject], "%s: value schema id %d, subject %s has %d"
                  % (where, vid, value_subject, ids[value_subject]))
            check(kid == ids[key_subject], "%s: key schema id %d, subject %s has %d"
                  % (where, kid, key_subject, ids[key_subject]))
            hdrs = m.headers()
            value = value_de(value_raw, SerializationContext(m.topic(), MessageField.VALUE, hdrs))
            key = key_de(key_raw, SerializationContext(m.topic(), MessageField.KEY, hdrs))
            body = value_raw[5:]
        data = to_natural(schema.expanded, value)
        want = by_key.get(key)
        check(want is not None, "%s: key %r is none of the sent events' keys" % (where, key))
        d = diff(data, expected(schema.expanded, want))
        check(d is None, "%s (key %r): data differs: %s" % (where, key, d))
        check(value_at(data, a.key_field) == key, "%s: key %r is not the data's %s"
              % (where, key, a.key_field))
        # Same bytes as fastavro writes for the same datum (canonical Avro binary).
        buf = io.BytesIO()
        schemaless_writer(buf, schema.parsed, to_avro(schema.expanded, data))
        check(buf.getvalue() == body, "%s (key %r): evbus wrote %s, fastavro writes %s"
              % (where, key, body.hex(), buf.getvalue().hex()))
        del by_key[key]
    check(not by_key, "events never seen: %s" % sorted(by_key))
    print("peer: %d evbus messages (%s framing) decoded and checked: %d checks"
          % (len(msgs), a.framing, check.n))


def cmd_check_tail(a):
    """tail lines whose id the peer sent are compared with the manifest; with --sent, the others
    are events evbus published (a topic both wrote to), matched by key with the sent data."""
    schema = Schema(a.schema)
    manifest = {m["id"]: m for m in read_jsonl(a.manifest)}
    sent = {value_at(d, a.key_field): d for d in read_jsonl(a.sent)} if a.sent else {}
    got = read_jsonl(a.got)
    check(len(got) == len(manifest) + len(sent), "tail printed %d events, %d were sent"
          % (len(got), len(manifest) + len(sent)))
    seen_ids = set()
    for g in got:
        where = "tail %s[%s]@%s" % (g.get("topic"), g.get("partition"), g.get("offset"))
        check("error" not in g, "%s: evbus could not decode: %s" % (where, g.get("error")))
        if a.topic:
            check(g["topic"] == a.topic, "%s: topic %r" % (where, g["topic"]))
        check(g["type"] == schema.event_type, "%s: type %r" % (where, g["type"]))
        m = manifest.pop(g.get("id"), None)
        if m is None and a.sent:  # published by evbus
            want = sent.pop(g.get("key"), None)
            check(want is not None, "%s: key %r was not sent (or twice)" % (where, g.get("key")))
            check_evbus_headers([(k, v.encode()) for k, v in g["headers"].items()],
                                schema.event_type, seen_ids, where)
            check(g["id"] == g["headers"]["ce_id"], "%s: id is not ce_id" % where)
        else:
            check(m is not None, "%s: id %r was not sent (or twice)" % (where, g.get("id")))
            check(g["key"] == m["key"], "%s: key %r, sent %r" % (where, g["key"], m["key"]))
            check(g["headers"] == m["headers"], "%s: headers %s, sent %s"
                  % (where, g["headers"], m["headers"]))
            want = m["data"]
        d = diff(expected(schema.expanded, g["data"], True), expected(schema.expanded, want))
        check(d is None, "%s (key %r): data differs: %s" % (where, g["key"], d))
    check(not manifest and not sent, "not printed by tail: %s" % sorted(list(manifest) + list(sent)))
    print("peer: %d events printed by evbus-cli tail match: %d checks" % (len(got), check.n))


def cmd_check_consumer(a):
    """Lines of examples/consumer: "<topic> [<partition>] @<offset> <type> <json>"."""
    schema = Schema(a.schema)
    want = {}
    for path in a.manifest:
        for m in read_jsonl(path):
            want.setdefault(m["key"], []).append(m)
    n = 0
    with open(a.got, encoding="utf-8") as f:
        for line in f:
            mt = re.match(r"^(\S+) \[(\d+)\] @(\d+) (\S+) (\{.*\})$", line.rstrip("\n"))
            check(mt is not None, "consumer line not understood: %r" % line)
            check(mt.group(4) == schema.event_type, "consumer: type %r" % mt.group(4))
            data = json.loads(mt.group(5))
            key = value_at(data, a.key_field)
            check(want.get(key), "consumer: event with key %r not sent (or seen too often)" % key)
            m = want[key].pop()
            d = diff(expected(schema.expanded, data, True), expected(schema.expanded, m["data"]))
            check(d is None, "consumer (key %r): data differs: %s" % (key, d))
            n += 1
    left = sorted(k for k, v in want.items() if v)
    check(not left, "consumer never printed: %s" % left)
    print("peer: %d events decoded by libconsumer match: %d checks" % (n, check.n))


def cmd_coverage(a):
    schema = Schema(a.schema)
    kinds, unions = set(), {"nullable": 0, "general": 0}

    def walk(s, depth):
        k = _kind(s)
        kinds.add(k)
        if k == "record":
            if depth > 0:
                kinds.add("nested record")
            for f in s["fields"]:
                walk(f["type"], depth + 1)
        elif k == "union":
            unions["nullable" if len(_nonnull(s)) == 1 else "general"] += 1
            for b in s:
                walk(b, depth + 1)
        elif k == "array":
            walk(s["items"], depth + 1)
        elif k == "map":
            walk(s["values"], depth + 1)
    walk(schema.expanded, 0)
    need = {"record", "nested record", "null", "boolean", "int", "long", "float", "double",
            "string", "bytes", "enum", "array", "map", "fixed", "union"}
    check(need <= kinds, "schema lacks %s" % sorted(need - kinds))
    check(unions["nullable"] > 0 and unions["general"] > 0, "unions: %s" % unions)
    sent = read_jsonl(a.sent)
    ints = [x for e in sent for x in (e["big"], e.get("maybe"), *e["counts"].values()) if x is not None]
    check(-2**63 in ints and 2**63 - 1 in ints, "INT64 min/max not sent")
    check(-2**31 in [e["small"] for e in sent] and 2**31 - 1 in [e["small"] for e in sent],
          "INT32 min/max not sent")
    check(any(any(ord(c) > 127 for c in e["text"] + e["inner"]["name"]) for e in sent),
          "no non-ASCII string")
    check(any(e["tags"] == [] for e in sent) and any(e["counts"] == {} for e in sent),
          "no empty array/map")
    branches = set()
    for e in sent:
        c = e["choice"]
        branches.add("null" if c is None else next(iter(c)))
    general = next(f["type"] for f in schema.expanded["fields"] if f["name"] == "choice")
    check(branches == {_name(b) for b in general}, "general union branches sent: %s" % sorted(branches))
    print("peer: schema has %d Avro kinds (%s), %d nullable and %d general unions; %d events, "
          "%d union branches: %d checks" % (len(kinds), ", ".join(sorted(kinds)), unions["nullable"],
                                            unions["general"], len(sent), len(branches), check.n))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("produce")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--schema", required=True)
    p.add_argument("--key-field", required=True)
    p.add_argument("--registry")
    p.add_argument("file")
    p.set_defaults(fn=cmd_produce)
    p = sub.add_parser("expect-evbus")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--schema", required=True)
    p.add_argument("--key-field", required=True)
    p.add_argument("--sent", required=True)
    p.add_argument("--framing", choices=("single", "confluent"), required=True)
    p.add_argument("--registry")
    p.add_argument("--evbus-fingerprint")
    p.add_argument("--traceparent", help="W3C traceparent header every message must carry")
    p.add_argument("--tracestate")
    p.add_argument("--timeout", type=float, default=60)
    p.set_defaults(fn=cmd_expect_evbus)
    p = sub.add_parser("check-tail")
    p.add_argument("--manifest", required=True)
    p.add_argument("--schema", required=True)
    p.add_argument("--got", required=True)
    p.add_argument("--topic")
    p.add_argument("--sent")
    p.add_argument("--key-field", default="inner.name")
    p.set_defaults(fn=cmd_check_tail)
    p = sub.add_parser("check-consumer")
    p.add_argument("--manifest", required=True, action="append")
    p.add_argument("--schema", required=True)
    p.add_argument("--key-field", required=True)
    p.add_argument("--got", required=True)
    p.set_defaults(fn=cmd_check_consumer)
    p = sub.add_parser("coverage")
    p.add_argument("--schema", required=True)
    p.add_argument("--sent", required=True)
    p.set_defaults(fn=cmd_coverage)
    a = ap.parse_args()
    if getattr(a, "framing", None) == "confluent" and not a.registry:
        ap.error("--framing confluent needs --registry")
    a.fn(a)


if __name__ == "__main__":
    main()
