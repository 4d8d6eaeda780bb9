#!/usr/bin/env python3
"""wheel_check.py BOOTSTRAP: the installed evbus package end to end on a broker: a producer and a
consumer with a schema given as text (no schema directory), a handler that fails once and is
retried.  Prints "wheel_check: ok <library version> <where evbus was imported from>"."""
import json
import sys
import threading

import evbus

T = "org.test.wheel.v1"
SCHEMA = json.dumps({"type": "record", "name": "CloudEvent", "namespace": T,
                     "fields": [{"name": "k", "type": "string"}, {"name": "n", "type": "int"}]})


def main():
    b = sys.argv[1]
    cfg = {T: {"wheel": {"event_key_field": "k"}}}
    with evbus.Producer({"producer.config": cfg, "kafka.bootstrap.servers": b},
                        schemas=[SCHEMA]) as p:
        for i in range(3):
            p.send(T, {"k": "k%d" % i, "n": i})
        try:
            p.send(T, {"k": "x"})
            raise SystemExit("wheel_check: a bad event was accepted")
        except evbus.SchemaError as e:
            assert "n" in str(e), e
        assert p.flush(30) == 0
    c = evbus.Consumer({"kafka.bootstrap.servers": b, "retry.backoff.ms": 10}, ["wheel"], "wg",
                       schemas=[SCHEMA], start="earliest")
    seen = []
    failed_once = []
    lock = threading.Lock()

    @c.handler(["org.test.*"])
    def handle(ev):
        with lock:
            if ev.data["n"] == 1 and not failed_once:
                failed_once.append(ev.id)
                raise RuntimeError("once")
            seen.append((ev.key, ev.data["n"]))
            if len(seen) == 3:
                c.stop()

    timer = threading.Timer(60, c.stop)
    timer.start()
    c.run(handle_signals=False)
    timer.cancel()
    st = c.stats()
    c.close()
    assert sorted(seen) == [("k0", 0), ("k1", 1), ("k2", 2)], seen
    assert st["retries"] == 1, st
    print("wheel_check: ok %s %s" % (evbus.LIBRARY_VERSION, evbus.__file__))


if __name__ == "__main__":
    main()
