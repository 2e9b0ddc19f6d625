"""The offline Discord harness itself: real discord.py voice + interactions against tests.harness.FakeDiscord."""

from __future__ import annotations

import asyncio
import time

import discord
from discord import app_commands

from tests.harness import (
    OWNER_USER,
    FakeDiscord,
    SineSource,
    VoiceReceiver,
    dispatch_interaction,
    dominant_hz,
    fake_gateway,
    guild_payload,
    invoke,
    join_voice,
    leave_voice,
    play_to_end,
    rms,
    role,
    user,
)
from tests.harness.fixtures import *  # noqa: F403
from tests.harness.fixtures import OfflineBotFactory

G1, TEXT1, VOICE1, VOICE1B = 1000, 1001, 1002, 1003
G2, TEXT2, VOICE2 = 2000, 2001, 2002
ALICE = user(5001, "alice")
BOB = user(5002, "bob")


async def test_voice_single_guild_real_time(
    offline_bot_factory: OfflineBotFactory, fake_discord: FakeDiscord, voice_receiver: VoiceReceiver
) -> None:
    bot = await offline_bot_factory(guilds=[guild_payload(G1, text_id=TEXT1, voice_id=VOICE1, members=[OWNER_USER])])
    channel = bot.get_channel(VOICE1)
    assert isinstance(channel, discord.VoiceChannel)
    vc: discord.VoiceClient = await channel.connect(timeout=5)
    assert vc.mode == "aead_xchacha20_poly1305_rtpsize"
    assert fake_discord.sessions[G1].ssrc == vc.ssrc

    t0 = time.perf_counter()
    await play_to_end(bot, vc, SineSource(440.0, 2.0))
    await voice_receiver.wait_until_quiet(G1, quiet_ms=50)
    wall = time.perf_counter() - t0

    pk = voice_receiver.packets(G1)
    assert len(pk) == 100 + 5  # 100 frames of audio + 5 OPUS_SILENCE at the end
    assert len(voice_receiver.silent_packets(G1)) == 5
    assert voice_receiver.sequence_contiguous(G1)
    assert set(voice_receiver.timestamps_step(G1)) == {960}
    assert {p.ssrc for p in pk} == {vc.ssrc}
    assert 1.9 < wall < 3.0  # real-time pacing by default
    pcm = voice_receiver.decode_pcm(G1)
    assert pcm.shape == (105 * 960, 2)
    assert abs(dominant_hz(pcm) - 440.0) < 5
    assert abs(rms(pcm[4800:96000]) - 0.4 / 2**0.5) < 0.03
    jitter = voice_receiver.inter_arrival_jitter(G1)
    assert len(jitter) == 98 and sorted(jitter)[len(jitter) // 2] < 3.0  # median; loose on a 2-core box
    assert len(voice_receiver.late_packets(G1, 5.0)) < 10
    assert fake_discord.speaking(G1)[:1] == [0] and 1 in fake_discord.speaking(G1)  # connect: 0, play: voice

    await vc.disconnect()
    assert fake_gateway(bot).sent[-1]["d"]["channel_id"] is None  # op 4 VOICE_STATE leaving


async def test_voice_two_guilds_at_once(
    offline_bot_factory: OfflineBotFactory, fake_discord: FakeDiscord, voice_receiver: VoiceReceiver
) -> None:
    bot = await offline_bot_factory(
        guilds=[
            guild_payload(G1, text_id=TEXT1, voice_id=[VOICE1, VOICE1B], members=[OWNER_USER]),
            guild_payload(G2, text_id=TEXT2, voice_id=VOICE2, members=[OWNER_USER]),
        ]
    )
    c1, c2 = bot.get_channel(VOICE1B), bot.get_channel(VOICE2)
    assert isinstance(c1, discord.VoiceChannel) and c1.name == "Music 2" and isinstance(c2, discord.VoiceChannel)
    vc1: discord.VoiceClient
    vc2: discord.VoiceClient
    vc1, vc2 = await asyncio.gather(c1.connect(timeout=5), c2.connect(timeout=5))
    assert vc1.ssrc != vc2.ssrc
    await asyncio.gather(play_to_end(bot, vc1, SineSource(440.0, 1.5)), play_to_end(bot, vc2, SineSource(660.0, 1.5)))
    await voice_receiver.wait_until_quiet(G1, quiet_ms=50)
    await voice_receiver.wait_until_quiet(G2, quiet_ms=50)

    assert voice_receiver.guilds() == [G1, G2]
    for gid, vc, hz in ((G1, vc1, 440.0), (G2, vc2, 660.0)):
        assert voice_receiver.ssrcs(gid) == [vc.ssrc]
        assert len(voice_receiver.packets(gid)) == 75 + 5
        assert voice_receiver.sequence_contiguous(gid)
        assert set(voice_receiver.timestamps_step(gid)) == {960}
        assert abs(dominant_hz(voice_receiver.decode_pcm(gid)) - hz) < 5
    # the two streams overlapped in time
    p1, p2 = voice_receiver.packets(G1), voice_receiver.packets(G2)
    assert p1[0].t_recv < p2[-1].t_recv and p2[0].t_recv < p1[-1].t_recv
    assert not fake_discord.udp_errors


async def test_fast_playback_and_kick(
    offline_bot_factory: OfflineBotFactory,
    fake_discord: FakeDiscord,
    voice_receiver: VoiceReceiver,
    fast_playback: float,
) -> None:
    bot = await offline_bot_factory(guilds=[guild_payload(G1, text_id=TEXT1, voice_id=VOICE1)])
    channel = bot.get_channel(VOICE1)
    assert isinstance(channel, discord.VoiceChannel)
    vc: discord.VoiceClient = await channel.connect(timeout=5)
    t0 = time.perf_counter()
    await play_to_end(bot, vc, SineSource(660.0, 2.0))
    assert time.perf_counter() - t0 < 1.0
    await voice_receiver.wait_for_packets(G1, 105)
    assert abs(dominant_hz(voice_receiver.decode_pcm(G1)) - 660.0) < 5

    # Discord kicks the bot out of voice (VOICE_STATE_UPDATE with channel_id null for the bot)
    fake_gateway(bot).deliver_bot_voice_state(G1, None)
    for _ in range(200):
        if not vc.is_connected():
            break
        await asyncio.sleep(0.01)
    assert not vc.is_connected()


async def test_slash_command_ephemeral_reply(offline_bot_factory: OfflineBotFactory, fake_discord: FakeDiscord) -> None:
    client = await offline_bot_factory(guilds=[guild_payload(G1, text_id=TEXT1, voice_id=VOICE1, members=[ALICE])])
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)

    @tree.command(description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"pong {interaction.user.id}", ephemeral=True)

    payload = fake_discord.slash("ping", guild_id=G1, channel_id=TEXT1, user=ALICE)
    assert await invoke(client, payload, tree=tree) is None
    [cb] = fake_discord.callbacks(payload)
    assert cb["type"] == 4
    assert cb["data"]["flags"] == 64
    assert cb["data"]["content"] == f"pong {ALICE['id']}"


