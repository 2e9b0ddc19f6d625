"""A local aiohttp server for the source tests: media files with Range, failure injection, radio,
redirects, a playlist and a fake of the Spotify Web API. Runs its own event loop in a thread so
that decoder threads (sync) and async tests can both talk to it. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

SPOTIFY_TRACK = "4uLU6hMCjMI75M1A2tKUQC"
SPOTIFY_TRACK_NO_ISRC = "0000000000000000000001"
SPOTIFY_ALBUM = "1DFixLWuPkv3KT3TnV35m3"
SPOTIFY_PLAYLIST = "37i9dQZF1DXcBWIGoYBM5M"
SPOTIFY_LOCKED_PLAYLIST = "37i9dQZF1DX0XUsuxWHRQd"
SPOTIFY_ARTIST = "0OdUWJ0sBjDrqHygGUXeCF"


def spotify_track(track_id: str, name: str, artist: str, ms: int, isrc: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": track_id, "type": "track", "name": name, "duration_ms": ms,
        "artists": [{"name": artist}], "album": {"name": "An Album", "images": [{"url": "http://img/1.jpg"}]},
    }
    if isrc:
        item["external_ids"] = {"isrc": isrc}
    return item


@dataclass
class MediaServer:
    root: Path
    base: str = ""
    log: list[tuple[str, str | None]] = field(default_factory=list)
    """(path, Range header) of every request, in arrival order."""
    expired: set[str] = field(default_factory=set)
    reset_done: set[str] = field(default_factory=set)
    cut_fraction: float = 0.4

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    # ------------------------------------------------------------------ handlers
    async def _files(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(self.root / request.match_info["name"])

    async def _cut(self, request: web.Request, path: Path) -> web.StreamResponse:
        """Answer 200 with the full length, send part of the body, then drop the connection."""
        data = path.read_bytes()
        resp = web.StreamResponse(headers={"Content-Length": str(len(data)), "Accept-Ranges": "bytes",
                                           "Content-Type": "application/octet-stream"})
        await resp.prepare(request)
        await resp.write(data[: int(len(data) * self.cut_fraction)])
        await asyncio.sleep(0.05)
        assert request.transport is not None
        request.transport.close()
        return resp

    async def _reset(self, request: web.Request) -> web.StreamResponse:
        key, path = request.match_info["key"], self.root / request.match_info["name"]
        if key not in self.reset_done:
            self.reset_done.add(key)
            return await self._cut(request, path)
        return web.FileResponse(path)

    async def _signed(self, request: web.Request) -> web.StreamResponse:
        """A signed URL: "cut…" tokens drop mid-body and then expire (403 from then on)."""
        token, path = request.match_info["token"], self.root / request.match_info["name"]
        if token in self.expired:
            return web.Response(status=403, text="URL expired")
        if token.startswith("cut"):
            self.expired.add(token)
            return await self._cut(request, path)
        return web.FileResponse(path)

    async def _radio(self, request: web.Request) -> web.StreamResponse:
        """An endless MP3 station: the same generated clip, forever, until the client leaves."""
        clip = (self.root / "radio.mp3").read_bytes()
        resp = web.StreamResponse(headers={"Content-Type": "audio/mpeg", "icy-name": "Test FM", "icy-br": "128",
                                           "icy-genre": "Test"})
        await resp.prepare(request)
        if request.method == "HEAD":
            return resp
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while True:
                for i in range(0, len(clip), 16384):
                    await resp.write(clip[i:i + 16384])
                    await asyncio.sleep(0.01)
        return resp

    async def _redirect(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(request.query["to"])

    async def _cookie_set(self, request: web.Request) -> web.StreamResponse:
        response = web.HTTPFound("/cookie/echo")
        response.set_cookie("session", "abc")
        raise response

    async def _cookie_echo(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text=request.headers.get("Cookie", ""))

    async def _page(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="<html><body>no media here</body></html>", content_type="text/html")

    async def _xspf(self, request: web.Request) -> web.StreamResponse:
        items = "".join(
            f"<track><location>{self.url('/files/' + name)}</location><title>{title}</title>"
            f"<creator>Tester</creator><duration>3000</duration></track>"
            for name, title in (("music.mp3", "First song"), ("music.wav", "Second song"))
        )
        body = (f'<?xml version="1.0" encoding="UTF-8"?><playlist version="1" xmlns="http://xspf.org/ns/0/">'
                f"<title>Local list</title><trackList>{items}</trackList></playlist>")
        return web.Response(text=body, content_type="application/xspf+xml")

    # ------------------------------------------------------------------ fake Spotify Web API
    async def _spotify(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"]
        one = spotify_track(SPOTIFY_TRACK, "Never Gonna Give You Up", "Rick Astley", 213_573, "GBARL9300135")
        two = spotify_track(SPOTIFY_TRACK_NO_ISRC, "Second Song", "Some Band", 180_000, None)
        if request.headers.get("Authorization") != "Bearer test-token":
            return web.json_response({"error": {"status": 401, "message": "No token provided"}}, status=401)
        pages: dict[str, Any] = {
            f"tracks/{SPOTIFY_TRACK}": one,
            f"tracks/{SPOTIFY_TRACK_NO_ISRC}": two,
            f"albums/{SPOTIFY_ALBUM}": {
                "name": "Greatest Hits", "images": [{"url": "http://img/album.jpg"}],
                "tracks": {"items": [{k: v for k, v in t.items() if k not in ("album", "external_ids")}
                                     for t in (one, two)], "next": None},
            },
            f"playlists/{SPOTIFY_PLAYLIST}": {"name": "Road trip", "owner": {"display_name": "bot owner"}},
            f"playlists/{SPOTIFY_PLAYLIST}/items": {
                "items": [{"item": one}, {"item": None}, {"track": two}], "next": None,
            },
            f"playlists/{SPOTIFY_LOCKED_PLAYLIST}": {"name": "Someone else's", "owner": {"display_name": "x"}},
        }
        if tail in pages:
            return web.json_response(pages[tail])
        if tail == f"playlists/{SPOTIFY_LOCKED_PLAYLIST}/items":
            return web.json_response({"error": {"status": 403, "message": "Forbidden"}}, status=403)
        return web.json_response({"error": {"status": 404, "message": "Resource not found"}}, status=404)

    def app(self) -> web.Application:
        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            self.log.append((request.path, request.headers.get("Range")))
            response: web.StreamResponse = await handler(request)
            return response

        app = web.Application(middlewares=[record])
        app.router.add_get("/files/{name}", self._files)
        app.router.add_get("/reset/{key}/{name}", self._reset)
        app.router.add_get("/signed/{token}/{name}", self._signed)
        app.router.add_get("/radio", self._radio)
        app.router.add_get("/redirect", self._redirect)
        app.router.add_get("/page", self._page)
        app.router.add_get("/cookie/set", self._cookie_set)
        app.router.add_get("/cookie/echo", self._cookie_echo)
        app.router.add_get("/playlist.xspf", self._xspf)
        app.router.add_get("/v1/{tail:.*}", self._spotify)
        return app


@contextlib.contextmanager
def serve(root: Path, *, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Iterator[MediaServer]:
    server = MediaServer(root)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(server.app(), shutdown_timeout=0.5)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, host, 0, ssl_context=tls)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    server.base = f"{'https' if tls else 'http'}://{host}:{port}"
    thread = threading.Thread(target=loop.run_forever, name="test-media-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
