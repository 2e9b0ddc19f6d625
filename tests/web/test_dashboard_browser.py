"""The dashboard's page in a real headless Chromium (Debian's ``chromium``, driven by Playwright)
against the real ``musicbot run``, the fake Discord (its OAuth2 too) and the fake voice receiver.

The test set-up installs Chromium from Debian's packages when the machine has none (CI does this
on a clean machine). Screenshots at a phone and a desktop width are written to
``build/screenshots/`` (not committed).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from musicbot.sources.synth import tone, write_audio
from tests.harness import FakeDiscord, VoiceReceiver, dominant_hz, guild_payload, user
from tests.harness.bot_process import BotProcesses, bot_env, free_port
from tests.harness.fake_oauth import FakeOAuth
from tests.harness.fixtures import bot_processes  # noqa: F401  (fixture)
from tests.harness.tls import make_self_signed_cert, openssl_available, server_context

GUILD = 9201
ALICE = {"id": "4201", "username": "alice", "global_name": "Alice", "avatar": None}
BOB = {"id": "4202", "username": "bob", "global_name": "Bob", "avatar": None}
CLIENT_ID, SECRET = "5550004", "browser-secret"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not openssl_available(), reason="needs the openssl command for the voice certificate"),
]


def chromium() -> str:
    """Debian's Chromium, installed here when missing (the test set-up's job, not the developer's)."""
    found = shutil.which("chromium")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=False, env=env, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=False, env=env, capture_output=True,
                       timeout=1200)
        found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing and could not be installed (apt-get install chromium)")
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    return found


async def open_page(browser: Browser, url: str, width: int, height: int) -> Page:
    page = await browser.new_page(viewport={"width": width, "height": height})
    await page.goto(f"{url}/")  # → the login → Discord (the fake approves) → back, logged in
    # Locators, not wait_for_function: the page's CSP forbids the eval that needs (as it should).
    await page.locator("#title", has_text="tone").wait_for(timeout=15_000)
    return page


async def hear(receiver: VoiceReceiver, hz: float, page: Page) -> None:
    """Listen to the last second until ``hz`` is the loudest in it (a change takes a moment to be heard)."""
    heard = 0.0
    for _ in range(40):
        since = time.perf_counter()
        await receiver.wait_for_packets(GUILD, receiver.count(GUILD) + 50, timeout=10)
        heard = dominant_hz(receiver.decode_pcm(GUILD, since=since))
        if abs(heard - hz) < 15:
            return
    pytest.fail(f"heard {heard:.0f} Hz, not {hz:.0f}; the page said {await page.text_content('#message')!r}")


async def unfold(summary: Locator, inside: Locator) -> None:
    """Open the folded section of ``summary`` until ``inside`` shows. A click toggles, so it is clicked
    only while the section reads as closed (its ``open`` attribute), never a second time in flight."""
    details = summary.locator("xpath=..")
    for _ in range(5):
        if await details.get_attribute("open") is None:
            await summary.click()
        try:
            await inside.wait_for(state="visible", timeout=5_000)
            return
        except PlaywrightTimeoutError:
            continue
    is_open = await details.get_attribute("open") is not None
    panel_disabled = await summary.page.locator("#filter-panel").get_attribute("disabled") is not None
    pytest.fail(f"the section never unfolded: open {is_open}, the filter panel disabled {panel_disabled}, "
                f"the slider's box {await inside.bounding_box()}")


async def press(page: Page, button: str, then: str) -> None:
    """Click ``button`` until it reads ``then``. The user's rate limit (8 requests in 10 s, shared with
    their slash commands) may refuse a click after the test's quick succession of changes: the page
    must then say so and when to try again, as a user would read it."""
    for _ in range(5):
        await page.click(button)
        for _ in range(50):
            if (await page.text_content(button) or "") == then:
                return
            message = await page.text_content("#message") or ""
            if message:
                wait = re.search(r"too fast\. Try again in (\d+) s", message)
                assert wait, message  # nothing but the rate limit may refuse here
                await page.wait_for_timeout(int(wait.group(1)) * 1000 + 200)
                break
            await page.wait_for_timeout(100)
    pytest.fail(f"{button} never read {then!r}")


async def wait_for_panel(fake: FakeDiscord, channel: int, heading: str) -> None:
    """The now-playing panel in the Discord channel shows ``heading`` (the bot edits it)."""
    titles: list[str] = []
    for _ in range(100):
        titles = [e.get("title") or "" for m in fake.channel_messages(channel) for e in m.get("embeds") or []]
        if any(heading in t for t in titles):
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"the Discord panel never showed {heading!r}: {titles}")


