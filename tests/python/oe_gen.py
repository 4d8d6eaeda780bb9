"""Event data for Open edX event types, generated from each type's own Avro schema
(AvroSignalSerializer(signal).schema_string() of the installed openedx-events), in natural JSON
(what AvroSignalSerializer.to_dict gives).  Strings are filled by field name where openedx-events
parses them (opaque keys, times, UUIDs); a type is usable when its generated data survives
AvroSignalDeserializer.from_dict and AvroSignalSerializer.to_dict unchanged."""
import json

COURSE = "course-v1:edX+DemoX+2024"
BLOCK = "block-v1:edX+DemoX+2024+type@html+block@intro"
TIME = "2024-05-01T12:34:56.123456+00:00"
UUID = "6f1b4d2e-8a3c-11ee-b9d1-0242ac120002"
LIBRARY = "lib:edX:demo-lib"
LIB_BLOCK = "lb:edX:demo-lib:html:intro"
COLLECTION = "lib-collection:edX:demo-lib:coll1"
CONTAINER = "lct:edX:demo-lib:unit:u1"


def _string(name, seed):
    n = name.lower()
    if n == "uuid" or n.endswith("_uuid"):
        return UUID
    if "usage_key" in n or n in ("block_key", "location", "block_id"):
        return BLOCK
    if "course_key" in n or n in ("course_id", "course_run_key"):
        return COURSE
    if "library_key" in n or n == "library":
        return LIBRARY
    if "collection_key" in n:
        return COLLECTION
    if "container_key" in n:
        return CONTAINER
    if ("time" in n or "date" in n or n in ("start", "end", "created", "modified", "timestamp",
                                             "enrollment_start", "enrollment_end")
            or n.endswith("_at")):
        return TIME
    return "%s-%d" % (name, seed)


def gen(schema, name="root", seed=1):
    t = schema
    if isinstance(t, str):
        return {"string": _string(name, seed), "int": 7 + seed, "long": 70000 + seed,
                "boolean": True, "float": 1.5, "double": 2.25, "null": None,
                "bytes": "b"}.get(t)
    if isinstance(t, list):
        nonnull = [b for b in t if b != "null"]
        return gen(nonnull[0], name, seed) if nonnull else None
    k = t["type"]
    if k == "record":
        return {f["name"]: gen(f["type"], f["name"], seed) for f in t["fields"]}
    if k == "array":
        return [gen(t["items"], name, seed), gen(t["items"], name, seed + 1)]
    if k == "map":
        return {"a": gen(t["values"], name, seed)}
    if k == "enum":
        return t["symbols"][0]
    return gen(k, name, seed)


def usable_types():
    """(event type, data) for every type whose generated data round-trips, sorted by type."""
    from openedx_events.event_bus.avro.deserializer import AvroSignalDeserializer
    from openedx_events.event_bus.avro.serializer import AvroSignalSerializer
    from openedx_events.tooling import OpenEdxPublicSignal, load_all_signals
    load_all_signals()
    out = []
    for s in sorted(OpenEdxPublicSignal.all_events(), key=lambda s: s.event_type):
        try:
            schema = json.loads(AvroSignalSerializer(s).schema_string())
            data = gen(schema)
            back = AvroSignalSerializer(s).to_dict(AvroSignalDeserializer(s).from_dict(data))
        except Exception:  # pylint: disable=broad-except
            continue
        if back == data:
            out.append((s.event_type, data))
    return out


def key_field(data, prefix=""):
    """A period-delimited path to the first string field (the key)."""
    for k, v in data.items():
        if isinstance(v, str):
            return prefix + k
        if isinstance(v, dict):
            r = key_field(v, prefix + k + ".")
            if r:
                return r
    return None


if __name__ == "__main__":
    from django.conf import settings
    settings.configure()
    import django
    django.setup()
    u = usable_types()
    print(len(u))
    for t, d in u:
        print(t, key_field(d))
