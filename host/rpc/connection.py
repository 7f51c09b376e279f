"""`RpcConnection`: requests in both directions over one reader/writer pair, correlated by id.

Pending requests live in a map keyed by id and are always removed in `finally`, so a late
reply is dropped, not leaked; when the connection closes every pending request fails with
`ConnectionClosed`.
Incoming requests run as tasks, at most `max_concurrent_incoming` at once; past that the
peer gets `LIMIT_EXCEEDED` instead of unbounded work. Those refusals are tasks too (each
writes a reply); when even they pile up, because the peer sends requests without reading the
replies, the reader stops reading until some finish, so a flooding peer costs bounded memory.
Notifications wait for a free slot the same way rather than being dropped.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog

from host.errors import ProtocolFault
from host.rpc.codes import ErrorCode
from host.rpc.errors import ConnectionClosed, RpcError
from host.rpc.framing import encode_message, encode_request, parse_line, plain_reply_id, to_message
from host.rpc.messages import ErrorObject, Message, Notification, Request, Response

log = structlog.get_logger(__name__)


class RpcHandler(Protocol):
    """What serves the peer's requests and notifications."""

    async def handle_request(self, method: str, params: Any) -> Any: ...

    async def handle_notification(self, method: str, params: Any) -> None: ...


FaultCallback = Callable[[ProtocolFault], Awaitable[None] | None]


