"""A minimal Chrome DevTools Protocol client for the HTML report test (check_html.py).

Starts headless Chromium on 127.0.0.1 with a throwaway profile, reads the browser's DevTools
endpoint from its stderr, and speaks the protocol over one websocket in flat session mode (one
session per page). Events are kept per session so a check can read what a page logged.
"""

import asyncio
import json
import re
import shutil
import tempfile

from websockets.asyncio.client import connect

_LISTENING = re.compile(rb"DevTools listening on (ws://\S+)")


class CdpError(Exception):
    """A protocol command failed, or Chromium did not start."""


class Chromium:
    """Headless Chromium, started by `start()` and always stopped by `stop()` (kills it if needed)."""

    def __init__(self, binary):
        self.binary = binary
        self.process = None
        self.profile = None
        self.stderr_tail = []  # Chromium's last stderr lines, for messages

    async def start(self, timeout):
        self.profile = tempfile.mkdtemp(prefix="day2-chromium-")
        self.process = await asyncio.create_subprocess_exec(
            self.binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}", "about:blank",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        try:
            url = await asyncio.wait_for(self._endpoint(), timeout)
        except asyncio.TimeoutError:
            raise CdpError(f"{self.binary} printed no 'DevTools listening on' line within {timeout} s; "
                           f"stderr: {self._tail()}") from None
        self._drain = asyncio.ensure_future(self._keep_reading())
        return url

    async def _endpoint(self):
        while True:
            line = await self.process.stderr.readline()
            if not line:
                code = await self.process.wait()
                raise CdpError(f"{self.binary} exited with {code} before listening; stderr: {self._tail()}")
            self._remember(line)
            match = _LISTENING.search(line)
            if match:
                return match.group(1).decode()

    async def _keep_reading(self):  # a full stderr pipe would block Chromium
        while line := await self.process.stderr.readline():
            self._remember(line)

    def _remember(self, line):
        self.stderr_tail = (self.stderr_tail + [line.decode(errors="replace").rstrip()])[-20:]

    def _tail(self):
        return " | ".join(self.stderr_tail) or "(empty)"

    async def stop(self):
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.profile is not None:
            shutil.rmtree(self.profile, ignore_errors=True)


class Browser:
    """One websocket to the browser endpoint; commands by id, events kept in arrival order."""

    def __init__(self, websocket):
        self.ws = websocket
        self.next_id = 0
        self.pending = {}
        self.events = []
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, url):
        return cls(await connect(url, max_size=None, open_timeout=10))

    async def _read(self):
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                if "id" in message:
                    future = self.pending.pop(message["id"], None)
                    if future is not None and not future.done():
                        future.set_result(message)
                else:
                    self.events.append(message)
        finally:
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(CdpError("the DevTools connection closed"))

    async def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        future = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        await self.ws.send(json.dumps(message))
        reply = await future
        if "error" in reply:
            raise CdpError(f"{method}: {reply['error'].get('message', reply['error'])}")
        return reply.get("result", {})

    def session_events(self, session, methods):
        return [e for e in self.events if e.get("sessionId") == session and e.get("method") in methods]

    async def close(self):
        self.reader.cancel()
        await self.ws.close()
