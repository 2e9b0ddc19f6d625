"""The ``musicbot`` command: run, web, render, bench, db, sync, doctor, ``--version``.

Every error a user can cause ends with one line on stderr and exit code 2 (bad input) or 1
(the media failed); tracebacks only with ``--debug``.

Importing this module stays light (argparse, config, errors): the settings are read and checked
before discord.py, numpy or PyAV are imported, which takes seconds on a small machine, so a
missing token or a misspelled setting is reported at once.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from musicbot import __version__
from musicbot.config import load_config
from musicbot.errors import ConfigError, FilterConfigError, MusicBotError

if TYPE_CHECKING:
    from musicbot.dsp.params import FilterSettings

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


def version_line() -> str:
    """What ``musicbot --version`` prints: the package version (``musicbot/__init__.py``, also what
    pyproject's dynamic version reads, so a frozen binary says the same) and the Python."""
    return f"musicbot {__version__} (Python {'.'.join(map(str, sys.version_info[:3]))})"


def build_parser() -> argparse.ArgumentParser:
    from musicbot.dsp.presets import preset_names  # names only: imports no numpy (tests/test_cli_run.py)

    parser = argparse.ArgumentParser(prog="musicbot", description="A Discord music bot with its own audio engine.")
    parser.add_argument("--version", action="version", version=version_line())
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the bot (needs DISCORD_TOKEN)")
    run.add_argument("--role", choices=["all", "bot"], default="all",
                     help="all (default): the bot and its dashboard in this process; bot: the bot alone, the "
                          "dashboard served by `musicbot web` processes (needs REDIS_URL)")
    commands.add_parser("web", help="serve the dashboard and its API alone, for the bot's processes on REDIS_URL "
                                    "(no Discord gateway connection)")

    render = commands.add_parser("render", help="run the audio engine offline: file or URL in, .wav/.ogg/.opus out")
    render.add_argument("input", help="any file or URL PyAV can read")
    render.add_argument("output", type=Path, help=".wav (48 kHz stereo s16), .ogg or .opus (Opus)")
    render.add_argument("--filters", metavar="JSON", help="Lavalink-style filters object, or @file.json")
    render.add_argument(
        "--preset", action="append", default=[], metavar="NAME",
        help=f"apply a preset (repeatable): {', '.join(preset_names())}",
    )
    render.add_argument("--volume", type=float, default=100.0, metavar="PCT", help="player volume 0–200 (default 100)")
    render.add_argument("--no-normalize", action="store_true", help="turn loudness normalization off")
    render.add_argument("--target-lufs", type=float, default=-14.0, help="normalization target (default −14)")

    db = commands.add_parser("db", help="database maintenance (DATABASE_URL, default SQLite in the data folder)")
    db.add_argument("action", choices=["upgrade", "current"], help="upgrade: migrate to the newest schema; "
                    "current: print the schema revision")

    sync = commands.add_parser("sync", help="register the slash commands with Discord (needs DISCORD_TOKEN)")
    sync.add_argument("--dry-run", action="store_true", help="print the JSON payload instead; no token, no network")
    sync.add_argument("--guild", type=int, metavar="ID", help="register in this guild only (shows at once); "
                      "default: MUSICBOT_DEV_GUILD, else global")

    commands.add_parser("doctor", help="check the set-up (Python, libopus, PyAV/FFmpeg, JavaScript runtime, "
                        "database, Discord and token, real-time priority, music folder), one line each with a fix")

    bench = commands.add_parser("bench", help="measure the engine's cost per frame and streams per core")
    bench.add_argument("--json", action="store_true", help="print machine-readable JSON")
    bench.add_argument("--seconds", type=float, default=10.0, help="audio per measurement (default 10)")
    bench.add_argument("--compare", action="store_true",
                       help="ours against the same effects as an FFmpeg filter graph (in process, through PyAV) "
                       "and the codec floor; with one ffmpeg process per stream and a plot: "
                       "python -m benchmarks.compare")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "render":
            return _render(args)
        if args.command == "bench" and args.compare:
            from musicbot.bench_compare import run_compare

            return run_compare(seconds=args.seconds, as_json=args.json)
        if args.command == "bench":
            from musicbot.bench import run_bench

            return run_bench(seconds=args.seconds, as_json=args.json)
        if args.command == "run":
            return _run(args.role)
        if args.command == "web":
            return _web()
        if args.command == "db":
            return _db(args.action)
        if args.command == "sync":
            return _sync(args.dry_run, args.guild)
        if args.command == "doctor":
            from musicbot.doctor import run_doctor

            return run_doctor()
    except (ConfigError, FilterConfigError) as err:
        return _fail(args, err, EXIT_BAD_INPUT)
    except MusicBotError as err:
        return _fail(args, err, EXIT_FAILED)
    except KeyboardInterrupt:
        return 130
    return EXIT_BAD_INPUT


def _run(role: str) -> int:
    config = load_config()
    config.require_token()  # before the imports below, which take seconds
    if role == "bot" and not config.redis_url:
        raise ConfigError("--role bot leaves the dashboard to `musicbot web` processes, which reach this one "
                          "through Redis: set REDIS_URL (or run with --role all)")
    from musicbot.bot.lifecycle import run_bot  # light: the bot loads while /health answers
    from musicbot.logs import setup_logging

    setup_logging(config.log_level, config.log_format)
    run_bot(config, role)
    return 0


def _web() -> int:
    config = load_config()
    from musicbot.logs import setup_logging
    from musicbot.web.web_process import check_web_config, run_web

    check_web_config(config)
    setup_logging(config.log_level, config.log_format)
    run_web(config)
    return 0


def _db(action: str) -> int:
    import asyncio

    from musicbot.storage import current_revision, upgrade
    from musicbot.storage.engine import redact

    url = load_config().database_url  # storage turns an unreachable database into a StorageError
    if action == "upgrade":
        revision = asyncio.run(upgrade(url))
        print(f"{redact(url)}: schema at revision {revision} (newest)")
    else:
        print(f"{redact(url)}: schema at revision {asyncio.run(current_revision(url)) or 'none (empty database)'}")
    return 0


def _sync(dry_run: bool, guild_id: int | None) -> int:
    import asyncio
    import json

    from musicbot.bot import sync

    config = load_config()
    guild_id = guild_id or config.dev_guild
    logging.basicConfig(level=logging.WARNING)
    if dry_run:
        # The same JSON value discord.py PUTs (it sends it compact), for /applications/{id}/commands or
        # /applications/{id}/guilds/{guild}/commands.
        print(json.dumps(asyncio.run(sync.dry_run(config, guild_id)), indent=2, ensure_ascii=False))
        return 0
    registered = asyncio.run(sync.sync(config, guild_id))
    where = f"in guild {guild_id}" if guild_id else "globally"
    print(f"registered {len(registered)} commands {where}: " + ", ".join(f"/{c.name}" for c in registered))
    return 0


def _render(args: argparse.Namespace) -> int:
    from musicbot.render import render

    filters = _filters_from_args(args.filters, args.preset)
    if not 0.0 <= args.volume <= 200.0:
        raise FilterConfigError("--volume", f"{args.volume:g} is out of range; allowed: 0 to 200 (percent)")
    if not -40.0 <= args.target_lufs <= -5.0:
        raise FilterConfigError("--target-lufs", f"{args.target_lufs:g} is out of range; allowed: -40 to -5")
    logging.basicConfig(level=logging.WARNING)
    report = render(
        args.input, args.output, filters,
        volume=args.volume / 100.0, normalize=not args.no_normalize, target_lufs=args.target_lufs,
    )
    how = f", {report.passthrough_frames} passed through without re-encoding" if report.passthrough_frames else ""
    print(f"wrote {args.output}: {report.seconds:.2f} s, {report.frames} frames{how}")
    if report.damage:
        # Exit 0 all the same: the output exists and holds all that could be read, and a non-zero
        # code here always means that nothing was written.
        print(f"musicbot: warning: {args.input}: {report.damage} The output holds what could be read "
              f"({report.seconds:.2f} s).", file=sys.stderr)
    return 0


def _filters_from_args(filters_arg: str | None, presets: list[str]) -> FilterSettings:
    from musicbot.dsp.params import FilterSettings
    from musicbot.dsp.presets import apply_preset
    from musicbot.dsp.settings import merge_filters, parse_filters_json, settings_to_json

    settings = FilterSettings()
    for name in presets:
        settings = apply_preset(settings, name)
    if filters_arg is not None:  # an empty --filters '' is a mistake to report, not "no filters"
        if not filters_arg.strip():
            example = """'{"volume": 0.8}'"""
            raise FilterConfigError("--filters", f"is empty; give a JSON object such as {example}, or @file.json")
        text = filters_arg
        if filters_arg.startswith("@"):
            path = Path(filters_arg[1:])
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as err:
                raise FilterConfigError("--filters", f"cannot read {path}: {err.strerror}") from None
            except UnicodeDecodeError as err:
                raise FilterConfigError(
                    "--filters", f"{path} is not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start})"
                ) from None
        patch = parse_filters_json(text)
        settings = merge_filters(settings, settings_to_json(patch)) if presets else patch
    return settings


def _fail(args: argparse.Namespace, err: Exception, code: int) -> int:
    if args.debug:
        logging.getLogger(__name__).exception("failed")
    print(f"musicbot: error: {err}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
