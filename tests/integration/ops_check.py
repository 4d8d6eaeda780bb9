"""Checks for itest_ops_metrics: evbus-cli consume's /metrics parsed by Prometheus' own
text-format parser (prometheus_client.parser), its /healthz, and its --log-format json output.

    ops_check.py run PORT       counters equal what the test produced, lag reaches 0, healthy
    ops_check.py dlqfail PORT   /healthz answers 503 with the reason while DLQ writes fail
    ops_check.py jsonlog FILE SECRET
Exit 0 when every check holds; otherwise the first failed check on stderr and exit 1.
Every wait is bounded (DEADLINE seconds)."""
import json
import sys
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

DEADLINE = 60
TYPE = "org.evbus.test.consumer.v1"
HANDLER = "test-selective"
# What itest_ops_metrics.c produces: 10 events handled, 4 failing on every attempt, 2 without
# headers.  Defaults: retry.max=3, so 4 attempts per failing event.
OK, FAILING, GARBAGE, ATTEMPTS = 10, 4, 2, 4


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def scrape(port):
    """{(name, frozenset(labels)): value}, parsed by prometheus_client."""
    status, text = get(port, "/metrics")
    if status != 200:
        sys.exit(f"/metrics answered {status}")
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def val(m, name, **labels):
    return m.get((name, frozenset(labels.items())))


def expected(m):
    """The first mismatch, or None when the counters equal what happened."""
    ev = "evbus_consumer_events_total"
    want = [
        (val(m, ev, type=TYPE, outcome="handled"), OK),
        (val(m, ev, type=TYPE, outcome="failed"), FAILING * ATTEMPTS),
        (val(m, ev, type=TYPE, outcome="retried"), FAILING * (ATTEMPTS - 1)),
        (val(m, ev, type=TYPE, outcome="dead_lettered"), FAILING),
        (val(m, ev, type=TYPE, outcome="undecodable"), 0),
        (val(m, ev, type="", outcome="undecodable"), GARBAGE),
        (val(m, ev, type="", outcome="dead_lettered"), GARBAGE),
        (val(m, "evbus_consumer_handler_seconds_count", handler=HANDLER), OK + FAILING * ATTEMPTS),
        (val(m, "evbus_consumer_paused_partitions"), 0),
    ]
    for i, (got, w) in enumerate(want):
        if got != w:
            return f"check {i}: got {got}, want {w}"
    dlq = [(dict(k[1]), v) for k, v in m.items() if k[0] == "evbus_dlq_writes_total"]
    ok = sum(v for l, v in dlq if l["outcome"] == "ok")
    failed = sum(v for l, v in dlq if l["outcome"] == "failed")
    if (ok, failed) != (FAILING + GARBAGE, 0):
        return f"dlq writes ok={ok} failed={failed}"
    return None


def cmd_run(port):
    deadline = time.monotonic() + DEADLINE
    last = {}
    scrapes = 0
    while True:
        m = scrape(port)
        scrapes += 1
        # Counters never go down between scrapes.
        for k, v in m.items():
            if k[0].endswith("_total") and k in last and v < last[k]:
                sys.exit(f"{k} went down: {last[k]} -> {v}")
        last = m
        lags = [v for k, v in m.items() if k[0] == "evbus_consumer_lag"]
        assigned = val(m, "evbus_consumer_partitions_assigned")
        problem = expected(m)
        if problem is None and assigned and len(lags) == assigned and all(v == 0 for v in lags):
            break
        if time.monotonic() > deadline:
            sys.exit(f"after {scrapes} scrapes: {problem or 'lag not 0'}; lags={lags} "
                     f"assigned={assigned}")
        time.sleep(0.2)
    status, body = get(port, "/healthz")
    if status != 200 or body.strip() != "ok":
        sys.exit(f"/healthz: {status} {body!r}")
    if get(port, "/nothing-here")[0] != 404:
        sys.exit("an unknown path is not 404")
    print(f"ok: {scrapes} scrapes, counters as produced, lag 0 on {len(lags)} partitions")


def cmd_dlqfail(port):
    deadline = time.monotonic() + DEADLINE
    while True:
        status, body = get(port, "/healthz")
        if status == 503:
            break
        if time.monotonic() > deadline:
            sys.exit(f"/healthz stayed {status} {body!r}")
        time.sleep(0.2)
    if "dead-letter" not in body or body.count("\n") != 1:
        sys.exit(f"503 reason is not one line about dead letters: {body!r}")
    # The write keeps failing (it is retried with backoff while the partition waits): the
    # failure counter grows and /healthz stays 503.
    def failed_writes():
        return sum(v for k, v in scrape(port).items()
                   if k[0] == "evbus_dlq_writes_total" and dict(k[1])["outcome"] == "failed")
    first = failed_writes()
    while failed_writes() <= first:
        if time.monotonic() > deadline:
            sys.exit(f"dead-letter write failures stayed at {first}")
        time.sleep(0.2)
    status2, body2 = get(port, "/healthz")
    if status2 != 503:
        sys.exit(f"/healthz went back to {status2} {body2!r} while DLQ writes fail")
    m = scrape(port)
    ok = sum(v for k, v in m.items()
             if k[0] == "evbus_dlq_writes_total" and dict(k[1])["outcome"] == "ok")
    if ok != 0 or val(m, "evbus_consumer_events_total", type=TYPE, outcome="dead_lettered") != 0:
        sys.exit("a dead letter counted as written")
    print(f"ok: 503 {body.strip()!r}; dlq failed writes {first} -> {failed_writes()}")


def cmd_jsonlog(path, secret):
    lines = open(path, encoding="utf-8").read().splitlines()
    if not lines:
        sys.exit("no log lines")
    objs = []
    for i, line in enumerate(lines, 1):
        try:
            o = json.loads(line)
        except ValueError as e:
            sys.exit(f"line {i} is not JSON ({e}): {line!r}")
        for k in ("time", "level", "message"):
            if not isinstance(o.get(k), str):
                sys.exit(f"line {i} lacks {k}: {line!r}")
        objs.append(o)
    failed = [o for o in objs if o["message"] == "handler failed"]
    if len(failed) != FAILING * ATTEMPTS:
        sys.exit(f"{len(failed)} handler-failed lines, want {FAILING * ATTEMPTS}")
    for o in failed:
        for k in ("topic", "partition", "offset", "ce_type", "ce_id", "handler", "attempt", "error"):
            if k not in o:
                sys.exit(f"handler-failed line lacks {k}: {o}")
    if sorted({o["attempt"] for o in failed}) != list(range(1, ATTEMPTS + 1)):
        sys.exit(f"attempts {sorted({o['attempt'] for o in failed})}")
    audit = [o for o in objs if o.get("subsystem") == "audit" and o["message"] == "event handled"]
    if len(audit) != OK or any(o.get("ce_type") != TYPE or "offset" not in o for o in audit):
        sys.exit(f"{len(audit)} audit lines, want {OK} with ce_type and offset")
    if secret in open(path, encoding="utf-8").read():
        sys.exit("the secret appears in the log")
    print(f"ok: {len(lines)} JSON lines, {len(failed)} failures with fields, {len(audit)} audit lines")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "run":
        cmd_run(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "dlqfail":
        cmd_dlqfail(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "jsonlog":
        cmd_jsonlog(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
