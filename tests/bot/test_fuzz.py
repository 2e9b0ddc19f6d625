"""Fuzz every slash command (and the persistent panel controls) with random and hostile INTERACTION_CREATE payloads.

What is sent, for each command found by walking the real command tree (``bot.tree.walk_commands()``) and reading
each parameter's type, choices and range:
- plausible option values (in range, from the choices, known users/roles/channels with ``resolved`` data);
- one hostile value among plausible ones: wrong JSON type, out of range, huge/empty/unicode/markdown/mention
  strings, NaN/∞, ids without ``resolved`` data;
- broken option lists: a required option missing, unknown or duplicated options, an option whose ``type`` lies
  or whose ``value`` is missing, a group invoked without its subcommand, an unknown subcommand;
- broken interactions: no ``data``, ``data: null``, options not a list, unknown commands, DMs, unknown guilds,
  context-menu types, autocomplete for every autocompleted option, clicks and menu choices on the panel.

Everything goes through discord.py's real entry point, ``ConnectionState.parse_interaction_create`` (what the
gateway calls), and the tasks it spawns are awaited one interaction at a time, so every log record and REST call
is attributed to the case that caused it.

What counts as a failure (each reported with the case, the payload and the traceback):
- an exception that escapes to discord.py or asyncio with any frame of ``musicbot`` in its traceback (our hooks
  run inside discord.py's tasks: ``interaction_check`` reading ``interaction.command`` counts), or any exception
  at all for a well-formed interaction;
- any log record at ERROR or above, from any logger, while a case runs. That includes the tree's
  "command /x failed": the user got the neutral apology instead of a message that says what to do (SPEC §1).
  Forged option types (``"abc"`` for an integer, an option whose ``type`` lies) are no exception any more: the
  tree compares them with the declaration first and says what is wrong;
- for every interaction discord.py accepts (it builds the Interaction and the tree or view store runs without
  raising): not exactly one interaction callback, or a deferred "thinking…" (type 5) never followed up. Clicks
  on controls no live view takes (stale pagers and menus, unknown ids, wrong component types) are answered too;
- a traceback, Python exception text or an object ``repr`` in anything the user can see;
- a case still running after 10 s; the whole run is bounded by ``RUN_BUDGET_S`` (a hang fails, it never blocks
  the suite);
- afterwards, ``/play`` must still be heard.
Payloads discord.py itself cannot parse (no frame of ours involved) are counted: Discord never sends them and the
bot's code is never reached.

``MUSICBOT_FUZZ_SEED`` and ``MUSICBOT_FUZZ_PER_COMMAND`` change the seed and the volume (default ≈ 5500 cases);
``MUSICBOT_FUZZ_REPORT=<file>`` writes every problem there (the assertion shows the first 25).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from discord import app_commands

from tests.bot.fuzz_cases import PER_COMMAND, SEED, USERS, Case, CaseMaker
from tests.bot.openapi import DiscordOpenAPI
from tests.bot.world import ALICE, BOB, DJ, GUILD, TEXT, VOICE, VOICE2, World, wait_for
from tests.harness import RecordedRequest, leave_voice
from tests.harness.payloads import Payload

CASE_TIMEOUT_S = 10.0
RUN_BUDGET_S = 600.0  # a safety net against a hang, far above the ~40 s a run takes
MIN_INTERACTIONS = 5000
LEAK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+|\b\w+Error: |<\w+[ .][^>]*\bid=|"
                  r"<class '|object at 0x")


@dataclass
class Outcome:
    case: Case
    parse_error: BaseException | None = None
    task_errors: list[BaseException] = field(default_factory=list)
    timed_out: bool = False
    logs: list[logging.LogRecord] = field(default_factory=list)


class CaseLog(logging.Handler):
    """Every ERROR+ record, attributed to the case running when it was emitted."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.current: Outcome | None = None
        self.unattributed: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        (self.current.logs if self.current is not None else self.unattributed).append(record)


# ---------------------------------------------------------------------------------------------- running


async def deliver(world: World, case: Case, log: CaseLog) -> Outcome:
    """Through the gateway's entry point; awaits what it spawned (the tree's invoker, the view dispatch)."""
    outcome = Outcome(case)
    log.current = outcome
    try:
        world.fake.register_interaction(case.payload)
        before = asyncio.all_tasks()
        try:
            world.bot._connection.parse_interaction_create(case.payload)  # type: ignore[arg-type]
        except Exception as err:
            outcome.parse_error = err
            return outcome
        spawned = asyncio.all_tasks() - before
        if spawned:
            done, pending = await asyncio.wait(spawned, timeout=CASE_TIMEOUT_S)
            outcome.timed_out = bool(pending)
            for task in pending:
                task.cancel()
            outcome.task_errors = [e for t in done if not t.cancelled() and (e := t.exception()) is not None]
        await asyncio.sleep(0)
    finally:
        log.current = None
    return outcome


