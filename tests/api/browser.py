"""Headless Chromium driven over the DevTools protocol, to use the findings page as a person would:
open it, sign in with a token through its form, wait for what should show, read the DOM.

`--dump-dom` cannot type into a form, so this speaks CDP over the WebSocket Chromium opens with
`--remote-debugging-port=0` (the port is read from `DevToolsActivePort` in the profile). Blocking:
call it from a thread (`asyncio.to_thread`) when the host runs in the test's event loop.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import websocket

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One Chromium with one page; use as a context manager (the process is stopped on exit)."""

    def __init__(self, profile: Path) -> None:
        assert CHROMIUM is not None
        self.profile = profile
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--window-size=1280,900", "--remote-debugging-port=0",
             "--remote-allow-origins=*", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self._id = 0
        self.ws = self._connect()
        self.call("Page.enable")
        self.call("Runtime.enable")

    def _connect(self) -> websocket.WebSocket:
        active = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not active.exists() or len(active.read_text().splitlines()) < 2:
            assert self.proc.poll() is None, "Chromium exited before opening its DevTools port"
            assert time.monotonic() < deadline, "Chromium did not open its DevTools port in 30 s"
            time.sleep(0.05)
        port = active.read_text().splitlines()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            pages = [t for t in json.load(answer) if t["type"] == "page"]
        return websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                assert "error" not in message, (method, message["error"])
                result: dict[str, Any] = message["result"]
                return result

    def evaluate(self, expression: str) -> Any:
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in answer, answer["exceptionDetails"]
        return answer["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not self.evaluate(f"Boolean({expression})"):
            assert time.monotonic() < deadline, f"the page never showed {expression!r}:\n{self.html()[-3000:]}"
            time.sleep(0.1)

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && document.getElementById('sign-in') !== null")

    def sign_in(self, token: str) -> None:
        """Type `token` into the page's sign-in form and submit it, as a person would."""
        self.wait_for("!document.getElementById('sign-in').hidden")
        self.evaluate(f"document.getElementById('token').value = {json.dumps(token)};"
                      "document.getElementById('sign-in').requestSubmit(); true")

    def html(self) -> str:
        return str(self.evaluate("document.documentElement.outerHTML"))

    def screenshot(self) -> bytes:
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


LOADED = "document.getElementById('status').textContent.includes('findings')"
"""The list came back from the API (the status line counts the findings)."""


def signed_in_page(url: str, token: str, *, profile: Path, until: str = LOADED) -> str:
    """The page at `url` after signing in with `token`, once `until` holds: its DOM as HTML."""
    with Browser(profile) as browser:
        browser.open(url)
        browser.sign_in(token)
        browser.wait_for(until)
        return browser.html()