async def test_subcommands_autocomplete_components_and_sync(
    offline_bot_factory: OfflineBotFactory, fake_discord: FakeDiscord
) -> None:
    dj = role(7001, "DJ", permissions=discord.Permissions.none())
    client = await offline_bot_factory(
        guilds=[guild_payload(G1, text_id=TEXT1, voice_id=VOICE1, members=[ALICE], roles=[dj])]
    )
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    admin = app_commands.Group(name="admin", description="admin")
    playlist = app_commands.Group(name="playlist", description="playlists", parent=admin)
    seen: dict[str, object] = {}

    class Picker(discord.ui.View):
        @discord.ui.button(label="Skip", custom_id="player:skip")
        async def skip(self, interaction: discord.Interaction, button: discord.ui.Button[Picker]) -> None:
            await interaction.response.edit_message(content="skipped", view=None)

        @discord.ui.select(custom_id="player:loop", options=[discord.SelectOption(label=v) for v in ("off", "one")])
        async def loop(self, interaction: discord.Interaction, select: discord.ui.Select[Picker]) -> None:
            seen["loop"] = select.values
            await interaction.response.defer()

    @playlist.command(name="add", description="add")
    @app_commands.checks.has_role("DJ")
    async def add(interaction: discord.Interaction, name: str, position: int = 0) -> None:
        seen["add"] = (name, position)
        await interaction.response.send_message("added", view=Picker())

    @add.autocomplete("name")
    async def name_ac(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=current + "!", value=current)]

    tree.add_command(admin)
    synced = await tree.sync()
    assert synced[0].name == "admin" and fake_discord.commands["global"][0]["id"] == str(synced[0].id)

    # member without the DJ role: the check fails, the error reaches tree.on_error and is returned
    err = await invoke(
        client,
        fake_discord.slash("admin playlist add", {"name": "x"}, guild_id=G1, channel_id=TEXT1, user=ALICE),
        tree=tree,
    )
    assert isinstance(err, app_commands.MissingRole)
    payload = fake_discord.slash(
        "admin playlist add", {"name": "mix", "position": 2}, guild_id=G1, channel_id=TEXT1, user=ALICE, roles=[7001]
    )
    assert await invoke(client, payload, tree=tree) is None
    assert seen["add"] == ("mix", 2)
    msg = fake_discord.last_message(TEXT1)
    assert msg["components"][0]["components"][0]["custom_id"] == "player:skip"

    ac = fake_discord.autocomplete(
        "admin playlist add", {"name": "ro"}, focused="name", guild_id=G1, channel_id=TEXT1, user=ALICE, roles=[7001]
    )
    await invoke(client, ac, tree=tree)
    assert fake_discord.callbacks(ac) == [{"type": 8, "data": {"choices": [{"name": "ro!", "value": "ro"}]}}]

    # component clicks go through the real ViewStore, bound to the recorded message id
    sel = fake_discord.select("player:loop", ["one"], guild_id=G1, message=msg["id"], user=ALICE)
    assert [c["type"] for c in await dispatch_interaction(client, sel, fake=fake_discord)] == [6]
    assert seen["loop"] == ["one"]
    click = fake_discord.click("player:skip", guild_id=G1, message=msg["id"], user=ALICE)
    assert [c["type"] for c in await dispatch_interaction(client, click, fake=fake_discord)] == [7]
    assert fake_discord.messages[msg["id"]]["content"] == "skipped"

    # plain channel message create / edit / delete
    channel = client.get_channel(TEXT1)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("hello")
    edited = await sent.edit(content="bye")
    assert edited.content == "bye" and fake_discord.messages[str(sent.id)]["content"] == "bye"
    await sent.delete()
    assert str(sent.id) in fake_discord.deleted_messages


async def test_user_joins_and_leaves_voice(offline_bot_factory: OfflineBotFactory) -> None:
    bot = await offline_bot_factory(
        guilds=[guild_payload(G1, text_id=TEXT1, voice_id=[VOICE1, VOICE1B], members=[ALICE, BOB])]
    )
    events: list[tuple[int, int | None]] = []

    @bot.event
    async def on_voice_state_update(m: discord.Member, before: discord.VoiceState, after: discord.VoiceState) -> None:
        events.append((m.id, after.channel.id if after.channel else None))

    member = await join_voice(bot, G1, VOICE1, ALICE)
    channel = bot.get_channel(VOICE1)
    assert isinstance(channel, discord.VoiceChannel)
    assert member.voice is not None and member.voice.channel == channel
    assert [m.id for m in channel.members] == [int(ALICE["id"])]
    await join_voice(bot, G1, VOICE1B, ALICE)  # move
    assert channel.members == []
    await leave_voice(bot, G1, ALICE)
    await asyncio.sleep(0)
    assert member.voice is None or member.voice.channel is None
    assert events == [(int(ALICE["id"]), VOICE1), (int(ALICE["id"]), VOICE1B), (int(ALICE["id"]), None)]
