"""The OpenAPI validator itself: it finds the right request schema, accepts what Discord accepts and rejects what
Discord rejects, so the automatic check on every test (tests/bot/conftest.py) cannot pass silently."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from tests.bot.openapi import DiscordOpenAPI, PayloadError, check_sent_payloads, validate_requests
from tests.bot.world import ALICE, GUILD, TEXT, World
from tests.harness import RecordedRequest


@pytest.fixture(scope="module")
def spec() -> DiscordOpenAPI:
    return DiscordOpenAPI.load()


CALLBACK = "/interactions/123/tok-abc/callback"
OK_MESSAGE = {"content": "🎵 Playing", "flags": 64, "allowed_mentions": {"parse": []}, "components": [],
              "embeds": [{"title": "Now playing", "color": 0x5865F2, "timestamp": "2026-01-01T00:00:00+00:00",
                          "fields": [{"name": "Length", "value": "3:21", "inline": True}]}]}


def test_the_document_is_openapi_3_1(spec: DiscordOpenAPI) -> None:
    assert spec.version.startswith("3.1")  # JSON Schema 2020-12: nullable as type lists / oneOf with null


@pytest.mark.parametrize(("method", "path", "template"), [
    ("POST", CALLBACK, "/interactions/{interaction_id}/{interaction_token}/callback"),
    ("POST", "/webhooks/1/tok", "/webhooks/{webhook_id}/{webhook_token}"),
    ("PATCH", "/webhooks/1/tok/messages/@original", "/webhooks/{webhook_id}/{webhook_token}/messages/@original"),
    ("PATCH", "/webhooks/1/tok/messages/77", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"),
    ("POST", "/channels/5/messages", "/channels/{channel_id}/messages"),
    ("PATCH", "/channels/5/messages/6", "/channels/{channel_id}/messages/{message_id}"),
    ("PUT", "/applications/9/commands", "/applications/{application_id}/commands"),
    ("PUT", "/applications/9/guilds/8/commands", "/applications/{application_id}/guilds/{guild_id}/commands"),
])
def test_paths_resolve_to_the_most_specific_template(
    spec: DiscordOpenAPI, method: str, path: str, template: str
) -> None:
    route, body = spec.body_spec(method, path + "?wait=true")
    assert route.template == template and body is not None


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", CALLBACK, {"type": 4, "data": OK_MESSAGE}),
    ("POST", CALLBACK, {"type": 5, "data": {"flags": 64}}),
    ("POST", CALLBACK, {"type": 5}),
    ("POST", CALLBACK, {"type": 4, "data": None}),  # nullable written as oneOf [null, object]
    ("POST", CALLBACK, {"type": 7, "data": {"content": None, "components": []}}),
    ("POST", CALLBACK, {"type": 8, "data": {"choices": [{"name": "Tone a440 (0:01)", "value": "a440"}]}}),
    ("POST", "/webhooks/1/tok", {**OK_MESSAGE, "tts": False}),
    ("PATCH", "/webhooks/1/tok/messages/@original", {"content": None, "embeds": []}),
    ("DELETE", "/webhooks/1/tok/messages/@original", None),
    ("POST", "/channels/5/messages", {"content": "x", "components": [{"type": 1, "components": [
        {"type": 2, "style": 2, "custom_id": "np:skip", "emoji": {"name": "⏭️"}}]}]}),
    ("POST", "/channels/5/messages", {"content": "file", "attachments": [{"id": "0", "filename": "a.txt"}],
                                      "_files": ["a.txt"]}),
])
def test_valid_bodies_pass(spec: DiscordOpenAPI, method: str, path: str, body: Any) -> None:
    assert spec.errors(method, path, body) == []


@pytest.mark.parametrize(("method", "path", "body", "expected"), [
    ("POST", CALLBACK, {"type": 42, "data": {"content": "x"}}, "not valid under any of the given schemas"),
    ("POST", CALLBACK, {"type": 4, "data": {"content": "x" * 2001}}, "$.data.content: 'xxx"),
    ("POST", CALLBACK, {"type": 4, "data": {"content": 5}}, "5 is not of type 'string', 'null'"),
    ("POST", CALLBACK, {"data": {"content": "x"}}, "'type' is a required property"),
    ("POST", CALLBACK, None, "requires a body"),
    ("POST", CALLBACK, {"type": 4, "data": {"embeds": [{"timestamp": "yesterday"}]}}, "is not a 'date-time'"),
    ("POST", CALLBACK, {"type": 4, "data": {"embeds": [{}] * 11}}, "is too long"),
    ("POST", CALLBACK, {"type": 8, "data": {"choices": [{"name": "", "value": "v"}]}}, "name"),
    ("POST", "/webhooks/1/tok", {"content": "x", "allowed_mentions": {"users": [5001]}},
     "5001 is not valid under any of the given schemas"),  # snowflakes are strings
    ("PATCH", "/channels/5/messages/6", {"components": [{"type": 1, "components": [
        {"type": 2, "style": 9, "custom_id": "a"}]}]}, "$.components[0].components[0].style"),
    ("PATCH", "/channels/5/messages/6", {"components": [{"type": 1, "components": [
        {"type": 3, "custom_id": "menu", "options": []}]}]}, "should be non-empty"),
    ("PUT", "/applications/9/commands", [{"name": "play", "options": [{"type": 3, "name": "query"}]}],
     "'description' is a required property"),
    ("PUT", "/applications/9/commands", [{"name": "x" * 33, "description": "d"}], "$[0].name"),
    ("POST", "/channels/5/messages", {"content": "f", "attachments": [{"id": "1"}], "_files": ["a.txt"]},
     "names no uploaded file"),
])
def test_malformed_bodies_are_rejected(spec: DiscordOpenAPI, method: str, path: str, body: Any,
                                       expected: str) -> None:
    problems = spec.errors(method, path, body)
    assert problems and any(expected in p for p in problems), problems


def test_unknown_routes_and_bodies_on_body_less_routes_are_errors(spec: DiscordOpenAPI) -> None:
    with pytest.raises(PayloadError, match="no path"):
        spec.errors("POST", "/channels/5/not-a-thing", {"x": 1})
    with pytest.raises(PayloadError, match="no PUT operation"):
        spec.errors("PUT", "/channels/5/messages", {"content": "x"})
    assert spec.errors("DELETE", "/webhooks/1/tok/messages/7", {"content": "x"}) == [
        "DELETE /webhooks/{webhook_id}/{webhook_token}/messages/{message_id} takes no body, but one was sent"]


def test_the_report_names_the_request_the_problem_and_shows_the_payload() -> None:
    bad = RecordedRequest("POST", CALLBACK, {}, {"type": 4, "data": {"content": "x" * 2001}}, 0.0)
    ok = RecordedRequest("GET", "/users/@me", {}, None, 0.0)
    with pytest.raises(PayloadError) as caught:
        validate_requests([ok, bad])
    text = str(caught.value)
    assert "1 request(s)" in text and f"POST {CALLBACK}" in text and "is too long" in text
    assert '"type": 4' in text  # the offending payload is shown


async def test_the_automatic_check_catches_what_the_bot_sends(world: World, request: pytest.FixtureRequest) -> None:
    """A too-long reply sent through discord.py's real Interaction fails the check the conftest hook runs."""
    payload = world.fake.slash("play", {"query": "a440"}, guild_id=GUILD, channel_id=TEXT, user=ALICE)
    interaction: discord.Interaction[Any] = discord.Interaction(data=payload, state=world.bot._connection)  # type: ignore[arg-type]
    await interaction.response.send_message("x" * 2001)
    assert world.fake.callbacks(payload)  # discord.py sent it; only the schema says no
    with pytest.raises(PayloadError, match=r"\$\.data\.content"):
        check_sent_payloads(request.node)
    # check_sent_payloads remembers where it stopped: the hook after this test sees nothing new and passes.
    check_sent_payloads(request.node)
