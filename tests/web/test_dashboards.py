"""``deploy/grafana`` and ``deploy/prometheus`` stay true to what ``/metrics`` serves: every metric they
query exists in a real bot's output, and every metric of the bot has a panel."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.bot.world import World
from tests.harness.fixtures import *  # noqa: F403
from tests.harness.fixtures import FakeDiscord, OfflineBotFactory
from tests.web.scrape import Scrape, metrics_world, scrape

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "musicbot-dashboard.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"
# Names a query may use: the bot's own, and prometheus-client's process metrics served next to them.
METRIC_NAME = re.compile(r"\b((?:musicbot|process)_[a-z0-9_]+)\b")


@pytest.fixture
async def served(offline_bot_factory: OfflineBotFactory, fake_discord: FakeDiscord, tmp_path: Path) -> Scrape:
    world: World = await metrics_world(offline_bot_factory, fake_discord, tmp_path)
    return await scrape(world.bot.config.http_port)


def dashboard_exprs() -> Iterator[str]:
    dashboard = json.loads(DASHBOARD.read_text())

    def walk(panels: list[dict[str, Any]]) -> Iterator[str]:
        for panel in panels:
            yield from (target["expr"] for target in panel.get("targets", ()))
            yield from walk(panel.get("panels", []))

    yield from walk(dashboard["panels"])
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            yield variable["query"]["query"]


def alert_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [rule for group in yaml.safe_load(ALERTS.read_text())["groups"]
                                   for rule in group["rules"]]
    return rules


def balanced(expr: str) -> bool:
    stack: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for char in re.sub(r'"[^"]*"', '""', expr):  # brackets inside label values do not count
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack


def test_every_metric_the_dashboard_and_the_alerts_query_is_served(served: Scrape) -> None:
    exprs = [*dashboard_exprs(), *(rule["expr"] for rule in alert_rules())]
    queried = {name for expr in exprs for name in METRIC_NAME.findall(expr)}
    assert queried - served.names() == set()
    assert all(balanced(expr) for expr in exprs)
    # A quantile needs the histogram's buckets, summed by le.
    for expr in exprs:
        for quantile in re.findall(r"histogram_quantile\((.*)", expr):
            assert "_bucket" in quantile and re.search(r"by \([^)]*\ble\b", quantile), expr


def test_every_metric_of_the_bot_has_a_panel(served: Scrape) -> None:
    ours = {name for name in served.families if name.startswith("musicbot_")}
    on_dashboard = " ".join(dashboard_exprs())
    assert {name for name in ours if name not in on_dashboard} == set()
    assert len(ours) >= 12  # the eleven, and musicbot_ready


def test_the_alert_rules_parse_and_cover_what_ops_must_hear_about() -> None:
    rules = {rule["alert"]: rule for rule in alert_rules()}
    for name in ("MusicbotDown", "MusicbotNotReady", "MusicbotLatePackets", "MusicbotUnderruns",
                 "MusicbotSourceFailures"):
        assert name in rules
    for rule in rules.values():
        assert rule["labels"]["severity"] in ("warning", "critical") and rule["annotations"]["summary"]
    assert 'up{job="musicbot"}' in rules["MusicbotDown"]["expr"]
    prometheus = yaml.safe_load(PROMETHEUS.read_text())
    assert prometheus["rule_files"] == ["alerts.yml"]
    assert [job["job_name"] for job in prometheus["scrape_configs"]] == ["musicbot"]


def test_the_dashboard_is_importable_grafana_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "musicbot" and dashboard["schemaVersion"] >= 36
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24
        if panel["type"] != "row":
            assert panel["targets"] and all(t["refId"] for t in panel["targets"])
