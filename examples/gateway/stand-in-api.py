#!/usr/bin/env python3
"""A stand-in for the orders API, so that the gateway example answers on a machine with
nothing else running: `GET /healthz` and `GET /orders` as JSON, on 127.0.0.1:3000 (or the
port given as the first argument, and the address as the second: `0.0.0.0` in a container,
where the gateway reaches it over a network). It echoes the consumer id the gateway sends, to show that
the upstream learns who called without seeing the key. Python's standard library only."""
import http.server
import json
import sys


class StandIn(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stand-in-api"

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self.answer(200, {"status": "ok"})
        elif path == "/orders" or path.startswith("/orders/"):
            self.answer(200, {
                "orders": [{"id": 1, "item": "widget", "quantity": 3}],
                "consumer": self.headers.get("X-Consumer-Id"),
            })
        else:
            self.answer(404, {"error": "not found"})

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    http.server.ThreadingHTTPServer((host, port), StandIn).serve_forever()
