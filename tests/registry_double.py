#!/usr/bin/env python3
"""A tiny Confluent-compatible schema-registry TEST DOUBLE for evbus tests.

This is NOT a schema registry: it keeps everything in memory, checks no compatibility,
understands only Avro.  Python 3 standard library only.  New tests use it only for the faults
a real registry cannot be made to produce on demand: an error status on every request
(--fail-status 503), answers slower than the client's timeout (--delay-ms), a registry that
goes away and comes back on the same port.  Everything else runs against a real registry
(Apicurio, tests/registry/with-registry).  (bench/run still measures against it.)

Endpoints (a subset of the Confluent REST API, same shapes):
  POST /subjects/{subject}/versions   {"schema": "..."} -> {"id": N}
      The same schema (compared after JSON parsing, so whitespace and key order do not
      matter) gets the same id in every subject; ids are global and increase from 1.
  GET  /schemas/ids/{id}              -> {"schema": "..."}
  GET  /subjects                      -> ["subject", ...]
  GET  /subjects/{subject}/versions   -> [1, 2, ...]
  GET  /subjects/{subject}/versions/{n|latest} -> {"subject", "version", "id", "schema"}
Errors have the registry's shape: {"error_code": N, "message": "..."}.

Options:
  --host H --port P        bind address (default 127.0.0.1, port 0 = any free port)
  --fail-status S          answer every request with status S (fault injection)
  --delay-ms N             wait N ms before answering each request
The first stdout line is "listening on http://HOST:PORT" (flushed).  SIGTERM exits cleanly.
"""

import argparse
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_canon = {}   # canonical text -> id
        self.by_id = {}      # id -> schema text as first registered
        self.subjects = {}   # subject -> [id, ...] in version order

    def register(self, subject, text):
        canon = json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
        with self.lock:
            sid = self.by_canon.get(canon)
            if sid is None:
                sid = len(self.by_id) + 1
                self.by_canon[canon] = sid
                self.by_id[sid] = text
            versions = self.subjects.setdefault(subject, [])
            if sid not in versions:
                versions.append(sid)
            return sid


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "registry-double/1"

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, code, message):
        self.reply(status, {"error_code": code, "message": message})

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def gate(self):
        """Fault injection; True when the request may proceed."""
        opts = self.server.opts
        if opts.delay_ms > 0:
            time.sleep(opts.delay_ms / 1000.0)
        if opts.fail_status:
            self.error(opts.fail_status, opts.fail_status * 100, "injected failure")
            return False
        return True

    def path_parts(self):
        path = self.path.split("?", 1)[0]
        return [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []

    def do_POST(self):
        body = self.read_body()
        if not self.gate():
            return
        parts = self.path_parts()
        if len(parts) != 3 or parts[0] != "subjects" or parts[2] != "versions":
            return self.error(404, 404, "HTTP 404 Not Found")
        try:
            req = json.loads(body)
            text = req["schema"]
            if not isinstance(text, str):
                raise TypeError("schema must be a string")
            if req.get("schemaType", "AVRO") != "AVRO":
                raise ValueError("only AVRO schemas are supported by this double")
            sid = self.server.store.register(parts[1], text)
        except (ValueError, KeyError, TypeError) as e:
            return self.error(422, 42201, f"Invalid schema: {e}")
        self.reply(200, {"id": sid})

    def do_GET(self):
        if not self.gate():
            return
        store = self.server.store
        parts = self.path_parts()
        with store.lock:
            if len(parts) == 3 and parts[:2] == ["schemas", "ids"]:
                try:
                    sid = int(parts[2])
                except ValueError:
                    sid = -1
                if sid not in store.by_id:
                    return self.error(404, 40403, "Schema not found")
                return self.reply(200, {"schema": store.by_id[sid]})
            if parts == ["subjects"]:
                return self.reply(200, sorted(store.subjects))
            if len(parts) >= 3 and parts[0] == "subjects" and parts[2] == "versions":
                versions = store.subjects.get(parts[1])
                if versions is None:
                    return self.error(404, 40401, f"Subject '{parts[1]}' not found.")
                if len(parts) == 3:
                    return self.reply(200, list(range(1, len(versions) + 1)))
                if len(parts) == 4:
                    if parts[3] in ("latest", "-1"):
                        v = len(versions)
                    else:
                        try:
                            v = int(parts[3])
                        except ValueError:
                            v = 0
                    if not 1 <= v <= len(versions):
                        return self.error(404, 40402, "Version not found.")
                    sid = versions[v - 1]
                    return self.reply(200, {"subject": parts[1], "version": v, "id": sid,
                                            "schema": store.by_id[sid]})
        self.error(404, 404, "HTTP 404 Not Found")


def main():
    ap = argparse.ArgumentParser(description="Schema-registry test double (not a real registry)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fail-status", type=int, default=0)
    ap.add_argument("--delay-ms", type=int, default=0)
    opts = ap.parse_args()

    server = ThreadingHTTPServer((opts.host, opts.port), Handler)
    server.daemon_threads = True
    server.opts = opts
    server.store = Store()
    scheme = "http"

    def on_term(signum, frame):
        # shutdown() blocks until serve_forever returns, so call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    host, port = server.server_address[:2]
    print(f"listening on {scheme}://{host}:{port}", flush=True)
    server.serve_forever(poll_interval=0.05)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
