"""Every module of the bot imports on its own: no import cycle hides behind the order the client happens to use."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

from musicbot.storage.migrate import head_revision, packaged_head, upgrade


def test_each_bot_module_imports_alone() -> None:
    # One interpreter (discord.py and numpy load once); the bot's modules are forgotten before each import, so
    # each one is imported first, as a script or a test importing only it would. (The layers below keep
    # their modules: ``metrics`` registers its metrics once per process.)
    script = textwrap.dedent("""
        import importlib, pkgutil, sys, traceback
        import musicbot.bot
        names = [m.name for m in pkgutil.walk_packages(musicbot.bot.__path__, "musicbot.bot.")]
        failed = []
        for name in names:
            for loaded in [m for m in sys.modules if m.startswith("musicbot.bot.")]:
                del sys.modules[loaded]
            try:
                importlib.import_module(name)
            except Exception:
                failed.append(name + ": " + traceback.format_exc().strip().splitlines()[-1])
        print(len(names), "modules")
        print("\\n".join(failed))
        sys.exit(1 if failed else 0)
    """)
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]


def test_cogs_do_not_import_each_other() -> None:
    # A rule two cogs share lives in bot/actions.py (or below), where both call it; a cog importing another
    # cog is how a button and its command came to decide the same action differently (issue 14, item 9).
    import ast
    from pathlib import Path

    from musicbot.bot import cogs

    folder = Path(cogs.__file__).parent
    cog_modules = {p.stem for p in folder.glob("*.py")} - {"__init__", "base", "all"}
    crossings = []
    for path in sorted(folder.glob("*.py")):
        if path.stem not in cog_modules:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported = node.module.removeprefix("musicbot.bot.cogs.")
                if imported in cog_modules and imported != path.stem:
                    crossings.append(f"{path.name} imports {node.module}")
    assert cog_modules and crossings == []


def test_the_bot_process_loads_no_dsp_library_until_a_player_needs_it() -> None:
    # scipy (the filters, the normalizer, the limiter) is about 40 MiB resident in each process that loads it;
    # the bot and its idle render workers only need the engine's constants and types (issue 15, memory).
    script = textwrap.dedent("""
        import sys
        import musicbot.bot.client, musicbot.bot.lifecycle, musicbot.voice.worker, musicbot.voice.engine
        print(sorted(m for m in sys.modules if m == "scipy" or m.startswith("scipy.")))
    """)
    done = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == "[]", done.stdout[:500]


def test_the_started_bot_process_has_not_loaded_ytdlp_spotipy_or_alembic(tmp_path: Path) -> None:
    # Each stays in memory for as long as the bot runs once imported: yt-dlp about 14 MiB, spotipy (with requests)
    # about 7, Alembic (with mako and pygments) about 11 (issue 15, memory). A bot at rest needs none: the start-up
    # line naming yt-dlp's JavaScript runtime comes from a child process, the Spotify client is made by the first
    # Spotify link, and a database a previous start left at the newest schema is seen to be so without Alembic.
    url = f"sqlite+aiosqlite:///{tmp_path / 'musicbot.db'}"
    # packaged_head: the newest revision as the start reads it without Alembic, which must be Alembic's own.
    assert asyncio.run(upgrade(url)) == packaged_head() == head_revision()
    script = textwrap.dedent("""
        import asyncio, logging, sys
        from pathlib import Path
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
        import musicbot.bot.client, musicbot.bot.lifecycle
        from musicbot.config import load_config
        from musicbot.sources.resolver import Resolver
        from musicbot.storage import Database
        folder = Path(sys.argv[1])
        config = load_config(env={"MUSICBOT_DATA_DIR": str(folder), "SPOTIFY_CLIENT_ID": "id",
                                  "SPOTIFY_CLIENT_SECRET": "secret"}, toml_path=folder / "musicbot.toml")
        # What MusicBotClient.setup_hook builds at start.
        assert Resolver.from_config(config).spotify is not None
        async def open_database():
            await (await Database.open(config.database_url)).close()
        asyncio.run(open_database())
        print(sorted(m for m in ("yt_dlp", "spotipy", "alembic", "mako", "pygments") if m in sys.modules))
    """)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, capture_output=True, text=True,
                          timeout=300)
    assert done.stdout.strip() == "[]", done.stdout[:500]
    assert "yt-dlp JavaScript runtime:" in done.stderr  # still said at start


def test_the_bot_imports_aiogram_only_when_the_telegram_bridge_is_on(tmp_path: Path) -> None:
    # aiogram (with pydantic's models of the whole Bot API) is for the process that runs the Telegram bridge:
    # TELEGRAM_TOKEN set, shard 0 run here (issue 18).
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        import musicbot.bot.client
        from musicbot.config import load_config
        folder = Path(sys.argv[1])
        def client(**env):
            config = load_config(env={"MUSICBOT_DATA_DIR": str(folder), **env}, toml_path=folder / "musicbot.toml")
            return musicbot.bot.client.MusicBotClient(config)
        token = {"TELEGRAM_TOKEN": "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
        off = client()
        other_shard = client(SHARD_COUNT="2", SHARD_IDS="1", **token)
        print("aiogram" in sys.modules, off.telegram_bridge is None, other_shard.telegram_bridge is None)
        on = client(**token)
        print("aiogram" in sys.modules, on.telegram_bridge is not None)
    """)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, capture_output=True, text=True,
                          timeout=300)
    assert done.stdout.split() == ["False", "True", "True", "True", "True"], done.stdout + done.stderr[-2000:]
