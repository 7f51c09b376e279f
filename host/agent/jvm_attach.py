"""HotSpot's dynamic attach, in pure Python: one command to a running JVM, its reply read back.

What `jcmd`/`jstack` do, without a JDK in the agent's process and across the pod's namespaces:

1. The JVM's pid in its own pid namespace is the last field of `NSpid:` in `/proc/PID/status`;
   its `/tmp` is `/proc/PID/root/tmp` (through the fd `procs.Target` holds).
2. If `/tmp/.java_pid<nspid>` (the JVM's attach socket) is not there, the agent creates
   `.attach_pid<nspid>` in the JVM's `/tmp` (else its working directory), owned by the JVM's
   user, and sends SIGQUIT: HotSpot's signal thread sees the file and starts the attach listener,
   which creates the socket. The agent polls for it at most `START_TIMEOUT_SECONDS`, then removes
   the trigger file. SIGQUIT is sent only to a process that catches it (`SigCgt` in its status;
   a JVM run with `-Xrs` does not, and the default action would end it), and never to one whose
   command line or `JAVA_TOOL_OPTIONS`/`JDK_JAVA_OPTIONS` say `-XX:+DisableAttachMechanism`.
3. The JVM checks the peer's credentials on each connection (root or its own euid and egid), so
   the agent connects with its effective uid and gid switched to the JVM's and switches back.
4. The request is `1\\0<command>\\0<arg1>\\0<arg2>\\0<arg3>\\0`; the reply is a status line
   (`0` for success) and the command's output, read until the JVM closes the socket, at most
   `MAX_REPLY_BYTES` and `timeout` seconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog

from host.agent.errors import AttachUnavailable, ProcessExited, ProtocolError
from host.agent.procs import Target, process_status

log = structlog.get_logger(__name__)

PROTOCOL_VERSION = "1"
START_TIMEOUT_SECONDS = 15.0
POLL_SECONDS = 0.05
MAX_REPLY_BYTES = 64 << 20
MAX_ARGS = 3
MAX_ENV_BYTES = 1 << 20
DISABLE_FLAG = "-XX:+DisableAttachMechanism"
_SIGQUIT_BIT = 1 << (signal.SIGQUIT - 1)
_OPTION_VARIABLES = (b"JAVA_TOOL_OPTIONS=", b"JDK_JAVA_OPTIONS=", b"_JAVA_OPTIONS=")


@dataclass(frozen=True)
class JvmIds:
    """The JVM as seen from inside its own namespaces: pid, effective uid and gid."""

    nspid: int
    uid: int
    gid: int
    catches_sigquit: bool


@dataclass(frozen=True)
class Reply:
    """What the JVM answered: its status code and the command's output."""

    status: int
    output: str
    seconds: float


def read_ids(target: Target) -> JvmIds:
    """The JVM's pid in its namespace, effective uid/gid, and whether it catches SIGQUIT."""
    fields = process_status(target.pid)
    nspids = fields.get("NSpid", str(target.pid)).split()
    uids, gids = fields["Uid"].split(), fields["Gid"].split()
    caught = int(fields.get("SigCgt", "0").strip() or "0", 16)
    return JvmIds(nspid=int(nspids[-1]), uid=int(uids[1]), gid=int(gids[1]), catches_sigquit=bool(caught & _SIGQUIT_BIT))


def disabled_by_option(pid: int) -> str | None:
    """Where the JVM was told `-XX:+DisableAttachMechanism` (its command line or an options
    variable of its environment), or None when it was not (or that cannot be read)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()[:MAX_ENV_BYTES].split(b"\0")
    except OSError:
        cmdline = []
    if DISABLE_FLAG.encode() in cmdline:
        return "its command line"
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            environ = handle.read(MAX_ENV_BYTES).split(b"\0")
    except OSError:
        environ = []
    for entry in environ:
        for variable in _OPTION_VARIABLES:
            if entry.startswith(variable) and DISABLE_FLAG.encode() in entry.split():
                return variable.decode().rstrip("=")
    return None


@contextlib.contextmanager
def _credentials_of(ids: JvmIds) -> Iterator[None]:
    """The agent's effective gid and uid switched to the JVM's for the block (when they differ)."""
    old_uid, old_gid = os.geteuid(), os.getegid()
    if (old_uid, old_gid) == (ids.uid, ids.gid):
        yield
        return
    os.setegid(ids.gid)
    try:
        os.seteuid(ids.uid)
    except OSError:
        os.setegid(old_gid)
        raise
    try:
        yield
    finally:
        os.seteuid(old_uid)
        os.setegid(old_gid)


def _socket_path(target: Target, ids: JvmIds) -> Path:
    return target.root / "tmp" / f".java_pid{ids.nspid}"


def _is_socket(path: Path) -> bool:
    try:
        return path.is_socket()
    except OSError:
        return False


def _create_trigger(target: Target, ids: JvmIds) -> Path:
    """`.attach_pid<nspid>` in the JVM's /tmp, else its working directory, owned by its user."""
    name = f".attach_pid{ids.nspid}"
    failures: list[str] = []
    for directory in (target.root / "tmp", Path(f"/proc/{target.pid}/cwd")):
        path = directory / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            failures.append(f"{directory}: {exc.strerror}")
            continue
        try:
            os.fchown(fd, ids.uid, ids.gid)
        finally:
            os.close(fd)
        return path
    raise AttachUnavailable(
        f"cannot create the attach trigger file {name} in the JVM's /tmp or working directory "
        f"({'; '.join(failures)})",
        details={"pid": target.pid},
    )


