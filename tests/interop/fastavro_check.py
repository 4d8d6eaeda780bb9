#!/usr/bin/env python3
"""Encode/decode evbus "natural JSON" with fastavro, as the Python event bus would.

    fastavro_check.py encode SCHEMA.avsc < events.jsonl   -> one hex line per event
    fastavro_check.py decode SCHEMA.avsc < hex-lines      -> one compact JSON line per datum
    fastavro_check.py fingerprint SCHEMA.avsc             -> canonical form, then CRC-64-AVRO
                                                             as a 0x... uint64 and as the
                                                             8 little-endian bytes in hex

The JSON mapping is evbus's ("natural JSON", README "Wire format"): nullable unions take null or
the plain value, other unions {"<type name>": value}, bytes/fixed are strings whose code
points 0..255 are the bytes.  Used to produce the expected bytes hard-coded in
tests/unit/test_codec.c and to cross-check evbus-cli output by hand.
"""
import io
import json
import sys

from fastavro import schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

PRIMS = {"null", "boolean", "int", "long", "float", "double", "string", "bytes"}


def type_name(s):
    if isinstance(s, str):
        return s
    if isinstance(s, dict):
        return s.get("name", s["type"])
    return "union"


def branches_nonnull(u):
    return [b for b in u if b != "null"]


def to_py(s, v):
    """natural JSON value -> the value fastavro writes for schema s (parsed form)."""
    if isinstance(s, list):
        if v is None:
            return None
        nn = branches_nonnull(s)
        if len(nn) == 1:
            return to_py(nn[0], v)
        (name, inner), = v.items()
        b = next(b for b in s if type_name(b) == name)
        return (name, to_py(b, inner))
    if isinstance(s, str):
        if s in ("bytes",):
            return v.encode("latin-1")
        return v
    t = s["type"]
    if t == "record":
        return {f["name"]: to_py(f["type"], v[f["name"]]) for f in s["fields"] if f["name"] in v}
    if t == "array":
        return [to_py(s["items"], x) for x in v]
    if t == "map":
        return {k: to_py(s["values"], x) for k, x in v.items()}
    if t in ("fixed", "bytes"):
        return v.encode("latin-1")
    if t in PRIMS:
        return to_py(t, v)
    return v


def from_py(s, v):
    if isinstance(s, list):
        if v is None:
            return None
        nn = branches_nonnull(s)
        if len(nn) == 1:
            return from_py(nn[0], v)
        raise SystemExit("decode of general unions: use return_record_name")
    if isinstance(s, str):
        return v.decode("latin-1") if s == "bytes" else v
    t = s["type"]
    if t == "record":
        return {f["name"]: from_py(f["type"], v[f["name"]]) for f in s["fields"]}
    if t == "array":
        return [from_py(s["items"], x) for x in v]
    if t == "map":
        return {k: from_py(s["values"], x) for k, x in v.items()}
    if t in ("fixed", "bytes"):
        return v.decode("latin-1")
    if t in PRIMS:
        return from_py(t, v)
    return v


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    mode, path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        parsed = parse_schema(json.load(f))
    if mode == "fingerprint":
        c = to_parsing_canonical_form(parsed)
        h = fingerprint(c, "CRC-64-AVRO")
        print(c)
        print("0x%016x" % int.from_bytes(bytes.fromhex(h), "little"), h)
        return
    full = parse_schema(json.load(open(path)), expand=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        if mode == "encode":
            buf = io.BytesIO()
            schemaless_writer(buf, parsed, to_py(full, json.loads(line)))
            print(buf.getvalue().hex())
        elif mode == "decode":
            v = schemaless_reader(io.BytesIO(bytes.fromhex(line)), parsed)
            print(json.dumps(from_py(full, v), separators=(",", ":"), ensure_ascii=False))
        else:
            sys.exit(__doc__)


if __name__ == "__main__":
    main()
