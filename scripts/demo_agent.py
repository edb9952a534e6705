"""A stand-in service agent for the demo: /health always answers 503,
/restart accepts a POST. Prints its port on stdout, then serves."""
import http.server
import sys


class Agent(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code, body = (503, b"down") if self.path == "/health" else (404, b"")
        self.send_response(code)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        code = 200 if self.path == "/restart" else 404
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"restarting" if code == 200 else b"")

    def log_message(self, fmt, *args):
        sys.stderr.write("agent: " + fmt % args + "\n")


server = http.server.HTTPServer(("127.0.0.1", 0), Agent)
print(server.server_address[1], flush=True)
server.serve_forever()