def ensure_listener(target: Target, ids: JvmIds) -> Path:
    """The JVM's attach socket, asking the JVM to open it first when it is not there yet."""
    path = _socket_path(target, ids)
    if _is_socket(path):
        return path
    where = disabled_by_option(target.pid)
    if where is not None:
        raise AttachUnavailable(
            f"not available: the JVM of pid {target.pid} refuses attach ({DISABLE_FLAG} in {where}); "
            "restart it without that option to take thread dumps, heap histograms or JFR recordings",
            details={"pid": target.pid, "option": DISABLE_FLAG, "where": where},
        )
    if not ids.catches_sigquit:
        raise AttachUnavailable(
            f"not available: the JVM of pid {target.pid} does not handle SIGQUIT (started with -Xrs?), "
            "so its attach listener cannot be started (and SIGQUIT would end it)",
            details={"pid": target.pid},
        )
    trigger = _create_trigger(target, ids)
    began = time.monotonic()
    try:
        os.kill(target.pid, signal.SIGQUIT)
        while time.monotonic() - began < START_TIMEOUT_SECONDS:
            if _is_socket(path):
                log.debug("attach listener started", pid=target.pid, seconds=round(time.monotonic() - began, 3))
                return path
            target.ensure_alive("the start of its attach listener")
            time.sleep(POLL_SECONDS)
    except ProcessLookupError as exc:
        raise ProcessExited(f"process {target.pid} exited", details={"pid": target.pid}) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            trigger.unlink()
    raise AttachUnavailable(
        f"not available: the JVM of pid {target.pid} did not open its attach socket within "
        f"{START_TIMEOUT_SECONDS:.0f} s of SIGQUIT (is -XX:+DisableAttachMechanism set, e.g. in an "
        "@argfile? or is the JVM too busy to answer?)",
        details={"pid": target.pid, "socket": f"/tmp/.java_pid{ids.nspid}"},
    )


def _connect(path: Path, ids: JvmIds, target: Target) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with _credentials_of(ids):
            sock.connect(str(path))
    except OSError as exc:
        sock.close()
        target.ensure_alive("the attach")
        raise AttachUnavailable(
            f"not available: connecting to the attach socket of pid {target.pid} as uid {ids.uid} failed: "
            f"{exc.strerror or exc}",
            details={"pid": target.pid, "uid": ids.uid},
        ) from exc
    return sock


def _read_reply(sock: socket.socket, *, deadline: float, target: Target, command: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AttachUnavailable(
                f"the JVM of pid {target.pid} did not finish answering {command!r} in time",
                details={"pid": target.pid, "command": command},
            )
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError as exc:
            raise AttachUnavailable(
                f"the JVM of pid {target.pid} did not finish answering {command!r} in time",
                details={"pid": target.pid, "command": command},
            ) from exc
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise ProtocolError(
                f"the JVM's answer to {command!r} is over {MAX_REPLY_BYTES} bytes",
                details={"pid": target.pid, "command": command},
            )
        chunks.append(chunk)


def execute(target: Target, command: str, *args: str, timeout: float) -> Reply:
    """Send one attach command (`threaddump`, `jcmd`, ...) and return the JVM's reply.

    A non-zero status is returned, not raised: what it means depends on the command."""
    if len(args) > MAX_ARGS or any("\0" in part for part in (command, *args)):
        raise ValueError("an attach request has at most three arguments and no NUL bytes")
    ids = read_ids(target)
    path = ensure_listener(target, ids)
    began = time.monotonic()
    request = "\0".join([PROTOCOL_VERSION, command, *args, *([""] * (MAX_ARGS - len(args)))]) + "\0"
    with _connect(path, ids, target) as sock:
        sock.settimeout(timeout)
        sock.sendall(request.encode("utf-8"))
        raw = _read_reply(sock, deadline=began + timeout, target=target, command=command)
    status_line, _, output = raw.partition(b"\n")
    try:
        status = int(status_line.strip())
    except ValueError as exc:
        raise ProtocolError(
            f"the JVM's answer to {command!r} does not start with a status line: {raw[:120]!r}",
            details={"pid": target.pid, "command": command},
        ) from exc
    seconds = time.monotonic() - began
    log.debug("attach command done", pid=target.pid, command=command, status=status, seconds=round(seconds, 3))
    return Reply(status=status, output=output.decode("utf-8", "replace"), seconds=seconds)


def refused(target: Target, line: str, reply: Reply) -> ProtocolError:
    """The error for a diagnostic command the JVM answered with a non-zero status."""
    name = line.split()[0]
    return ProtocolError(
        f"the JVM of pid {target.pid} refused {name!r} (status {reply.status}): {reply.output.strip()[:500]}",
        details={"pid": target.pid, "command": name, "status": reply.status},
    )


def jcmd(target: Target, line: str, *, timeout: float) -> Reply:
    """Run one diagnostic command (`GC.class_histogram`, `JFR.start ...`); a refusal by the JVM
    is a ProtocolError naming what it said."""
    reply = execute(target, "jcmd", line, timeout=timeout)
    if reply.status != 0:
        raise refused(target, line, reply)
    return reply
