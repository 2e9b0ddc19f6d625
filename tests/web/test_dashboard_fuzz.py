"""Schemathesis against the dashboard's API with a logged-in session: generated requests (valid and
not) for every operation of the OpenAPI document; no answer may be a 5xx, and every answer must be
one the document describes, in its schema (issue 16).

The server runs on a loop of its own in a thread (schemathesis calls it through ``requests``), with
the fake Discord for the login; the bot behind it (tests/web/stub_bot.py) knows one guild, with
nobody in its voice channel (actions are refused as the commands refuse them): this run is about the API layer (parsing,
login, CSRF, errors); the real bot's answers are checked in test_dashboard.py.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from musicbot.web.dashboard import Dashboard, DashboardSettings, GuildSummary
from musicbot.web.openapi import document
from musicbot.web.server import OpsServer
from tests.harness import FakeDiscord
from tests.harness.bot_process import free_port
from tests.harness.fake_oauth import FakeOAuth
from tests.web.stub_bot import StubBot

GUILD = 9101
USER = {"id": "4101", "username": "fuzzy", "global_name": None, "avatar": None}
schema = schemathesis.openapi.from_dict(document())


@dataclass
class Api:
    url: str
    session: requests.Session
    headers: dict[str, str]


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="dashboard-under-test", daemon=True)
    thread.start()

    def on_loop(coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, loop)
        return future.result(timeout=30)

    fake = FakeDiscord()
    on_loop(fake.start())
    fake.oauth = FakeOAuth("5550002", "fuzz-secret", USER, [{"id": str(GUILD), "name": "Fuzz"}])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    dashboard = Dashboard(DashboardSettings(url, "5550002", "fuzz-secret", api_base=fake.base_url))
    dashboard.bind(StubBot([GuildSummary(GUILD, "Fuzz", None, False)]))
    server = OpsServer(port=port, dashboard=dashboard)
    on_loop(server.start())
    session = requests.Session()
    try:
        landing = session.get(f"{url}/auth/login", timeout=10)
        assert landing.url == f"{url}/", landing.text  # logged in, back on the dashboard's address
        token = session.get(f"{url}/api/v1/me", timeout=10).json()["csrf_token"]
        yield Api(url, session, {"X-CSRF-Token": token})
    finally:
        session.close()
        on_loop(server.stop())
        on_loop(fake.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error_or_an_answer_the_document_does_not_describe(case: Any, api: Api) -> None:
    # What the issue asks of the run: no 5xx, and every answer one the document describes (status,
    # content type, schema). Not the checks that expect refusals for a request made without the
    # cookie: this session always sends it.
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    case.call_and_validate(base_url=api.url, session=api.session, headers=api.headers, checks=checks)
    if case.path_parameters and "guild_id" in case.path_parameters:
        # Generated ids are almost never the one guild the user shares with the bot: the same request
        # for that guild too, so that its answers are checked, not only the refusal of the others.
        case.path_parameters["guild_id"] = str(GUILD)
        case.call_and_validate(base_url=api.url, session=api.session, headers=api.headers, checks=checks)
