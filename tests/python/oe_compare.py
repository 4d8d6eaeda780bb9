#!/usr/bin/env python3
"""oe_compare.py SENT GOT: every sent event (manifest lines) was received exactly once with equal
type, id, data and metadata (source, sourcehost, sourcelib, minorversion, time)."""
import datetime
import json
import sys


def main():
    sent = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    got = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
    assert len(got) == len(sent), "sent %d, received %d" % (len(sent), len(got))
    by_id = {}
    for g in got:
        assert g["id"] not in by_id, "received twice: %s" % g["id"]
        by_id[g["id"]] = g
    for e in sent:
        g = by_id.get(e["id"])
        assert g is not None, "never received: %s %s" % (e["type"], e["id"])
        assert g["type"] == e["type"], (g["type"], e["type"])
        assert g["data"] == e["data"], (e["type"], g["data"], e["data"])
        for f in ("source", "sourcehost", "sourcelib", "minorversion"):
            assert g[f] == e[f], (e["type"], f, g[f], e[f])
        assert datetime.datetime.fromisoformat(g["time"]) == datetime.datetime.fromisoformat(e["time"]), \
            (g["time"], e["time"])
    print("oe_compare: %d events of %d types received once with equal data and metadata"
          % (len(sent), len({e["type"] for e in sent})))


if __name__ == "__main__":
    main()
