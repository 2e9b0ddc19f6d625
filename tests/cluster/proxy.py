"""A TCP relay to the real Redis that a test can cut and restore: an outage of Redis as the bot's
processes see it (connections dropped, new ones refused), without stopping the Redis others use."""

from __future__ import annotations

import asyncio
import contextlib


class RedisRelay:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.listen_port = 0  # chosen at the first start, kept across restores
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._made = 0  # connections relayed so far
        self._frozen_upto = 0  # connections up to this one carry nothing more (see freeze)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.listen_port}/0"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.listen_port)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Redis goes away: every connection dropped, new ones refused."""
        server, self._server = self._server, None
        if server is not None:
            server.close()  # no new connections
        for writer in tuple(self._writers):
            writer.transport.abort()
        for pipe in tuple(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        if server is not None:
            await server.wait_closed()  # (from Python 3.12 it waits for the connections dropped above)

    def freeze(self) -> None:
        """The connections open now go silent without closing (a NAT or firewall that forgot them):
        what is sent on them is lost, nothing comes back. New connections work."""
        self._frozen_upto = self._made

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self._made += 1
        number = self._made
        try:
            redis_reader, redis_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.update((client_writer, redis_writer))
        pipes = [asyncio.ensure_future(self._pipe(client_reader, redis_writer, number)),
                 asyncio.ensure_future(self._pipe(redis_reader, client_writer, number))]
        self._pipes.update(pipes)
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
                self._pipes.discard(pipe)
            for writer in (client_writer, redis_writer):
                self._writers.discard(writer)
                writer.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                if number > self._frozen_upto:
                    writer.write(data)
                    await writer.drain()
