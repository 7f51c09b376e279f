"""An HTTP server with a slow endpoint and one connection it holds open to itself.

`GET /` answers at once, `GET /slow?seconds=S` after S seconds. Listens on the port given as
the first argument (default: any free one). Prints "ready <port> <held connection's port>"."""

import http.server
import socket
import sys
import time
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/slow":
            time.sleep(float(urllib.parse.parse_qs(url.query).get("seconds", ["1.5"])[0]))
        body = b"hello from the network target\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if sys.argv[1:] else 0), Handler)
port = server.server_address[1]
kept = socket.create_connection(("127.0.0.1", port))  # an established connection to list
print(f"ready {port} {kept.getsockname()[1]}", flush=True)
server.serve_forever()
