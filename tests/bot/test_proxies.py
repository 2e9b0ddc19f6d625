"""Proxies (``musicbot/bot/proxies.py``) with discord.py's real classes against the fake Discord: REST under a path
prefix, every gateway connection (first, resume, re-identify) at ``DISCORD_GATEWAY_URL``, HTTP(S) proxies per URL
with ``NO_PROXY``, and the settings' errors."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import discord
import pytest
import pytest_asyncio
from discord.gateway import DiscordWebSocket
from discord.http import Route

from musicbot.bot.proxies import apply_proxies, discord_routes
from musicbot.config import Config, load_config
from musicbot.errors import ConfigError
from tests.bot.openapi import validate_requests
from tests.harness import FakeDiscord, guild_payload, user
from tests.harness.http_proxy import HttpProxy
from tests.harness.main_gateway import DISCORD_PATH, GATEWAY_PATH, RESUME_PATH
from tests.harness.tls import client_context, make_self_signed_cert, openssl_available, server_context

PREFIX = "/proxy/api/v10"
# Guild ids on different shards of two: (id >> 22) % 2 is 0 for the first, 1 for the second.
G0, G1 = 10 << 22, (11 << 22) + 5
ALICE = user(5001, "alice")


@pytest.fixture(autouse=True)
def _discord_globals() -> Iterator[None]:
    """``Route.BASE`` is process-wide; a gateway URL discord.py falls back to must never leave the machine."""
    base, default = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = "http://127.0.0.1:9/not-routed/api/v10"  # nothing listens: a call that misses the setting fails
    DiscordWebSocket.DEFAULT_GATEWAY = discord.gateway.yarl.URL("ws://127.0.0.1:9/not-routed")
    yield
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, default


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(api_prefix=PREFIX)
    await fake.start()
    Route.BASE = "http://127.0.0.1:9/not-routed/api/v10"  # start() points it at the fake; the bot must do that
    fake.main_gateway.add_guild(guild_payload(G0, text_id=G0 + 1, voice_id=G0 + 2, members=[ALICE]))
    fake.main_gateway.add_guild(guild_payload(G1, text_id=G1 + 1, voice_id=G1 + 2, members=[ALICE]))
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
def toml(tmp_path: Path) -> str:
    """An empty configuration file, so only the variables a test gives count."""
    path = tmp_path / "musicbot.toml"
    path.write_text("")
    return str(path)


def settings(fake: FakeDiscord, toml: str, *, gateway: bool = True, **env: str) -> Config:
    values = {"DISCORD_API_BASE": fake.base_url, "MUSICBOT_CONFIG": toml}
    if gateway:
        values["DISCORD_GATEWAY_URL"] = fake.main_gateway.url
    return load_config({**values, **env})


def sharded_client(**options: object) -> discord.AutoShardedClient:
    intents = discord.Intents.none()
    intents.guilds = intents.voice_states = True
    return discord.AutoShardedClient(intents=intents, guild_ready_timeout=0.2, **options)  # type: ignore[arg-type]


@pytest_asyncio.fixture
async def running() -> AsyncIterator[list[discord.Client]]:
    """Clients a test started with ``client.start``; closed at teardown."""
    clients: list[discord.Client] = []
    yield clients
    for client in clients:
        await client.close()


async def start(client: discord.Client, clients: list[discord.Client]) -> None:
    clients.append(client)
    task = asyncio.get_running_loop().create_task(client.start("token"))
    ready = asyncio.get_running_loop().create_task(client.wait_until_ready())
    done, _ = await asyncio.wait({task, ready}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # raises what ended it
    assert ready in done, "the client did not become ready"


# ---------------------------------------------------------------------------------------------- REST


async def test_every_rest_call_goes_through_the_api_base_prefix(fake: FakeDiscord, toml: str) -> None:
    client = discord.Client(intents=discord.Intents.none())
    apply_proxies(client, settings(fake, toml), environ={})
    try:
        await client.login("token")
        payload = fake.slash("play", {"query": "x"}, guild_id=G0, channel_id=G0 + 1)
        interaction: discord.Interaction[discord.Client] = discord.Interaction(
            data=payload, state=client._connection  # type: ignore[arg-type]
        )
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="queued")
        followup = await interaction.followup.send("and one more", wait=True)
        await followup.edit(content="edited")
        await client.http.send_message(G0 + 1, params=discord.http.handle_message_parameters(content="hi"))
    finally:
        await client.close()

    paths = {(r.method, r.path.replace(payload["token"], "TOKEN")) for r in fake.requests}
    assert ("GET", "/users/@me") in paths
    assert ("POST", f"/interactions/{payload['id']}/TOKEN/callback") in paths
    assert ("PATCH", f"/webhooks/{payload['application_id']}/TOKEN/messages/@original") in paths
    assert ("POST", f"/webhooks/{payload['application_id']}/TOKEN") in paths
    assert ("PATCH", f"/webhooks/{payload['application_id']}/TOKEN/messages/{followup.id}") in paths
    assert ("POST", f"/channels/{G0 + 1}/messages") in paths
    assert all(r.url_path.startswith(PREFIX + "/") for r in fake.requests)
    assert fake.unrouted == []
    assert [m["content"] for m in fake.channel_messages(G0 + 1)] == ["queued", "edited", "hi"]
    validate_requests(fake.requests)


# ---------------------------------------------------------------------------------------------- gateway


async def test_every_shard_connects_resumes_and_reidentifies_at_the_gateway_url(
    fake: FakeDiscord, toml: str, running: list[discord.Client]
) -> None:
    client = sharded_client(shard_count=2)
    apply_proxies(client, settings(fake, toml), environ={})
    await start(client, running)
    gateway = fake.main_gateway
    await gateway.wait_identified(0)
    await gateway.wait_identified(1)
    assert {g.id for g in client.guilds} == {G0, G1}

    # A dropped connection: discord.py resumes, at READY's resume_gateway_url unless told otherwise.
    await gateway.close(0)
    await _until(lambda: len(gateway.resumes(0)) == 1)
    # A session the gateway forgot: RESUME → INVALID_SESSION → discord.py identifies again, at its default URL.
    gateway.sessions.clear()
    await gateway.close(1)
    await gateway.wait_identified(1, count=2)

    assert [c.path for c in gateway.connections] == [GATEWAY_PATH] * len(gateway.connections)
    assert len(gateway.connections) == 5  # two shards, one resume, one failed resume, one new identify
    assert all(c.query["v"] == "10" and c.query["encoding"] == "json" for c in gateway.connections)

    # The resumed shard still carries events: a user joining voice in its guild reaches the client.
    await gateway.set_user_voice(G0, ALICE, G0 + 2)
    await _until(lambda: _voice_channel(client, G0, ALICE) == G0 + 2)


async def test_without_a_gateway_url_discord_py_follows_what_discord_says(
    fake: FakeDiscord, toml: str, running: list[discord.Client]
) -> None:
    """The control for the test above: the fake can tell where a bot connects."""
    client = sharded_client()
    apply_proxies(client, settings(fake, toml, gateway=False), environ={})
    await start(client, running)
    await fake.main_gateway.close(0)
    await _until(lambda: len(fake.main_gateway.resumes(0)) == 1)
    assert [c.path for c in fake.main_gateway.connections] == [DISCORD_PATH, RESUME_PATH]


# ---------------------------------------------------------------------------------------------- HTTP proxies


async def test_http_proxy_carries_rest_and_gateway_with_its_credentials(
    fake: FakeDiscord, toml: str, running: list[discord.Client]
) -> None:
    async with HttpProxy() as proxy:
        client = sharded_client(shard_count=1)
        proxied = proxy.url.replace("http://", "http://bot:s3cret@")
        apply_proxies(client, settings(fake, toml), environ={"HTTP_PROXY": proxied})
        await start(client, running)
        host = f"127.0.0.1:{fake.port}"
        assert f"http://{host}{PREFIX}/users/@me" in proxy.targets()
        assert any(t.startswith(f"ws://{host}{GATEWAY_PATH}?v=10") for t in proxy.targets())  # absolute-form
        auth = "Basic " + base64.b64encode(b"bot:s3cret").decode()
        assert {c.headers.get("proxy-authorization") for c in proxy.connections} == {auth}


async def test_no_proxy_keeps_listed_hosts_direct(
    fake: FakeDiscord, toml: str, running: list[discord.Client]
) -> None:
    async with HttpProxy() as proxy:
        client = sharded_client(shard_count=1)
        env = {"HTTP_PROXY": proxy.url, "NO_PROXY": "localhost,127.0.0.1"}
        apply_proxies(client, settings(fake, toml), environ=env)
        await start(client, running)
        assert proxy.connections == []
        assert fake.requests and fake.main_gateway.identifies(0)


@pytest.mark.skipif(not openssl_available(), reason="needs the openssl command for a test certificate")
@pytest.mark.parametrize("proxy_tls", [False, True], ids=["http-proxy", "https-proxy"])
async def test_https_proxy_carries_the_tls_voice_websocket(
    fake: FakeDiscord, toml: str, running: list[discord.Client], tmp_path: Path, proxy_tls: bool
) -> None:
    """REST and the gateway are plain http/ws here, so only the wss:// voice websocket uses HTTPS_PROXY: through
    a CONNECT tunnel, TLS end to end with the fake's own certificate (inside TLS to the proxy, for an https://
    proxy)."""
    cert = make_self_signed_cert(tmp_path)
    await fake.serve_voice_tls(server_context(cert))
    async with HttpProxy(tls=server_context(cert) if proxy_tls else None) as proxy:
        client = sharded_client(shard_count=1, connector=discord.http.aiohttp.TCPConnector(ssl=client_context(cert)))
        apply_proxies(client, settings(fake, toml), environ={"HTTPS_PROXY": proxy.url})
        await start(client, running)
        channel = client.get_channel(G0 + 2)
        assert isinstance(channel, discord.VoiceChannel)
        vc = await channel.connect(timeout=20)
        try:
            assert vc.is_connected()
            assert fake.sessions[G0].user_id == int(client.user.id if client.user else 0)
        finally:
            await vc.disconnect(force=True)
        assert proxy.targets() == [f"127.0.0.1:{fake.voice_port}"]
        assert [c.method for c in proxy.connections] == ["CONNECT"]
        assert fake.main_gateway.bot_channel(G0) is None  # op 4 with channel null: the bot left


# ---------------------------------------------------------------------------------------------- settings


def test_proxy_variables_choose_per_scheme_lower_case_first_and_honour_no_proxy(
    fake: FakeDiscord, toml: str
) -> None:
    routes = discord_routes(settings(fake, toml), environ={
        "HTTPS_PROXY": "http://upper:3128", "https_proxy": "http://lower:3128", "HTTP_PROXY": "plain:8080",
        "NO_PROXY": ".internal,nirn:8080",
    })
    assert routes.proxy_for("https://discord.com/api/v10") == "http://lower:3128"
    assert routes.proxy_for("wss://gateway.discord.gg/?v=10") == "http://lower:3128"
    assert routes.proxy_for("wss://c-ams01.discord.media/?v=8") == "http://lower:3128"
    assert routes.proxy_for("ws://gw.example/") == "http://plain:8080"
    assert routes.proxy_for("http://api.internal/api/v10") is None
    assert routes.proxy_for("http://nirn:8080/api/v10") is None
    assert routes.proxy_for("http://nirn:9090/api/v10") == "http://plain:8080"


def test_only_main_gateway_urls_move_to_the_gateway_url(fake: FakeDiscord, toml: str) -> None:
    routes = discord_routes(settings(fake, toml, DISCORD_GATEWAY_URL="wss://gw.example:7878/shards?x=1"), environ={})
    moved = routes.websocket_url("wss://gateway-us-east1-b.discord.gg/?v=10&encoding=json&compress=zlib-stream")
    assert moved == "wss://gw.example:7878/shards?x=1&v=10&encoding=json&compress=zlib-stream"
    assert routes.websocket_url("wss://c-ams01.discord.media:443/?v=8") == "wss://c-ams01.discord.media:443/?v=8"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"DISCORD_API_BASE": "nirn:8080/api/v10"}, "DISCORD_API_BASE"),
        ({"DISCORD_GATEWAY_URL": "https://gateway.example"}, "DISCORD_GATEWAY_URL"),
        ({"HTTPS_PROXY": "socks5://user:pw@proxy:1080"}, "HTTPS_PROXY=socks5://user:***@proxy:1080"),
        ({"http_proxy": "ftp://proxy:21"}, "HTTP_PROXY=ftp://proxy:21 is not a http:// or https:// URL"),
        ({"SSL_CERT_FILE": "/nonexistent/ca.pem"}, "SSL_CERT_FILE=/nonexistent/ca.pem is not a file"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], names: str, toml: str) -> None:
    config = load_config({"MUSICBOT_CONFIG": toml, **{
        k: v for k, v in env.items() if k.startswith("DISCORD")}})
    with pytest.raises(ConfigError, match=names.replace("*", r"\*")):
        discord_routes(config, environ={k: v for k, v in env.items() if not k.startswith("DISCORD")})


def test_a_ca_file_without_certificates_is_refused(tmp_path: Path, toml: str) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match=r"SSL_CERT_FILE=.*no PEM certificate"):
        discord_routes(load_config({"MUSICBOT_CONFIG": toml}), environ={"SSL_CERT_FILE": str(bogus)})


# ---------------------------------------------------------------------------------------------- helpers


def _voice_channel(client: discord.Client, guild_id: int, usr: dict[str, object]) -> int | None:
    guild = client.get_guild(guild_id)
    member = guild.get_member(int(str(usr["id"]))) if guild else None
    return member.voice.channel.id if member and member.voice and member.voice.channel else None


async def _until(check: object, timeout: float = 30.0) -> None:
    assert callable(check)
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)
