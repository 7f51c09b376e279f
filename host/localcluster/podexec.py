"""`pods/exec` over WebSocket, in the channel protocol the official client speaks.

Subprotocols `v5.channel.k8s.io` (preferred) and `v4.channel.k8s.io`. Every frame starts with a
channel byte: 0 stdin, 1 stdout, 2 stderr, 3 the final `Status` (JSON), 4 terminal resize
(ignored); v5 adds 255 to close a channel (the client closes stdin with `[255, 0]`). The command
runs as a local process with the target container's environment and working directory; its
exit status goes out on channel 3 as a real server sends it (`Success`, or `NonZeroExitCode`
with the code in `details.causes`), then the socket closes. No TTY is allocated.
"""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from host.localcluster import status
from host.localcluster.kubelet.kubelet import ExecTarget
from host.localcluster.kubelet.process import ContainerStartError, exit_code, signal_tree, spawn

log = structlog.get_logger(__name__)

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
_DRAIN_SECONDS = 2.0


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


def exit_status(command: list[str], code: int) -> dict[str, Any]:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command [{' '.join(command)}], exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


async def serve_exec(request: web.Request, target: ExecTarget) -> web.StreamResponse:
    command = request.query.getall("command", [])
    if not command:
        raise status.bad_request("you must specify at least 1 command")
    want_stdin = _truthy(request.query.get("stdin"))
    want_stdout = _truthy(request.query.get("stdout", "true"))
    want_stderr = _truthy(request.query.get("stderr", "true"))
    ws = web.WebSocketResponse(protocols=(V5, V4), autoping=True)
    if not ws.can_prepare(request).ok:
        raise status.bad_request("Upgrade request required")
    await ws.prepare(request)
    send_lock = asyncio.Lock()

    async def send(channel: int, data: bytes) -> None:
        async with send_lock:
            if not ws.closed:
                await ws.send_bytes(bytes([channel]) + data)

    try:
        process = await spawn(command, env=target.env, cwd=target.cwd, stdin=want_stdin)
    except ContainerStartError as exc:
        code = 127 if "not found" in str(exc) else 126
        log.info("exec.start_failed", command=command, error=str(exc))
        await send(STDERR, f"{exc}\n".encode())
        await send(ERROR, json.dumps(exit_status(command, code)).encode())
        await ws.close()
        return ws

    async def pump(reader: asyncio.StreamReader | None, channel: int, forward: bool) -> None:
        if reader is None:
            return
        while chunk := await reader.read(64 * 1024):
            if forward:
                await send(channel, chunk)

    async def feed() -> None:
        stdin = process.stdin
        async for message in ws:
            if message.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                continue
            data = message.data if isinstance(message.data, bytes) else str(message.data).encode()
            if not data:
                continue
            channel, payload = data[0], data[1:]
            if channel == STDIN and stdin is not None and not stdin.is_closing():
                stdin.write(payload)
                await stdin.drain()
            elif channel == CLOSE and payload[:1] == bytes([STDIN]) and stdin is not None:
                stdin.close()

    pumps = [
        asyncio.create_task(pump(process.stdout, STDOUT, want_stdout)),
        asyncio.create_task(pump(process.stderr, STDERR, want_stderr)),
    ]
    feeder = asyncio.create_task(feed())
    waiter = asyncio.create_task(process.wait())
    try:
        await asyncio.wait([waiter, feeder], return_when=asyncio.FIRST_COMPLETED)
        if not waiter.done():
            # The client went away before the command finished.
            signal_tree(process.pid, signal.SIGKILL)
            await waiter
            return ws
        code = exit_code(waiter.result())
        signal_tree(process.pid, signal.SIGKILL)
        await asyncio.wait(pumps, timeout=_DRAIN_SECONDS)
        await send(ERROR, json.dumps(exit_status(command, code)).encode())
        await ws.close()
        return ws
    finally:
        for task in (*pumps, feeder, waiter):
            task.cancel()
        if process.returncode is None:
            signal_tree(process.pid, signal.SIGKILL)
