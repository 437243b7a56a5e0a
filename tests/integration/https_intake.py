"""A stand-in for Sekoia.io's HTTPS batch intake, for the sekoia_http tests.

    python3 https_intake.py DIR PORT CERT KEY INTAKE_KEY

Serves POST /batch over TLS as the intake documents it: a JSON body
{"intake_key": KEY, "jsons": ["<event>", ...]}, gzip'd when the request says
Content-Encoding: gzip. Each request takes the next answer from DIR/plan (one
per line, consumed as used; when it is empty, 200):
    200         accept: every event is appended to DIR/events (one per line)
    429, 500... answer that status, accept nothing
    stall       read the request, then wait 30 s without answering
    slow        accept, but answer after 0.3 s
A body whose intake_key is not INTAKE_KEY is answered 401 (nothing accepted).
DIR/stats (JSON) holds counts: requests, connections, gzip requests, the
most requests in progress at once, answers by status.
"""
import gzip
import http.server
import json
import os
import socketserver
import ssl
import sys
import threading
import time

DIR, PORT, CERT, KEY, INTAKE_KEY = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
lock = threading.Lock()
stats = {"requests": 0, "connections": 0, "gzip": 0, "max_concurrent": 0, "answers": {}}
active = [0]


def save_stats():
    with open(os.path.join(DIR, "stats.tmp"), "w") as f:
        json.dump(stats, f)
    os.replace(os.path.join(DIR, "stats.tmp"), os.path.join(DIR, "stats"))


def next_answer():
    path = os.path.join(DIR, "plan")
    try:
        lines = open(path).read().split()
    except FileNotFoundError:
        return "200"
    if not lines:
        return "200"
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines[1:]) + ("\n" if lines[1:] else ""))
    os.replace(path + ".tmp", path)
    return lines[0]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with lock:
            stats["connections"] += 1
            save_stats()

    def log_message(self, fmt, *args):
        pass

    def answer(self, code, body=b"{}"):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with lock:
            stats["answers"][str(code)] = stats["answers"].get(str(code), 0) + 1
            save_stats()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            stats["requests"] += 1
            active[0] += 1
            stats["max_concurrent"] = max(stats["max_concurrent"], active[0])
            if self.headers.get("Content-Encoding") == "gzip":
                stats["gzip"] += 1
            plan = next_answer()
            save_stats()
        try:
            if self.path != "/batch":
                return self.answer(404)
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            doc = json.loads(body)
            if doc.get("intake_key") != INTAKE_KEY:
                return self.answer(401, b'{"message":"invalid intake key"}')
            if plan == "stall":
                time.sleep(30)
                return
            if plan == "slow":
                time.sleep(0.3)
                plan = "200"
            if plan != "200":
                return self.answer(int(plan))
            events = doc["jsons"]
            for e in events:
                json.loads(e)  # each event is itself JSON
            with lock:
                with open(os.path.join(DIR, "events"), "a") as f:
                    for e in events:
                        f.write(e + "\n")
            self.answer(200, b'{"received":%d}' % len(events))
        finally:
            with lock:
                active[0] -= 1


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", PORT), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
save_stats()
open(os.path.join(DIR, "ready"), "w").close()
srv.serve_forever()
