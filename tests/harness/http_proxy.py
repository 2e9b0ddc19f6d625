"""A small forwarding HTTP proxy on 127.0.0.1 for tests of ``HTTPS_PROXY``/``HTTP_PROXY``.

It takes ``CONNECT host:port`` (what a client sends for ``https://``/``wss://`` targets) and absolute-form requests
(``GET http://host:port/path``, what it sends for ``http://``/``ws://``), opens the connection to the target and
then copies bytes both ways, so TLS and websockets pass through untouched. It records the request that opened
every connection (:class:`ProxiedConnection`). A forwarded plain request (not a websocket upgrade) is sent with
``Connection: close``, so the client opens a new connection, and the proxy records, every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class ProxiedConnection:
    method: str  # CONNECT, GET, POST, ...
    target: str  # host:port for CONNECT, the absolute URL otherwise
    headers: dict[str, str]  # lower-case names
    t: float


class HttpProxy:
    """``async with HttpProxy() as proxy``: ``proxy.url`` is what HTTPS_PROXY/HTTP_PROXY should say. With ``tls``
    (a server context, :func:`tests.harness.tls.server_context`) clients reach the proxy itself over TLS
    (``https://`` proxy URL; a CONNECT tunnel then carries TLS inside TLS)."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.connections: list[ProxiedConnection] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def targets(self) -> list[str]:
        return [c.target for c in self.connections]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0, ssl=self.tls)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> HttpProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
            self.connections.append(ProxiedConnection(method, target, headers, time.perf_counter()))
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                url = urlsplit(target)
                up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port or 80)
                up_writer.write(_closing(lines) if "upgrade" not in headers else head)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError, ValueError, asyncio.CancelledError):
            pass  # a client or target that went away, or stop(): the connection just ends
        finally:
            writer.close()
            self._tasks.discard(task)


def _closing(lines: list[str]) -> bytes:
    """The request head with ``Connection: close`` (absolute-form request line kept: servers accept it)."""
    kept = [ln for ln in lines if ln and ln.partition(":")[0].strip().lower() not in ("connection", "keep-alive")]
    return ("\r\n".join([*kept, "Connection: close"]) + "\r\n\r\n").encode("latin-1")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.write_eof()


__all__ = ["HttpProxy", "ProxiedConnection"]
