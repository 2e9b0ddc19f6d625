"""The optional Telegram bridge (issue 18): a linked Telegram chat controls a guild's music and
follows what plays. On when ``TELEGRAM_TOKEN`` is set; it runs in the one process that runs shard 0
(Telegram allows one reader of a bot's updates) and reaches every guild through the cluster bus,
so a command for a guild another process runs goes where that guild plays.

- ``ops.py``: the bus operations (a guild's player as Telegram shows it, actions, play; and the
  bridge's own: begin a link, status, mention everyone), registered with the dashboard's;
- ``rights.py``: who in the chat may view and control (the guild's ``telegram_control`` setting);
- ``remote.py``: what the Discord cog asks of the bridge's process;
- ``bridge.py``: the bridge itself (aiogram: polling with backoff, its state for ``/ready``), with
  ``commands.py`` (a message or a button as a command value), ``handlers.py`` (what each command
  does), ``linking.py`` (one-time codes), ``mirror.py`` (now playing and events in the chat),
  ``outbox.py`` and ``limiter.py`` (everything sent, within Telegram's limits), ``text.py``
  (HTML, escaped).

Importing this package (or ``ops``, ``rights``, ``remote``) does not import aiogram: only a process
with ``TELEGRAM_TOKEN`` that runs shard 0 builds the bridge.
"""
