"""The slash commands, one cog per SPEC §1 group; ``cogs/all.py`` lists what the client installs.

Kept empty on purpose: importing one cog (or ``cogs.base``, which ``bot/history.py`` does) must
not import every other cog, or the modules they import would import themselves back (a cycle).
"""
