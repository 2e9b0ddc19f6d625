"""Two local servers for the SSRF table: an attacker's "public" server and a private one it aims at.

The *secret* server listens on 127.0.0.1 and [::1] (the addresses the guard must never reach) and
logs every request; it serves real audio, so a request that got through would also be *played*.
The *public* server listens on 127.0.0.2, on the same port (so ``localhost:PORT`` lands on the
secret one when the system resolves it, on the public one when the guard's resolver says
127.0.0.2); tests make 127.0.0.2 "public" with the guard's allow-list. Its routes are the attacks
of issue 14: redirects on a later GET, on GET but not HEAD, from an HTML page, and a body cut
mid-way so that a reconnect has to happen. Nothing here depends on timing: the cut is at a fixed
byte, and a request that starts at or after it is, by definition, the reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

CUT_FRACTION = 0.75  # past the 5 s FFmpeg reads while opening (analyzeduration): the drop comes mid-track
AUDIO = "music.wav"  # WAV: read front to back after its header (so a cut at 40 % lands mid-track)
_RANGE = re.compile(r"bytes=(\d+)-")


@dataclass
class SecretServer:
    port: int = 0
    log: list[str] = field(default_factory=list)
    """host/path of every request that reached the private server. Must stay empty."""

    def app(self, audio: Path) -> web.Application:
        async def anything(request: web.Request) -> web.StreamResponse:
            self.log.append(f"{request.host}{request.path}")
            return web.FileResponse(audio)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", anything)
        return app


@dataclass
class PublicServer:
    """The attacker's server. ``target`` is where its attacks redirect to (the secret, in some form).

    Audio bodies are cut at 40 % of the file, whatever the Range asked for: a request that starts
    at or after that byte is a reconnect after the drop, and that is where the attacks wait.
    """

    root: Path
    base: str = ""
    target: str = ""
    expired: set[str] = field(default_factory=set)
    on_player: Callable[[str], None] = lambda key: None
    """Called at the first request with a Range header (a player opening the stream, not a probe)."""
    log: list[tuple[str, str | None]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def _redirect(self) -> web.StreamResponse:
        raise web.HTTPFound(self.target)

    @staticmethod
    def _start(request: web.Request) -> int:
        match = _RANGE.fullmatch(request.headers.get("Range", ""))
        return int(match.group(1)) if match else 0

    def _cut_at(self) -> int:
        return int((self.root / AUDIO).stat().st_size * CUT_FRACTION)

    async def _cut(self, request: web.Request) -> web.StreamResponse:
        """The file from the requested byte, its full length announced, dropped at 40 %."""
        data = (self.root / AUDIO).read_bytes()
        start = self._start(request)
        headers = {"Content-Length": str(len(data) - start), "Accept-Ranges": "bytes", "Content-Type": "audio/wav"}
        if "Range" in request.headers:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        resp = web.StreamResponse(status=206 if "Range" in request.headers else 200, headers=headers)
        await resp.prepare(request)
        if request.method == "HEAD":
            return resp
        with contextlib.suppress(ConnectionError):  # a probe reads the headers and leaves
            await resp.write(data[start:self._cut_at()])
            await asyncio.sleep(0.05)
        if request.transport is not None:
            request.transport.close()
        return resp

    async def _get_redirects(self, request: web.Request) -> web.StreamResponse:
        """Case (b): HEAD answers audio, GET redirects."""
        if request.method == "HEAD":
            return web.FileResponse(self.root / AUDIO)
        return self._redirect()

    async def _later_get_redirects(self, request: web.Request) -> web.StreamResponse:
        """Case (a): HEAD and the first GET answer audio; the GET resuming after the drop redirects."""
        if self._start(request) >= self._cut_at():
            return self._redirect()
        return await self._cut(request)

    async def _rebinding(self, request: web.Request) -> web.StreamResponse:
        """Plain audio, dropped once at 40 % and resumable; a player's first request calls ``on_player``."""
        key = request.match_info["key"]
        if "Range" in request.headers and key not in self.expired:
            self.expired.add(key)
            self.on_player(key)
        if self._start(request) >= self._cut_at():
            return web.FileResponse(self.root / AUDIO)
        return await self._cut(request)

    async def _page(self, request: web.Request) -> web.StreamResponse:
        """Case (c): an HTML page (for HEAD) whose GET redirects."""
        if request.method == "HEAD":
            return web.Response(text="<html></html>", content_type="text/html")
        return self._redirect()

    async def _list(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        body = (f'<?xml version="1.0" encoding="UTF-8"?><playlist version="1" xmlns="http://xspf.org/ns/0/">'
                f"<trackList><track><location>{self.url('/e/' + key)}</location><title>Song</title>"
                f"</track></trackList></playlist>")
        return web.Response(text=body, content_type="application/xspf+xml")

    async def _entry(self, request: web.Request) -> web.StreamResponse:
        """Case (c) on reconnect: the page yt-dlp extracts again redirects once the stream URL expired."""
        key = request.match_info["key"]
        if key in self.expired:
            return self._redirect()
        raise web.HTTPFound(f"/x/{key}/{AUDIO}")

    async def _expiring(self, request: web.Request) -> web.StreamResponse:
        """A signed stream URL that expires when the body drops: the resume, and all after it, get 403."""
        key = request.match_info["key"]
        if key in self.expired or self._start(request) >= self._cut_at():
            self.expired.add(key)
            return web.Response(status=403, text="URL expired")
        return await self._cut(request)

    async def _hls(self, request: web.Request) -> web.StreamResponse:
        """An HLS playlist (what YouTube live streams are) whose one segment is ``target``."""
        body = f"#EXTM3U\n#EXT-X-TARGETDURATION:9\n#EXTINF:8.0,\n{self.target}\n#EXT-X-ENDLIST\n"
        return web.Response(text=body, content_type="audio/mpegurl")

    def app(self) -> web.Application:
        @web.middleware
        async def record(request: web.Request, handler: Callable[..., object]) -> web.StreamResponse:
            self.log.append((request.path, request.headers.get("Range")))
            response: web.StreamResponse = await handler(request)  # type: ignore[misc]
            return response

        app = web.Application(middlewares=[record])
        app.router.add_get("/b/{key}/music.wav", self._get_redirects)
        app.router.add_get("/a/{key}/music.wav", self._later_get_redirects)
        app.router.add_get("/r/{key}/music.wav", self._rebinding)
        app.router.add_get("/page/{key}", self._page)
        app.router.add_get("/list/{key}.xspf", self._list)
        app.router.add_get("/e/{key}", self._entry)
        app.router.add_get("/x/{key}/music.wav", self._expiring)
        app.router.add_get("/hls/{key}.m3u8", self._hls)
        return app


@dataclass
class Servers:
    secret: SecretServer
    public: PublicServer

    @property
    def port(self) -> int:
        return self.secret.port

    def reset(self) -> None:
        self.secret.log.clear()
        self.public.log.clear()
        self.public.expired.clear()
        self.public.on_player = lambda key: None


def _free_port_on_all_three() -> socket.socket:
    """A port bound on 127.0.0.1 whose twins on [::1] and 127.0.0.2 are free too (kept open: no race)."""
    for _ in range(50):
        first = socket.socket()
        first.bind(("127.0.0.1", 0))
        port = first.getsockname()[1]
        try:
            for family, host in ((socket.AF_INET6, "::1"), (socket.AF_INET, "127.0.0.2")):
                with socket.socket(family) as probe:
                    probe.bind((host, port))
        except OSError:
            first.close()
            continue
        return first
    raise RuntimeError("no port free on 127.0.0.1, [::1] and 127.0.0.2 at once")


@contextlib.contextmanager
def serve_attack(root: Path) -> Iterator[Servers]:
    secret, public = SecretServer(), PublicServer(root)
    loop = asyncio.new_event_loop()
    reserved = _free_port_on_all_three()
    port = reserved.getsockname()[1]
    reserved.close()
    runners = [web.AppRunner(secret.app(root / AUDIO), shutdown_timeout=0.5),
               web.AppRunner(public.app(), shutdown_timeout=0.5)]
    for runner in runners:
        loop.run_until_complete(runner.setup())
    for runner, host in ((runners[0], "127.0.0.1"), (runners[0], "::1"), (runners[1], "127.0.0.2")):
        loop.run_until_complete(web.TCPSite(runner, host, port).start())
    secret.port = port
    public.base = f"http://127.0.0.2:{port}"
    thread = threading.Thread(target=loop.run_forever, name="test-ssrf-servers", daemon=True)
    thread.start()
    try:
        yield Servers(secret, public)
    finally:
        for runner in runners:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
