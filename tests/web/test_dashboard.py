"""The dashboard's Discord login and first API routes, against the fake Discord's OAuth2 (issue 16).

A browser's part is played by an aiohttp client with a cookie jar that follows redirects: the bot's
``/auth/login`` → the fake's ``/oauth2/authorize`` (approves at once) → the bot's ``/auth/callback``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from openapi_spec_validator import validate

import musicbot.web.logins
from musicbot.sources.synth import tone, write_audio
from musicbot.web.dashboard import OFF, Dashboard, DashboardSettings, GuildSummary
from musicbot.web.openapi import document
from musicbot.web.server import OpsServer
from tests.harness import FakeDiscord, VoiceReceiver, dominant_hz, guild_payload, user
from tests.harness.bot_process import TOKEN, BotProcesses, bot_env, free_port
from tests.harness.fake_oauth import FakeOAuth
from tests.harness.fixtures import bot_processes  # noqa: F401  (fixture)
from tests.harness.tls import make_self_signed_cert, openssl_available, server_context
from tests.web.stub_bot import StubBot

ALICE = {"id": "4001", "username": "alice", "global_name": "Alice", "avatar": None}
BOB = {"id": "4003", "username": "bob", "global_name": "Bob", "avatar": None}
SHARED, HERS_ONLY, BOTS_ONLY = 9001, 9002, 9003
CLIENT_ID, SECRET = "5550001", "client-secret-for-tests"
OWNER = user(4002, "owner")
ALICE_USER, BOB_USER = user(4001, "alice"), user(4003, "bob")


@dataclass
class Site:
    url: str
    fake: FakeDiscord
    oauth: FakeOAuth
    dashboard: Dashboard | None = None
    bot: StubBot | None = None


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    fake = FakeDiscord()
    await fake.start()
    fake.oauth = oauth = FakeOAuth(CLIENT_ID, SECRET, ALICE, [{"id": str(SHARED), "name": "Both"},
                                                               {"id": str(HERS_ONLY), "name": "Hers"}])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    oauth.redirect_uris = (f"{url}/auth/callback",)
    dashboard = Dashboard(DashboardSettings(url, CLIENT_ID, SECRET, api_base=fake.base_url))
    bot = StubBot([GuildSummary(SHARED, "Both", None, True), GuildSummary(BOTS_ONLY, "Bot's", None, False)])
    dashboard.bind(bot)
    server = OpsServer(port=port, dashboard=dashboard)
    await server.start()
    try:
        yield Site(url, fake, oauth, dashboard, bot)
    finally:
        await server.stop()
        await fake.stop()


def browser() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # unsafe: cookies for an IP address


async def logged_in(site: Site) -> aiohttp.ClientSession:
    session = browser()
    async with session.get(f"{site.url}/auth/login") as landing:  # follows Discord's redirect back to us
        assert str(landing.url) == f"{site.url}/"
    return session


def schema_of(path: str, status: int, method: str = "get") -> dict[str, Any]:
    doc = document()
    answer = doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    return {**answer, "components": doc["components"]}


async def checked(response: aiohttp.ClientResponse, path: str, method: str = "get") -> Any:
    body = await response.json()
    jsonschema.validate(body, schema_of(path, response.status, method))  # the answer is what the document says
    return body


async def test_login_with_discord_shows_who_and_only_the_shared_servers(site: Site) -> None:
    async with await logged_in(site) as session:
        cookies = {c.key: c for c in session.cookie_jar}
        assert cookies["musicbot_session"]["httponly"] and cookies["musicbot_session"]["samesite"] == "Lax"
        async with session.get(f"{site.url}/api/v1/me") as me:
            assert me.status == 200
            body = await checked(me, "/api/v1/me")
            assert (body["id"], body["name"]) == ("4001", "Alice") and body["csrf_token"]
        async with session.get(f"{site.url}/api/v1/guilds") as guilds:
            assert [g["id"] for g in await checked(guilds, "/api/v1/guilds")] == [str(SHARED)]
    (query,) = site.oauth.authorize_queries
    assert query["scope"] == "identify guilds" and query["code_challenge_method"] == "S256" and query["state"]


async def test_not_logged_in_forged_or_expired_cookies_are_refused(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    async with browser() as anonymous, anonymous.get(f"{site.url}/api/v1/guilds") as response:
        assert response.status == 401
        assert "Log in with Discord" in (await checked(response, "/api/v1/guilds"))["error"]
    async with await logged_in(site) as session:
        real = next(c for c in session.cookie_jar if c.key == "musicbot_session").value
        forged = real[:-3] + ("AAA" if not real.endswith("AAA") else "BBB")
        async with browser() as other, other.get(f"{site.url}/api/v1/me",
                                                 headers={"Cookie": f"musicbot_session={forged}"}) as response:
            assert response.status == 401
        monkeypatch.setattr(musicbot.web.logins, "SESSION_MAX_AGE_S", -1)  # every session is now too old
        async with session.get(f"{site.url}/api/v1/me") as response:
            assert response.status == 401


async def test_a_callback_from_a_login_this_browser_did_not_start_is_refused(site: Site) -> None:
    async with browser() as session:
        async with session.get(f"{site.url}/auth/login", allow_redirects=False) as login:
            assert login.status == 302
            assert login.headers["Location"].startswith(f"{site.fake.base_url}/oauth2/authorize?")
        async with session.get(f"{site.url}/auth/callback", params={"code": "x", "state": "not-ours"}) as callback:
            assert callback.status == 400
            assert "not from a login this browser started" in (await callback.json())["error"]
        async with session.get(f"{site.url}/api/v1/me") as me:
            assert me.status == 401


async def test_cors_is_closed_another_site_gets_no_access_to_answers(site: Site) -> None:
    evil = {"Origin": "https://evil.example"}
    async with await logged_in(site) as session:
        async with session.get(f"{site.url}/api/v1/me", headers=evil) as me:
            assert me.status == 200 and not any(h.lower().startswith("access-control-") for h in me.headers)
        preflight = {**evil, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-csrf-token"}
        async with session.options(f"{site.url}/api/v1/guilds/{SHARED}/player/pause", headers=preflight) as answer:
            # No preflight is answered, so a browser never sends another site's POST with the header.
            assert answer.status == 405 and "Access-Control-Allow-Origin" not in answer.headers


async def test_logging_out_needs_the_csrf_token(site: Site) -> None:
    async with await logged_in(site) as session:
        async with session.post(f"{site.url}/auth/logout") as refused:
            assert refused.status == 403 and "X-CSRF-Token" in (await refused.json())["error"]
        async with session.get(f"{site.url}/api/v1/me") as me:
            token = (await me.json())["csrf_token"]
        async with session.post(f"{site.url}/auth/logout", headers={"X-CSRF-Token": token}) as done:
            assert done.status == 200
        async with session.get(f"{site.url}/api/v1/me") as me:
            assert me.status == 401  # the session is gone on the server too


async def test_live_updates_come_at_once_and_at_each_change_to_the_dashboards_own_pages(site: Site) -> None:
    assert site.dashboard is not None and site.bot is not None
    events = f"{site.url}/api/v1/guilds/{SHARED}/events"
    async with await logged_in(site) as session:
        async with session.ws_connect(events, origin=site.url) as socket:
            first = await socket.receive_json(timeout=5)
            assert first["type"] == "player" and first["player"]["paused"] is False
            jsonschema.validate(first["player"], {"$ref": "#/components/schemas/Player",
                                                  "components": document()["components"]})
            site.bot.paused = True
            site.dashboard.events.changed(SHARED)  # what the bot's session_changed does
            assert (await socket.receive_json(timeout=5))["player"]["paused"] is True
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(events, origin="https://elsewhere.example")
        assert refused.value.status == 403
        async with session.get(events) as plain:
            assert plain.status == 400 and "WebSocket" in (await plain.json())["error"]
        async with session.get(f"{site.url}/api/v1/guilds/{BOTS_ONLY}/events") as other:
            assert other.status == 404  # the bot's server, not hers
    for _ in range(100):  # the closed socket is forgotten (once the server has seen the close)
        if site.dashboard.events.watchers(SHARED) == 0:
            break
        await asyncio.sleep(0.02)
    assert site.dashboard.events.watchers(SHARED) == 0


async def test_search_results_to_pick_from(site: Site) -> None:
    search = f"{site.url}/api/v1/guilds/{SHARED}/search"
    async with await logged_in(site) as session:
        async with session.get(search, params={"q": "lofi beats"}) as response:
            results = await checked(response, "/api/v1/guilds/{guild_id}/search")
            assert [r["title"] for r in results] == ["lofi beats (live)", "lofi beats"]
        async with session.get(search) as response:
            assert response.status == 400 and "?q=" in (await response.json())["error"]


async def test_your_playlists_and_the_servers_to_load_by_their_load_as(site: Site) -> None:
    async with await logged_in(site) as session:
        async with session.get(f"{site.url}/api/v1/playlists") as response:
            assert [(p["name"], p["whose"], p["load_as"]) for p in await checked(response, "/api/v1/playlists")] == [
                ("mine", "yours", "mine")]
        async with session.get(f"{site.url}/api/v1/guilds/{SHARED}/playlists") as response:
            server = await checked(response, "/api/v1/guilds/{guild_id}/playlists")
            assert [(p["name"], p["whose"], p["load_as"]) for p in server] == [("Party", "server", "#7"),
                                                                               ("mine", "shared", "#9")]
        async with session.get(f"{site.url}/api/v1/guilds/{HERS_ONLY}/playlists") as response:
            assert response.status == 404  # hers, but without the bot


async def test_the_dashboard_says_it_is_off_until_configured() -> None:
    server = OpsServer(port=0, dashboard=Dashboard(None))
    await server.start()
    try:
        async with browser() as session:
            for path in ("/api/v1/me", "/api/v1/guilds", "/auth/login"):
                async with session.get(f"http://127.0.0.1:{server.port}{path}") as response:
                    assert response.status == 503 and (await response.json())["error"] == OFF
            async with session.get(f"http://127.0.0.1:{server.port}/health") as health:
                assert health.status == 200  # the rest of the server is unaffected
    finally:
        await server.stop()


def test_the_openapi_document_is_valid_and_lists_every_api_route() -> None:
    doc = document()
    validate(doc)  # OpenAPI 3.1 (openapi-spec-validator)
    server = OpsServer(port=0, dashboard=Dashboard(None))
    routes = {r.resource.canonical for r in server._app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/api/")}
    assert routes == set(doc["paths"])


@pytest.mark.slow
async def test_musicbot_run_serves_the_login_and_its_servers_and_never_its_token(
    bot_processes: BotProcesses, tmp_path: Path  # noqa: F811
) -> None:
    """The real ``musicbot run``: the dashboard's settings from its environment, the OAuth addresses
    under ``DISCORD_API_BASE``, the guilds from the bot's own gateway state."""
    fake = FakeDiscord()
    await fake.start()
    try:
        fake.main_gateway.add_guild(guild_payload(SHARED, text_id=SHARED + 1, voice_id=SHARED + 2, members=[OWNER]))
        fake.main_gateway.add_guild(guild_payload(BOTS_ONLY, text_id=BOTS_ONLY + 1, voice_id=BOTS_ONLY + 2,
                                                  members=[OWNER]))
        fake.oauth = FakeOAuth(CLIENT_ID, SECRET, ALICE, [{"id": str(SHARED), "name": "Both"},
                                                           {"id": str(HERS_ONLY), "name": "Hers"}])
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        bot = bot_processes.start(fake, bot_env(fake, tmp_path / "data", http_port=port, MUSICBOT_WEB_URL=url,
                                                DISCORD_CLIENT_ID=CLIENT_ID, DISCORD_CLIENT_SECRET=SECRET))
        await bot.wait_ready()
        site = Site(url, fake, fake.oauth)
        bodies = []
        async with await logged_in(site) as session:
            for path in ("/api/v1/me", "/api/v1/guilds", "/api/v1/openapi.json"):
                async with session.get(f"{url}{path}") as response:
                    assert response.status == 200
                    bodies.append(await response.text())
                    if path == "/api/v1/guilds":
                        shown = [(g["id"], g["playing"]) for g in await checked(response, path)]
                        assert shown == [(str(SHARED), False)]
        assert not any(TOKEN in body for body in bodies)
    finally:
        await fake.stop()


