#!/usr/bin/env python3
"""oe_events.py TOPIC N: JSON lines {"type","topic","key_field","data"} for the interop tests:
the curated events of tests/interop/data/openedx_events.jsonl (xblock.published,
enrollment.created, catalog_info.changed) and one event for each of the first N other types
whose data generated from their schema round-trips (oe_gen.py), all on TOPIC."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oe_gen  # noqa: E402


def main():
    topic, n = sys.argv[1], int(sys.argv[2])
    from django.conf import settings
    settings.configure()
    import django
    django.setup()
    here = os.path.dirname(os.path.abspath(__file__))
    curated = [json.loads(l) for l in open(os.path.join(here, "..", "interop", "data",
                                                        "openedx_events.jsonl")) if l.strip()]
    seen = set()
    for e in curated:
        e["topic"] = topic
        seen.add(e["type"])
        print(json.dumps(e))
    k = 0
    for t, data in oe_gen.usable_types():
        if t in seen or k >= n:
            continue
        print(json.dumps({"type": t, "topic": topic, "key_field": oe_gen.key_field(data),
                          "data": data}))
        k += 1
    if k < n:
        sys.exit("oe_events: only %d generated types round-trip, expected %d" % (k, n))


if __name__ == "__main__":
    main()
