"""The message bus between the bot's processes (issue 17): bot processes, each running some of the
Discord shards, and ``musicbot web`` processes serving the dashboard without a gateway connection.

- ``messages.py``: the versioned wire messages (msgspec), checked at both ends;
- ``ops.py``: the operations one process asks of another, with their argument and result types;
- ``errors.py``: the bus's errors, and how a handler's exception crosses it (``ErrorKinds``);
- ``bus.py``: the ``Bus`` (presence, routing by shard, calls, guild changes, guild lists), as
  ``LocalBus`` (one process) or ``RedisBus`` (``REDIS_URL``);
- ``transport.py``, ``redis_transport.py``: where the bytes go.
"""
