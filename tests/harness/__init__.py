"""Offline Discord harness: discord.py 2.7.1's real classes (VoiceClient, AudioPlayer, Interaction, CommandTree,
ViewStore) against a local fake of Discord on 127.0.0.1. No network. In process, the main gateway is replaced
(``FakeGateway``); a bot that really connects (``musicbot run`` as a subprocess) uses the fake's real one.

Modules
    fake_discord    ``FakeDiscord``: REST /api/v10 or any prefix (recorded), voice websocket (optionally TLS),
                    voice UDP (decrypts RTP, per guild); ``fake.main_gateway``
    voice_server    the voice websocket and UDP receiver (``VoiceServer``, FakeDiscord's base class)
    main_gateway    ``MainGateway``: the real main gateway websocket (IDENTIFY/READY/GUILD_CREATE, RESUME, op 4
                    voice state → VOICE_STATE_UPDATE + VOICE_SERVER_UPDATE, shards), guilds and voice states
    tls             ``make_self_signed_cert`` (openssl) and TLS contexts for the fake's ``wss://`` voice endpoint
    http_proxy      ``HttpProxy``: a forwarding HTTP proxy (CONNECT and absolute-form) that records connections
    bot_process     ``BotProcess``/``bot_env``: ``musicbot run`` as a subprocess against the fake; ``bot_processes``
    gateway         ``FakeGateway``/``make_offline``, ``join_voice``/``leave_voice``, ``play_to_end``, ``invoke``,
                    ``dispatch_interaction``, ``ensure_opus`` (libopus from the PyAV wheel), ``fast_audio_player``
    payloads        GUILD/USER/MEMBER/ROLE/VOICE_STATE/MESSAGE and INTERACTION_CREATE builders
    voice_analysis  ``VoiceReceiver`` + decode/pitch/RMS/sequence/timing helpers
    audio           ``PcmSource``/``SineSource`` test AudioSources
    fixtures        pytest fixtures ``fake_discord``, ``offline_bot_factory``, ``voice_receiver``, ``fast_playback``

Using the fixtures (they are not auto-registered; ``tests/conftest.py`` belongs to nobody in particular):

    from tests.harness.fixtures import *  # noqa: F403  (in the test module or a sub-package conftest.py)

or, in the rootdir conftest only, ``pytest_plugins = ["tests.harness.fixtures"]``.

Voice e2e sketch::

    async def test_plays(offline_bot_factory, voice_receiver):
        bot = await offline_bot_factory(guilds=[guild_payload(1, text_id=2, voice_id=3, members=[OWNER_USER])])
        vc = await bot.get_channel(3).connect(timeout=5)
        done = asyncio.Event()
        vc.play(SineSource(440, 1.0), after=lambda e: bot.loop.call_soon_threadsafe(done.set))
        await asyncio.wait_for(done.wait(), 5)
        await voice_receiver.wait_until_quiet(1)
        assert abs(dominant_hz(voice_receiver.decode_pcm(1)) - 440) < 5

Slash command sketch::

    async def test_ping(offline_bot_factory, fake_discord):
        bot = await offline_bot_factory(commands.Bot, guilds=[guild_payload(1, text_id=2, voice_id=3)])
        ...  # add commands to bot.tree (or build the project's bot class / pass an instance)
        payload = fake_discord.slash("ping", {"loud": True}, guild_id=1, channel_id=2, user=OWNER_USER)
        assert await invoke(bot, payload) is None          # error that reached tree.on_error, if any
        assert fake_discord.callbacks(payload)[0]["type"] == 4

Gotchas: FakeGateway answers *every* op 4 with VOICE_STATE_UPDATE + VOICE_SERVER_UPDATE, delivered 10 ms later
(synchronous delivery hangs ``connect()``); ``OWNER_USER`` owns the guild and bypasses permission checks;
``invoke`` awaits the command, ``dispatch_interaction`` spawns it like the gateway would.
"""

from .audio import FRAME_BYTES, PcmSource, SineSource, sine_pcm
from .fake_discord import FakeDiscord, RecordedRequest, RtpPacket, VoiceFrame, VoiceSession, json_response
from .gateway import (
    FakeGateway,
    bot_voice_channel_id,
    dispatch_interaction,
    ensure_opus,
    fake_gateway,
    fast_audio_player,
    invoke,
    join_voice,
    leave_voice,
    make_offline,
    play_to_end,
)
from .main_gateway import BotVoiceUpdate, GatewayConnection, GatewaySession, MainGateway
from .payloads import (
    APP_ID,
    BOT_ID,
    BOT_USER,
    OWNER_ID,
    OWNER_USER,
    Payload,
    autocomplete_payload,
    channel,
    component_payload,
    guild_payload,
    member,
    member_voice_state,
    message_payload,
    modal_submit_payload,
    option,
    role,
    slash_payload,
    user,
)
from .voice_analysis import (
    OPUS_SILENCE,
    LatePacket,
    VoiceReceiver,
    decode_opus,
    dominant_hz,
    inter_arrival_jitter,
    late_packets,
    lateness_ms,
    playback_runs,
    rms,
    sequence_contiguous,
    silent_packets,
    timestamp_steps,
)

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER",
    "FRAME_BYTES",
    "OPUS_SILENCE",
    "OWNER_ID",
    "OWNER_USER",
    "BotVoiceUpdate",
    "FakeDiscord",
    "FakeGateway",
    "GatewayConnection",
    "GatewaySession",
    "LatePacket",
    "MainGateway",
    "Payload",
    "PcmSource",
    "RecordedRequest",
    "RtpPacket",
    "SineSource",
    "VoiceFrame",
    "VoiceReceiver",
    "VoiceSession",
    "autocomplete_payload",
    "bot_voice_channel_id",
    "channel",
    "component_payload",
    "decode_opus",
    "dispatch_interaction",
    "dominant_hz",
    "ensure_opus",
    "fake_gateway",
    "fast_audio_player",
    "guild_payload",
    "inter_arrival_jitter",
    "invoke",
    "join_voice",
    "json_response",
    "late_packets",
    "lateness_ms",
    "leave_voice",
    "make_offline",
    "member",
    "member_voice_state",
    "message_payload",
    "modal_submit_payload",
    "option",
    "play_to_end",
    "playback_runs",
    "rms",
    "role",
    "sequence_contiguous",
    "silent_packets",
    "sine_pcm",
    "slash_payload",
    "timestamp_steps",
    "user",
]