class RpcConnection:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter | Any,
        handler: RpcHandler,
        *,
        max_message_bytes: int,
        name: str = "peer",
        on_fault: FaultCallback | None = None,
        max_concurrent_incoming: int = 64,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._handler = handler
        self._max = max_message_bytes
        self._name = name
        self._on_fault = on_fault
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._incoming: set[asyncio.Task[None]] = set()
        self._max_incoming = max_concurrent_incoming
        # Security: without this bound a guest that writes requests and never reads its stdin
        # made the host spawn one blocked refusal task per line, without limit (measured: about
        # 30 MB of host memory a second). Past it the reader waits (backpressure), see `_room_for`.
        self._max_backlog = 2 * max_concurrent_incoming
        self._room = asyncio.Event()
        self._room.set()
        self._write_lock = asyncio.Lock()
        self._reader_task: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self.close_reason: str | None = None
        self.fault: ProtocolFault | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._reader_task = asyncio.create_task(self._read_loop(), name=f"rpc-reader:{self._name}")

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def close(self, reason: str = "closed") -> None:
        self._shutdown(reason)
        if self._reader_task is not None and self._reader_task is not asyncio.current_task():
            self._reader_task.cancel()
            await asyncio.gather(self._reader_task, return_exceptions=True)
        for task in list(self._incoming):
            task.cancel()
        if self._incoming:
            await asyncio.gather(*self._incoming, return_exceptions=True)
        close = getattr(self._writer, "close", None)
        if close is not None and not self._writer.is_closing():
            close()

    def _shutdown(self, reason: str) -> None:
        if self._closed.is_set():
            return
        self.close_reason = reason
        self._closed.set()
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ConnectionClosed(f"{self._name}: connection {reason}"))
        self._pending.clear()

    # -- outgoing --------------------------------------------------------------------------
    async def request(self, method: str, params: Any = None, *, timeout: float | None = None) -> Any:
        """Send a request and wait for its result; raises `RpcError` on an error reply."""
        if self.closed:
            raise ConnectionClosed(f"{self._name}: connection {self.close_reason}")
        req_id = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = fut
        try:
            await self._write(encode_request(req_id, method, params))
            if timeout is None:
                return await fut
            try:
                return await asyncio.wait_for(fut, timeout)
            except TimeoutError as exc:
                raise RpcError(ErrorCode.REQUEST_TIMEOUT, f"{method} got no answer within {timeout:g}s") from exc
        finally:
            self._pending.pop(req_id, None)

    async def notify(self, method: str, params: Any = None) -> None:
        await self._send(Notification(method=method, params=params))

    async def _send(self, msg: Message) -> None:
        await self._write(encode_message(msg))

    async def _write(self, data: bytes) -> None:
        async with self._write_lock:
            if self.closed:
                raise ConnectionClosed(f"{self._name}: connection {self.close_reason}")
            try:
                self._writer.write(data)
                await self._writer.drain()
            except (ConnectionError, RuntimeError) as exc:
                self._shutdown("lost while writing")
                raise ConnectionClosed(f"{self._name}: cannot write: {exc}") from exc

    # -- incoming --------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        reason = "reached end of stream"
        try:
            while True:
                await self._room_for(self._max_backlog)
                try:
                    line = await self._reader.readuntil(b"\n")
                except asyncio.IncompleteReadError as exc:
                    if exc.partial:
                        await self._fault(ProtocolFault("stream ended inside a message"))
                        return
                    break
                except asyncio.LimitOverrunError as exc:
                    await self._fault(
                        ProtocolFault(f"message exceeds the limit of {self._max} bytes (at {exc.consumed})")
                    )
                    return
                if len(line) - 1 > self._max:
                    await self._fault(ProtocolFault(f"message of {len(line) - 1} bytes exceeds the limit of {self._max}"))
                    return
                try:
                    data = parse_line(line[:-1], max_bytes=self._max)
                    req_id = plain_reply_id(data)
                    if req_id is not None:  # the hot path: no model built, see host.rpc.framing
                        self._settle(req_id, data["result"])
                        continue
                    msg = to_message(data, line[:-1])
                except ProtocolFault as fault:
                    await self._fault(fault)
                    return
                if isinstance(msg, Notification):
                    # Security: notifications wait for room instead of being dropped with a warning
                    # each; a guest flooding `log` lines made the host write one warning per line
                    # (measured: 120k lines in 5 s), past every per-invocation log cap.
                    await self._room_for(self._max_incoming)
                self._dispatch(msg)
        except ConnectionError as exc:
            reason = f"lost: {exc}"
        finally:
            self._shutdown(self.close_reason or reason)

    async def _fault(self, fault: ProtocolFault) -> None:
        self.fault = fault
        self._shutdown(f"protocol fault: {fault}")
        log.warning("rpc.protocol_fault", peer=self._name, error=str(fault))
        if self._on_fault is not None:
            result = self._on_fault(fault)
            if result is not None:
                await result

    def _settle(self, req_id: int | str | None, result: Any, error: ErrorObject | None = None) -> None:
        """Resolve the pending request a reply answers; a late or unknown reply is dropped."""
        fut = self._pending.get(req_id) if type(req_id) is int else None
        if fut is None or fut.done():
            log.debug("rpc.late_or_unknown_reply_dropped", peer=self._name, id=req_id)
            return
        if error is not None:
            fut.set_exception(RpcError(error.code, error.message, error.data))
        else:
            fut.set_result(result)

    def _dispatch(self, msg: Message) -> None:
        if isinstance(msg, Response):
            self._settle(msg.id, msg.result, msg.error)
            return
        if len(self._incoming) >= self._max_incoming:
            if isinstance(msg, Request):
                self._spawn(self._reply_error(msg.id, RpcError(
                    ErrorCode.LIMIT_EXCEEDED, f"more than {self._max_incoming} requests in flight")))
            else:
                log.warning("rpc.notification_dropped", peer=self._name, method=msg.method)
            return
        self._spawn(self._serve(msg))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._incoming.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._incoming.discard(task)
        self._room.set()

    async def _room_for(self, limit: int) -> None:
        """Backpressure: wait until fewer than `limit` incoming tasks run (the peer's writes then block)."""
        while len(self._incoming) >= limit:
            self._room.clear()
            await self._room.wait()

    async def _serve(self, msg: Request | Notification) -> None:
        if isinstance(msg, Notification):
            try:
                await self._handler.handle_notification(msg.method, msg.params)
            except Exception:  # a bad notification must not kill the reader; it is logged
                log.exception("rpc.notification_handler_failed", peer=self._name, method=msg.method)
            return
        try:
            result = await self._handler.handle_request(msg.method, msg.params)
        except RpcError as err:
            await self._reply_error(msg.id, err)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("rpc.request_handler_failed", peer=self._name, method=msg.method)
            await self._reply_error(msg.id, RpcError(ErrorCode.INTERNAL_ERROR, f"internal error: {type(exc).__name__}"))
            return
        try:
            await self._send(Response(id=msg.id, result=result))
        except ConnectionClosed:
            log.debug("rpc.reply_after_close_dropped", peer=self._name, id=msg.id)
        except ProtocolFault as fault:  # the result holds what JSON cannot carry (a lone surrogate)
            log.warning("rpc.reply_unencodable", peer=self._name, method=msg.method, error=str(fault))
            await self._reply_error(msg.id, RpcError(ErrorCode.INTERNAL_ERROR,
                                                     f"{msg.method}: the result cannot be written as JSON"))

    async def _reply_error(self, req_id: int | str, err: RpcError) -> None:
        try:
            await self._send(Response(id=req_id, error=ErrorObject(code=err.code, message=err.message, data=err.data)))
        except ConnectionClosed:
            log.debug("rpc.reply_after_close_dropped", peer=self._name, id=req_id)
        except ProtocolFault as fault:  # the peer's own id cannot be echoed (a lone surrogate): no answer
            log.warning("rpc.reply_unencodable", peer=self._name, id=ascii(req_id), error=str(fault))
