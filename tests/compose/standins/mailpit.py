#!/usr/bin/env python3
"""Mailpit's part in the compose stack: accept mail on 1025, count it on 8025, `readyz`."""

import asyncore
import json
import smtpd
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

if sys.argv[1:] == ["readyz"]:
    try:
        socket.create_connection(("127.0.0.1", 1025), timeout=3).close()
    except OSError:
        sys.exit(1)
    sys.exit(0)

received = []


class Inbox(smtpd.SMTPServer):
    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        received.append({"From": mailfrom, "To": rcpttos, "Size": len(data)})


class Messages(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"total": len(received), "messages": received}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


Inbox(("0.0.0.0", 1025), None, decode_data=False)
threading.Thread(
    target=ThreadingHTTPServer(("0.0.0.0", 8025), Messages).serve_forever, daemon=True
).start()
asyncore.loop()