def through_us(err: BaseException) -> bool:
    """Whether the bot's own code is anywhere in ``err``'s traceback (its hooks run inside discord.py's tasks:
    an ``interaction_check`` that reads ``interaction.command`` on a payload discord.py cannot route counts)."""
    frames = traceback.extract_tb(err.__traceback__)
    return any(f"{os.sep}musicbot{os.sep}" in frame.filename for frame in frames)


def escaped_failure(case: Case, err: BaseException) -> bool:
    """An exception that escaped to discord.py's task: always a failure for a well-formed interaction; for a
    malformed or forged one whenever our code was on the way."""
    return through_us(err) or not (case.kind == "malformed" or case.forged_type)


def describe(outcome: Outcome, problem: str, err: BaseException | None = None) -> str:
    case = outcome.case
    data = json.dumps(case.payload.get("data"), default=str, ensure_ascii=False)[:600]
    text = f"case #{case.n} {case.label}: {problem}\n  payload data: {data}"
    if err is not None:
        text += "\n" + "".join(traceback.format_exception(err)).strip()[-2500:]
    return text


def user_visible_texts(requests: list[RecordedRequest]) -> Iterator[str]:
    for rec in requests:
        body = rec.json
        data = body.get("data") if isinstance(body, dict) and "type" in body else body
        if isinstance(data, dict):
            yield str(data.get("content") or "")
            for embed in data.get("embeds") or []:
                yield json.dumps(embed, ensure_ascii=False)
            if isinstance(data.get("choices"), list):
                yield json.dumps(data["choices"], ensure_ascii=False)


@pytest.mark.slow
async def test_fuzz_every_command(world: World, fast_playback: float) -> None:
    rng = random.Random(SEED)
    maker = CaseMaker(world, rng)
    leaves = [c for c in world.bot.tree.walk_commands() if isinstance(c, app_commands.Command)]
    groups = [c.qualified_name for c in world.bot.tree.walk_commands() if isinstance(c, app_commands.Group)]
    assert leaves, "the tree has no commands"

    cases: list[Case] = []
    for cmd in leaves:
        cases += maker.command_cases(cmd)
        cases += maker.autocomplete_cases(cmd)
    cases += maker.malformed_cases([c.qualified_name for c in leaves], groups)
    rng.shuffle(cases)

    log = CaseLog()
    root = logging.getLogger()
    root.addHandler(log)
    outcomes: list[Outcome] = []
    try:
        async with asyncio.timeout(RUN_BUDGET_S):
            await shake_voice(world, rng, first=True)
            for i, case in enumerate(cases):
                if i % 150 == 149:
                    await shake_voice(world, rng)
                outcomes.append(await deliver(world, case, log))
            # The panel exists once something played; click and choose on it from every kind of user.
            for case in maker.component_cases(max(40, PER_COMMAND * 4)):
                outcomes.append(await deliver(world, case, log))
    finally:
        root.removeHandler(log)

    failures, counts = judge(world, outcomes)
    failures += await still_plays(world)
    figures = (f"fuzz seed {SEED}: {len(outcomes)} interactions, {counts['expected an answer']} expected an answer, "
               f"{counts['answered']} answered, {counts['unhandled exceptions']} unhandled exceptions")
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    print(f"{figures} ({summary})")
    if report := os.environ.get("MUSICBOT_FUZZ_REPORT"):  # every problem, not only the first 25
        with open(report, "w", encoding="utf-8") as out:
            out.write("\n\n".join(failures))
    assert len(outcomes) >= MIN_INTERACTIONS or PER_COMMAND < 70, figures
    assert not failures, f"{len(failures)} problem(s); {figures} ({summary}):\n\n" + "\n\n".join(failures[:25])