PLAYER = "/api/v1/guilds/{guild_id}/player"
QUEUE = "/api/v1/guilds/{guild_id}/queue"
ACT = "/api/v1/guilds/{guild_id}/player/{action}"
RIGHTS = "/api/v1/guilds/{guild_id}/rights"


@pytest.mark.slow
@pytest.mark.skipif(not openssl_available(), reason="needs the openssl command for the voice certificate")
async def test_musicbot_run_plays_pauses_and_sets_the_volume_from_the_api_under_the_commands_rules(
    bot_processes: BotProcesses, tmp_path: Path  # noqa: F811
) -> None:
    music = tmp_path / "music"
    music.mkdir()
    write_audio(music / "tone-440.flac", tone(440.0, 30.0))
    cert = make_self_signed_cert(tmp_path / "tls")
    fake = FakeDiscord()
    await fake.start()
    try:
        await fake.serve_voice_tls(server_context(cert))  # discord.py's voice URL is wss://: the bot trusts the CA
        text, voice = SHARED + 1, SHARED + 2
        fake.main_gateway.add_guild(guild_payload(SHARED, text_id=text, voice_id=voice, members=[ALICE_USER, BOB_USER]))
        await fake.main_gateway.set_user_voice(SHARED, ALICE_USER, voice)
        fake.oauth = FakeOAuth(CLIENT_ID, SECRET, ALICE, [{"id": str(SHARED), "name": "Both"}])
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        bot = bot_processes.start(fake, bot_env(fake, tmp_path / "data", music_dir=music, http_port=port,
                                                ca_file=cert.cert, MUSICBOT_WEB_URL=url, DISCORD_CLIENT_ID=CLIENT_ID,
                                                DISCORD_CLIENT_SECRET=SECRET))
        await bot.wait_ready()
        play = fake.slash("play", {"query": "local:tone-440.flac"}, guild_id=SHARED, channel_id=text, user=ALICE_USER)
        await fake.main_gateway.interaction(play)
        receiver = VoiceReceiver(fake)
        await receiver.wait_for_packets(SHARED, 25, timeout=30)
        site = Site(url, fake, fake.oauth)
        player, act = url + PLAYER.format(guild_id=SHARED), url + ACT.format(guild_id=SHARED, action="{}")
        async with await logged_in(site) as alice:
            async with alice.get(player) as response:
                state = await checked(response, PLAYER)
                assert state["current"]["title"] == "tone-440" and state["connected"] and not state["paused"]
                assert [listener["id"] for listener in state["listeners"]] == [str(4001)]
            async with alice.get(f"{url}/api/v1/me") as me:
                csrf = {"X-CSRF-Token": (await me.json())["csrf_token"]}
            async with alice.get(url + RIGHTS.format(guild_id=SHARED)) as response:
                rights = await checked(response, RIGHTS)
                assert rights["control"] == {"allowed": True, "why_not": None} and rights["add"]["allowed"]
            async with alice.post(act.format("pause")) as response:
                assert response.status == 403  # no CSRF token
            async with alice.ws_connect(f"{url}/api/v1/guilds/{SHARED}/events", origin=url) as live:
                assert (await live.receive_json(timeout=5))["player"]["paused"] is False
                async with alice.post(act.format("pause"), headers=csrf) as response:
                    assert (await checked(response, ACT, "post"))["paused"] is True
                for _ in range(10):  # a second browser open on the guild hears of it (the bot's session_changed)
                    if (await live.receive_json(timeout=5))["player"]["paused"]:
                        break
                else:
                    pytest.fail("the pause was not pushed to the live socket")
            await receiver.wait_until_quiet(SHARED, quiet_ms=200)  # heard: the music stopped
            async with alice.post(act.format("pause"), headers=csrf) as response:
                assert response.status == 409 and "already paused" in (await checked(response, ACT, "post"))["error"]
            heard = receiver.count(SHARED)
            async with alice.post(act.format("resume"), headers=csrf) as response:
                assert (await checked(response, ACT, "post"))["paused"] is False
            await receiver.wait_for_packets(SHARED, heard + 25, timeout=10)
            async with alice.post(act.format("volume"), headers=csrf, json={"percent": 50}) as response:
                assert (await checked(response, ACT, "post"))["volume"] == 50
            async with alice.post(act.format("volume"), headers=csrf, json={"percent": 999}) as response:
                assert response.status == 400 and "0–200" in (await response.json())["error"]
            # Filters: the same Lavalink JSON and checks as /filter, and heard (440 Hz up a fifth).
            async with alice.post(act.format("filters"), headers=csrf, json={"timescale": {"speed": 9}}) as response:
                assert response.status == 400 and "speed" in (await checked(response, ACT, "post"))["error"]
            async with alice.post(act.format("filters"), headers=csrf, json={"timescale": {"pitch": 1.5}}) as response:
                assert (await checked(response, ACT, "post"))["filters"] == {"timescale": {"speed": 1.0, "pitch": 1.5,
                                                                                          "rate": 1.0}}
            since = time.perf_counter()
            await receiver.wait_for_packets(SHARED, receiver.count(SHARED) + 60, timeout=10)
            assert abs(dominant_hz(receiver.decode_pcm(SHARED, since=since)) - 660.0) < 10
            async with alice.post(act.format("seek"), headers=csrf, json={"position_s": 20.0}) as response:
                assert response.status == 200
            for _ in range(50):  # the track reopens at 20 s; the position follows once it plays from there
                async with alice.get(player) as response:
                    if (await checked(response, PLAYER))["position_s"] >= 19.5:
                        break
                await asyncio.sleep(0.1)
            else:
                pytest.fail("the seek was not carried out")
            # A burst: the user's rate limit (8 in 10 s, shared with their slash commands) answers 429.
            statuses = []
            for _ in range(9):
                async with alice.post(act.format("loop"), headers=csrf, json={"mode": "off"}) as response:
                    statuses.append(response.status)
                    if response.status == 429:
                        assert "too fast" in (await checked(response, ACT, "post"))["error"]
                        await asyncio.sleep(float(response.headers["Retry-After"]))
                        break
            assert statuses[-1] == 429 and set(statuses[:-1]) <= {200}
            async with alice.post(act.format("seek"), headers=csrf, json={"position_s": 99.0}) as response:
                assert response.status == 409 and "past the end" in (await response.json())["error"]
            # The queue: a second track queued from the page, as /play (the same resolver), then removed.
            queue = url + QUEUE.format(guild_id=SHARED)
            async with alice.post(queue, headers=csrf, json={"query": "local:tone-440.flac"}) as response:
                queued = await checked(response, QUEUE, "post")
                assert [e["title"] for e in queued["queued"]] == ["tone-440"] and queued["player"]["queue_length"] == 1
            async with alice.post(queue, headers=csrf, json={"query": "local:../../etc/passwd"}) as response:
                assert response.status == 409  # the music folder's guard, in /play's words
                assert "music folder" in (await checked(response, QUEUE, "post"))["error"]
            async with alice.post(act.format("remove"), headers=csrf, json={"position": 1}) as response:
                assert (await checked(response, ACT, "post"))["queue_length"] == 0
            # Playlists and history, as /playlist and /history.
            saved = url + f"/api/v1/guilds/{SHARED}/playlists"
            async with alice.post(saved, headers=csrf, json={"name": "Tones"}) as response:
                assert (await checked(response, "/api/v1/guilds/{guild_id}/playlists", "post"))["track_count"] == 1
            async with alice.get(f"{url}/api/v1/playlists") as response:
                assert [p["name"] for p in await checked(response, "/api/v1/playlists")] == ["Tones"]
            async with alice.get(saved) as response:  # the server's own and those shared there: none yet
                assert await checked(response, "/api/v1/guilds/{guild_id}/playlists") == []
            async with alice.post(saved + "/load", headers=csrf, json={"name": "Tones"}) as response:
                loaded = await checked(response, "/api/v1/guilds/{guild_id}/playlists/load", "post")
                assert [e["title"] for e in loaded["queued"]] == ["tone-440"]
            async with alice.get(f"{url}/api/v1/guilds/{SHARED}/history") as response:
                assert "tone-440" in [r["title"] for r in await checked(response, "/api/v1/guilds/{guild_id}/history")]
        fake.oauth.user = BOB  # Bob is in the server but not in the voice channel: the commands' rule
        async with await logged_in(site) as bob:
            async with bob.get(f"{url}/api/v1/me") as me:
                csrf = {"X-CSRF-Token": (await me.json())["csrf_token"]}
            async with bob.post(act.format("pause"), headers=csrf) as response:
                assert response.status == 403
                assert "Join a voice channel" in (await checked(response, ACT, "post"))["error"]
            async with bob.get(url + RIGHTS.format(guild_id=SHARED)) as response:  # and the page can say so ahead
                rights = await checked(response, RIGHTS)
                assert not rights["control"]["allowed"] and "Join a voice channel" in rights["control"]["why_not"]
    finally:
        await fake.stop()


async def test_the_page_is_served_to_a_logged_in_user_with_only_its_own_script_allowed(site: Site) -> None:
    async with browser() as anonymous, anonymous.get(f"{site.url}/", allow_redirects=False) as response:
        assert response.status == 302 and response.headers["Location"] == "/auth/login"
    async with await logged_in(site) as session, session.get(f"{site.url}/") as page:
        html = await page.text()
        policy = page.headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'nonce-([^']+)'", policy)
    assert nonce and f'<script nonce="{nonce.group(1)}">' in html and "default-src 'none'" in policy
    assert "<option>nightcore</option>" in html  # the bot's presets
    # Every API address the page uses is one the OpenAPI document describes.
    used = {re.sub(r"\$\{[^}]+\}", "{guild_id}", path).split("?")[0]
            for path in re.findall(r"`(/api/v1/[^`]+)`|\"(/api/v1/[^\"]+)\"", html) for path in path if path}
    used = {path.replace("{guild_id}/player/{guild_id}", "{guild_id}/player/{action}") for path in used}
    assert used and used <= set(document()["paths"]), used - set(document()["paths"])
