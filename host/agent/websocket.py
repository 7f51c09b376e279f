"""A minimal WebSocket client (RFC 6455) for the Chrome DevTools protocol, on a plain socket.

Enough for a Node.js inspector on loopback: the opening handshake (with the accept key checked),
masked text frames out, text frames in (fragmented or not), pings answered, the close handshake.
No extensions, no TLS. Every read has the caller's deadline and a message is capped at
`MAX_MESSAGE` bytes, so an endpoint that misbehaves costs bounded time and memory.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
import time

MAX_MESSAGE = 128 << 20
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class WebSocketError(Exception):
    """The handshake failed, the peer closed, broke the framing or overran a limit or deadline."""


def _mask(payload: bytes, key: bytes) -> bytes:
    repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(repeated, "little")).to_bytes(len(payload), "little")


class WebSocket:
    def __init__(self, sock: socket.socket, leftover: bytes = b"") -> None:
        self._sock = sock
        self._buffer = bytearray(leftover)
        self.closed = False

    @classmethod
    def connect(cls, host: str, port: int, path: str, *, timeout: float) -> WebSocket:
        deadline = time.monotonic() + timeout
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect((host, port))
            key = base64.b64encode(os.urandom(16))
            host_header = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            request = (
                f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            sock.sendall(request.encode("ascii"))
            head = bytearray()
            while b"\r\n\r\n" not in head:
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                chunk = sock.recv(4096)
                if not chunk:
                    raise WebSocketError("the server closed the connection during the handshake")
                head += chunk
                if len(head) > 64 << 10:
                    raise WebSocketError("the handshake answer is over 64 KiB")
            end = head.index(b"\r\n\r\n")
            lines = head[:end].decode("latin-1").split("\r\n")
            if " 101 " not in f"{lines[0]} ":
                raise WebSocketError(f"the server refused the WebSocket upgrade: {lines[0][:120]}")
            accept = base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode()
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            if headers.get("sec-websocket-accept") != accept:
                raise WebSocketError("the server's Sec-WebSocket-Accept does not match the key")
        except (OSError, WebSocketError):
            sock.close()
            raise
        return cls(sock, bytes(head[end + 4 :]))

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        header = bytearray([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header.append(0x80 | length)
        elif length < 1 << 16:
            header.append(0x80 | 126)
            header += struct.pack(">H", length)
        else:
            header.append(0x80 | 127)
            header += struct.pack(">Q", length)
        key = os.urandom(4)
        self._sock.sendall(bytes(header) + key + _mask(payload, key))

    def send_text(self, text: str, *, timeout: float = 10.0) -> None:
        self._sock.settimeout(timeout)
        self._send_frame(OP_TEXT, text.encode("utf-8"))

    def _read_exactly(self, count: int, deadline: float) -> bytes:
        while len(self._buffer) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WebSocketError("timed out waiting for the server")
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(min(1 << 20, max(4096, count - len(self._buffer))))
            except TimeoutError as exc:
                raise WebSocketError("timed out waiting for the server") from exc
            if not chunk:
                self.closed = True
                raise WebSocketError("the server closed the connection")
            self._buffer += chunk
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def recv_text(self, *, deadline: float) -> str:
        """The next text (or binary, decoded) message; pings are answered on the way."""
        parts: list[bytes] = []
        size = 0
        while True:
            first, second = self._read_exactly(2, deadline)
            fin, opcode = first & 0x80, first & 0x0F
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack(">H", self._read_exactly(2, deadline))
            elif length == 127:
                (length,) = struct.unpack(">Q", self._read_exactly(8, deadline))
            if size + length > MAX_MESSAGE:
                raise WebSocketError(f"a message over {MAX_MESSAGE} bytes")
            key = self._read_exactly(4, deadline) if second & 0x80 else None
            payload = self._read_exactly(length, deadline)
            if key is not None:
                payload = _mask(payload, key)
            if opcode == OP_PING:
                self._send_frame(OP_PONG, payload[:125])
                continue
            if opcode == OP_PONG:
                continue
            if opcode == OP_CLOSE:
                self.closed = True
                raise WebSocketError("the server closed the WebSocket")
            if opcode not in (OP_TEXT, OP_BINARY, OP_CONT):
                raise WebSocketError(f"unknown opcode {opcode}")
            parts.append(payload)
            size += length
            if fin:
                return b"".join(parts).decode("utf-8", "replace")

    def close(self, *, wait: float = 0.0) -> None:
        """Send a close frame and, with `wait`, wait up to that long for the server's close frame
        (or its end of the connection) before closing the socket; best effort."""
        if not self.closed:
            try:
                self._sock.settimeout(1.0)
                self._send_frame(OP_CLOSE, struct.pack(">H", 1000))
                if wait > 0:
                    deadline = time.monotonic() + wait
                    while True:
                        self.recv_text(deadline=deadline)
            except (OSError, WebSocketError):
                pass
        self.closed = True
        self._sock.close()