async def test_the_page_logs_in_shows_the_track_and_what_it_changes_is_heard_and_seen_elsewhere(
    bot_processes: BotProcesses, tmp_path: Path  # noqa: F811
) -> None:
    executable = chromium()
    music = tmp_path / "music"
    music.mkdir()
    write_audio(music / "tone-440.flac", tone(440.0, 30.0))
    write_audio(music / "tone-660.flac", tone(660.0, 30.0))
    cert = make_self_signed_cert(tmp_path / "tls")
    fake = FakeDiscord()
    await fake.start()
    try:
        await fake.serve_voice_tls(server_context(cert))
        text, voice = GUILD + 1, GUILD + 2
        alice, bob = user(int(ALICE["id"]), "alice"), user(int(BOB["id"]), "bob")
        fake.main_gateway.add_guild(guild_payload(GUILD, text_id=text, voice_id=voice, members=[alice, bob]))
        await fake.main_gateway.set_user_voice(GUILD, alice, voice)
        fake.oauth = FakeOAuth(CLIENT_ID, SECRET, ALICE, [{"id": str(GUILD), "name": "Browser"}])
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        bot = bot_processes.start(fake, bot_env(fake, tmp_path / "data", music_dir=music, http_port=port,
                                                ca_file=cert.cert, MUSICBOT_WEB_URL=url,
                                                DISCORD_CLIENT_ID=CLIENT_ID, DISCORD_CLIENT_SECRET=SECRET))
        await bot.wait_ready()
        play = fake.slash("play", {"query": "local:tone-440.flac"}, guild_id=GUILD, channel_id=text, user=alice)
        await fake.main_gateway.interaction(play)
        receiver = VoiceReceiver(fake)
        await receiver.wait_for_packets(GUILD, 25, timeout=30)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            try:
                page = await open_page(browser, url, 1280, 900)
                second = await open_page(browser, url, 390, 844)  # a phone, logged in on its own
                # Add a second track from the page (a link: added as it is), then pause.
                await page.fill("#q", (music / "tone-660.flac").as_uri())
                await page.click("#search button")
                await page.wait_for_selector("#queue li")
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=SCREENSHOTS / "dashboard-desktop.png", full_page=True)
                await second.wait_for_selector("#queue li")  # the phone saw the queue change, live
                await second.screenshot(path=SCREENSHOTS / "dashboard-phone.png", full_page=True)
                # A third, then dragged to the front: the phone shows the new order.
                await page.fill("#q", (music / "tone-440.flac").as_uri())
                await page.click("#search button")
                await page.locator("#queue li").nth(1).wait_for()
                assert "You can control the music" in (await page.text_content("#rights") or "")
                await page.locator("#queue li").nth(1).drag_to(page.locator("#queue li").nth(0))
                await second.locator("#queue li").nth(0).filter(has_text="tone-440").wait_for()
                # An EQ band moved on the desktop follows on the phone.
                await page.locator("#eq input").nth(4).fill("0.5")
                for _ in range(50):
                    if await second.locator("#eq input").nth(4).input_value() == "0.5":
                        break
                    await second.wait_for_timeout(100)
                assert await second.locator("#eq input").nth(4).input_value() == "0.5"
                # A preset from the page, heard: nightcore plays 25 % higher (440 → 550 Hz).
                await page.select_option("#preset", "nightcore")
                await hear(receiver, 550.0, page)
                # The timescale's pitch slider (its range and unit shown), moved to 1.5 × on top of nightcore's
                # rate 1.25: heard at 440 × 1.25 × 1.5 = 825 Hz.
                pitch = page.locator("#f-timescale-pitch")
                await unfold(page.locator("#filters summary", has_text="timescale"), pitch)
                label = await page.locator("label.field", has=pitch).text_content()
                assert "pitch (0.25–4 ×)" in (label or ""), label
                await pitch.fill("1.5")
                await hear(receiver, 825.0, page)
                await second.locator("#f-timescale-pitch-out", has_text="1.5 ×").wait_for(state="attached")  # folded
                # Pause from the page: the second browser and the Discord panel both show it, and it is heard.
                await press(page, "#pause", "Resume")
                await second.locator("#pause", has_text="Resume").wait_for()
                await wait_for_panel(fake, text, "Paused")
                await receiver.wait_until_quiet(GUILD, quiet_ms=200)
                await press(page, "#pause", "Pause")
                await second.locator("#pause", has_text="Pause").wait_for()
                # History and playlists: the queue saved as a playlist appears in the list.
                await page.locator("#history li", has_text="tone-440").first.wait_for()
                await page.fill("#save-name", "Tones")
                await page.click("#save button")
                await page.locator("#playlists li", has_text="Tones").wait_for()
                await page.locator("#server-playlists li", has_text="None yet").wait_for()  # the server's own
                await page.screenshot(path=SCREENSHOTS / "dashboard-desktop-filters.png", full_page=True)
                assert await page.text_content("#message") == "Saved Tones (3 tracks)."
                # Bob, in the server but in no voice channel, is told ahead why he cannot control the music.
                fake.oauth.user = BOB
                bobs = await open_page(browser, url, 1280, 900)
                refusal = "You can't control the music now: Join a voice channel"
                await bobs.locator("#rights", has_text=refusal).wait_for()
                assert await bobs.locator("#pause").is_disabled() and await bobs.locator("#volume").is_disabled()
            finally:
                await browser.close()
    finally:
        await fake.stop()
