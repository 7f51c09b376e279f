"""A minimal Debug Adapter Protocol client: enough to prove a debugpy port answers."""

from __future__ import annotations

import json
import socket
from typing import Any


def _dap_request(sock: socket.socket, seq: int, command: str, arguments: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps({"seq": seq, "type": "request", "command": command, "arguments": arguments}).encode()
    sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    buffer = b""
    while True:
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            assert chunk, "the debug adapter closed the connection"
            buffer += chunk
        header, buffer = buffer.split(b"\r\n\r\n", 1)
        length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
        while len(buffer) < length:
            chunk = sock.recv(65536)
            assert chunk, "the debug adapter closed the connection"
            buffer += chunk
        message: dict[str, Any] = json.loads(buffer[:length])
        buffer = buffer[length:]
        if message.get("type") == "response" and message.get("request_seq") == seq:
            return message


def dap_initialize(port: int) -> dict[str, Any]:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        return _dap_request(
            sock,
            1,
            "initialize",
            {"clientID": "wfhost-tests", "adapterID": "debugpy", "linesStartAt1": True, "pathFormat": "path"},
        )