async def still_plays(world: World) -> list[str]:
    """After everything above: Alice in voice, /play, and packets are heard."""
    await world.join(ALICE, VOICE)
    await leave_voice(world.bot, GUILD, BOB)
    sent = len(world.fake.rtp)
    payload = world.fake.slash("play", {"query": "a660", "next": True}, guild_id=GUILD, channel_id=TEXT, user=ALICE)
    world.fake.register_interaction(payload)
    world.bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    await world.fake.wait_for_request("POST", rf"^/webhooks/\d+/{re.escape(payload['token'])}$")
    session = world.bot.sessions.get(GUILD)
    if session is not None and session.paused:
        session.resume()
    try:
        await wait_for(lambda: len(world.fake.rtp) > sent + 25)
    except TimeoutError:
        followup = world.fake.followups(payload)
        return [f"the bot no longer plays after the fuzz: /play answered {followup[-1].json if followup else None}"]
    return []


async def shake_voice(world: World, rng: random.Random, *, first: bool = False) -> None:
    """Move people in and out of voice so commands meet every state: nobody there, alone with the bot, others."""
    for who in USERS.values():
        where = rng.choice([VOICE, VOICE, VOICE2, None]) if not first else (VOICE if who in (ALICE, DJ) else None)
        if where is None:
            await leave_voice(world.bot, GUILD, who)
        else:
            await world.join(who, where)
    if first:
        payload = world.fake.slash("play", {"query": "long440"}, guild_id=GUILD, channel_id=TEXT, user=ALICE)
        world.bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
        await world.fake.wait_for_request("POST", rf"^/webhooks/\d+/{re.escape(payload['token'])}$")


def judge(world: World, outcomes: list[Outcome]) -> tuple[list[str], Counter[str]]:
    callbacks: dict[str, list[Payload]] = defaultdict(list)
    webhooks: dict[str, list[RecordedRequest]] = defaultdict(list)
    for rec in world.fake.requests:
        if m := re.fullmatch(r"/interactions/(\d+)/[^/]+/callback", rec.path):
            callbacks[m.group(1)].append(rec.json)
        elif m := re.fullmatch(r"/webhooks/\d+/([^/]+)(?:/.*)?", rec.path):
            webhooks[m.group(1)].append(rec)

    spec = DiscordOpenAPI.load()
    failures: list[str] = []
    counts: Counter[str] = Counter()
    for out in outcomes:
        case = out.case
        counts[case.kind] += 1
        counts["unhandled exceptions"] += 0  # always reported, 0 included
        if out.parse_error is not None:
            if escaped_failure(case, out.parse_error):
                counts["unhandled exceptions"] += 1
                failures.append(describe(out, "our code raised while discord.py parsed it", out.parse_error))
            counts["refused by discord.py"] += 1
            continue
        if out.timed_out:
            failures.append(describe(out, f"still running after {CASE_TIMEOUT_S:.0f} s"))
        escaped = [e for e in out.task_errors if escaped_failure(case, e)]
        counts["unhandled exceptions"] += len(escaped)
        for err in escaped:
            failures.append(describe(out, "unhandled exception", err))
        if out.task_errors and not escaped:
            counts["refused by discord.py"] += 1
            continue
        for record in out.logs:
            err = record.exc_info[1] if record.exc_info else None
            failures.append(describe(out, f"logged at {record.levelname} by {record.name}: {record.getMessage()}",
                                     err))
        answers = callbacks.get(case.payload["id"], [])
        if case.kind == "malformed" and not answers and not out.logs:
            counts["malformed, ignored"] += 1
            continue
        counts["expected an answer"] += 1
        if len(answers) != 1:
            failures.append(describe(out, f"{len(answers)} interaction callbacks (expected exactly 1): {answers}"))
            continue
        counts["answered"] += 1
        data = answers[0].get("data") or {}
        counts["answered: refusal" if str(data.get("content") or "").startswith("⚠️") else "answered: other"] += 1
        if answers[0].get("type") == 5 and not any(
            r.method in ("POST", "PATCH") for r in webhooks.get(case.payload["token"], [])
        ):
            failures.append(describe(out, "deferred (thinking…) and never answered"))
        sent = [RecordedRequest("POST", "", {}, answers[0], 0.0), *webhooks.get(case.payload["token"], [])]
        callback_path = f"/interactions/{case.payload['id']}/{case.payload['token']}/callback"
        for rec in [RecordedRequest("POST", callback_path, {}, answers[0], 0.0), *sent[1:]]:
            failures += [describe(out, f"{rec.method} {rec.path}: {p}") for p in spec.errors(rec.method, rec.path,
                                                                                            rec.json)]
        for text in user_visible_texts(sent):
            if LEAK.search(text):
                failures.append(describe(out, f"shows the user internals: {text[:300]!r}"))
    return failures, counts
