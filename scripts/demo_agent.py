"""A stand-in for the demo's surroundings, on loopback:
- the service the runbooks remediate: /health always answers 503, /restart
  accepts a POST;
- a service catalog: GET /catalog/services/NAME;
- a Slack-compatible incoming webhook: POST /slack/..., and GET /slack/last
  shows the last message it received.
Prints its port on stdout, then serves."""
import http.server
import json
import sys

CATALOG = {
    "checkout": {
        "team": "payments",
        "oncall": "#payments-oncall",
        "tier": 1,
        "runbook_url": "https://wiki.example/runbooks/checkout",
    }
}
last_message = {}


class Agent(http.server.BaseHTTPRequestHandler):
    def reply(self, code, body, content_type="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            self.reply(503, b"down")
        elif self.path.startswith("/catalog/services/"):
            entry = CATALOG.get(self.path.rsplit("/", 1)[1])
            if entry is None:
                self.reply(404, b"{}", "application/json")
            else:
                self.reply(200, json.dumps(entry).encode(), "application/json")
        elif self.path == "/slack/last":
            self.reply(200, json.dumps(last_message).encode(), "application/json")
        else:
            self.reply(404, b"")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path == "/restart":
            self.reply(200, b"restarting")
        elif self.path.startswith("/slack/"):
            last_message.clear()
            last_message.update(json.loads(body or b"{}"))
            self.reply(200, b"ok")
        else:
            self.reply(404, b"")

    def log_message(self, fmt, *args):
        sys.stderr.write("agent: " + fmt % args + "\n")


server = http.server.HTTPServer(("127.0.0.1", 0), Agent)
print(server.server_address[1], flush=True)
server.serve_forever()
