"""A real HTTP server on loopback that answers each path from a script, for client tests.

Each request to a path (query string ignored) takes that path's next scripted answer (status,
headers, body); the last answer repeats. Every request is recorded with its headers and body.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ScriptedServer:
    """Start with ScriptedServer(); give answers with .script(path, ...); stop with .close()."""

    def __init__(self):
        self.scripts: dict[str, list[tuple[int, dict, bytes]]] = {}
        self.hits: dict[str, int] = defaultdict(int)
        self.auth_headers: list[str | None] = []
        self.requests: list[tuple[str, str, dict, bytes]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self._answer()

            def do_POST(self):
                self._answer()

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                route = self.path.split("?", 1)[0]
                server.hits[route] += 1
                server.auth_headers.append(self.headers.get("Authorization"))
                server.requests.append((self.command, self.path, dict(self.headers), body))
                script = server.scripts[route]
                status, headers, body = script.pop(0) if len(script) > 1 else script[0]
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def script(self, path: str, *answers: tuple[int, dict, object]) -> None:
        encoded = []
        for status, headers, body in answers:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            encoded.append((status, {"Content-Type": "application/json", **headers}, raw))
        self.scripts[path] = encoded

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
