"""The Discord side of the bridge: /telegram status and unlink (audited), /all mentioning the chat's members
the bot has seen write, the bridge off without TELEGRAM_TOKEN, and text crossing between the two escaped:
Telegram names and chat titles in Discord, titles and Discord text in Telegram's HTML."""

from __future__ import annotations

from musicbot.storage import AuditLog
from musicbot.telegram import text
from musicbot.telegram.ops import ChatPlayer, Ended
from musicbot.web.player_api import EntryView, PlayerView
from tests.bot.answers import command, playing
from tests.bot.world import ALICE, GUILD, World, wait_for
from tests.harness.fake_telegram import FakeTelegram
from tests.telegram.helpers import CHAT, MIA, TOM, as_admin, fresh, link, say


async def test_status_unlink_and_all(tg_world: World, fake_telegram: FakeTelegram) -> None:
    world, fake = tg_world, fake_telegram
    await link(world, fake)
    status = await as_admin(world, "telegram status")
    fields = {f["name"]: f["value"] for f in status.embeds[0]["fields"]}
    assert "connected" in fields["Bridge"] and "`@musicbot_test_bot`" in fields["Bridge"]
    assert "Music <club> & co" in fields["Linked chat"] and str(CHAT) in fields["Linked chat"]
    assert "only the chat's admins" in fields["Who controls from Telegram"]
    # Members are learned from what they write (bots are not mentioned).
    fake.user(7100, "Helper", is_bot=True)
    fake.chats[CHAT].members[7100] = "member"
    for who in (MIA, 7100):
        await fake.send(CHAT, who, "hello there")
    await say(fake, MIA, "/id", expect="This chat's id")
    answer = await as_admin(world, "all", {"reason": "Movie <night> @everyone"})
    assert answer.error is None and "mentioning 2 members" in answer.content  # Tom (who linked it) and Mia
    posted = await fake.wait_for_text(CHAT, "Movie <night> @everyone")
    assert f'href="tg://user?id={MIA}"' in posted.text and f'href="tg://user?id={TOM}"' in posted.text
    assert "7100" not in posted.text and "Movie &lt;night&gt;" in posted.text
    assert "(Discord)" in posted.visible
    refused = await command(world, "all", {"reason": "x"}, user=ALICE)
    assert refused.error is not None and "Manage Server" in refused.content
    # Unlinking: audited, the chat's members forgotten, the chat no longer controls.
    unlinked = await as_admin(world, "telegram unlink")
    assert "Unlinked from the Telegram chat **Music <club> & co**" in unlinked.content
    assert [e.action for e in await fresh(AuditLog(world.bot.db).recent(GUILD))][:2] == ["telegram.unlink",
                                                                                         "telegram.link"]
    assert "not linked" in await say(fake, TOM, "/np", expect="not linked")
    assert "not linked" in (await as_admin(world, "telegram unlink")).content


async def test_the_bridge_is_off_without_a_token(world: World) -> None:
    assert world.bot.telegram_bridge is None
    for name, options in (("telegram link", {"chat_id": CHAT}), ("all", {"reason": "hi"})):
        answer = await as_admin(world, name, options)
        assert answer.error is not None and "bridge is off: set TELEGRAM_TOKEN" in answer.content
    status = await as_admin(world, "telegram status")
    fields = {f["name"]: f["value"] for f in status.embeds[0]["fields"]}
    assert "bridge is off: set TELEGRAM_TOKEN" in fields["Bridge"]


async def test_telegram_names_are_escaped_in_discord_and_titles_in_telegram(
        tg_world: World, fake_telegram: FakeTelegram) -> None:
    world, fake = tg_world, fake_telegram
    await link(world, fake)
    fake.users[TOM]["first_name"] = "**Tom** @everyone <@123456789012345678>"
    odd = "odd<b>&amp;"  # a title with what HTML and markdown would read as markup
    world.media[odd] = world.resolver.media[odd] = world.media["long440"]
    await playing(world, "long440")
    await say(fake, TOM, f"/play {odd}", expect="Queued")
    queue = await command(world, "queue", user=ALICE)
    [credit] = [line for line in queue.embeds[0]["description"].splitlines() if "(Telegram)" in line]
    assert "\\*\\*Tom\\*\\*" in credit and "@everyone" not in credit and "<@123456789012345678>" not in credit
    page = await say(fake, TOM, "/queue", expect="Queue")  # the fake refuses HTML Telegram would not parse
    assert f"Tone {odd}" in page and "**Tom** @everyone <@123456789012345678> (Telegram)" in page
    await wait_for(lambda: any(f"Tone {odd}" in m.visible and "Next:" in m.visible for m in fake.sent_to(CHAT)),
                   timeout=20)
    assert fake.problems == []


def test_every_text_from_outside_is_escaped_in_telegrams_html() -> None:
    nasty = '<script>&"\''
    entry = EntryView(1, nasty, nasty, 61.0, 'https://example.org/?a=1&b="2"', None, None, False, nasty)
    player = PlayerView(True, "1", nasty, entry, 5.0, False, 100, "off", False, {}, 0.0, [("2", nasty)], [entry], 1,
                        0.0)
    state = ChatPlayer(player, {1: nasty}, [Ended(1, 1, nasty, "skipped")])
    for html in (text.now_playing(state).text, text.queue_page(state, 1).text, text.listeners(player),
                 text.event_line(state.ended[0]), text.played(state, entry).text, text.queued([entry], state),
                 *text.mention_posts(nasty, nasty, [(3, nasty)]), text.refusal(nasty)):
        assert "<script>" not in html and '&"' not in html, html
        assert "&lt;script&gt;&amp;&quot;&#x27;" in html, html
    assert 'href="https://example.org/?a=1&amp;b=&quot;2&quot;"' in text.now_playing(state).text
    long = text.queue_page(ChatPlayer(PlayerView(True, "1", "v", entry, 0.0, False, 100, "off", False, {}, 0.0, [],
                                                 [entry] * 100, 100, 0.0), {}, []), 10)
    assert len(long.text) < text.MAX_TEXT
