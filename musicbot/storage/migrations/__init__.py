"""Alembic migrations of the musicbot schema (a package so the scripts ship inside the wheel).

``musicbot.storage.migrate`` drives Alembic from code; no ``alembic.ini`` is needed.
"""
